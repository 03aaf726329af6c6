use std::io::Cursor;

use kehu_io::{Format, ReadError, ReadOptions, Record, RejectReason, TableReader};

use crate::{open, open_with, records, rejected, row, strings};

#[test]
fn a_plain_utf8_csv_comes_out_row_by_row_with_line_numbers() {
    let mut reader = open("name,mobile\n张三,13800138000\n李四,13900139000\n");
    assert_eq!(reader.header(), strings(&["name", "mobile"]));
    let d = reader.detected().clone();
    assert_eq!(
        (d.format, d.encoding, d.bom, d.delimiter),
        (Format::Csv, Some("UTF-8"), false, Some(b','))
    );
    assert_eq!(
        records(&mut reader),
        vec![
            row(2, &["张三", "13800138000"]),
            row(3, &["李四", "13900139000"])
        ]
    );
}

#[test]
fn a_utf8_bom_is_reported_and_kept_out_of_the_first_header() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend("客户名称,手机\r\n张三,138\r\n".as_bytes());
    let mut reader = open(bytes);
    assert_eq!(reader.header(), strings(&["客户名称", "手机"]));
    assert!(reader.detected().bom);
    assert_eq!(records(&mut reader), vec![row(2, &["张三", "138"])]);
}

#[test]
fn a_gbk_file_from_chinese_excel_is_detected_and_decoded() {
    let text = "客户名称,手机,地区\r\n张三,13800138000,广东省\r\n北京华信科技有限公司,13900139000,北京市\r\n";
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&gbk).is_err(),
        "the test file must not be UTF-8"
    );
    let mut reader = open(gbk.into_owned());
    assert_eq!(reader.detected().encoding, Some("GBK"));
    assert_eq!(reader.header(), strings(&["客户名称", "手机", "地区"]));
    assert_eq!(
        records(&mut reader),
        vec![
            row(2, &["张三", "13800138000", "广东省"]),
            row(3, &["北京华信科技有限公司", "13900139000", "北京市"])
        ]
    );
}

#[test]
fn a_utf16_file_with_bom_is_decoded() {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in "名称\t手机\n张三\t138\n".encode_utf16() {
        bytes.extend(unit.to_le_bytes());
    }
    let mut reader = open(bytes);
    assert_eq!(reader.detected().encoding, Some("UTF-16LE"));
    assert_eq!(reader.detected().delimiter, Some(b'\t'));
    assert_eq!(reader.header(), strings(&["名称", "手机"]));
    assert_eq!(records(&mut reader), vec![row(2, &["张三", "138"])]);
}

#[test]
fn semicolon_and_tab_delimiters_are_sniffed() {
    let mut reader = open("name;mobile;memo\nA;1;\"x;y\"\n");
    assert_eq!(reader.detected().delimiter, Some(b';'));
    assert_eq!(records(&mut reader), vec![row(2, &["A", "1", "x;y"])]);
    let mut reader = open("name\tmobile\nA\t1\n");
    assert_eq!(records(&mut reader), vec![row(2, &["A", "1"])]);
}

#[test]
fn ragged_rows_are_rejected_with_their_line_and_the_read_goes_on() {
    let mut reader = open("a,b,c\n1,2,3\n1,2\n1,2,3,4\n1,2,3,,\n7,8,9\n");
    assert_eq!(
        records(&mut reader),
        vec![
            row(2, &["1", "2", "3"]),
            rejected(3, &["1", "2"], RejectReason::TooFewCells),
            rejected(4, &["1", "2", "3", "4"], RejectReason::TooManyCells),
            row(5, &["1", "2", "3"]),
            row(6, &["7", "8", "9"]),
        ]
    );
}

#[test]
fn line_numbers_count_blank_lines_crlf_and_line_breaks_inside_quotes() {
    let mut reader = open("a,b\r\n\r\n1,\"two\r\nlines\"\r\n\r\n3,4\r\n,\r\n5,6");
    assert_eq!(
        records(&mut reader),
        vec![
            row(3, &["1", "two\r\nlines"]),
            row(6, &["3", "4"]),
            row(8, &["5", "6"])
        ]
    );
    assert_eq!(reader.blank_rows(), 1, "the `,` line has no content");
}

#[test]
fn a_classic_mac_file_with_lone_cr_line_ends_is_numbered_by_line() {
    let mut reader = open("a,b\r1,2\r\r3,4\r");
    assert_eq!(
        records(&mut reader),
        vec![row(2, &["1", "2"]), row(4, &["3", "4"])]
    );
}

