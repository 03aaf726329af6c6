use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use kehu_io::{Cell, Format, ReadOptions, Record, TableReader, XlsxWriter};
use rust_decimal::Decimal;

use crate::{records, row, strings};

fn sample_export(path: &std::path::Path) {
    let mut writer =
        XlsxWriter::new("客户", &["名称", "数量", "金额", "日期", "时间", "备注"]).unwrap();
    let day = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
    writer
        .write_row(&[
            Cell::Text("张三".into()),
            Cell::Integer(42),
            Cell::Decimal(Decimal::new(123_450, 2)),
            Cell::Date(day),
            Cell::DateTime(day.and_hms_opt(14, 5, 0).unwrap()),
            Cell::Text("=HYPERLINK(\"http://x\")".into()),
        ])
        .unwrap();
    writer
        .write_row(&[
            Cell::Text("李四".into()),
            Cell::Integer(13_800_138_000),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ])
        .unwrap();
    assert_eq!(writer.rows(), 2);
    writer.save(path).unwrap();
}

#[test]
fn an_xlsx_export_reads_back_with_typed_values_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.bin");
    sample_export(&path);
    // The extension says nothing: the content (a zip) does.
    let mut reader = TableReader::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(reader.detected().format, Format::Xlsx);
    assert_eq!(reader.detected().encoding, None);
    assert_eq!(
        reader.header(),
        strings(&["名称", "数量", "金额", "日期", "时间", "备注"])
    );
    assert_eq!(
        records(&mut reader),
        vec![
            row(
                2,
                &[
                    "张三",
                    "42",
                    "1234.5",
                    "2024-03-01",
                    "2024-03-01 14:05:00",
                    "=HYPERLINK(\"http://x\")"
                ]
            ),
            // Trailing empty cells are not stored in XLSX: the row is padded, not ragged.
            row(3, &["李四", "13800138000", "", "", "", ""]),
        ]
    );
}

#[test]
fn xlsx_cells_are_real_numbers_and_dates_and_formulas_are_neutralised_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.xlsx");
    sample_export(&path);
    let mut book: Xlsx<_> = calamine::open_workbook(&path).unwrap();
    assert_eq!(book.sheet_names(), vec!["客户".to_owned()]);
    let range = book.worksheet_range("客户").unwrap();
    assert_eq!(range.get_value((1, 1)), Some(&Data::Float(42.0)));
    assert_eq!(range.get_value((1, 2)), Some(&Data::Float(1234.5)));
    assert!(matches!(range.get_value((1, 3)), Some(Data::DateTime(d)) if d.is_datetime()));
    assert!(matches!(range.get_value((1, 4)), Some(Data::DateTime(d)) if d.is_datetime()));
    assert_eq!(
        range.get_value((1, 5)),
        Some(&Data::String("'=HYPERLINK(\"http://x\")".into()))
    );
    let formulas = book.worksheet_formula("客户").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no formula written"
    );
}

#[test]
fn a_ragged_xlsx_row_with_extra_cells_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ragged.xlsx");
    let mut writer = XlsxWriter::new("Sheet1", &["a", "b"]).unwrap();
    writer
        .write_row(&[
            Cell::Text("1".into()),
            Cell::Text("2".into()),
            Cell::Text("3".into()),
        ])
        .unwrap();
    writer.save(&path).unwrap();
    let mut reader = TableReader::open(&path, &ReadOptions::default()).unwrap();
    assert!(matches!(
        records(&mut reader).as_slice(),
        [Record::Rejected(r, kehu_io::RejectReason::TooManyCells)] if r.line == 2
    ));
}

#[test]
fn an_unknown_sheet_name_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.xlsx");
    sample_export(&path);
    let options = ReadOptions {
        sheet: Some("nope".into()),
        ..ReadOptions::default()
    };
    let err = TableReader::open(&path, &options).err().map(|e| e.code());
    assert_eq!(err, Some("no_such_sheet"));
}

#[test]
fn text_longer_than_an_excel_cell_is_cut_instead_of_failing_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.xlsx");
    let mut writer = XlsxWriter::new("Sheet1", &["memo"]).unwrap();
    writer
        .write_row(&[Cell::Text("长".repeat(40_000))])
        .unwrap();
    writer.save(&path).unwrap();
    let mut reader = TableReader::open(&path, &ReadOptions::default()).unwrap();
    match records(&mut reader).as_slice() {
        [Record::Row(r)] => assert_eq!(r.cells[0].chars().count(), 32_767),
        other => panic!("{other:?}"),
    }
}
