//! `runs list` and `runs show` as text and JSON, from the ledger alone.

use crate::ledger::{Ledger, LedgerError, Run, RunId, Unit, UnitKind, UnitState};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Unix milliseconds as `2026-11-28 14:05:07 UTC`.
pub fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A run with its unit counts, for `runs list` and `runs show`.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub run: Run,
    pub duration_secs: f64,
    /// kind → state → count.
    pub units: BTreeMap<UnitKind, BTreeMap<UnitState, u64>>,
}

/// A unit that did not go through, for `runs show`.
#[derive(Debug, Clone, Serialize)]
pub struct UnitProblem {
    pub kind: UnitKind,
    pub state: UnitState,
    pub number: Option<String>,
    pub rows: String,
    pub attempts: u32,
    pub error: Option<String>,
}

/// `runs show`: the run, its counts, and its problem units.
#[derive(Debug, Clone, Serialize)]
pub struct RunDetail {
    pub view: RunView,
    pub problems: Vec<UnitProblem>,
}

pub fn view(ledger: &Ledger, run: Run) -> Result<RunView, LedgerError> {
    let mut units: BTreeMap<UnitKind, BTreeMap<UnitState, u64>> = BTreeMap::new();
    for ((kind, state), n) in ledger.unit_counts(run.id)? {
        units.entry(kind).or_default().insert(state, n);
    }
    Ok(RunView {
        duration_secs: run.duration().as_secs_f64(),
        run,
        units,
    })
}

pub fn list(ledger: &Ledger) -> Result<Vec<RunView>, LedgerError> {
    ledger
        .runs()?
        .into_iter()
        .map(|r| view(ledger, r))
        .collect()
}

pub fn detail(ledger: &Ledger, id: RunId) -> Result<Option<RunDetail>, LedgerError> {
    let Some(run) = ledger.run(id)? else {
        return Ok(None);
    };
    let problems = ledger
        .units_of_run(id)?
        .into_iter()
        .filter(|u| {
            !matches!(u.state, UnitState::Done | UnitState::RolledBack) || u.last_error.is_some()
        })
        .map(|u: Unit| UnitProblem {
            kind: u.kind,
            state: u.state,
            number: u.number,
            rows: u.source_rows,
            attempts: u.attempts,
            error: u.last_error,
        })
        .collect();
    Ok(Some(RunDetail {
        view: view(ledger, run)?,
        problems,
    }))
}

fn n(v: &RunView, kind: UnitKind, state: UnitState) -> u64 {
    v.units
        .get(&kind)
        .and_then(|m| m.get(&state))
        .copied()
        .unwrap_or(0)
}

fn status(v: &RunView) -> String {
    match v.run.rolled_back_at {
        Some(_) => format!("{} (rolled back)", v.run.status),
        None => v.run.status.to_string(),
    }
}

/// The table of `runs list`.
pub fn render_list(views: &[RunView]) -> String {
    let mut s = String::new();
    if views.is_empty() {
        s.push_str("no runs yet\n");
        return s;
    }
    let _ = writeln!(
        s,
        "{:>4}  {:<23}  {:<10}  {:<24}  {:>8}  {:>8}  {:>8}  {:>8}  mapping",
        "run", "started", "env", "status", "invoices", "rejected", "pending", "time"
    );
    for v in views {
        let docs =
            n(v, UnitKind::Invoice, UnitState::Done) + n(v, UnitKind::CreditNote, UnitState::Done);
        let rejected: u64 = v
            .units
            .values()
            .map(|m| m.get(&UnitState::Rejected).copied().unwrap_or(0))
            .sum();
        let pending: u64 = v
            .units
            .values()
            .map(|m| {
                m.get(&UnitState::Pending).copied().unwrap_or(0)
                    + m.get(&UnitState::Sending).copied().unwrap_or(0)
            })
            .sum();
        let _ = writeln!(
            s,
            "{:>4}  {:<23}  {:<10}  {:<24}  {:>8}  {:>8}  {:>8}  {:>7.1}s  {}",
            v.run.id,
            when(v.run.started_at),
            v.run.env,
            status(v),
            docs,
            rejected + v.run.counts.invalid,
            pending,
            v.duration_secs,
            v.run.mapping_path
        );
    }
    s
}

