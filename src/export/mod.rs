//! Export: API lists → rows → XLSX, CSV or JSON Lines, in constant memory.
//!
//! ```text
//! query (filters, period) ─▶ pages (client stream, prefetch) ─▶ engine (dedupe, flatten by layout) ─▶ sink ─▶ temp file ─▶ rename
//! ```
//!
//! - [`period`]: `--period`/`--from`/`--to` as Chisinau calendar days.
//! - [`query`]: filters, metadata, expand and sort checked against API.md.
//! - [`resource`]: the four resources, their fields and default columns.
//! - [`columns`]: field paths, formats and typed cells; formula neutralisation.
//! - [`layout`]: default columns, `--columns`, export mapping files; sheets.
//! - [`engine`]: pages in, rows out, the file renamed into place when complete.
//! - [`sink`], [`xlsx`], [`csv`], [`jsonl`]: the writers.
//! - [`template`]: `{period}`, `{date}`, `{from}`, `{to}`, `{resource}` in output paths.
//! - [`bookmark`]: incremental exports' watermark (API.md "Lists").

pub mod bookmark;
pub mod columns;
pub mod csv;
pub mod engine;
pub mod jsonl;
pub mod layout;
pub mod period;
pub mod query;
pub mod resource;
pub mod sink;
pub mod template;
pub mod xlsx;

pub use engine::{ExportProgress, NoProgress};
pub use layout::{Layout, LayoutRequest};
pub use resource::Resource;
pub use sink::{OutputFormat, SinkOptions};
