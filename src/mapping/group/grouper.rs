//! Grouping rows by key, in order on the reader's thread: the first pass
//! notes the position of each key's last row (by the parser, or in parts
//! at once on the pool by the quick splitter), and the second pass adds
//! every row to its key's open document and hands the document on when its
//! last row arrives. Rows that cannot be grouped (skipped, ragged, with no
//! key, unreadable) are sorted out here, and each document gets its source
//! key (`group:`, `row:`, `record:`).

use super::spill::Spill;
use super::{Done, DraftStats, Pending};
use crate::mapping::compile::Plan;
use crate::model::{Draft, Problem, RowRef};
use crate::read::Cell;
use crate::read::{self, ReadError, SourceRow};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

enum Mode {
    PerRow,
    Key,
    Record,
}

enum Class<'r> {
    Skip,
    Keyed(Cow<'r, str>),
    Unkeyed,
}

/// A map from group keys: keys come from the user's own file, so a fast
/// hash without protection against chosen collisions is enough.
type Keys<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// A map from group keys' hashes, which need no hashing again.
type Hashed<V> = HashMap<u64, V, std::hash::BuildHasherDefault<crate::model::Prehashed>>;

/// Groups one file's rows into documents. Grouping looks only at the key
/// and skip-rule cells, so it is cheap and runs in order on the reader's
/// thread; mapping each completed document ([`build`]) is the costly part
/// and runs in parallel.
///
/// [`build`]: super::assemble::build
pub(super) struct Grouper {
    plan: Arc<Plan>,
    mode: Mode,
    /// Hashes keys for `last`.
    seed: foldhash::fast::RandomState,
    /// First pass: each key's (hash's) last row.
    last: Hashed<u64>,
    /// Second pass: the rows that are their key's last, a bit per row
    /// (`last` turned around when the second pass begins: a row's bit is
    /// found by its index, where a key's entry is a lookup in a table of
    /// one entry per document, most of them out of the caches).
    ends: Option<Vec<u64>>,
    /// The documents the first pass found (`last`'s entries).
    counted: u64,
    open: Keys<Pending>,
    /// The group opened last, kept out of `open` while its rows come one
    /// after another, as in a file sorted by document.
    recent: Option<(String, Pending)>,
    record: Option<(RowRef, Pending)>,
    /// One pass ([`Grouper::one_pass`]): the keys (hashes) of the groups
    /// opened so far, to tell when one comes back.
    closed: Option<Hashed<()>>,
    /// One pass: documents of their own (a row with no key, an unreadable
    /// row) that came while the recent group was open, in order. They go
    /// out after it, as the two passes hand them on, unless another of its
    /// rows comes, which puts them before it.
    waiting: Vec<Done>,
    /// One pass: a key came back after its group was handed on (or too
    /// many documents waited): what was handed on is not what two passes
    /// would give, and the file must be read again in two passes.
    broken: bool,
}

/// One pass: documents of their own that may wait behind an open group at
/// most (beyond, the file is read in two passes, as it then needs no
/// memory for them).
const WAITING_MAX: usize = 1024;

/// The cell at `idx`, or an empty one past the end.
fn cell_at(cells: &[Cell], idx: usize) -> &Cell {
    cells.get(idx).unwrap_or(&Cell::Empty)
}

/// A row's group key: its key cells (a list of them as JSON text), and,
/// when the source reads several sheets, its sheet before them
/// (`Ianuarie:GC-0001`; a sheet name cannot hold `:`), so that a document
/// never spans sheets.
fn key_of<'r>(plan: &Plan, cells: &'r [Cell], sheet: Option<&str>) -> Cow<'r, str> {
    let k = cells_key(plan, cells);
    match sheet {
        Some(sheet) if plan.sheets_in_key && !k.is_empty() => Cow::Owned(format!("{sheet}:{k}")),
        _ => k,
    }
}

fn cells_key<'r>(plan: &Plan, cells: &'r [Cell]) -> Cow<'r, str> {
    if plan.key.len() == 1 {
        return match cell_at(cells, plan.key[0]).as_text() {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
            Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
        };
    }
    let parts: Vec<String> = plan
        .key
        .iter()
        .map(|&k| cell_at(cells, k).as_text().trim().to_string())
        .collect();
    if parts.iter().all(String::is_empty) {
        Cow::Borrowed("")
    } else {
        Cow::Owned(serde_json::to_string(&parts).unwrap_or_default())
    }
}

impl Grouper {
    pub(super) fn new(plan: Arc<Plan>) -> Grouper {
        let mode = if !plan.key.is_empty() {
            Mode::Key
        } else if plan.group_by_record {
            Mode::Record
        } else {
            Mode::PerRow
        };
        Grouper {
            plan,
            mode,
            seed: Default::default(),
            last: Hashed::default(),
            ends: None,
            counted: 0,
            open: Keys::default(),
            recent: None,
            record: None,
            closed: None,
            waiting: Vec::new(),
            broken: false,
        }
    }