/// The text of `runs show`.
pub fn render_detail(d: &RunDetail) -> String {
    let v = &d.view;
    let r = &v.run;
    let mut s = String::new();
    let _ = writeln!(s, "run {} against {}: {}", r.id, r.env, status(v));
    let _ = writeln!(
        s,
        "started {}, {}",
        when(r.started_at),
        match r.ended_at {
            Some(e) => format!("ended {} ({:.1}s)", when(e), v.duration_secs),
            None => "not ended".to_string(),
        }
    );
    let _ = writeln!(
        s,
        "mapping {} (identity {})",
        r.mapping_path, r.mapping_identity
    );
    for i in &r.inputs {
        let _ = writeln!(s, "input {} (sha256 {})", i.path, i.sha256);
    }
    let c = &r.counts;
    let _ = writeln!(
        s,
        "documents {}: {} rejected by validation, {} already imported, {} changed since imported; {} replies 429",
        c.documents, c.invalid, c.already_imported, c.changed, c.rate_limited
    );
    for (kind, states) in &v.units {
        let parts: Vec<String> = states.iter().map(|(st, k)| format!("{k} {st}")).collect();
        let _ = writeln!(s, "{kind}: {}", parts.join(", "));
    }
    if let Some(e) = &r.error {
        let _ = writeln!(s, "stopped: {e}");
    }
    if !d.problems.is_empty() {
        let _ = writeln!(s, "units not done ({}):", d.problems.len());
        for p in d.problems.iter().take(200) {
            let _ = writeln!(
                s,
                "  {} {}{} [{}] {} attempt(s): {}",
                p.kind,
                p.number
                    .as_deref()
                    .map(|n| format!("{n} "))
                    .unwrap_or_default(),
                p.state,
                p.rows,
                p.attempts,
                p.error.as_deref().unwrap_or("-")
            );
        }
        if d.problems.len() > 200 {
            let _ = writeln!(s, "  … and {} more (see --json)", d.problems.len() - 200);
        }
    }
    if r.status != crate::ledger::RunStatus::Finished && r.rolled_back_at.is_none() {
        let _ = writeln!(s, "resume with `facturare-etl import --resume {}`", r.id);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{NewRun, NewUnit, RunCounts, RunStatus};

    #[test]
    fn list_and_show_tell_counts_errors_and_how_to_resume() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path().join("ledger.db")).unwrap();
        let run = l
            .start_run(&NewRun {
                env: "local".into(),
                mapping_path: "m.toml".into(),
                mapping_identity: "abc".into(),
                ..Default::default()
            })
            .unwrap();
        let unit = |key: &str, kind| NewUnit {
            kind,
            import_key: key.into(),
            source_key: key.into(),
            source_rows: format!("in.csv row {key}"),
            number: Some(format!("N-{key}")),
            payload_hash: "h".into(),
        };
        let a = l
            .insert_unit(run, "local", &unit("2", UnitKind::Invoice))
            .unwrap();
        l.mark_sending(a.id).unwrap();
        l.mark_done(a.id, 10, true).unwrap();
        let b = l
            .insert_unit(run, "local", &unit("3", UnitKind::Payment))
            .unwrap();
        l.mark_sending(b.id).unwrap();
        l.mark_rejected(b.id, "400 invalid_request: amount")
            .unwrap();
        let c = l
            .insert_unit(run, "local", &unit("4", UnitKind::Invoice))
            .unwrap();
        l.mark_sending(c.id).unwrap();
        l.end_run(
            run,
            RunStatus::Interrupted,
            &RunCounts::default(),
            Some("interrupted (Ctrl-C)"),
        )
        .unwrap();

        let list = render_list(&super::list(&l).unwrap());
        assert!(list.contains("interrupted"), "{list}");
        assert!(list.contains("m.toml"), "{list}");
        let d = detail(&l, run).unwrap().unwrap();
        assert_eq!(d.problems.len(), 2);
        let text = render_detail(&d);
        assert!(
            text.contains("invoice: 1 sending, 1 done")
                || text.contains("invoice: 1 done, 1 sending"),
            "{text}"
        );
        assert!(
            text.contains(
                "payment N-3 rejected [in.csv row 3] 1 attempt(s): 400 invalid_request: amount"
            ),
            "{text}"
        );
        assert!(text.contains("import --resume 1"), "{text}");
        assert!(detail(&l, 99).unwrap().is_none());
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["view"]["units"]["payment"]["rejected"], 1);
    }
}
