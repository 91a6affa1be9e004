//! `facturare-etl completions SHELL`: the shell completion script, from
//! the clap definitions themselves (`clap_complete`), on stdout. README
//! shows where each shell looks for it.

use super::Context;
use crate::cli::args::Cli;
use crate::cli::{CmdResult, Exit};
use clap::CommandFactory;

/// Print the completion script for a shell.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  facturare-etl completions bash > ~/.local/share/bash-completion/completions/facturare-etl
  facturare-etl completions zsh > ~/.zfunc/_facturare-etl
  facturare-etl completions fish > ~/.config/fish/completions/facturare-etl.fish")]
pub struct Args {
    /// The shell: bash, zsh, fish, powershell or elvish
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Write the script of `shell` for the whole command line to `out`.
pub fn write(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, out);
}

pub fn run(args: Args, _ctx: &Context) -> CmdResult {
    write(args.shell, &mut std::io::stdout().lock());
    Ok(Exit::Ok)
}
