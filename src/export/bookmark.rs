//! Incremental exports (API.md "Lists"): the bookmark is the highest
//! `updated_at` seen; the next run asks `updated_after = bookmark - 1` (the
//! bound is strict) and drops the objects it already wrote at exactly that
//! second, which the bookmark lists by id. Pure logic: the ledger stores it.

use serde::{Deserialize, Serialize};

/// Where an incremental export stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// The highest `updated_at` written.
    pub updated_at: i64,
    /// The ids written with exactly that `updated_at`.
    pub ids: Vec<i64>,
}

impl Watermark {
    /// The `updated_after` to ask next time.
    pub fn updated_after(&self) -> i64 {
        self.updated_at - 1
    }

    /// Whether an object was written by the run that left this watermark.
    pub fn already_written(&self, id: i64, updated_at: i64) -> bool {
        updated_at < self.updated_at || (updated_at == self.updated_at && self.ids.contains(&id))
    }
}

/// Follows the objects of a run to compute its new watermark.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    previous: Option<Watermark>,
    max: Option<i64>,
    ids_at_max: Vec<i64>,
}

impl Tracker {
    pub fn new(previous: Option<Watermark>) -> Self {
        Tracker {
            previous,
            ..Default::default()
        }
    }

    /// Whether to skip this object (written by the previous run).
    pub fn skip(&self, id: i64, updated_at: i64) -> bool {
        self.previous
            .as_ref()
            .is_some_and(|w| w.already_written(id, updated_at))
    }

    /// An object written by this run.
    pub fn saw(&mut self, id: i64, updated_at: i64) {
        match self.max {
            Some(m) if updated_at < m => {}
            Some(m) if updated_at == m => {
                if !self.ids_at_max.contains(&id) {
                    self.ids_at_max.push(id)
                }
            }
            _ => {
                self.max = Some(updated_at);
                self.ids_at_max.clear();
                self.ids_at_max.push(id);
            }
        }
    }

    /// The watermark to keep: this run's highest, merged with the previous
    /// one when they share a second; the previous one when nothing came.
    pub fn finish(self) -> Option<Watermark> {
        let Some(max) = self.max else {
            return self.previous;
        };
        let mut ids = self.ids_at_max;
        if let Some(prev) = self.previous {
            if prev.updated_at > max {
                return Some(prev);
            }
            if prev.updated_at == max {
                for id in prev.ids {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
        ids.sort_unstable();
        Some(Watermark {
            updated_at: max,
            ids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_run_is_empty_then_only_changes() {
        // Run 1: three objects, two in the last second.
        let mut t = Tracker::new(None);
        for (id, at) in [(1, 100), (2, 105), (3, 105)] {
            assert!(!t.skip(id, at));
            t.saw(id, at);
        }
        let w = t.finish().unwrap();
        assert_eq!(
            w,
            Watermark {
                updated_at: 105,
                ids: vec![2, 3]
            }
        );
        assert_eq!(w.updated_after(), 104);
        // Run 2: the server returns what is strictly after 104: 2 and 3 again.
        let t = Tracker::new(Some(w.clone()));
        assert!(t.skip(2, 105) && t.skip(3, 105));
        assert_eq!(t.finish(), Some(w.clone()));
        // Run 3: object 1 updated (at 105, the same second) and 4 created later.
        let mut t = Tracker::new(Some(w));
        assert!(!t.skip(1, 105));
        t.saw(1, 105);
        assert!(!t.skip(4, 107));
        t.saw(4, 107);
        assert_eq!(
            t.finish(),
            Some(Watermark {
                updated_at: 107,
                ids: vec![4]
            })
        );
    }

    #[test]
    fn same_second_merges_ids() {
        let prev = Watermark {
            updated_at: 50,
            ids: vec![7],
        };
        let mut t = Tracker::new(Some(prev));
        t.saw(9, 50);
        assert_eq!(
            t.finish(),
            Some(Watermark {
                updated_at: 50,
                ids: vec![7, 9]
            })
        );
    }
}
