//! Across drafts: order under parallelism, duplicate numbers (case,
//! files and sheets, hashes), and the verdicts reports read.

use super::*;
use crate::model::Prehashed;
use crate::validate::batch::{fold_case, NumberKey};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// Every draft validated on the thread pool, then checked for duplicate
/// numbers in input order: what the pipelines do.
fn validate_in_order(input: impl IntoIterator<Item = Draft>, r: &Rules) -> Vec<Outcome> {
    use rayon::prelude::*;
    let drafts: Vec<Draft> = input.into_iter().collect();
    let validated: Vec<Outcome> = drafts
        .into_par_iter()
        .with_min_len(64)
        .map(|d| validate_one(d, r))
        .collect();
    let mut seen = Duplicates::default();
    validated.into_iter().map(|o| seen.check(o)).collect()
}

fn numbered(i: u64, number: &str) -> Draft {
    let mut dr = good();
    dr.invoice.number = Some(number.to_string());
    dr.source_key = number.to_string();
    dr.rows = vec![row(i)];
    dr.origins.clear();
    dr
}

#[test]
fn duplicate_numbers_ignore_case_and_point_at_the_first() {
    let input = vec![numbered(2, "F-1"), numbered(3, "F-2"), numbered(4, "f-1")];
    let r = rules();
    let out: Vec<Outcome> = validate_in_order(input, &r);
    assert!(out[0].is_ok() && out[1].is_ok());
    let rej = out[2].as_ref().expect_err("duplicate");
    let p = &rej.problems[0];
    assert_eq!(p.code, codes::DUPLICATE_NUMBER);
    assert_eq!(p.row, Some(row(4)));
    assert!(p.message.contains("in.csv row 2"), "{}", p.message);
    // Invoices and credit notes are numbered apart.
    let mut credit = numbered(5, "F-1");
    credit.kind = DocKind::CreditNote;
    let out: Vec<Outcome> = validate_in_order(vec![numbered(2, "F-1"), credit], &r);
    assert!(out.iter().all(Result::is_ok));
}

#[test]
fn order_is_kept_across_chunks_and_threads() {
    let r = Rules { ..rules() };
    let n = 5000u64;
    let input = (0..n).map(|i| {
        let mut dr = numbered(i + 2, &format!("N-{i}"));
        // Every seventh is bad, with a cost that varies to shuffle timings.
        if i % 7 == 0 {
            dr.invoice.currency = Some("XXX".into());
        }
        dr.invoice.items = (0..(i % 13 + 1))
            .map(|_| dr.invoice.items[0].clone())
            .collect();
        dr.checks = Checks::default();
        dr
    });
    let mut count = 0;
    for (i, o) in validate_in_order(input, &r).into_iter().enumerate() {
        let (key, ok) = match &o {
            Ok(v) => (v.source_key.clone(), true),
            Err(rej) => (rej.draft.source_key.clone(), false),
        };
        assert_eq!(key, format!("N-{i}"));
        assert_eq!(ok, i % 7 != 0);
        count += 1;
    }
    assert_eq!(count, n);
}

#[test]
fn an_empty_input_yields_nothing() {
    let r = rules();
    assert_eq!(validate_in_order(std::iter::empty(), &r).len(), 0);
}

fn at(file: &str, sheet: Option<&str>, n: u64, number: &str) -> Draft {
    let mut dr = numbered(n, number);
    dr.rows = vec![RowRef {
        file: Arc::from(file),
        sheet: sheet.map(Arc::from),
        row: n,
    }];
    dr
}

#[test]
fn duplicates_name_the_first_file_and_sheet() {
    // Files and sheets in runs, and one going back to an earlier file.
    let input = vec![
        at("a.csv", None, 2, "A-1"),
        at("b.xlsx", Some("Ian"), 3, "B-1"),
        at("b.xlsx", Some("Feb"), 4, "C-1"),
        at("a.csv", None, 5, "D-1"),
        at("c.csv", None, 6, "b-1"),
        at("c.csv", None, 7, " a-1 "),
        at("c.csv", None, 8, "c-1"),
        at("c.csv", None, 9, "d-1"),
    ];
    let r = rules();
    let input_again = input.clone();
    let out: Vec<Outcome> = validate_in_order(input.clone(), &r);
    let messages: Vec<(String, Option<String>)> = out[4..]
        .iter()
        .map(|o| {
            let p = &o.as_ref().expect_err("a duplicate").problems[0];
            (p.message.clone(), p.found.clone())
        })
        .collect();
    let used = |at: &str| {
        format!("the number was already used at {at} (numbers are compared ignoring case)")
    };
    assert_eq!(
        messages,
        [
            (used("b.xlsx [Ian] row 3"), Some("b-1".into())),
            (used("a.csv row 2"), Some("a-1".into())),
            (used("b.xlsx [Feb] row 4"), Some("c-1".into())),
            (used("a.csv row 5"), Some("d-1".into())),
        ]
    );
    // The public check, one outcome at a time, finds the same.
    let mut seen = Duplicates::default();
    let one_by_one: Vec<Outcome> = input
        .into_iter()
        .map(|d| seen.check(validate_one(d, &r)))
        .collect();
    assert_eq!(one_by_one, out.clone());
    // Validated elsewhere (as the pipeline does, on the pool) with the key
    // worked out there, then checked in order: the same again.
    let mut seen = Duplicates::default();
    let validator = seen.validator(Arc::new(r.clone()), Keep::Documents);
    let validated: Vec<Box<Validated>> = input_again.into_iter().map(validator).collect();
    let fused: Vec<(Verdict, Option<Valid<Draft>>)> = validated
        .into_iter()
        .map(|mut v| {
            seen.check_validated(&mut v);
            v.into_parts()
        })
        .collect();
    let want: Vec<(Verdict, Option<Valid<Draft>>)> = out
        .iter()
        .map(|o| (Verdict::of(o), o.as_ref().ok().cloned()))
        .collect();
    assert_eq!(fused, want);
}

