//! The visit ledger's export holds one row at a time, not the period: a month at a city's scale
//! is 85,000 visits (800 MB when the whole sheet was built in memory, docs/performance.md).
//! Its own test binary, so that the counting allocator below sees only this test.

use peak_alloc::PeakAlloc;
use xinfang_ledger::ListSheet;
use xinfang_store::{LedgerPerson, LedgerVisit};

/// The system allocator, counting the bytes held and the most held since the last reset.
#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// The `i`th visit: the texts a hall repeats (categories, agencies, clerks), and its own
/// number and time.
fn visit(i: usize) -> LedgerVisit {
    LedgerVisit {
        visit_id: format!("v-{i}"),
        number: format!("沁水-2026-10-{:02}-B{:03}", i % 28 + 1, i % 1000),
        hall_code: "140521".into(),
        visited_at: format!("2026-10-{:02}T09:{:02}:00+08:00", i % 28 + 1, i % 60),
        queue_no: (i % 1000) as i64,
        clerk_name: "王接待".into(),
        people: vec![LedgerPerson {
            name: "张三".into(),
            id_type: "居民身份证".into(),
            id_number: "140521198001150130".into(),
            sex: Some("男".into()),
            phone: Some("13800000001".into()),
            address: Some("山西省晋城市沁水县".into()),
            representative: true,
        }],
        head_count: 1,
        appeal: "拖欠工资，请求协调支付。".into(),
        appeal_kind: "claim".into(),
        appeal_kind_label: "申诉求决".into(),
        category_code: "labour_social_security".into(),
        category_name: "劳动和社会保障".into(),
        agency: "县人社局".into(),
        place_code: "140521".into(),
        is_repeat: i.is_multiple_of(3),
        confidential: false,
        matter_id: None,
        matter_number: Some(format!("沁水-2026-10-B{:04}", i % 10000)),
        status_label: "已办结".into(),
        disposition_label: "受理".into(),
    }
}

/// The most bytes held while `n` visits are exported, made one at a time as the store hands
/// them over.
fn peak_while_exporting(n: usize) -> usize {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("ledger.xlsx");
    ALLOCATOR.reset_peak_usage();
    let before = ALLOCATOR.current_usage();
    let mut sheet = ListSheet::visits(&path, false).unwrap();
    for i in 0..n {
        sheet.push(&visit(i)).unwrap();
    }
    assert_eq!(sheet.rows(), n);
    sheet.save().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 0);
    ALLOCATOR.peak_usage() - before
}

#[test]
fn exporting_eight_times_the_visits_does_not_hold_eight_times_the_memory() {
    let small = peak_while_exporting(1_000);
    let large = peak_while_exporting(8_000);
    eprintln!("peak: {small} bytes for 1,000 visits, {large} for 8,000");
    // Held whole, the sheet grows with its cells (≈ 27 a visit): 8,000 visits held ≈ 8× what
    // 1,000 did. A row at a time, what grows is only the distinct texts (the visit and matter
    // numbers here) and the zip's buffers.
    assert!(
        large < small * 2,
        "peak {large} bytes for 8,000 visits against {small} for 1,000"
    );
}
