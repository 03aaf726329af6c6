use kehu_io::vcard::{Contact, Phone, PhoneKind, RejectedCard, read_vcards, write_vcards};

fn zhang_san() -> Contact {
    Contact {
        full_name: "张三".into(),
        family_name: Some("张".into()),
        given_name: Some("三".into()),
        phones: vec![
            Phone {
                number: "+8613800138000".into(),
                kind: PhoneKind::Cell,
            },
            Phone {
                number: "+862088886666".into(),
                kind: PhoneKind::Work,
            },
        ],
        emails: vec!["zhangsan@example.com".into()],
        org: Some("广州华信科技有限公司".into()),
        title: Some("采购经理".into()),
        note: Some("每周一上午方便联系; 喜欢喝茶, 不抽烟".into()),
    }
}

#[test]
fn contacts_are_written_as_vcard_4_and_read_back_unchanged() {
    let text = write_vcards(&[zhang_san(), zhang_san()]);
    assert!(text.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"), "{text}");
    assert!(text.contains("FN:张三\r\n"), "{text}");
    assert!(text.contains("TEL;TYPE=CELL:+8613800138000"), "{text}");
    assert!(
        text.lines().all(|l| l.len() <= 75),
        "lines are folded: {text}"
    );
    let file = read_vcards(text.as_bytes());
    assert_eq!(file.rejected, vec![]);
    assert_eq!(file.contacts, vec![zhang_san(), zhang_san()]);
}

#[test]
fn a_vcard_3_file_with_folded_lines_and_no_fn_is_read() {
    let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:李;四;;;\r\nTEL;TYPE=CELL,VOICE:139 0013 9000\r\n\
TEL;TYPE=WORK:010-66668888\r\nEMAIL;TYPE=INTERNET:lisi@\r\n example.com\r\nORG:北京华信;销售部\r\n\
TITLE:经理\r\nNOTE:第一行\\n第二行\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nTEL:1\r\nEND:VCARD\r\n";
    let file = read_vcards(text.as_bytes());
    assert_eq!(file.encoding, "UTF-8");
    assert_eq!(
        file.contacts,
        vec![Contact {
            full_name: "李四".into(),
            family_name: Some("李".into()),
            given_name: Some("四".into()),
            phones: vec![
                Phone {
                    number: "139 0013 9000".into(),
                    kind: PhoneKind::Cell
                },
                Phone {
                    number: "010-66668888".into(),
                    kind: PhoneKind::Work
                },
            ],
            emails: vec!["lisi@example.com".into()],
            org: Some("北京华信".into()),
            title: Some("经理".into()),
            note: Some("第一行\n第二行".into()),
        }]
    );
    assert_eq!(
        file.rejected,
        vec![RejectedCard {
            index: 2,
            reason: "missing_name"
        }]
    );
}

#[test]
fn a_gbk_vcard_file_is_decoded() {
    let (gbk, _, _) = encoding_rs::GBK
        .encode("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:王五\r\nORG:上海贸易有限公司\r\nEND:VCARD\r\n");
    let file = read_vcards(&gbk);
    assert_eq!(file.encoding, "GBK");
    assert_eq!(file.contacts[0].full_name, "王五");
    assert_eq!(file.contacts[0].org.as_deref(), Some("上海贸易有限公司"));
}

#[test]
fn a_card_cut_off_by_the_end_of_the_file_keeps_what_it_has() {
    let file = read_vcards(b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:\xE5\xBC\xA0\r\n:::\r\n");
    assert_eq!(file.rejected, vec![]);
    let names: Vec<&str> = file.contacts.iter().map(|c| c.full_name.as_str()).collect();
    assert_eq!(names, ["张"]);
}

#[test]
fn text_that_is_no_vcard_gives_no_contacts() {
    let file = read_vcards(b"\x00\xFFname,mobile\r\nx,1\r\n");
    assert_eq!((file.contacts.len(), file.rejected.len()), (0, 0));
}
