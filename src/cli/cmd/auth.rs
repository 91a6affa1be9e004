//! `facturare-etl auth`.

use crate::cli::args::GlobalArgs;
use crate::cli::CmdResult;

#[derive(Debug, clap::Subcommand)]
pub enum Command {}

pub fn run(command: Command, _global: &GlobalArgs) -> CmdResult {
    match command {}
}
