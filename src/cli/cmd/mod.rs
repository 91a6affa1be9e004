//! One file per subcommand, each thin: resolve settings, call one library
//! function, choose an exit code.

pub mod auth;
pub mod emulator;
pub mod export;
pub mod import;
pub mod mapping;
pub mod runs;
pub mod validate;

use super::args::{Cli, Command};
use super::CmdResult;

/// Dispatch a parsed command line.
pub fn run(cli: Cli) -> CmdResult {
    let global = cli.global;
    match cli.command {
        Command::Import(a) => import::run(a, &global),
        Command::Validate(a) => validate::run(a, &global),
        Command::Export(a) => export::run(a, &global),
        Command::Mapping(c) => mapping::run(c, &global),
        Command::Runs(c) => runs::run(c, &global),
        Command::Auth(c) => auth::run(c, &global),
        Command::Emulator(a) => emulator::run(a, &global),
    }
}
