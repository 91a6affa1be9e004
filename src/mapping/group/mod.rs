//! Rows → documents. Without `group_by`, each row is a document (or, with
//! JSON nested lines, each record). With `group_by`, rows sharing a key
//! become one document whatever their order, in two passes over the file so
//! memory does not grow with its length:
//!
//! 1. a first pass reads only the key (and skip-rule) columns and records,
//!    for every key, the position of its last row (`HashMap<hash of the
//!    key, row>`: 16 bytes a document; two keys of one 64-bit hash, which
//!    is as good as never, would only keep the earlier one's document open
//!    to the end of the file), turned into a bit per row when it is done
//!    (is this row its key's last?);
//! 2. the second pass adds every row to its key's open document; when the
//!    key's last row arrives, the document is complete and is handed on.
//!
//! So only documents whose rows are still to come are held: a file sorted
//! by document holds one at a time, a shuffled one at worst all. Documents
//! come out in the order their last rows appear (for sorted files, input
//! order). Header fields are taken from the group's first row that has
//! them; a later row with a different value is a problem `group_disagrees`.
//!
//! A consumer that can start over ([`Drafts::restartable`], as validation's
//! survey of the batch does) gets the same documents in one pass when each
//! document's rows are adjacent, the common case: a group is complete when
//! a row of another key comes, and the keys seen are kept (a hash each) to
//! tell when one comes back. Then the stream says [`Step::Restart`] and
//! that file is read again in two passes, from the first file on. A row
//! with no key (or one that cannot be read), a document of its own, waits
//! behind the open group, so that the order is the two passes' order; more
//! than 1,024 waiting also send the file to two passes. A key that comes
//! back early (a shuffled file) costs a few hundred rows read twice; one
//! that comes back at the very end, the whole file.
//!
//! A CSV file with no quote characters is split at its line breaks and
//! delimiters with `memchr`, many times faster than the CSV parser: the
//! first pass so in parts at once on the `rayon` pool ([`csv::PlainRows`]),
//! and, when its lines all break one way (`\n` or `\r\n`), the second pass
//! too, which then gives the very rows and line numbers the parser would
//! (a property test holds the two to that). Any other file is read by the
//! parser. In one pass, the splitter is tried on any CSV file whose
//! encoding keeps its bytes (grouped by key or not): if its quoting is one
//! the splitter leaves to the parser, or its line breaks are not numbered
//! as the parser numbers them (found at the end), the stream starts over
//! with the ordinary read.
//!
//! A workbook's sheet (XLSX, ODS, XLS) is read once: the first pass keeps
//! the rows in a temporary file ([`spill`]) and the second reads them from
//! there, since inflating and parsing a sheet's XML is the costliest part
//! of reading it.
//!
//! The second pass runs on a reader thread, which only reads rows and looks
//! at their key and skip-rule cells. Completed documents go in batches to
//! the pool, which maps their rows and assembles the drafts (and, with
//! [`drafts_then`], validates them) while the reader reads on; the consumer
//! takes the batches in the order they were handed on.
//!
//! The parts: `grouper` (the first pass's keys, whether by the parser or
//! by the quick splitter in parts, and the second pass's grouping of rows
//! into open documents), `assemble` (a completed document's rows mapped and
//! assembled into its [`Draft`]) and `pipeline` ([`Drafts`]: the reader
//! thread, the batches handed to the pool, the results in order). This
//! file holds what passes between them: a document's rows and what grouping
//! completes.
//!
//! [`csv::PlainRows`]: crate::read::csv::PlainRows

mod assemble;
mod grouper;
mod pipeline;
mod spill;

pub use pipeline::{drafts, drafts_then, Drafts, Restartable, Step};

use super::compile::Plan;
use crate::model::{Draft, Problem};
use crate::read::SourceRow;
use assemble::build_all;
use grouper::Grouper;
use serde::Serialize;
use std::sync::Arc;

/// Counts for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DraftStats {
    /// Data rows read (after the header; skipped rows included).
    pub rows_read: u64,
    /// Rows skipped: blank, or matching a skip rule.
    pub rows_skipped: u64,
    /// Rows that could not be read as expected (ragged, unparseable JSON line).
    pub row_errors: u64,
    /// Documents formed.
    pub drafts: u64,
}

/// A source row of a document, read and grouped, not yet mapped.
#[derive(Debug)]
struct Member {
    row: SourceRow,
    /// Problems found while reading and grouping it (a ragged row, a
    /// missing group key).
    problems: Vec<Problem>,
    /// The first row of its group (or not grouped): map document fields.
    first: bool,
}

/// A document's rows, complete, waiting to be mapped.
#[derive(Debug)]
struct Pending {
    /// The row's position in the file, for ordering what is left at its end.
    first: u64,
    members: Vec<Member>,
}

impl Pending {
    fn new(first: u64) -> Pending {
        Pending {
            first,
            members: Vec::new(),
        }
    }

    fn push(&mut self, row: SourceRow, problems: Vec<Problem>, first: bool) {
        self.members.push(Member {
            row,
            problems,
            first,
        });
    }
}

/// A completed document: its rows to map, or a draft already made.
#[derive(Debug)]
enum Done {
    Draft(Box<Draft>),
    Rows(Pending, String),
}

/// Drafts of rows held in memory (examples, previews), grouped as a file's
/// (and filled down as a reader fills them).
pub fn drafts_from_rows(plan: Arc<Plan>, mut rows: Vec<SourceRow>) -> (Vec<Draft>, DraftStats) {
    let mut fill = crate::read::fill::FillDown::new(plan.fill.clone());
    for r in &mut rows {
        fill.apply(&mut r.cells);
    }
    let mut g = Grouper::new(plan.clone());
    if g.needs_first_pass() {
        for (i, r) in rows.iter().enumerate() {
            g.note(i as u64, &Ok(r.clone()));
        }
    }
    let mut stats = DraftStats::default();
    let mut done = Vec::new();
    for (i, r) in rows.into_iter().enumerate() {
        // In-memory rows cannot fail fatally.
        let _ = g.push(i as u64, Ok(r), &mut stats, &mut done);
    }
    done.extend(g.rest());
    let out = build_all(&plan, done);
    stats.drafts = out.len() as u64;
    (out, stats)
}
