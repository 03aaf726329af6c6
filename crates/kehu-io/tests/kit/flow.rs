//! The pieces together, as an importer uses them: open, map the header, sort rows into
//! good ones and rejects, write the rejects file.
use kehu_io::{FieldSpec, HeaderError, Record, RejectsWriter, TableReader, map_headers};

use crate::open;

fn fields() -> Vec<FieldSpec> {
    vec![
        FieldSpec::new("name", "客户名称", "Customer name").required(),
        FieldSpec::new("mobile", "手机", "Mobile"),
    ]
}

#[test]
fn a_gbk_import_keeps_good_rows_and_hands_back_the_rest_with_reasons() {
    let text = "客户名称,手机,备注\r\n张三,13800138000,老客户\r\n李四,13900139000\r\n=HYPERLINK(\"x\"),1,坏\r\n王五,,\r\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    let mut reader = open(gbk.into_owned());
    let map = map_headers(&fields(), reader.header()).unwrap();
    assert_eq!(map.unknown().len(), 1, "备注 is reported, not fatal");
    let mut rejects = RejectsWriter::new(Vec::new(), reader.header(), "行号", "原因").unwrap();
    let mut imported = Vec::new();
    for record in reader.by_ref() {
        match record.unwrap() {
            Record::Row(row) => {
                let name = map.value(&row.cells, "name").unwrap_or_default();
                if name.starts_with('=') {
                    // The importer's own validation rejects through the same file.
                    rejects.write(row.line, &row.cells, "invalid_name").unwrap();
                } else {
                    imported.push(name.to_owned());
                }
            }
            Record::Rejected(row, reason) => {
                rejects.write(row.line, &row.cells, reason.code()).unwrap()
            }
        }
    }
    assert_eq!(imported, ["张三", "王五"]);
    let file = String::from_utf8(rejects.finish().unwrap()).unwrap();
    assert_eq!(
        file,
        "\u{feff}客户名称,手机,备注,行号,原因\n李四,13900139000,,3,too_few_cells\n\"'=HYPERLINK(\"\"x\"\")\",1,坏,4,invalid_name\n"
    );
}

#[test]
fn a_missing_required_column_stops_the_import_before_any_row() {
    let reader = open("手机,备注\n13800138000,x\n");
    let err = map_headers(&fields(), reader.header()).unwrap_err();
    assert_eq!(err, HeaderError::MissingRequired(vec!["name".into()]));
}

#[test]
fn the_reader_can_move_to_a_blocking_worker_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<TableReader>();
}
