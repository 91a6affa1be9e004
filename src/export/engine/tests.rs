use super::*;
use crate::export::layout::{Layout, LayoutRequest};
use crate::export::resource::Resource;
use crate::progress::NoProgress;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
#[error("boom at page {0}")]
struct Boom(usize);

fn invoice(id: i64, updated_at: i64) -> Value {
    json!({"id": id, "number": format!("INV-{id:04}"), "date": 1704405600, "customer": 7,
           "total": 10.5, "currency": "mdl", "updated_at": updated_at,
           "items": [{"name": "a", "amount": 5}, {"name": "b", "amount": 5.5}]})
}

fn pages(ids: &[i64], per: usize) -> Vec<Result<RawPage, Boom>> {
    ids.chunks(per)
        .map(|c| {
            Ok(RawPage {
                items: c.iter().map(|i| invoice(*i, 100 + i)).collect(),
                total: Some(ids.len() as u64),
            })
        })
        .collect()
}

fn csv_opts() -> SinkOptions {
    SinkOptions {
        format: OutputFormat::Csv,
        ..Default::default()
    }
}

fn tables(lines: bool, two: bool) -> Vec<Table> {
    Layout::build(
        Resource::Invoices,
        &LayoutRequest {
            columns: Some("number,total,line.name".into()).filter(|_| lines),
            lines,
            ..Default::default()
        },
    )
    .unwrap()
    .tables(two)
}

/// The tables of a `--columns` list.
fn columns(list: &str, two: bool) -> Vec<Table> {
    Layout::build(
        Resource::Invoices,
        &LayoutRequest {
            columns: Some(list.into()),
            ..Default::default()
        },
    )
    .unwrap()
    .tables(two)
}

#[tokio::test]
async fn repeats_are_dropped_and_file_lands_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    // Page 2 repeats id 2 (a shifted page boundary).
    let mut ps = pages(&[1, 2], 2);
    ps.extend(pages(&[2, 3], 2));
    let w = PageWriter::new(&out, tables(false, false), csv_opts(), None).unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let written = drive(futures::stream::iter(ps), w, &NoProgress, &cancel)
        .await
        .unwrap();
    assert_eq!(
        (written.objects, written.repeats, written.stats.rows),
        (3, 1, 3)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(text
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("1,INV-0001,7,,,2024-01-05,"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn lines_repeat_the_invoice_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let w = PageWriter::new(&out, tables(true, false), csv_opts(), None).unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let written = drive(
        futures::stream::iter(pages(&[1, 2], 1)),
        w,
        &NoProgress,
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(written.stats.rows, 4);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines[0], "number,total,line.name");
    assert_eq!(lines[1], "INV-0001,10.50,a");
    assert_eq!(lines[2], "INV-0001,10.50,b");
}

#[tokio::test]
async fn each_metadata_key_gets_a_column_once_all_are_known() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.csv");
    let mut first = invoice(1, 101);
    first["metadata"] = serde_json::json!({"source": "1c"});
    let mut last = invoice(2, 102);
    // A key first seen on the last page still gets its column.
    last["metadata"] = serde_json::json!({"project": "Orhei", "source": "web"});
    let pages = vec![
        Ok::<_, Boom>(RawPage {
            items: vec![first],
            total: Some(2),
        }),
        Ok(RawPage {
            items: vec![last],
            total: Some(2),
        }),
    ];
    let tables = columns("number,metadata.*,total", false);
    let w = PageWriter::new(&out, tables, csv_opts(), None).unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let written = drive(futures::stream::iter(pages), w, &NoProgress, &cancel)
        .await
        .unwrap();
    assert_eq!((written.objects, written.stats.rows), (2, 2));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "number,metadata.project,metadata.source,total",
            "INV-0001,,1c,10.50",
            "INV-0002,Orhei,web,10.50"
        ]
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn a_failing_stream_leaves_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    std::fs::write(&out, "previous").unwrap();
    let mut ps = pages(&[1, 2, 3], 1);
    ps.insert(2, Err(Boom(3)));
    let w = PageWriter::new(&out, tables(false, false), csv_opts(), None).unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let err = drive(futures::stream::iter(ps), w, &NoProgress, &cancel)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Source(Boom(3))));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn cancel_leaves_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    std::fs::write(&out, "previous").unwrap();
    let w = PageWriter::new(&out, tables(false, false), csv_opts(), None).unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    cancel.cancel();
    let stream = futures::stream::iter(pages(&[1], 1)).chain(futures::stream::pending());
    let err = drive(stream, w, &NoProgress, &cancel).await.unwrap_err();
    assert!(matches!(err, EngineError::Interrupted(_)));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn incremental_skips_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.jsonl");
    let opts = SinkOptions {
        format: OutputFormat::Jsonl,
        jsonl_objects: true,
        ..Default::default()
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    let w = PageWriter::new(&out, tables(false, false), opts.clone(), Some(None)).unwrap();
    let first = drive(
        futures::stream::iter(pages(&[1, 2, 3], 2)),
        w,
        &NoProgress,
        &cancel,
    )
    .await
    .unwrap();
    let mark = first.watermark.clone().unwrap();
    assert_eq!(
        mark,
        Watermark {
            updated_at: 103,
            ids: vec![3]
        }
    );
    let w = PageWriter::new(&out, tables(false, false), opts, Some(Some(mark.clone()))).unwrap();
    // The server answers updated_after = 102: object 3 again.
    let second = drive(
        futures::stream::iter(pages(&[3], 2)),
        w,
        &NoProgress,
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!((second.objects, second.already_exported), (0, 1));
    assert_eq!(second.watermark, Some(mark));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "");
}

