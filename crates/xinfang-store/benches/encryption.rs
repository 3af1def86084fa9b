//! What encryption at rest costs: the register path on a SQLCipher store and on a plaintext one
//! (same run, same rows, synchronous=FULL), and the login (argon2id key slot + open) with the
//! production parameters. Prints p50/p99; docs/performance.md and docs/security.md hold numbers.

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use xinfang_core::id::{IdType, Sex};
use xinfang_core::reference::AppealKind;
use xinfang_core::staff::Role;
use xinfang_core::visit::{ValidVisit, ValidVisitor};
use xinfang_store::{KdfParams, NewStaff, Store};

fn visit_for(i: u64) -> ValidVisit {
    let body = format!("140521{}{:03}", 19_700_101 + (i % 28), i % 1000);
    let check = xinfang_core::id::resident_id_check_char(&body).unwrap();
    let at: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2026-11-26T10:00:00+08:00").unwrap();
    ValidVisit {
        visited_at: at,
        visitors: vec![ValidVisitor {
            name: format!(
                "基准{}",
                char::from_u32(0x4e00 + (i % 2000) as u32).unwrap()
            ),
            id_type: IdType::ResidentId,
            id_number: format!("{body}{check}"),
            sex: Some(Sex::Female),
            birth_date: None,
            phone: Some(format!("139{i:08}")),
            address: Some("山西省晋城市沁水县".into()),
            ethnicity: None,
            occupation: None,
        }],
        head_count: 1,
        representatives: vec![0],
        appeal: "基准测试：拖欠工资，请求协调支付。".into(),
        appeal_kind: AppealKind::Claim,
        category_code: "labour_social_security".into(),
        agency: String::new(),
        place_code: Some("140521".into()),
        warnings: vec![],
    }
}

fn clerk(store: &mut Store) -> String {
    store
        .add_staff(&NewStaff {
            username: "bench".into(),
            display_name: "基准".into(),
            roles: vec![Role::Clerk],
            password: "bench-pass-2026".into(),
        })
        .unwrap()
        .id
}

fn pct(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

fn main() {
    let n: u64 = std::env::var("ENC_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let tmp = tempfile::TempDir::new().unwrap();
    let (mut enc, _) =
        Store::create_with_kdf(&tmp.path().join("enc"), "140521", KdfParams::PRODUCTION).unwrap();
    let mut plain = Store::create_unencrypted(&tmp.path().join("plain"), "140521").unwrap();
    let (ce, cp) = (clerk(&mut enc), clerk(&mut plain));
    let (mut te, mut tp) = (Vec::new(), Vec::new());
    // Interleaved, so both see the same machine noise.
    for i in 0..n {
        let t = Instant::now();
        enc.register_visit(&visit_for(i), &ce).unwrap();
        te.push(t.elapsed());
        let t = Instant::now();
        plain.register_visit(&visit_for(i), &cp).unwrap();
        tp.push(t.elapsed());
    }
    let (e50, e99) = pct(te);
    let (p50, p99) = pct(tp);
    println!(
        "register_visit, {n} visits: plaintext p50 {p50:?} p99 {p99:?}; SQLCipher p50 {e50:?} p99 {e99:?}; ratio p50 {:.2}×",
        e50.as_secs_f64() / p50.as_secs_f64()
    );
    drop(enc);
    let mut logins = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let (s, _) = Store::login(&tmp.path().join("enc"), "bench", "bench-pass-2026").unwrap();
        logins.push(t.elapsed());
        drop(s);
    }
    let (l50, l99) = pct(logins);
    println!(
        "login (argon2id m={} KiB t={} p={} + unseal + open): p50 {l50:?}, max {l99:?}",
        KdfParams::PRODUCTION.m_kib,
        KdfParams::PRODUCTION.t,
        KdfParams::PRODUCTION.p
    );
}
