//! The screens of issue 21 against a store seeded with `seed --lifecycle` (`make
//! bench-stats-data`): a month's and a year's statistics, the due list, the backlog dashboard
//! and today's list, each next to bare SQLite doing the least indexed work for the same answer
//! on the same file in the same run.
//!
//! Prints the median and the slowest of a few runs of each first (the budgets are wall times of
//! one call), then criterion's estimates. Not part of `make test`: the period-bounded reads are
//! tested there by `a_period_reads_only_its_own_rows` and the query-plan tests.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{Datelike, Months, NaiveDate};
use criterion::{Criterion, criterion_group, criterion_main};
use rusqlite::{Connection, OpenFlags, params};
use xinfang_core::stats::Period;
use xinfang_store::{DB_FILE, StatsQuery, Store};

const RUNS: usize = 7;

fn bench_dir() -> PathBuf {
    PathBuf::from(std::env::var("XINFANG_BENCH_DIR").expect(
        "XINFANG_BENCH_DIR: a store seeded with `seed --lifecycle` (make bench-stats-data)",
    ))
}

/// The bench store: encrypted (unlocked as the bench account) or plaintext.
fn open_bench(dir: &std::path::Path) -> Store {
    if Store::is_encrypted_dir(dir) {
        Store::login(dir, "bench", "bench-pass-2026").unwrap().0
    } else {
        Store::open_unencrypted(dir).unwrap()
    }
}

/// Bare SQLite on the same file (keyed like the store when it is encrypted).
fn open_bare(path: &std::path::Path, store: &Store) -> Connection {
    match store.data_key() {
        Some(key) => xinfang_store::open_raw(path, Some(&key)).unwrap(),
        None => Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap(),
    }
}

/// (median, slowest) in ms.
fn time(mut f: impl FnMut()) -> (f64, f64) {
    let mut t: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let at = Instant::now();
            f();
            at.elapsed()
        })
        .collect();
    t.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(t[t.len() / 2]), ms(t[t.len() - 1]))
}

/// What each screen is asked: the last full month of the data, the twelve months to its end,
/// the day after the last visit as today.
struct Case {
    month: StatsQuery,
    year: StatsQuery,
    today: NaiveDate,
    last_day: String,
}

fn case(bare: &Connection) -> Case {
    let last: String = bare
        .query_row("SELECT max(visit_date) FROM visits", [], |r| r.get(0))
        .unwrap();
    let last_day: NaiveDate = last.parse().unwrap();
    let today = last_day.succ_opt().unwrap();
    let month_start = NaiveDate::from_ymd_opt(last_day.year(), last_day.month(), 1).unwrap();
    let month_from = month_start - Months::new(1);
    let month_to = month_start.pred_opt().unwrap();
    let year_from = month_start - Months::new(12);
    Case {
        month: StatsQuery::new(Period::new(month_from, month_to).unwrap(), today),
        year: StatsQuery::new(Period::new(year_from, month_to).unwrap(), today),
        today,
        last_day: last,
    }
}

fn benches(c: &mut Criterion) {
    let dir = bench_dir();
    let store = open_bench(&dir);
    let bare = open_bare(&dir.join(DB_FILE), &store);
    let cal = store.holiday_calendar();
    let k = case(&bare);
    let (visits, matters): (i64, i64) = bare
        .query_row(
            "SELECT (SELECT count(*) FROM visits), (SELECT count(*) FROM matters)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    println!(
        "store: {visits} visits, {matters} matters; month {}..{}, year {}..{}, today {}",
        k.month.period.from, k.month.period.to, k.year.period.from, k.year.period.to, k.today
    );

    let period_sql = "SELECT count(*), sum(head_count), sum(is_repeat) FROM visits
                      WHERE visit_date BETWEEN ?1 AND ?2";
    let bare_period = |q: &StatsQuery| {
        bare.query_row(
            period_sql,
            params![q.period.from.to_string(), q.period.to.to_string()],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
    };
    let bare_due = || {
        let mut stmt = bare
            .prepare_cached(
                "SELECT d.matter_id FROM matter_deadlines d
                 WHERE d.done_on IS NULL AND d.party = 'authority' AND d.due <= ?1
                 ORDER BY d.due LIMIT 200",
            )
            .unwrap();
        let n = stmt
            .query_map([k.today.to_string()], |r| r.get::<_, String>(0))
            .unwrap()
            .count();
        std::hint::black_box(n);
    };
    let bare_backlog = || {
        bare.query_row(
            "SELECT count(*) FROM backlog_cases WHERE cleared_on IS NULL",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
    };
    let bare_today = || {
        let mut stmt = bare
            .prepare_cached("SELECT * FROM visits WHERE visit_date = ?1 ORDER BY queue_no")
            .unwrap();
        let n = stmt.query_map([&k.last_day], |_| Ok(())).unwrap().count();
        std::hint::black_box(n);
    };

    println!(
        "{:<26} {:>12} {:>12} {:>12} {:>12}",
        "screen", "store p50", "store max", "bare p50", "bare max"
    );
    let row = |name: &str, s: (f64, f64), b: (f64, f64)| {
        println!(
            "{name:<26} {:>10.1}ms {:>10.1}ms {:>10.2}ms {:>10.2}ms",
            s.0, s.1, b.0, b.1
        );
    };
    row(
        "statistics, month",
        time(|| {
            store.statistics(&k.month, &cal).unwrap();
        }),
        time(|| {
            bare_period(&k.month);
        }),
    );
    row(
        "statistics, year",
        time(|| {
            store.statistics(&k.year, &cal).unwrap();
        }),
        time(|| {
            bare_period(&k.year);
        }),
    );
    let due = store.due_list(k.today, &cal).unwrap();
    println!(
        "  (due list: {} overdue, {} due soon; listed {} + {})",
        due.overdue_total,
        due.due_soon_total,
        due.overdue.len(),
        due.due_soon.len()
    );
    row(
        "due list",
        time(|| {
            store.due_list(k.today, &cal).unwrap();
        }),
        time(bare_due),
    );
    row(
        "backlog dashboard",
        time(|| {
            store.backlog_dashboard(k.today).unwrap();
        }),
        time(|| {
            bare_backlog();
        }),
    );
    row(
        "today's list",
        time(|| {
            store.visits_on(&k.last_day).unwrap();
        }),
        time(bare_today),
    );

    let mut g = c.benchmark_group("screens");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("statistics_month", |b| {
        b.iter(|| store.statistics(&k.month, &cal).unwrap())
    });
    g.bench_function("bare_month", |b| b.iter(|| bare_period(&k.month)));
    g.bench_function("statistics_year", |b| {
        b.iter(|| store.statistics(&k.year, &cal).unwrap())
    });
    g.bench_function("bare_year", |b| b.iter(|| bare_period(&k.year)));
    g.bench_function("due_list", |b| {
        b.iter(|| store.due_list(k.today, &cal).unwrap())
    });
    g.bench_function("bare_due", |b| b.iter(bare_due));
    g.bench_function("backlog_dashboard", |b| {
        b.iter(|| store.backlog_dashboard(k.today).unwrap())
    });
    g.bench_function("bare_backlog", |b| b.iter(bare_backlog));
    g.bench_function("today", |b| {
        b.iter(|| store.visits_on(&k.last_day).unwrap())
    });
    g.bench_function("bare_today", |b| b.iter(bare_today));
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