/// Invoices `1..=n` whose metadata holds `source` and, on every seventh,
/// `project`; `late`: invoice `n` also holds `zz`, a key no earlier one has.
fn with_metadata(n: i64, late: bool) -> Vec<Value> {
    (1..=n)
        .map(|i| {
            let mut doc = invoice(i, 100 + i);
            let mut m = json!({"source": format!("src-{}", i % 3)});
            if i % 7 == 0 {
                m["project"] = json!(format!("p{i}"));
            }
            if late && i == n {
                m["zz"] = json!(true);
            }
            doc["metadata"] = m;
            doc
        })
        .collect()
}

/// Export `docs` in pages of 100 to `out` with `metadata.*` columns; the
/// rows written.
async fn export_metadata(docs: Vec<Value>, out: &Path, opts: SinkOptions) -> u64 {
    let pages: Vec<Result<RawPage, Boom>> = docs
        .chunks(100)
        .map(|c| {
            Ok(RawPage {
                items: c.to_vec(),
                total: None,
            })
        })
        .collect();
    let tables = columns(
        "number,metadata.*,total,updated_at",
        opts.format == OutputFormat::Xlsx,
    );
    let w = PageWriter::new(out, tables, opts, None).unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let written = drive(futures::stream::iter(pages), w, &NoProgress, &cancel)
        .await
        .unwrap();
    written.stats.rows
}

/// The first sheet of an XLSX file, every cell as text.
fn xlsx_cells(path: &Path) -> Vec<Vec<String>> {
    use calamine::{open_workbook, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[tokio::test]
async fn rows_are_written_while_paging_when_the_first_objects_hold_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.csv");
    assert_eq!(
        export_metadata(with_metadata(250, false), &out, csv_opts()).await,
        250
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 251);
    assert_eq!(
        lines[0],
        "number,metadata.project,metadata.source,total,updated_at"
    );
    for (i, line) in (1..=250).zip(&lines[1..]) {
        let project = if i % 7 == 0 {
            format!("p{i}")
        } else {
            String::new()
        };
        let want = format!("INV-{i:04},{project},src-{},10.50,", i % 3);
        assert!(line.starts_with(&want), "{line} / {want}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn a_key_after_the_first_objects_gets_its_column_and_every_row_still_comes() {
    for format in [OutputFormat::Csv, OutputFormat::Xlsx] {
        let dir = tempfile::tempdir().unwrap();
        let ext = if format == OutputFormat::Csv {
            "csv"
        } else {
            "xlsx"
        };
        let opts = SinkOptions {
            format,
            ..Default::default()
        };
        // The same objects, the last one with a key the first 100 do
        // not hold (the guess is dropped), and without it (it holds).
        let (late, held) = (
            dir.path().join(format!("late.{ext}")),
            dir.path().join(format!("held.{ext}")),
        );
        assert_eq!(
            export_metadata(with_metadata(230, true), &late, opts.clone()).await,
            230
        );
        assert_eq!(
            export_metadata(with_metadata(230, false), &held, opts).await,
            230
        );
        let read = |p: &Path| -> Vec<Vec<String>> {
            if format == OutputFormat::Csv {
                std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(|l| l.split(',').map(str::to_string).collect())
                    .collect()
            } else {
                xlsx_cells(p)
            }
        };
        let (late, held) = (read(&late), read(&held));
        assert_eq!(late.len(), 231, "{format:?}");
        assert_eq!(held.len(), 231, "{format:?}");
        // `metadata.zz` sits after `metadata.source`: the rest is the same.
        let zz = late[0].iter().position(|h| h == "metadata.zz").unwrap();
        assert_eq!(late[0][zz - 1], "metadata.source", "{format:?}");
        for (r, (l, h)) in late.iter().zip(&held).enumerate() {
            let mut l = l.clone();
            let z = l.remove(zz);
            assert_eq!(&l, h, "{format:?} row {r}");
            let want = match r {
                0 => "metadata.zz",
                230 => "true",
                _ => "",
            };
            assert_eq!(z, want, "{format:?} row {r}");
        }
        // The dropped guess's file is gone with the spool.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