#[test]
fn a_quote_inside_a_cell_is_kept_and_an_unclosed_quote_rejects_its_row() {
    let mut reader = open("a,b\n5\" disk,x\n\"open,y\nz,w\n");
    let got = records(&mut reader);
    assert_eq!(got[0], row(2, &["5\" disk", "x"]));
    // The unclosed quote swallows the rest of the file into one cell: one rejection.
    assert!(
        matches!(&got[1], Record::Rejected(r, RejectReason::UnbalancedQuote) if r.line == 3),
        "{got:?}"
    );
    assert_eq!(got.len(), 2);
}

#[test]
fn a_10_mb_cell_rejects_only_its_row_and_is_cut_in_the_report() {
    let mut text = String::from("name,memo\nfirst,ok\nhuge,");
    text.push_str(&"长".repeat(10 * 1024 * 1024 / 3 + 1));
    text.push_str("\nlast,ok\n");
    let mut reader = open(text);
    let got = records(&mut reader);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], row(2, &["first", "ok"]));
    match &got[1] {
        Record::Rejected(r, reason) => {
            assert_eq!((r.line, *reason), (3, RejectReason::CellTooLarge));
            assert_eq!(r.cells[0], "huge");
            assert!(r.cells[1].len() <= 1024 * 1024);
            assert!(r.cells[1].starts_with("长长"));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(got[2], row(4, &["last", "ok"]));
}

#[test]
fn the_cell_size_cap_is_configurable() {
    let options = ReadOptions {
        max_cell_bytes: 8,
        ..ReadOptions::default()
    };
    let mut reader = open_with("a,b\n12345678,x\n123456789,y\n", &options);
    assert_eq!(
        records(&mut reader),
        vec![
            row(2, &["12345678", "x"]),
            rejected(3, &["12345678", "y"], RejectReason::CellTooLarge)
        ]
    );
}

#[test]
fn invalid_bytes_after_a_clean_start_reject_their_row_only() {
    // The detection sample (64 KiB) is clean UTF-8; the bad byte comes later.
    let mut bytes = b"name,n\n".to_vec();
    for i in 0..5000 {
        bytes.extend(format!("客户{i},{i}\n").as_bytes());
    }
    bytes.extend(b"bad\xFF\xFEname,1\nlast,2\n");
    let mut reader = open(bytes);
    assert_eq!(reader.detected().encoding, Some("UTF-8"));
    let got = records(&mut reader);
    assert_eq!(got.len(), 5002);
    assert!(
        matches!(&got[5000], Record::Rejected(r, RejectReason::InvalidBytes) if r.line == 5002 && r.cells[0].starts_with("bad")),
        "{:?}",
        got[5000]
    );
    assert_eq!(got[5001], row(5003, &["last", "2"]));
}

#[test]
fn a_bad_sequence_in_a_gbk_file_rejects_its_row() {
    let (mut gbk, _, _) = encoding_rs::GBK.encode("客户名称,手机\n张三,138\n李四,139\n王五,137\n");
    let mut bytes = gbk.to_mut().clone();
    // 0x81 followed by a newline is not a GBK character.
    let pos = bytes.iter().rposition(|&b| b == b'\n').unwrap();
    bytes.insert(pos, 0x81);
    let mut reader = open(bytes);
    assert_eq!(reader.detected().encoding, Some("GBK"));
    let got = records(&mut reader);
    assert_eq!(got[0], row(2, &["张三", "138"]));
    assert!(matches!(&got[2], Record::Rejected(r, RejectReason::InvalidBytes) if r.line == 4));
}

#[test]
fn a_neutralised_formula_reads_back_as_the_original_text() {
    let mut reader = open("a,b\n'=1+1,'@x\n'plain,'-3\n");
    assert_eq!(
        records(&mut reader),
        vec![row(2, &["=1+1", "@x"]), row(3, &["'plain", "-3"])]
    );
}

#[test]
fn files_that_cannot_be_read_at_all_are_errors_with_codes() {
    let err = |bytes: Vec<u8>| {
        TableReader::from_reader(Cursor::new(bytes), &ReadOptions::default())
            .err()
            .map(|e: ReadError| e.code())
    };
    assert_eq!(err(Vec::new()), Some("empty_file"));
    assert_eq!(err(b"\n\n,,\n".to_vec()), Some("empty_file"));
    assert_eq!(err(vec![0xD0, 0xCF, 0x11, 0xE0, 0, 0]), Some("legacy_xls"));
    assert_eq!(
        err(b"PK\x03\x04not really a zip".to_vec()),
        Some("invalid_xlsx")
    );
}

#[test]
fn a_file_on_disk_is_read_through_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.csv");
    std::fs::write(&path, "name\n张三\n").unwrap();
    let mut reader = TableReader::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(records(&mut reader), vec![row(2, &["张三"])]);
}