    /// Group in one pass, taking each group's rows to be adjacent: a group
    /// is complete when a row of another key comes. If a key comes back
    /// after its group was handed on, [`Grouper::broken`] says so from then
    /// on and the file must be read again in two passes; until then, what
    /// is handed on is what two passes would hand on, in the same order.
    pub(super) fn one_pass(&mut self) {
        if matches!(self.mode, Mode::Key) {
            self.closed = Some(Hashed::default());
        }
    }

    /// One pass: a key came back (see [`Grouper::one_pass`]).
    pub(super) fn broken(&self) -> bool {
        self.broken
    }

    pub(super) fn needs_first_pass(&self) -> bool {
        matches!(self.mode, Mode::Key) && self.closed.is_none()
    }

    /// After the first pass: the documents it found (one per key; rows
    /// without a key, which become documents of their own, not counted).
    pub(super) fn documents_counted(&self) -> u64 {
        match self.ends {
            Some(_) => self.counted,
            None => self.last.len() as u64,
        }
    }

    /// The first pass is over: its notes become a bit per row.
    fn seal(&mut self) -> &[u64] {
        let last = std::mem::take(&mut self.last);
        self.counted = last.len() as u64;
        let rows = last.values().max().map_or(0, |&m| m + 1);
        let mut bits = vec![0u64; rows.div_ceil(64) as usize];
        for &i in last.values() {
            bits[(i / 64) as usize] |= 1 << (i % 64);
        }
        self.ends.insert(bits)
    }

    /// Second pass: whether row `i` is the last of its key's rows (a row
    /// past every key's last one is, as in a file that grew).
    fn is_end(&mut self, i: u64) -> bool {
        let ends = match &self.ends {
            Some(e) => e.as_slice(),
            None => self.seal(),
        };
        ends.get((i / 64) as usize)
            .is_none_or(|w| w >> (i % 64) & 1 == 1)
    }

