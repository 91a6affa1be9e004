use super::*;
use crate::read::{Format, SourceSpec};

/// What the ordinary reader and the plain splitter make of a file:
/// each row's index and its projected cells.
fn both_ways(bytes: &[u8], spec: &SourceSpec, projection: &[bool]) -> [Vec<(u64, Vec<Cell>)>; 2] {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.csv");
    std::fs::write(&p, bytes).unwrap();
    let proj: Projection = Some(projection.into());
    let ordinary = CsvSource::open(&p, spec, Format::Csv, proj.clone())
        .unwrap()
        .enumerate()
        .map(|(i, r)| match r {
            Ok(r) => (i as u64, r.cells),
            Err(ReadError::Ragged { row, .. }) => (i as u64, row.cells),
            Err(e) => panic!("{e}"),
        })
        .collect();
    let mut plain = Vec::new();
    let done = CsvSource::open(&p, spec, Format::Csv, proj)
        .unwrap()
        .plain_rows(|i, cells| plain.push((i, cells.to_vec())))
        .unwrap();
    assert!(done, "a file with the usual quoting is split plainly");
    // And in parts, each numbered from its start: a part that begins
    // inside a quote is found out by the part before it, which ends
    // inside that quote.
    let src = CsvSource::open(&p, spec, Format::Csv, Some(projection.into())).unwrap();
    let splitter = src.plain().unwrap().expect("a splitter");
    let parts = splitter.parts(3).unwrap();
    assert_eq!(parts.first().map(|r| r.start), Some(splitter.all().start));
    assert_eq!(parts.last().map(|r| r.end), Some(splitter.all().end));
    assert!(parts.windows(2).all(|w| w[0].end == w[1].start));
    let mut in_parts = Vec::new();
    let mut offset = 0;
    let mut breaks = Breaks::default();
    let mut refused = false;
    for range in parts {
        let read = splitter
            .rows_in(range, |i, cells| {
                in_parts.push((offset + i, cells.to_vec()))
            })
            .unwrap();
        let Some((n, b)) = read else {
            refused = true;
            break;
        };
        offset += n;
        breaks = breaks.merge(b);
    }
    if !refused {
        assert_eq!(in_parts, plain, "the same rows, whole or in parts");
    } else {
        assert!(
            memchr::memchr(b'"', bytes).is_some(),
            "only a quote makes a part wrong"
        );
        let all = splitter.rows_in(splitter.all(), |_, _| {}).unwrap();
        breaks = all.expect("read whole").1;
    }
    // Numbered, when the lines break one way: the parser's rows, line
    // numbers and ragged rows.
    if splitter.numbers_as_parser(breaks) {
        let parsed: Vec<_> = CsvSource::open(&p, spec, Format::Csv, Some(projection.into()))
            .unwrap()
            .map(numbered)
            .collect();
        let mut split = Vec::new();
        let whole = splitter
            .rows_numbered(|item| {
                split.push(numbered(item));
                true
            })
            .unwrap();
        assert!(whole, "read whole, one way");
        assert_eq!(
            split,
            parsed,
            "numbered as the parser numbers them in {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    [ordinary, plain]
}

/// A row's line, cells and width error, for comparing readers.
fn numbered(item: Result<SourceRow, ReadError>) -> (u64, Vec<Cell>, Option<(usize, usize)>) {
    match item {
        Ok(r) => (r.at.row, r.cells, None),
        Err(ReadError::Ragged {
            row,
            expected,
            found,
        }) => (row.at.row, row.cells, Some((expected, found))),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn plain_rows_refuse_unusual_quoting_and_decoding_streams() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("q.csv");
    let spec = SourceSpec::default();
    // The usual quoting is split.
    std::fs::write(&p, "a;b\n1;\"x;\"\"y\"\"\n2\"\n").unwrap();
    let mut rows = Vec::new();
    let src = CsvSource::open(&p, &spec, Format::Csv, None).unwrap();
    assert!(src.plain_rows(|_, c| rows.push(c[1].to_string())).unwrap());
    assert_eq!(rows, ["x;\"y\"\n2"]);
    // Anything else is the parser's: a quote inside an unquoted cell,
    // text after a closing quote, a quote never closed, a quoted cell
    // over the limit of line breaks.
    for text in [
        "a;b\n1;x\"y\n",
        "a;b\n1;\"x\"y\n",
        "a;b\n1;\"x\n2;3\n",
        "a;b\n1;\"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\"\n",
    ] {
        std::fs::write(&p, text).unwrap();
        let src = CsvSource::open(&p, &spec, Format::Csv, None).unwrap();
        assert!(!src.plain_rows(|_, _| {}).unwrap(), "{text:?}");
    }
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("a;b\n1;2\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    std::fs::write(&p, utf16).unwrap();
    let src = CsvSource::open(&p, &spec, Format::Csv, None).unwrap();
    assert!(!src.plain_rows(|_, _| {}).unwrap());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn plain_rows_are_the_rows_the_parser_reads(
        titles in 0usize..3,
        width in 1usize..5,
        rows in proptest::collection::vec(
            (
                proptest::collection::vec(
                    ("[a-z0-9 ,.Иё№-]{0,6}", proptest::option::weighted(0.2, "[a-zИ;\"]{0,3}(\n|\r\n)?[a-z\"]{0,2}")),
                    0..7,
                ),
                0usize..5,
            ),
            0..40,
        ),
        last_break in proptest::bool::ANY,
        cp1251 in proptest::bool::ANY,
        projection in proptest::collection::vec(proptest::bool::ANY, 5),
        one_way in proptest::option::of(0usize..2),
    ) {
        let breaks = ["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"];
        // Every line broken one way (`\n` or `\r\n`, blank lines too),
        // or each as it comes.
        let brk = |b: usize| match one_way {
            Some(0) => ["\n", "\n", "\n", "\n\n", "\n\n"][b],
            Some(_) => ["\r\n", "\r\n", "\r\n", "\r\n\r\n", "\r\n\r\n"][b],
            None => breaks[b],
        };
        let mut text = String::new();
        for t in 0..titles {
            text.push_str(&format!("Title {t}{}", brk(0)));
        }
        let header: Vec<String> = (0..width).map(|c| format!("H{c}")).collect();
        text.push_str(&header.join(";"));
        text.push_str(brk(0));
        for (k, (cells, br)) in rows.iter().enumerate() {
            // A cell quoted as CSV writers quote: its quotes doubled.
            let cells: Vec<String> = cells
                .iter()
                .map(|(plain, quoted)| match quoted {
                    Some(q) => {
                        // Line breaks inside quotes of either kind,
                        // whatever the records' own.
                        format!("\"{}\"", q.replace('"', "\"\""))
                    }
                    None => plain.clone(),
                })
                .collect();
            text.push_str(&cells.join(";"));
            if k + 1 < rows.len() || last_break {
                text.push_str(brk(*br));
            }
        }
        let (bytes, spec) = if cp1251 {
            let (b, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
            (b.into_owned(), SourceSpec {
                encoding: Some(encoding_rs::WINDOWS_1251),
                delimiter: Some(b';'),
                header_row: titles as u64 + 1,
                ..Default::default()
            })
        } else {
            (text.into_bytes(), SourceSpec {
                encoding: Some(encoding_rs::UTF_8),
                delimiter: Some(b';'),
                header_row: titles as u64 + 1,
                ..Default::default()
            })
        };
        let [ordinary, plain] = both_ways(&bytes, &spec, &projection[..width]);
        proptest::prop_assert_eq!(ordinary, plain);
    }
}
