//! The monthly report on a known data set: the PDF carries the hall, the period and the exact
//! figures and rates, read back with pdftotext.

use chrono::{DateTime, NaiveDate};
use tempfile::TempDir;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::matter::MatterEvent;
use xinfang_core::reference::ReferenceData;
use xinfang_core::stats::Period;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_print::{Printer, report};
use xinfang_store::{StatsQuery, Store};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn text_of(pdf: &[u8]) -> String {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext is missing: run scripts/install-deps.sh (poppler-utils)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// March 2025 in 沁水县: four visits (one a group of 6), three matters disposed of in time, one
/// left undone past its limit.
fn store(dir: &TempDir) -> Store {
    let (mut store, _recovery) = Store::create(dir.path(), "140521").unwrap();
    let now = DateTime::parse_from_rfc3339("2025-04-30T18:00:00+08:00").unwrap();
    let cal = HolidayCalendar::bundled();
    let visits = [
        ("2025-03-03 09:00", "14052119800115013", 1, "城乡建设"),
        ("2025-03-05 10:00", "14052119750301024", 6, "劳动和社会保障"),
        ("2025-03-10 11:00", "14052119700505031", 1, "城乡建设"),
        ("2025-03-12 15:00", "14052119650707042", 1, "城乡建设"),
    ];
    for (i, (at, body, heads, category)) in visits.into_iter().enumerate() {
        let input = VisitInput {
            visited_at: at.into(),
            head_count: heads,
            representatives: if heads > 1 { vec![0] } else { vec![] },
            visitors: vec![VisitorInput {
                name: ["张三", "李四", "王五", "赵六"][i].into(),
                id_number: format!("{body}{}", resident_id_check_char(body).unwrap()),
                ..Default::default()
            }],
            appeal: "要求解决问题。".into(),
            appeal_kind: "claim".into(),
            category: category.into(),
            ..Default::default()
        };
        let valid = validate_visit(&input, ReferenceData::bundled(), now).unwrap();
        let r = store.register_visit(&valid, "seed").unwrap();
        if i != 2 {
            let at = valid.visited_at.date_naive() + chrono::Days::new(2);
            store
                .record_event(
                    &r.matter_id,
                    &MatterEvent::Accept {
                        at,
                        notice_no: None,
                    },
                    "seed",
                    &cal,
                )
                .unwrap();
        }
    }
    store
}

#[test]
fn the_monthly_report_prints_the_exact_figures() {
    let dir = TempDir::new().unwrap();
    let store = store(&dir);
    let (from, to) = report::month_bounds("2025-03").unwrap();
    let q = StatsQuery::new(Period::new(from, to).unwrap(), d("2025-04-30"));
    let s = store.statistics(&q, &HolidayCalendar::bundled()).unwrap();
    assert_eq!((s.visits.visits, s.visits.people), (4, 9));
    assert_eq!(
        (
            s.rates.timely_acceptance.numerator,
            s.rates.timely_acceptance.denominator
        ),
        (3, 4)
    );
    let r = report::monthly(&s, "沁水县信访局", "沁水县信访接待大厅", d("2025-04-01"));
    let printer = Printer::bundled(None).unwrap();
    let pdf = printer.render_report(&r).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(
        printer.render_report(&r).unwrap(),
        pdf,
        "same report, same bytes"
    );
    let text = text_of(&pdf);
    let flat: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for wanted in [
        "沁水县信访局",
        "2025年3月信访工作统计月报",
        "沁水县信访接待大厅",
        "2025年3月1日至2025年3月31日",
        "来访批次4批",
        "来访人次9人次",
        "集体访1批",
        "及时受理率75.00%3／4",
        "按期办结率—0／0",
        "事项未登记处理结果1件",
        "每日来访批次",
        "问题分类（来访批次）",
        "城乡建设3",
        "劳动和社会保障1",
        "2025年4月1日",
    ] {
        assert!(flat.contains(wanted), "no “{wanted}” in:\n{text}");
    }
    if let Ok(out) = std::env::var("XINFANG_REPORT_SAMPLE") {
        std::fs::write(out, &pdf).unwrap();
    }
}

#[test]
fn a_bad_month_names_the_field() {
    let e = report::month_bounds("2025/3").unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.code.as_str()),
        ("month", "month_format")
    );
}
