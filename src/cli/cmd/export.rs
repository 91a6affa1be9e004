//! `facturare-etl export`.

use crate::cli::args::GlobalArgs;
use crate::cli::{CliError, CmdResult};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, _global: &GlobalArgs) -> CmdResult {
    Err(CliError::from(anyhow::anyhow!("`export` is being built")))
}