#[test]
fn a_draft_without_rows_or_number_is_not_recorded() {
    let mut rowless = numbered(2, "F-1");
    rowless.rows.clear();
    let mut blank = numbered(3, "  ");
    blank.invoice.number = Some("  ".into());
    let input = vec![rowless, blank, numbered(4, "F-1"), numbered(5, " ")];
    let r = rules();
    let out: Vec<Outcome> = validate_in_order(input, &r);
    assert!(out.iter().all(|o| o
        .as_ref()
        .map_or_else(|rej| rej.problems.clone(), |v| v.warnings().to_vec())
        .iter()
        .all(|p| p.code != codes::DUPLICATE_NUMBER)));
}

#[test]
fn number_keys_with_one_hash_stay_apart() {
    let key = |credit, lower: &str| NumberKey {
        hash: 7,
        credit,
        lower: lower.into(),
    };
    let mut first: HashMap<NumberKey, u64, BuildHasherDefault<Prehashed>> = HashMap::default();
    first.insert(key(false, "f-1"), 1);
    first.insert(key(false, "f-2"), 2);
    first.insert(key(true, "f-1"), 3);
    first.insert(key(false, "f-1"), 4);
    assert_eq!(first.len(), 3);
    assert_eq!(first[&key(false, "f-1")], 4);
    assert_eq!(first[&key(true, "f-1")], 3);
}

#[test]
fn verdicts_keep_what_reports_read() {
    let r = Arc::new(rules());
    let mut bad = good();
    bad.customer.tax_id = Some("1008600038412".into());
    let input = vec![good(), bad, numbered(7, "f-1")];
    let mut seen = Duplicates::default();
    let full: Vec<Outcome> = input
        .iter()
        .map(|d| seen.check(validate_one(d.clone(), &r)))
        .collect();
    for keep in [Keep::Verdicts, Keep::Documents] {
        let mut seen = Duplicates::default();
        let validator = seen.validator(r.clone(), keep);
        let slim: Vec<(Verdict, Option<Valid<Draft>>)> = input
            .clone()
            .into_iter()
            .map(|d| {
                let mut v = validator(d);
                seen.check_validated(&mut v);
                v.into_parts()
            })
            .collect();
        for (f, (sv, doc)) in full.iter().zip(&slim) {
            let (fd, fp) = match f {
                Ok(v) => (v.get(), v.warnings().to_vec()),
                Err(rej) => (&rej.draft, rej.problems.clone()),
            };
            assert_eq!(f.is_ok(), sv.is_valid());
            assert_eq!(sv.problems, fp, "the problems, whole");
            assert_eq!(
                (&sv.rows, &sv.source_key, sv.kind),
                (&fd.rows, &fd.source_key, fd.kind)
            );
            assert_eq!(sv.number, fd.invoice.number);
            assert_eq!(sv.origin("number"), fd.origin("number"));
            match keep {
                Keep::Verdicts => assert!(doc.is_none(), "the payload is not kept"),
                Keep::Documents => assert_eq!(doc.as_ref(), f.as_ref().ok()),
            }
        }
        assert!(!slim[2].0.is_valid(), "the duplicate of F-1 is found");
    }
}

proptest::proptest! {
    #[test]
    fn numbers_fold_case_as_to_lowercase_does(s in "[A-Za-zА-Яа-яЁёЀ-Џѐ-џΣσςİ№«» 0-9/-]{0,12}") {
        let want = s.to_lowercase();
        proptest::prop_assert_eq!(&*fold_case(&s), want.as_str());
    }
}

#[test]
fn checking_in_place_gives_what_checking_by_value_does() {
    let r = Arc::new(rules());
    let input = vec![
        good(),
        numbered(7, "f-1"),
        numbered(8, "F-1 "),
        numbered(9, "f-2"),
    ];
    let mut by_value = Duplicates::default();
    let mut in_place = Duplicates::default();
    let v2 = in_place.validator(r.clone(), Keep::Verdicts);
    for d in input {
        let want = by_value.check(validate_one(d.clone(), &r));
        let mut v = v2(d);
        in_place.check_validated(&mut v);
        assert_eq!(v.verdict(), &Verdict::of(&want));
    }
}
