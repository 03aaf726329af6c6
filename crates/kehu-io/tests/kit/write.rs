use chrono::NaiveDate;
use kehu_io::{Cell, CsvWriter, RejectReason, RejectsWriter, neutralise};
use rust_decimal::Decimal;

use crate::{open, records, row};

#[test]
fn text_that_would_run_as_a_formula_gets_a_leading_quote() {
    for bad in ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx"] {
        assert_eq!(neutralise(bad), format!("'{bad}"));
    }
    for fine in ["张三", "1+1", "a=b", "", "'already"] {
        assert_eq!(neutralise(fine), fine);
    }
}

#[test]
fn a_csv_export_has_a_bom_typed_cells_and_neutralised_text() {
    let mut writer = CsvWriter::new(
        Vec::new(),
        &["名称", "数量", "金额", "日期", "时间", "备注", "空"],
    )
    .unwrap();
    let day = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
    writer
        .write_row(&[
            Cell::Text("张三, Ltd".into()),
            Cell::Integer(-5),
            Cell::Decimal(Decimal::new(123_450, 2)),
            Cell::Date(day),
            Cell::DateTime(day.and_hms_opt(9, 30, 0).unwrap()),
            Cell::Text("=cmd|' /C calc'!A0".into()),
            Cell::Empty,
        ])
        .unwrap();
    let bytes = writer.finish().unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert_eq!(
        text,
        "名称,数量,金额,日期,时间,备注,空\n\"张三, Ltd\",-5,1234.50,2024-03-01,2024-03-01 09:30:00,'=cmd|' /C calc'!A0,\n"
    );
}

#[test]
fn a_csv_export_reads_back_to_the_same_values() {
    let mut writer = CsvWriter::new(Vec::new(), &["name", "memo"]).unwrap();
    writer
        .write_row(&[
            Cell::Text("张三".into()),
            Cell::Text("=1+1\nsecond line".into()),
        ])
        .unwrap();
    let mut reader = open(writer.finish().unwrap());
    assert_eq!(
        records(&mut reader),
        vec![row(2, &["张三", "=1+1\nsecond line"])]
    );
}

#[test]
fn the_rejects_file_keeps_the_original_cells_with_line_and_reason() {
    let header = ["客户名称", "手机"];
    let mut rejects = RejectsWriter::new(Vec::new(), &header, "行号", "原因").unwrap();
    rejects
        .write(3, &["张三".into()], RejectReason::TooFewCells.code())
        .unwrap();
    rejects
        .write(
            7,
            &["=evil()".into(), "1".into(), "extra".into()],
            "手机号码无效",
        )
        .unwrap();
    assert_eq!(rejects.count(), 2);
    let bytes = rejects.finish().unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    assert_eq!(
        String::from_utf8(bytes[3..].to_vec()).unwrap(),
        "客户名称,手机,行号,原因\n张三,,3,too_few_cells\n'=evil(),1,7,手机号码无效,extra\n"
    );
}

#[test]
fn the_rejects_file_is_written_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rejects.csv");
    let mut rejects = RejectsWriter::create(&path, &["name"], "line", "reason").unwrap();
    rejects.write(2, &["x".into()], "missing_name").unwrap();
    rejects.finish().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, "\u{feff}name,line,reason\nx,2,missing_name\n");
}
