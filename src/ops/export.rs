//! `export`: resolve the request (period, bookmark ledger), connect, and
//! page the list into the file ([`crate::export::run_export`]), with Ctrl-C
//! cancelling cleanly (the previous file, if any, is left as it was).

use super::connect::{connect, runtime, ConnectError, ConnectOptions};
use crate::config::Settings;
use crate::error::ErrorKind;
use crate::export::{period, run_export, ExportError, ExportRequest, ExportSummary};
use crate::progress::Reporter;

/// Why an export could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ExportJobError {
    #[error(transparent)]
    Export(Box<ExportError>),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    Clash(#[from] crate::fs::Clash),
}

impl From<ExportError> for ExportJobError {
    fn from(e: ExportError) -> Self {
        ExportJobError::Export(Box::new(e))
    }
}

impl ExportJobError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ExportJobError::Export(e) => e.kind(),
            ExportJobError::Connect(e) => e.kind(),
            ExportJobError::Runtime(_) => ErrorKind::Api,
            ExportJobError::Clash(_) => ErrorKind::Usage,
        }
    }

    /// What to do about it, or what it left behind.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ExportJobError::Export(e) if matches!(**e, ExportError::Api { .. }) => {
                Some("nothing was written: the previous file, if any, is as it was")
            }
            _ => None,
        }
    }
}

/// Export what `request` asks for, from the account `settings` name.
pub fn export(
    settings: &Settings,
    request: ExportRequest,
    reporter: &dyn Reporter,
) -> Result<ExportSummary, ExportJobError> {
    let opts = request.resolve(period::today(), &settings.ledger_path())?;
    // The output never lands on the program's own files (the ledger that
    // keeps the bookmarks, the config, the tokens, the key file).
    let own = settings.own_files();
    crate::fs::check_output(
        "-o",
        &opts.output,
        own.iter().map(|(w, p)| (*w, p.as_path())),
    )?;
    let rt = runtime(2).map_err(ExportJobError::Runtime)?;
    rt.block_on(async {
        let conn = connect(settings, ConnectOptions::default(), reporter).await?;
        let cancel = opts.cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        });
        let bar = reporter.progress(opts.resource.name(), Some(0));
        let result = run_export(&conn.client, &opts, &*bar).await;
        bar.finish();
        conn.close().await;
        Ok(result?)
    })
}
