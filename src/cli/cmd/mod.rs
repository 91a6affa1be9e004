//! One file per subcommand, each thin: take the settings from the
//! [`Context`], call one library function, print its outcome, choose the
//! exit code from its ending or its error's kind.

pub mod auth;
pub mod completions;
pub mod emulator;
pub mod export;
pub mod import;
pub mod man;
pub mod mapping;
pub mod runs;
pub mod validate;

use super::args::{Cli, Command, GlobalArgs};
use super::output::Output;
use super::{CliError, CmdResult};
use crate::cli::log::JOURNAL;
use crate::config::{self, ConfigError, Location, Settings};

/// What every command gets: the global options, what they ask of the
/// settings (built once, here, from the flags and the environment), and
/// the output.
pub struct Context {
    pub global: GlobalArgs,
    pub request: config::Request,
    pub out: Output,
}

impl Context {
    /// The settings of the environment and company asked for, resolved
    /// with the config file.
    pub fn settings(&self) -> Result<Settings, CliError> {
        Settings::resolve(&self.request).map_err(config_error)
    }

    /// The environment and company only, before credentials.
    pub fn location(&self) -> Result<Location, CliError> {
        Location::resolve(&self.request).map_err(config_error)
    }
}

/// The one mapping of a settings error to its exit code and hint.
pub fn config_error(e: ConfigError) -> CliError {
    let hint = e.hint();
    CliError::of(e.kind(), e).with_hint_opt(hint)
}

/// Start the logs: `--log-file`, else the config file's `log_file`. A
/// config file that cannot be read names no log file here; the command
/// reports it.
fn start_logging(ctx: &Context) -> Result<(), CliError> {
    let file = match &ctx.global.log_file {
        Some(p) => Some(p.clone()),
        None => config::configured_log_file(&ctx.request).unwrap_or(None),
    };
    super::log::init(&super::log::LogSetup {
        quiet: ctx.global.quiet,
        verbose: ctx.global.verbose,
        file,
    })
    .map_err(|e| CliError::new(super::Exit::Usage, e))
}

impl Command {
    /// The command's name, for the log.
    fn name(&self) -> &'static str {
        match self {
            Command::Import(_) => "import",
            Command::Validate(_) => "validate",
            Command::Export(_) => "export",
            Command::Mapping(_) => "mapping",
            Command::Runs(c) => c.name(),
            Command::Auth(_) => "auth",
            Command::Emulator(_) => "emulator",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }

    /// Whether the command works for one company (the log names it), as
    /// opposed to none, or several (each its own span).
    fn one_company(&self) -> bool {
        match self {
            Command::Import(a) => !a.profiles.is_multi(),
            Command::Export(a) => !a.profiles.is_multi(),
            Command::Runs(c) => !c.profiles().is_some_and(|p| p.is_multi()),
            Command::Validate(_) | Command::Auth(_) => true,
            Command::Mapping(_)
            | Command::Emulator(_)
            | Command::Completions(_)
            | Command::Man(_) => false,
        }
    }
}

/// Dispatch a parsed command line.
pub fn run(cli: Cli) -> CmdResult {
    let ctx = Context {
        request: cli.global.request(std::env::var(config::API_KEY_ENV).ok()),
        out: Output::new(&cli.global),
        global: cli.global,
    };
    start_logging(&ctx)?;
    let name = cli.command.name();
    let span = match cli.command.one_company() {
        true => tracing::info_span!(
            "profile",
            profile = %ctx.request.profile.as_deref().unwrap_or("default")
        ),
        false => tracing::Span::none(),
    };
    let _entered = span.enter();
    tracing::info!(
        target: JOURNAL,
        command = name,
        version = super::args::VERSION,
        "command started"
    );
    let result = match cli.command {
        Command::Import(a) => import::run(a, &ctx),
        Command::Validate(a) => validate::run(a, &ctx),
        Command::Export(a) => export::run(a, &ctx),
        Command::Mapping(c) => mapping::run(c, &ctx),
        Command::Runs(c) => runs::run(c, &ctx),
        Command::Auth(c) => auth::run(c, &ctx),
        Command::Emulator(a) => emulator::run(a, &ctx),
        Command::Completions(a) => completions::run(a, &ctx),
        Command::Man(a) => man::run(a, &ctx),
    };
    match &result {
        Ok(exit) => {
            tracing::info!(target: JOURNAL, command = name, exit = *exit as u8, "command finished")
        }
        Err(e) => tracing::error!(
            target: JOURNAL,
            command = name,
            exit = e.exit as u8,
            error = %format!("{:#}", e.error),
            "command failed"
        ),
    }
    result
}
