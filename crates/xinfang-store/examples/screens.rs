//! Times the statistics of a month and a year, the due list, the backlog dashboard, the backlog
//! list (a page of it, and all of it as a script asks), today's list and the likely duplicate
//! people on a store, each a few times in one process, as the desk app calls them (the store
//! opened once): `cargo run --release -p xinfang-store --example screens -- DIR USER PASSWORD
//! [--forget | --keep]`. Both drop every kept day first, as a hall's first sync drops them;
//! with `--keep` the desk's keeper adds them up again (timed) before the screens.
//! The criterion bench (`benches/stats.rs`) also times bare SQLite; this is its quick form.

use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use xinfang_core::stats::{Period, RateKind};
use xinfang_store::{BACKLOG_PAGE_SIZE, BacklogFilter, StatsQuery, Store};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("DATA_DIR"));
    let user = args.next().expect("USER");
    let password = args.next().expect("PASSWORD");
    let at = Instant::now();
    let (store, _) = Store::login(&dir, &user, &password).expect("login");
    println!(
        "login {:.0} ms (peak RSS {})",
        at.elapsed().as_secs_f64() * 1e3,
        peak_rss()
    );
    let cal = store.holiday_calendar();
    let day = |s: &str| s.parse::<NaiveDate>().expect("date");
    let today = day("2026-11-30");
    let month = StatsQuery::new(
        Period::new(day("2026-10-01"), day("2026-10-31")).unwrap(),
        today,
    );
    let year = StatsQuery::new(
        Period::new(day("2025-11-01"), day("2026-10-31")).unwrap(),
        today,
    );
    let mode = args.next();
    if matches!(mode.as_deref(), Some("--forget" | "--keep")) {
        store.forget_kept_figures().unwrap();
    }
    if mode.as_deref() == Some("--keep") {
        let at = Instant::now();
        let kept = store.keep_due_figures(today, &cal, usize::MAX).unwrap();
        println!(
            "keeper: {} days in {:.0} ms (peak RSS {})",
            kept.days,
            at.elapsed().as_secs_f64() * 1e3,
            peak_rss()
        );
    }
    let time = |name: &str, f: &dyn Fn()| {
        for _ in 0..3 {
            let at = Instant::now();
            f();
            println!(
                "{name} {:.0} ms (peak RSS {})",
                at.elapsed().as_secs_f64() * 1e3,
                peak_rss()
            );
        }
    };
    time("statistics, month", &|| {
        store.statistics(&month, &cal).unwrap();
    });
    time("statistics, year", &|| {
        store.statistics(&year, &cal).unwrap();
    });
    time("due list", &|| {
        store.due_list(today, &cal).unwrap();
    });
    time("backlog dashboard", &|| {
        store.backlog_dashboard(today).unwrap();
    });
    time("backlog list, a page of the open cases", &|| {
        store
            .backlog_cases_page(BacklogFilter::Open, today, 0, BACKLOG_PAGE_SIZE)
            .unwrap();
    });
    time("backlog list, every open case", &|| {
        store.backlog_cases(BacklogFilter::Open, today).unwrap();
    });
    time("today's list", &|| {
        store.visits_on("2026-11-29").unwrap();
    });
    time(
        "matters behind a rate (按期办结率), month, first page",
        &|| {
            store
                .rate_matters_page(&month, RateKind::OnTimeConclusion, &cal, None, 100)
                .unwrap();
        },
    );
    time(
        "matters behind a rate (按期办结率), year, first page",
        &|| {
            store
                .rate_matters_page(&year, RateKind::OnTimeConclusion, &cal, None, 100)
                .unwrap();
        },
    );
    time("likely duplicate people (疑似重复人员)", &|| {
        store.duplicate_people().unwrap();
    });
    // Last: the gaps behind 有一录一 (查看明细) read matters the screens above do not.
    time("completeness gaps, month", &|| {
        store.completeness(&month, &cal).unwrap();
    });
    time("completeness gaps, year", &|| {
        store.completeness(&year, &cal).unwrap();
    });
    println!(
        "peak RSS {} (SQLite's memory is held to 128 MiB, schema.rs)",
        peak_rss()
    );
}

/// The process's peak resident set (`VmHWM`), as `/usr/bin/time -v` would report it.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
