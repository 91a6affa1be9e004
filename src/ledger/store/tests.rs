//! The store's tests: bookmarks round trip, a unit's life survives a
//! reopen, units are unique per environment and adopted by later runs.

use super::*;

fn new_unit(key: &str) -> NewUnit {
    NewUnit {
        kind: UnitKind::Invoice,
        import_key: key.into(),
        source_key: format!("src-{key}"),
        source_rows: "a.csv row 2".into(),
        number: Some(format!("N-{key}")),
        payload_hash: "h1".into(),
    }
}

fn ledger() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path().join("sub/ledger.db")).unwrap();
    (dir, l)
}

#[test]
fn bookmarks_round_trip() {
    let (_d, l) = ledger();
    assert_eq!(l.bookmark("invoices").unwrap(), None);
    let b = Bookmark {
        updated_at: 1_700_000_000,
        ids: vec![3, 4],
        saved_at: 0,
    };
    l.set_bookmark("invoices", &b).unwrap();
    let got = l.bookmark("invoices").unwrap().unwrap();
    assert_eq!(got.updated_at, 1_700_000_000);
    assert_eq!(got.ids, vec![3, 4]);
    assert!(got.saved_at > 0);
    l.set_bookmark(
        "invoices",
        &Bookmark {
            updated_at: 5,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(l.bookmark("invoices").unwrap().unwrap().updated_at, 5);
    assert!(l.clear_bookmark("invoices").unwrap());
    assert_eq!(l.bookmark("invoices").unwrap(), None);
}

#[test]
fn unit_lifecycle_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let run;
    let uid;
    {
        let l = Ledger::open(&path).unwrap();
        run = l
            .start_run(&NewRun {
                env: "local".into(),
                mapping_path: "m.toml".into(),
                mapping_identity: "id".into(),
                inputs: vec![InputFile {
                    path: "a.csv".into(),
                    sha256: "00".into(),
                }],
                options: serde_json::json!({"concurrency": 8}),
            })
            .unwrap();
        let u = l.insert_unit(run, "local", &new_unit("k1")).unwrap();
        assert_eq!(u.state, UnitState::Pending);
        uid = u.id;
        assert_eq!(l.mark_sending(uid).unwrap(), 1);
        assert_eq!(l.mark_sending(uid).unwrap(), 2);
    }
    let l = Ledger::open(&path).unwrap();
    let u = l.unit("local", "k1").unwrap().unwrap();
    assert_eq!(u.state, UnitState::Sending);
    assert_eq!(u.attempts, 2);
    l.mark_done(uid, 77, true).unwrap();
    let u = l.unit_by_id(uid).unwrap().unwrap();
    assert_eq!(
        (u.state, u.remote_id, u.created),
        (UnitState::Done, Some(77), true)
    );
    assert_eq!(l.unit("sandbox", "k1").unwrap(), None);
    let counts = l.unit_counts(run).unwrap();
    assert_eq!(counts[&(UnitKind::Invoice, UnitState::Done)], 1);
    let r = l.run(run).unwrap().unwrap();
    assert_eq!(r.status, RunStatus::Running);
    assert_eq!(r.inputs[0].path, "a.csv");
    assert_eq!(l.unfinished_runs("local").unwrap().len(), 1);
    l.end_run(run, RunStatus::Finished, &RunCounts::default(), None)
        .unwrap();
    assert!(l.unfinished_runs("local").unwrap().is_empty());
    assert!(l.run(run).unwrap().unwrap().ended_at.is_some());
}

#[test]
fn insert_is_unique_per_environment_and_adopt_moves_the_unit() {
    let (_d, l) = ledger();
    let r1 = l.start_run(&NewRun::default()).unwrap();
    let r2 = l.start_run(&NewRun::default()).unwrap();
    let a = l.insert_unit(r1, "local", &new_unit("k")).unwrap();
    l.mark_sending(a.id).unwrap();
    let again = l.insert_unit(r2, "local", &new_unit("k")).unwrap();
    assert_eq!(again.id, a.id);
    assert_eq!(again.run_id, r1);
    assert_eq!(again.state, UnitState::Sending);
    let other_env = l.insert_unit(r2, "sandbox", &new_unit("k")).unwrap();
    assert_ne!(other_env.id, a.id);
    let moved = l.adopt_unit(a.id, r2, &new_unit("k")).unwrap();
    assert_eq!(
        (moved.run_id, moved.state, moved.attempts),
        (r2, UnitState::Sending, 0)
    );
    l.mark_rejected(a.id, "400 invalid_request: number")
        .unwrap();
    let u = l.unit_by_id(a.id).unwrap().unwrap();
    assert_eq!(u.last_error.as_deref(), Some("400 invalid_request: number"));
    assert_eq!(l.units_of_run(r2).unwrap().len(), 2);
}

#[test]
fn has_units_is_per_environment() {
    let (_d, l) = ledger();
    let run = l.start_run(&NewRun::default()).unwrap();
    assert!(!l.has_units("local").unwrap());
    let u = l.insert_unit(run, "local", &new_unit("k")).unwrap();
    l.mark_rejected(u.id, "400 invalid_request: number")
        .unwrap();
    assert!(l.has_units("local").unwrap());
    assert!(!l.has_units("sandbox").unwrap());
}
