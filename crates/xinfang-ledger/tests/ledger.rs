//! Excel ledgers against real files and real SQLite stores: export → import round trip, a hand-kept
//! ledger with bad rows, the committed template.

use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate};
use tempfile::TempDir;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::stats::Period;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_ledger::{COLUMNS, check_ledger, errors_path, read_table, write_errors, write_visits};
use xinfang_store::{NewStaff, Staff, StatsQuery, Store};

fn id(body17: &str) -> String {
    format!("{body17}{}", resident_id_check_char(body17).unwrap())
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2025-06-30T18:00:00+08:00").unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn store(dir: &Path) -> (Store, Staff) {
    let mut s = Store::create(dir, "140521").unwrap().0;
    let clerk = s
        .add_staff(&NewStaff {
            username: "clerk".into(),
            display_name: "王接待".into(),
            roles: vec![Role::Clerk],
            password: "correct horse".into(),
        })
        .unwrap();
    (s, clerk)
}

fn q() -> StatsQuery {
    StatsQuery::new(
        Period::new(d("2025-01-01"), d("2025-06-30")).unwrap(),
        d("2025-06-30"),
    )
}

#[test]
fn export_then_import_gives_the_same_figures() {
    let tmp = TempDir::new().unwrap();
    let (mut a, clerk) = store(&tmp.path().join("a"));
    let forms = [
        VisitInput {
            visited_at: "2025-03-03 09:30".into(),
            visitors: vec![VisitorInput {
                name: "张三".into(),
                id_number: id("14052119800115013"),
                phone: "13912345678".into(),
                address: "龙港镇东街 1 号，二单元".into(),
                ..Default::default()
            }],
            appeal: "邻居违建围墙占用通道。".into(),
            appeal_kind: "claim".into(),
            category: "城乡建设".into(),
            agency: "县住建局".into(),
            place_code: "140521".into(),
            ..Default::default()
        },
        VisitInput {
            visited_at: "2025-04-08 14:05".into(),
            visitors: vec![
                VisitorInput {
                    name: "李四".into(),
                    id_number: id("14052119750301024"),
                    ..Default::default()
                },
                VisitorInput {
                    name: "𠀋王五".into(),
                    id_number: id("14052119700505031"),
                    ..Default::default()
                },
            ],
            head_count: 7,
            representatives: vec![1],
            appeal: "工资拖欠。".into(),
            appeal_kind: "申诉求决类".into(),
            category: "劳动和社会保障".into(),
            ..Default::default()
        },
        VisitInput {
            visited_at: "2025-05-20 10:00".into(),
            visitors: vec![VisitorInput {
                name: "孙七".into(),
                id_number: id("14052119900909055"),
                ..Default::default()
            }],
            appeal: "举报某村干部。".into(),
            appeal_kind: "report".into(),
            category: "纪检监察".into(),
            ..Default::default()
        },
    ];
    for f in &forms {
        let v = validate_visit(f, ReferenceData::bundled(), now()).unwrap();
        a.register_visit(&v, &clerk.id).unwrap();
    }
    let cal = HolidayCalendar::bundled();
    let rows = a.visit_ledger(&q(), &cal).unwrap();
    assert_eq!(rows.len(), 3);
    let full = tmp.path().join("ledger.xlsx");
    write_visits(&full, &rows, true).unwrap();

    // Masked: no full number anywhere, the reporter hidden.
    let masked = tmp.path().join("masked.xlsx");
    write_visits(&masked, &rows, false).unwrap();
    let m = read_table(&masked).unwrap();
    let flat: String = m.rows.iter().flat_map(|(_, c)| c.clone()).collect();
    assert!(!flat.contains(&id("14052119800115013")));
    assert!(flat.contains("1405**********"));
    assert!(flat.contains("（检举控告，已隐去）"));
    assert!(!flat.contains("孙七"));

    let sheet = read_table(&full).unwrap();
    assert_eq!(&sheet.headers[..15], COLUMNS.map(|c| c.header.to_owned()));
    // The export's 来访编号 and 事项编号 are the numbers screens show, never ids (issue 20).
    let col = |h: &str| sheet.headers.iter().position(|x| x == h).unwrap();
    for (r, (_, cells)) in rows.iter().zip(&sheet.rows) {
        assert!(r.number.starts_with("沁水-2025-"), "{}", r.number);
        assert_eq!(cells[col("来访编号")], r.number);
        let matter = r.matter_number.as_deref().unwrap();
        assert!(matter.starts_with("沁水-2025-"), "{matter}");
        assert_eq!(cells[col("事项编号")], matter);
        assert!(!cells.contains(&r.visit_id), "{cells:?}");
    }
    let checked = check_ledger(&sheet, ReferenceData::bundled(), now()).unwrap();
    assert!(checked.bad.is_empty(), "{:?}", checked.bad);
    assert_eq!(checked.good.len(), 3);
    let (mut b, clerk_b) = store(&tmp.path().join("b"));
    let out = b
        .import_ledger(&checked.good, "ledger.xlsx", &clerk_b.id)
        .unwrap();
    assert_eq!(out.imported, 3);

    let (sa, sb) = (
        a.statistics(&q(), &cal).unwrap(),
        b.statistics(&q(), &cal).unwrap(),
    );
    assert_eq!(sa.visits, sb.visits);
    assert_eq!(sa.by_day, sb.by_day);
    assert_eq!(sa.by_category, sb.by_category);
    assert_eq!(sa.by_appeal_kind, sb.by_appeal_kind);
    assert_eq!(sa.by_agency, sb.by_agency);
    let rb = b.visit_ledger(&q(), &cal).unwrap();
    for (x, y) in rows.iter().zip(&rb) {
        assert_eq!(x.visited_at, y.visited_at);
        assert_eq!(x.people, y.people);
        assert_eq!(x.head_count, y.head_count);
        assert_eq!(x.appeal, y.appeal);
        assert_eq!(x.place_code, y.place_code);
    }
    assert!(b.verify().unwrap().ok());
}

