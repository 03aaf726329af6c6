//! Property tests: whatever the bytes, reading never panics, and in a ragged CSV every line
//! is accounted for as a row, a rejection or a blank row.
use std::io::Cursor;

use kehu_io::{ReadOptions, Record, TableReader};
use proptest::prelude::*;

fn small_caps() -> ReadOptions {
    ReadOptions {
        max_cell_bytes: 64,
        max_row_bytes: 256,
        sheet: None,
    }
}

fn line_of(record: &Record) -> u64 {
    record.line()
}

/// A small real workbook, made once.
fn workbook() -> Vec<u8> {
    let mut writer = kehu_io::XlsxWriter::new("Sheet1", &["name", "n"]).unwrap();
    for i in 0..20 {
        writer
            .write_row(&[
                kehu_io::Cell::Text(format!("客户{i}")),
                kehu_io::Cell::Integer(i),
            ])
            .unwrap();
    }
    let mut bytes = Vec::new();
    writer.save_to_writer(Cursor::new(&mut bytes)).unwrap();
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic_and_lines_only_grow(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(mut reader) = TableReader::from_reader(Cursor::new(bytes), &small_caps()) {
            let mut last = reader.header_line();
            let width = reader.header().len();
            for record in reader.by_ref() {
                // A broken zip may fail mid-way; CSV never does.
                let Ok(record) = record else { break };
                prop_assert!(line_of(&record) > last);
                last = line_of(&record);
                if let Record::Row(r) = &record {
                    prop_assert_eq!(r.cells.len(), width);
                }
            }
        }
    }

    #[test]
    fn a_damaged_workbook_is_rows_or_an_error_never_a_panic(
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
    ) {
        let mut bytes = workbook();
        for (at, byte) in damage {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(reader) = TableReader::from_reader(Cursor::new(bytes), &small_caps()) {
            let mut last = reader.header_line();
            for record in reader {
                let Ok(record) = record else { break };
                prop_assert!(line_of(&record) > last);
                last = line_of(&record);
            }
        }
    }

    #[test]
    fn random_text_with_quotes_and_delimiters_never_panics(
        text in "[a-z,;\t\"\r\n张\u{FFFD}]{0,400}"
    ) {
        if let Ok(reader) = TableReader::from_reader(Cursor::new(text.into_bytes()), &small_caps()) {
            for record in reader {
                prop_assert!(record.is_ok());
            }
        }
    }

    #[test]
    fn every_line_of_a_ragged_csv_is_a_row_or_a_rejection(
        width in 1usize..6,
        lines in proptest::collection::vec(proptest::collection::vec("[a-z0-9张]{1,5}", 0..8), 1..60)
    ) {
        let header: Vec<String> = (0..width).map(|i| format!("h{i}")).collect();
        let mut text = header.join(",");
        for cells in &lines {
            text.push('\n');
            text.push_str(&cells.join(","));
        }
        let mut reader = TableReader::from_reader(Cursor::new(text.into_bytes()), &ReadOptions::default()).unwrap();
        let records: Vec<Record> = reader.by_ref().map(Result::unwrap).collect();
        // Empty lines are skipped by the CSV parser itself, so they are the only gap.
        let non_empty = lines.iter().filter(|c| !c.is_empty()).count();
        prop_assert_eq!(records.len(), non_empty);
        let expected_lines: Vec<u64> = lines
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.is_empty())
            .map(|(i, _)| i as u64 + 2)
            .collect();
        prop_assert_eq!(records.iter().map(line_of).collect::<Vec<_>>(), expected_lines);
        for (record, cells) in records.iter().zip(lines.iter().filter(|c| !c.is_empty())) {
            match record {
                Record::Row(r) => prop_assert_eq!(&r.cells, cells),
                Record::Rejected(r, _) => {
                    prop_assert_ne!(cells.len(), width);
                    prop_assert_eq!(&r.cells, cells);
                }
            }
        }
    }
}