    fn classify<'r>(&self, cells: &'r [Cell], sheet: Option<&str>, full: bool) -> Class<'r> {
        for rule in &self.plan.skip {
            let hit = match rule.column {
                Some(c) => rule.is_match(&cell_at(cells, c).as_text()),
                None => cells
                    .iter()
                    .any(|c| !c.is_empty() && rule.is_match(&c.as_text())),
            };
            if hit {
                return Class::Skip;
            }
        }
        if full && cells.iter().all(Cell::is_blank) {
            return Class::Skip;
        }
        match self.mode {
            Mode::Key => {
                let k = key_of(&self.plan, cells, sheet);
                if k.is_empty() {
                    Class::Unkeyed
                } else {
                    Class::Keyed(k)
                }
            }
            _ => Class::Unkeyed,
        }
    }

    /// First pass: note the position of each key's last row.
    pub(super) fn note(&mut self, i: u64, item: &Result<SourceRow, ReadError>) {
        let row = match item {
            Ok(r) => r,
            Err(ReadError::Ragged { row, .. }) => row,
            Err(_) => return,
        };
        if let Some(h) = self.key_hash(&row.cells, row.at.sheet.as_deref()) {
            self.last.insert(h, i);
        }
    }

    /// The hash of a row's group key, by its cells (and sheet), for `last`;
    /// `None` when the row is skipped or has no key.
    fn key_hash(&self, cells: &[Cell], sheet: Option<&str>) -> Option<u64> {
        match self.classify(cells, sheet, false) {
            Class::Keyed(k) => Some(std::hash::BuildHasher::hash_one(&self.seed, &*k)),
            _ => None,
        }
    }

    /// First pass: the parts' notes, in file order, each with its number
    /// of rows: a key's last row is in the last part that has it.
    fn merge_notes(&mut self, parts: Vec<(Hashed<u64>, u64)>) {
        let mut offset = 0;
        for (last, rows) in parts {
            if offset == 0 && self.last.is_empty() {
                self.last = last;
            } else {
                // Room for all of it at once (`extend` reserves for half).
                self.last.reserve(last.len());
                self.last
                    .extend(last.into_iter().map(|(h, i)| (h, i + offset)));
            }
            offset += rows;
        }
    }

    /// Second pass: the `i`th item of the file, in order. Documents it
    /// completes go to `done`; a row that cannot be read is a document of
    /// its own; a fatal error stops the file.
    pub(super) fn push(
        &mut self,
        i: u64,
        item: Result<SourceRow, ReadError>,
        stats: &mut DraftStats,
        done: &mut Vec<Done>,
    ) -> Result<(), ReadError> {
        let (row, mut problems) = match item {
            Ok(r) => (r, Vec::new()),
            Err(ReadError::Ragged {
                row,
                expected,
                found,
            }) => {
                let p = Problem::error(
                    "ragged_row",
                    "row",
                    format!("the row has {found} cells where the header has {expected}"),
                )
                .at_row(Some(&row.at))
                .found(format!("{found} cells"))
                .expected(format!("{expected} cells"));
                (*row, vec![p])
            }
            Err(ReadError::Row { at, message }) => {
                stats.rows_read += 1;
                stats.row_errors += 1;
                let p = Problem::error("unreadable_row", "row", message).at_row(Some(&at));
                let own = Done::Draft(Box::new(Draft {
                    source_key: row_key(&at),
                    rows: vec![at],
                    problems: vec![p],
                    ..Default::default()
                }));
                self.own(own, done);
                return Ok(());
            }
            Err(fatal) => return Err(fatal),
        };
        crate::crash::working_on_row(row.at.row, crate::crash::Stage::Read);
        stats.rows_read += 1;
        let class = self.classify(&row.cells, row.at.sheet.as_deref(), true);
        if matches!(class, Class::Skip) {
            stats.rows_skipped += 1;
            return Ok(());
        }
        if !problems.is_empty() {
            stats.row_errors += 1;
        }
        match (&self.mode, class) {
            (Mode::Key, Class::Keyed(k)) if self.closed.is_some() => {
                if let Some((_, doc)) = self.recent.as_mut().filter(|(r, _)| *r == *k) {
                    drop(k);
                    doc.push(row, problems, false);
                    done.append(&mut self.waiting);
                    return Ok(());
                }
                let h = std::hash::BuildHasher::hash_one(&self.seed, &*k);
                if self
                    .closed
                    .as_mut()
                    .is_some_and(|c| c.insert(h, ()).is_some())
                {
                    self.broken = true;
                    return Ok(());
                }
                if let Some((before, doc)) = self.recent.take() {
                    done.push(Done::Rows(doc, group_key(&before)));
                }
                done.append(&mut self.waiting);
                let k = k.into_owned();
                let mut doc = Pending::new(i);
                doc.push(row, problems, true);
                self.recent = Some((k, doc));
            }
            (Mode::Key, Class::Keyed(k)) => {
                // `k` borrows from `row`: owned copies are made only where kept.
                let complete = self.is_end(i);
                let recent = matches!(&self.recent, Some((r, _)) if *r == *k);
                if !complete {
                    if let (true, Some((_, doc))) = (recent, &mut self.recent) {
                        drop(k);
                        doc.push(row, problems, false);
                    } else if let Some(doc) = self.open.get_mut(&*k) {
                        drop(k);
                        doc.push(row, problems, false);
                    } else {
                        // A new group is the recent one; the one before
                        // waits in `open` for rows further on.
                        let k = k.into_owned();
                        let mut doc = Pending::new(i);
                        doc.push(row, problems, true);
                        if let Some((before, d)) = self.recent.replace((k, doc)) {
                            self.open.insert(before, d);
                        }
                    }
                    return Ok(());
                }
                let key = group_key(&k);
                let open = if recent {
                    self.recent.take().map(|(_, d)| d)
                } else {
                    self.open.remove(&*k)
                };
                drop(k);
                let first = open.is_none();
                let mut doc = open.unwrap_or_else(|| Pending::new(i));
                doc.push(row, problems, first);
                done.push(Done::Rows(doc, key));
            }
            (Mode::Key, _) => {
                let names: Vec<&str> = self
                    .plan
                    .key
                    .iter()
                    .map(|&k| self.plan.headers.get(k).map_or("", |h| &**h))
                    .collect();
                problems.push(
                    Problem::error(
                        "missing_group_key",
                        "number",
                        format!(
                            "the row has no value in the grouping column(s) {}",
                            names.join(", ")
                        ),
                    )
                    .at_row(Some(&row.at))
                    .expected("a value that names the document"),
                );
                let key = row_key(&row.at);
                let mut doc = Pending::new(i);
                doc.push(row, problems, true);
                self.own(Done::Rows(doc, key), done);
            }
            (Mode::Record, _) => match &mut self.record {
                Some((at, doc)) if *at == row.at => doc.push(row, problems, true),
                _ => {
                    if let Some((at, doc)) = self.record.take() {
                        done.push(Done::Rows(doc, record_key(&at)));
                    }
                    let at = row.at.clone();
                    let mut doc = Pending::new(i);
                    doc.push(row, problems, true);
                    self.record = Some((at, doc));
                }
            },
            (Mode::PerRow, _) => {
                let key = row_key(&row.at);
                let mut doc = Pending::new(i);
                doc.push(row, problems, true);
                done.push(Done::Rows(doc, key));
            }
        }
        Ok(())
    }

    /// A document of its own, complete: handed on, or in one pass, waiting
    /// behind the group open.
    fn own(&mut self, doc: Done, done: &mut Vec<Done>) {
        if self.closed.is_none() || self.recent.is_none() {
            return done.push(doc);
        }
        if self.waiting.len() == WAITING_MAX {
            self.broken = true;
        }
        self.waiting.push(doc);
    }

    /// End of the file: the documents still open, in the order of their
    /// first rows (and in one pass, those waiting behind the last group).
    pub(super) fn rest(&mut self) -> Vec<Done> {
        let mut done = Vec::new();
        if let Some((at, doc)) = self.record.take() {
            done.push(Done::Rows(doc, record_key(&at)));
        }
        let mut rest: Vec<(String, Pending)> = self.open.drain().collect();
        rest.extend(self.recent.take());
        rest.sort_by_key(|(_, d)| d.first);
        for (k, doc) in rest {
            done.push(Done::Rows(doc, group_key(&k)));
        }
        done.append(&mut self.waiting);
        done
    }
}