const BAD_LEDGER: &str =
    "\u{feff}序号,日期,来访人,身份证号,电话,人数,诉求,诉求类别,问题分类,涉及单位,备注
1,2025-03-03,张三,ID_ZHANG,13912345678,,邻居违建,申诉求决类,城乡建设,县住建局,
2,2025/3/4,李四,140521197503010240,,,工资拖欠,申诉求决类,劳动和社会保障,,校验位错误
3,2025年3月5日,王五、赵六,ID_WANG,,,征地补偿,申诉求决类,自然资源,,少一个证件号
4,2025-03-06,孙七,ID_SUN,,,反映问题,建议意见类,不存在的分类,,
5,2025-13-01,周八,ID_ZHOU,,,,申诉求决类,城乡建设,,日期和诉求都有错
6,2025-03-07,吴九,ID_WU,,3,路灯不亮,建议意见类,城乡建设,,
";

fn bad_ledger(dir: &Path) -> std::path::PathBuf {
    let text = BAD_LEDGER
        .replace("ID_ZHANG", &id("14052119800115013"))
        .replace("ID_WANG", &id("14052119700505031"))
        .replace("ID_SUN", &id("14052119900909055"))
        .replace("ID_ZHOU", &id("14052119850202066"))
        .replace("ID_WU", &id("14052119660606077"));
    let path = dir.join("台账.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_ledger_with_bad_rows_imports_its_good_rows_once() {
    let tmp = TempDir::new().unwrap();
    let path = bad_ledger(tmp.path());
    let sheet = read_table(&path).unwrap();
    assert_eq!(sheet.rows.len(), 6);
    let checked = check_ledger(&sheet, ReferenceData::bundled(), now()).unwrap();
    let good: Vec<u32> = checked.good.iter().map(|g| g.row_no).collect();
    assert_eq!(good, [2, 7]);
    let bad: Vec<(u32, Vec<&str>)> = checked
        .bad
        .iter()
        .map(|b| (b.row, b.errors.iter().map(|e| e.column.as_str()).collect()))
        .collect();
    assert_eq!(
        bad,
        [
            (3, vec!["证件号码"]),
            (4, vec!["证件号码"]),
            (5, vec!["问题分类"]),
            (6, vec!["来访日期", "诉求内容"]),
        ]
    );
    let msg = &checked.bad[0].errors[0].message;
    assert!(msg.contains("校验位"), "{msg}");
    assert!(checked.bad[1].errors[0].message.contains("姓名列有 2 人"));

    let dir = tmp.path().join("desk");
    let (mut s, clerk) = store(&dir);
    let first = s
        .import_ledger(&checked.good, "台账.csv", &clerk.id)
        .unwrap();
    assert_eq!(first.imported, 2);
    let again = check_ledger(&read_table(&path).unwrap(), ReferenceData::bundled(), now()).unwrap();
    let fps: Vec<String> = again.good.iter().map(|g| g.fingerprint.clone()).collect();
    assert_eq!(s.imported_ledger_rows(&fps).unwrap().len(), 2);
    let second = s.import_ledger(&again.good, "台账.csv", &clerk.id).unwrap();
    assert_eq!(second.imported, 0);
    assert_eq!(second.already_imported, [2, 7]);
    let st = s.statistics(&q(), &HolidayCalendar::bundled()).unwrap();
    assert_eq!(st.visits.visits, 2);
    assert_eq!(st.visits.people, 4);

    let errors = errors_path(&path);
    assert_eq!(errors.file_name().unwrap(), "台账.errors.xlsx");
    write_errors(&errors, &checked).unwrap();
    let e = read_table(&errors).unwrap();
    assert_eq!(e.headers[..2], ["原行号".to_owned(), "错误说明".to_owned()]);
    assert_eq!(e.rows.len(), 4);
    assert_eq!(e.rows[0].1[0], "3");
    assert!(e.rows[0].1[1].contains("【证件号码】"));
    assert!(s.verify().unwrap().ok());
}

#[test]
fn the_committed_template_has_the_documented_columns() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/templates/ledger-template.xlsx"
    );
    let committed = Path::new(path);
    let tmp = TempDir::new().unwrap();
    let fresh = tmp.path().join("t.xlsx");
    xinfang_ledger::write_template(&fresh).unwrap();
    for file in [committed, fresh.as_path()] {
        let sheet = read_table(file)
            .unwrap_or_else(|e| panic!("{e}: run `xinfang export template --out {path}`"));
        let headers: Vec<String> = COLUMNS.iter().map(|c| c.header.to_owned()).collect();
        assert_eq!(sheet.headers, headers);
        // The example row is a valid visit.
        let checked = check_ledger(&sheet, ReferenceData::bundled(), now()).unwrap();
        assert_eq!(checked.good.len(), 1, "{:?}", checked.bad);
        assert_eq!(checked.good[0].visit.head_count, 2);
    }
}

