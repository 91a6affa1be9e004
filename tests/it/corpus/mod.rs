//! The corpus measure (`tests/corpus/`, see its README): every layout's
//! hand mapping gives its `expected.toml`; `mapping init` on every layout
//! forms the same documents as the hand mapping (the same source keys) and
//! finds at least 90% as many of them valid. The same holds on data no one
//! looked at while writing the guesser: every generated layout written again
//! from other seeds (other customers, documents, dates and planted defects),
//! and the CSV layouts with their headers renamed to other words people use
//! (some of which the guesser's vocabulary does not know) and their rows
//! shuffled.

mod guesses;
mod renamed;

use crate::support::{bin, TestDir};
use facturare_etl::mapping::{drafts, Mapping};
use std::path::{Path, PathBuf};

#[path = "../../../examples/make_corpus.rs"]
#[allow(dead_code)]
mod make_corpus;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// A layout folder: its input files and its expected counts.
struct Layout {
    name: String,
    dir: PathBuf,
    files: Vec<PathBuf>,
    documents: u64,
    valid: u64,
}

fn layouts(root: &Path) -> Vec<Layout> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.toml").exists())
        .collect();
    dirs.sort();
    for dir in dirs {
        let e: toml::Value =
            toml::from_str(&std::fs::read_to_string(dir.join("expected.toml")).unwrap()).unwrap();
        let files = e["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| dir.join(f.as_str().unwrap()))
            .collect();
        out.push(Layout {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            files,
            documents: e["documents"].as_integer().unwrap() as u64,
            valid: e["valid"].as_integer().unwrap() as u64,
            dir,
        });
    }
    out
}

/// `validate --json`: documents formed and valid (None: it failed, with why).
fn counts(dir: &Path, files: &[PathBuf], mapping: &Path) -> Result<(u64, u64), String> {
    let out = bin(dir)
        .args(["--json", "validate"])
        .args(files)
        .arg("--mapping")
        .arg(mapping)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| String::from_utf8_lossy(&out.stderr).into_owned())?;
    Ok((
        v["invoices_formed"].as_u64().unwrap_or(0),
        v["valid"].as_u64().unwrap_or(0),
    ))
}

/// The documents' source keys, sorted.
fn keys(mapping: &Path, files: &[PathBuf]) -> Result<Vec<String>, String> {
    let m = Mapping::load(mapping).map_err(|e| e.to_string())?;
    let mut ks: Vec<String> = drafts(&m, files)
        .map_err(|e| e.to_string())?
        .map(|d| d.map(|d| d.source_key).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    ks.sort();
    Ok(ks)
}

/// `mapping init` on the layout's first file, written to `out`.
fn init(dir: &Path, file: &Path, out: &Path) -> Result<(), String> {
    let o = bin(dir)
        .args(["mapping", "init"])
        .arg(file)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

/// Documents formed and valid.
type Counts = (u64, u64);

/// One layout measured: the hand mapping's counts, the guess's, and what
/// is wrong with the guess (None: it holds).
struct Measured {
    name: String,
    hand: (u64, u64),
    guess: (u64, u64),
    failure: Option<String>,
}

fn measure(work: &Path, l: &Layout, hand: &Path) -> Measured {
    let guessed = work.join(format!("{}.guess.toml", l.name));
    let mut m = Measured {
        name: l.name.clone(),
        hand: (0, 0),
        guess: (0, 0),
        failure: None,
    };
    let run = || -> Result<(Counts, Counts, Option<String>), String> {
        let hand_counts = counts(work, &l.files, hand)?;
        init(work, &l.files[0], &guessed)?;
        let guess_counts =
            counts(work, &l.files, &guessed).map_err(|e| format!("the guess does not run: {e}"))?;
        let hk = keys(hand, &l.files)?;
        let gk = keys(&guessed, &l.files)?;
        let mut why = None;
        if hk != gk {
            let only_hand: Vec<&String> = hk.iter().filter(|k| !gk.contains(k)).take(3).collect();
            let only_guess: Vec<&String> = gk.iter().filter(|k| !hk.contains(k)).take(3).collect();
            why = Some(format!(
                "other documents: {} by hand, {} guessed; by hand only {only_hand:?}, guessed only {only_guess:?}",
                hk.len(),
                gk.len()
            ));
        } else if (guess_counts.1 as f64) < 0.9 * hand_counts.1 as f64 {
            why = Some(format!(
                "{} valid guessed, {} by hand",
                guess_counts.1, hand_counts.1
            ));
        }
        Ok((hand_counts, guess_counts, why))
    };
    match run() {
        Ok((h, g, why)) => {
            m.hand = h;
            m.guess = g;
            m.failure = why.map(|w| {
                let text = std::fs::read_to_string(&guessed).unwrap_or_default();
                format!("{w}\n--- the guess:\n{text}")
            });
        }
        Err(e) => m.failure = Some(e),
    }
    m
}

/// The table of a run, and the failures in full.
fn report(what: &str, ms: &[Measured]) -> (String, Vec<String>) {
    let mut t = format!(
        "{what}\n{:34} {:>15} {:>15}\n",
        "layout", "hand docs/valid", "guess docs/valid"
    );
    let mut failed = Vec::new();
    for m in ms {
        t.push_str(&format!(
            "{:34} {:>7}/{:<7} {:>7}/{:<7} {}\n",
            m.name,
            m.hand.0,
            m.hand.1,
            m.guess.0,
            m.guess.1,
            if m.failure.is_some() { "FAILS" } else { "ok" }
        ));
        if let Some(f) = &m.failure {
            failed.push(format!("{}: {f}", m.name));
        }
    }
    (t, failed)
}

#[test]
fn hand_mappings_give_the_expected_counts_and_pass_their_examples() {
    let dir = TestDir::new();
    let all = layouts(&corpus());
    assert!(all.len() >= 15, "the corpus has {} layouts", all.len());
    for l in &all {
        let mapping = l.dir.join("mapping.toml");
        assert_eq!(
            counts(dir.path(), &l.files, &mapping),
            Ok((l.documents, l.valid)),
            "{}",
            l.name
        );
        let out = bin(dir.path())
            .args(["mapping", "test"])
            .arg(&mapping)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            l.name,
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn init_forms_the_hand_mappings_documents_on_every_layout() {
    let dir = TestDir::new();
    let ms: Vec<Measured> = layouts(&corpus())
        .iter()
        .map(|l| measure(dir.path(), l, &l.dir.join("mapping.toml")))
        .collect();
    let (table, failed) = report("the corpus", &ms);
    println!("{table}");
    assert!(failed.is_empty(), "{table}\n{}", failed.join("\n\n"));
}

#[test]
fn init_holds_on_layouts_written_from_other_seeds() {
    for seed in [1u64, 2] {
        let dir = TestDir::new();
        let root = dir.join("corpus");
        make_corpus::generate(&root, seed).unwrap();
        let ms: Vec<Measured> = layouts(&root)
            .iter()
            .map(|l| {
                let hand = corpus().join(&l.name).join("mapping.toml");
                let mut m = measure(dir.path(), l, &hand);
                // The hand mapping reads the variant as the generator wrote it.
                if m.failure.is_none() && m.hand != (l.documents, l.valid) {
                    m.failure = Some(format!(
                        "the hand mapping gives {:?}, the generator says {:?}",
                        m.hand,
                        (l.documents, l.valid)
                    ));
                }
                m
            })
            .collect();
        let (table, failed) = report(&format!("seed {seed}"), &ms);
        println!("{table}");
        assert!(failed.is_empty(), "{table}\n{}", failed.join("\n\n"));
    }
}