fn file_name(at: &RowRef) -> String {
    std::path::Path::new(&*at.file)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| at.file.to_string())
}

/// A group's source key: `group:` and its key.
fn group_key(k: &str) -> String {
    let mut key = String::with_capacity(6 + k.len());
    key.push_str("group:");
    key.push_str(k);
    key
}

fn row_key(at: &RowRef) -> String {
    match &at.sheet {
        Some(s) => format!("row:{}:{}:{}", file_name(at), s, at.row),
        None => format!("row:{}:{}", file_name(at), at.row),
    }
}

fn record_key(at: &RowRef) -> String {
    format!("record:{}:{}", file_name(at), at.row)
}

/// The first pass over a file without quotes, split at its line breaks
/// (much faster than the CSV parser) in parts read at once on the pool,
/// idle until the second pass. Whether the file's lines break one way;
/// `None` when the file is not such a file.
pub(super) fn plain_first_pass(
    g: &mut Grouper,
    path: &std::path::Path,
    source: &read::SourceSpec,
    plan: &Plan,
) -> Result<Option<bool>, ReadError> {
    use rayon::prelude::*;
    let Some(splitter) = read::plain(path, source, Some(plan.key_projection()))? else {
        return Ok(None);
    };
    // Each part's notes, rows and line breaks (none: not such a file).
    type Part = Option<(Hashed<u64>, (u64, read::csv::Breaks))>;
    let parts: Vec<Part> = splitter
        .parts(rayon::current_num_threads())?
        .into_par_iter()
        .map(|range| {
            let mut last = Hashed::default();
            let read = splitter.rows_in(range, |i, cells| {
                if let Some(h) = g.key_hash(cells, None) {
                    last.insert(h, i);
                }
            })?;
            Ok(read.map(|r| (last, r)))
        })
        .collect::<Result<_, ReadError>>()?;
    let Some(parts) = parts.into_iter().collect::<Option<Vec<_>>>() else {
        return Ok(None);
    };
    let breaks = parts
        .iter()
        .fold(read::csv::Breaks::default(), |b, (_, (_, p))| b.merge(*p));
    g.merge_notes(
        parts
            .into_iter()
            .map(|(last, (rows, _))| (last, rows))
            .collect(),
    );
    Ok(Some(splitter.numbers_as_parser(breaks)))
}

/// The first pass the ordinary way: every row's key and skip-rule cells;
/// with `keep` (a workbook), every cell the mapping reads, each row kept
/// for the second pass, which then reads it from the returned [`Spill`].
pub(super) fn first_pass(
    g: &mut Grouper,
    path: &std::path::Path,
    source: &read::SourceSpec,
    plan: &Plan,
    keep: bool,
) -> Result<Option<Spill>, ReadError> {
    let io = |what: &str, e: std::io::Error| ReadError::file(path, what, Some(Box::new(e)));
    let (mut spill, projection) = if keep {
        let spill = Spill::new().map_err(|e| {
            io(
                "failed to create a temporary file for the rows of the first pass",
                e,
            )
        })?;
        (Some(spill), plan.row_projection())
    } else {
        (None, plan.key_projection())
    };
    let src = read::open_projected(path, source, Some(projection))?;
    for (i, item) in src.enumerate() {
        if item.as_ref().is_err_and(ReadError::is_fatal) {
            return Err(item
                .err()
                .unwrap_or_else(|| ReadError::file(path, "failed to read", None)));
        }
        g.note(i as u64, &item);
        if let Some(s) = &mut spill {
            s.keep(&item)
                .map_err(|e| io("failed to keep the rows of the first pass", e))?;
        }
    }
    Ok(spill)
}
