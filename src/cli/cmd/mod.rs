//! One file per subcommand, each thin: take the settings from the
//! [`Context`], call one library function, print its outcome, choose the
//! exit code from its ending or its error's kind.

pub mod auth;
pub mod emulator;
pub mod export;
pub mod import;
pub mod mapping;
pub mod runs;
pub mod validate;

use super::args::{Cli, Command, GlobalArgs};
use super::output::Output;
use super::{CliError, CmdResult};
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

/// Dispatch a parsed command line.
pub fn run(cli: Cli) -> CmdResult {
    let ctx = Context {
        request: cli.global.request(std::env::var(config::API_KEY_ENV).ok()),
        out: Output::new(&cli.global),
        global: cli.global,
    };
    match cli.command {
        Command::Import(a) => import::run(a, &ctx),
        Command::Validate(a) => validate::run(a, &ctx),
        Command::Export(a) => export::run(a, &ctx),
        Command::Mapping(c) => mapping::run(c, &ctx),
        Command::Runs(c) => runs::run(c, &ctx),
        Command::Auth(c) => auth::run(c, &ctx),
        Command::Emulator(a) => emulator::run(a, &ctx),
    }
}