/// Two cells, at A1 and at XFD1048576, make a file of under 2 KB whose range is the whole sheet:
/// reading it used to allocate 512 GiB and abort `xinfang import` (issue 15, item 13). Now the
/// far cell is refused by position, in Chinese, before anything is allocated for it.
#[test]
fn a_tiny_xlsx_with_a_far_cell_is_refused_without_allocating_the_sheet() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("bomb.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.write_string(0, 0, "来访日期").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    wb.save(&path).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 8 * 1024);
    let err = read_table(&path).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            xinfang_ledger::LedgerError::TooLarge {
                row: 1_048_576,
                column: 16_384,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("表格太大") && msg.contains("第 1048576 行"),
        "{msg}"
    );

    // A ledger whose table starts further in (column C, row 3) reads as before.
    let path = dir.path().join("offset.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.write_string(2, 2, "姓名").unwrap();
    sheet.write_string(2, 4, "证件号码").unwrap();
    sheet.write_string(3, 2, "张三").unwrap();
    sheet.write_string(4, 4, "x").unwrap();
    wb.save(&path).unwrap();
    let table = read_table(&path).unwrap();
    assert_eq!(table.headers, vec!["姓名", "", "证件号码"]);
    assert_eq!(
        table.rows,
        vec![
            (4, vec!["张三".to_owned()]),
            (5, vec![String::new(), String::new(), "x".to_owned()])
        ]
    );
}

/// A minimal `.ods` whose first sheet is `rows` (content.xml's table rows, as written).
fn ods(path: &Path, rows: &str) {
    use std::io::Write;
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    zip.start_file("META-INF/manifest.xml", stored).unwrap();
    zip.write_all(
        br#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#,
    )
    .unwrap();
    zip.start_file("content.xml", stored).unwrap();
    write!(
        zip,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet><table:table table:name="台账">{rows}</table:table></office:spreadsheet></office:body>
</office:document-content>"#
    )
    .unwrap();
    zip.finish().unwrap();
}

/// The same for `.ods`: a file of a few hundred bytes that repeats one filled cell over 6,000
/// rows and all 16,384 columns asks calamine for a range of 98 million cells (under its own
/// limit of 100 million: gigabytes); it is refused from the repeat counts, before the range is
/// made. An ordinary sheet, with the empty
/// trailing rows and columns LibreOffice writes, reads as before.
#[test]
fn a_tiny_ods_repeating_a_cell_is_refused_before_the_range_is_made() {
    let dir = TempDir::new().unwrap();
    let cell = |t: &str| {
        format!(
            r#"<table:table-cell office:value-type="string"><text:p>{t}</text:p></table:table-cell>"#
        )
    };
    let header = format!(
        "<table:table-row>{}{}</table:table-row>",
        cell("姓名"),
        cell("证件号码")
    );
    let path = dir.path().join("bomb.ods");
    ods(
        &path,
        &format!(
            r#"{header}<table:table-row table:number-rows-repeated="6000"><table:table-cell table:number-columns-repeated="16384" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>"#
        ),
    );
    assert!(std::fs::metadata(&path).unwrap().len() < 4 * 1024);
    let err = read_table(&path).unwrap_err();
    assert!(
        matches!(err, xinfang_ledger::LedgerError::TooLarge { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("表格太大"), "{err}");

    let path = dir.path().join("ledger.ods");
    ods(
        &path,
        &format!(
            r#"{header}<table:table-row>{}{}<table:table-cell table:number-columns-repeated="1022"/></table:table-row><table:table-row table:number-rows-repeated="1048574"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>"#,
            cell("张三"),
            cell("x")
        ),
    );
    let table = read_table(&path).unwrap();
    assert_eq!(table.headers, vec!["姓名", "证件号码"]);
    assert_eq!(
        table.rows,
        vec![(2, vec!["张三".to_owned(), "x".to_owned()])]
    );
}

/// The publicity export names each activity's county and campaign (issue 16).
#[test]
fn the_publicity_export_names_the_county_and_the_campaign() {
    use xinfang_core::stats::{PublicityInput, validate_publicity};
    let dir = TempDir::new().unwrap();
    let (mut store, clerk) = store(dir.path());
    let week = "第三届“循法信访、依法办访”法治宣传周";
    for campaign in [week, ""] {
        let input = PublicityInput {
            held_on: "2021-05-17".into(),
            place: "沁水中学".into(),
            units: vec!["沁水县信访局".into()],
            kind: "进校园".into(),
            leaflets: 1400,
            campaign: campaign.into(),
            ..Default::default()
        };
        let valid = validate_publicity(&input, d("2021-12-31")).unwrap();
        store.add_publicity(&valid, &clerk.id).unwrap();
    }
    let period = Period::new(d("2021-05-01"), d("2021-05-31")).unwrap();
    let records = store.publicity_list(&period, None).unwrap();
    let summary = store.publicity_summary(&period, None).unwrap();
    let file = dir.path().join("宣传.xlsx");
    xinfang_ledger::write_publicity(&file, &records, &summary).unwrap();
    let sheet = read_table(&file).unwrap();
    assert_eq!(
        sheet.headers[..4],
        ["活动日期", "县（市、区）", "活动名称", "地点"]
    );
    let mut campaigns: Vec<&str> = sheet.rows.iter().map(|(_, r)| r[2].as_str()).collect();
    campaigns.sort_unstable();
    assert_eq!(campaigns, ["", week]);
    assert!(sheet.rows.iter().all(|(_, r)| r[1] == "沁水县"));
}
