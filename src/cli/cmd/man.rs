//! `facturare-etl man [--dir DIR]`: man pages from the clap definitions
//! (`clap_mangen`): the main page on stdout, or with `--dir` a page per
//! command and subcommand (`facturare-etl.1`, `facturare-etl-export.1`,
//! `facturare-etl-runs-list.1`, ...) written into DIR.

use super::Context;
use crate::cli::args::Cli;
use crate::cli::{CliError, CmdResult, Exit};
use anyhow::Context as _;
use clap::CommandFactory;
use std::path::{Path, PathBuf};

/// Print the man page, or write one per subcommand into a folder.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  facturare-etl man | man -l -
  facturare-etl man --dir ~/.local/share/man/man1   # then: man facturare-etl-export")]
pub struct Args {
    /// Write a page per command and subcommand into this folder (created if missing)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The whole command line, built (subcommands named `facturare-etl-...`).
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Write a page for `cmd` and each of its visible subcommands into `dir`;
/// the files written, parents first.
pub fn write_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn walk(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> std::io::Result<()> {
        written.push(clap_mangen::Man::new(cmd.clone()).generate_to(dir)?);
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, dir, written)?;
        }
        Ok(())
    }
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    walk(&command(), dir, &mut written)?;
    Ok(written)
}

pub fn run(args: Args, ctx: &Context) -> CmdResult {
    let out = &ctx.out;
    let Some(dir) = args.dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command())
            .render(&mut page)
            .context("failed to render the man page")
            .map_err(|e| CliError::new(Exit::Usage, e))?;
        use std::io::Write as _;
        std::io::stdout()
            .write_all(&page)
            .context("failed to write the man page")
            .map_err(|e| CliError::new(Exit::Input, e))?;
        return Ok(Exit::Ok);
    };
    let written = write_pages(&dir)
        .with_context(|| format!("failed to write man pages into {}", dir.display()))
        .map_err(|e| CliError::new(Exit::Input, e))?;
    out.status(format!(
        "wrote {} man pages into {}",
        written.len(),
        dir.display()
    ));
    out.json(&serde_json::json!({ "dir": dir, "pages": written }));
    Ok(Exit::Ok)
}
