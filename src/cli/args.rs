//! clap definitions: the global options and the subcommands. Each
//! subcommand's own options live beside its code in `cmd/<name>.rs`.

use super::cmd;
use super::values::EnvArg;
use crate::config;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Environments:
  With no API key configured, commands run against `local`: an emulator of
  facturare.md started inside the process, its data in .facturare/local.db.

Exit codes:
  0  everything worked
  1  some documents were rejected (the valid ones went through)
  2  bad usage, configuration or mapping file
  3  an input file could not be read
  4  the API could not be reached, refused the credentials, or failed
  70  an internal error (a bug); the work done is recorded
  130  interrupted; the work done is recorded (resume with `import --resume`)
With --all-profiles or --profiles, the worst of the companies' codes; the
summary names the companies that failed.

Logs:
  FACTURARE_LOG (or RUST_LOG) sets levels per module, e.g.
  `info,facturare_etl::api=debug`: of the --log-file when there is one,
  else of stderr.";

/// `--version`: the package's version and the git revision it was built
/// from (`unknown` when built outside a repository; see `build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("FACTURARE_GIT_REV"),
    ")"
);

/// Move invoices into and out of facturare.md (e-Cont.md).
#[derive(Debug, Parser)]
#[command(name = "facturare-etl", version = VERSION, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Target environment: local (embedded emulator), sandbox or production
    #[arg(long, global = true, value_enum, env = "FACTURARE_ENV")]
    pub env: Option<EnvArg>,
    /// Target an API at this base URL instead (HTTPS, or HTTP on loopback)
    #[arg(long, global = true, value_name = "URL", env = "FACTURARE_API_URL")]
    pub api_url: Option<String>,
    /// Read the API key from this file (the key is never printed)
    #[arg(long, global = true, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,
    /// Use this company's settings from the config file
    #[arg(long, global = true, value_name = "NAME", env = "FACTURARE_PROFILE")]
    pub profile: Option<String>,
    /// Config file [default: .facturare/config.toml]
    #[arg(long, global = true, value_name = "PATH", env = "FACTURARE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the ledger, bookmarks, tokens and local data live
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "FACTURARE_DATA_DIR",
        default_value = ".facturare"
    )]
    pub data_dir: PathBuf,
    /// Append the log to this file as JSON lines [default: log_file in the config file]
    #[arg(long, global = true, value_name = "PATH", env = "FACTURARE_LOG_FILE")]
    pub log_file: Option<PathBuf>,
    /// Print a machine-readable summary on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing on stderr but errors; no progress bars
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail on stderr (-v, -vv)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    /// What these options ask of the settings, with `FACTURARE_API_KEY`
    /// (`api_key_env`) from the environment: the one place where the
    /// command line becomes the library's plain [`config::Request`].
    pub fn request(&self, api_key_env: Option<String>) -> config::Request {
        config::Request {
            env: self.env.map(Into::into),
            api_url: self.api_url.clone(),
            api_key_file: self.api_key_file.clone(),
            api_key_env,
            profile: self.profile.clone(),
            config: self.config.clone(),
            data_dir: self.data_dir.clone(),
        }
    }
}

/// How the inputs and the mapping's lookup files are read (validate,
/// import, mapping check and test).
#[derive(Debug, Clone, Default, Args)]
pub struct ReadArgs {
    /// Refuse a CSV line or cell, a spreadsheet cell or a JSON value longer
    /// than SIZE (e.g. 16MiB) [default: 4MiB, or the mapping's [limits]]
    #[arg(long, value_name = "SIZE", value_parser = super::values::parse_size)]
    pub max_cell_bytes: Option<u64>,
    /// Let the mapping's lookup_file paths lead outside the mapping's folder
    #[arg(long)]
    pub allow_lookup_outside: bool,
}

impl ReadArgs {
    /// What they add to the mapping.
    pub fn load(&self) -> crate::mapping::LoadOptions {
        crate::mapping::LoadOptions {
            allow_lookup_outside: self.allow_lookup_outside,
            max_cell_bytes: self.max_cell_bytes,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read, map, validate and upload invoices, each exactly once
    Import(cmd::import::Args),
    /// Dry run: read, map and validate, report every problem, send nothing
    Validate(cmd::validate::Args),
    /// Export invoices, customers, credit notes or payments to XLSX, CSV or JSON Lines
    Export(cmd::export::Args),
    /// Check, test and start mapping files
    #[command(subcommand)]
    Mapping(cmd::mapping::Command),
    /// List, inspect, verify and roll back import runs
    #[command(subcommand)]
    Runs(cmd::runs::Command),
    /// Log in with OAuth, show or forget stored tokens
    #[command(subcommand)]
    Auth(cmd::auth::Command),
    /// Serve the local emulator of the facturare.md API on a port
    Emulator(cmd::emulator::Args),
    /// Print the shell completion script (bash, zsh, fish, powershell, elvish)
    Completions(cmd::completions::Args),
    /// Print the man page, or write a page per subcommand with --dir
    Man(cmd::man::Args),
}
