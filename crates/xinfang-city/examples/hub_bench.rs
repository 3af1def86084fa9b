//! The hall hub's two budgets (issue 17, docs/performance.md "Hall hub"), over real HTTP on
//! loopback with real desk stores: a hand-off reaching the lawyer's queue through the hub (the
//! clerk's desk pushes, the lawyer's desk pulls; p50/p99), and the relay of 10,000 changes hub →
//! city next to the same desk changes pushed by a desk straight to the city, in the same run.
//!
//! ```sh
//! cargo run --release -p xinfang-city --example hub_bench -- [handoffs] [changes]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use xinfang_city::{api, auth, hub, protocol, storage};
use xinfang_core::desk::Desk;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, Staff, Store};
use xinfang_sync::client;

const HALL: &str = "140521";

/// A server on a free loopback port, served from a runtime of its own.
fn serve(storage: Arc<dyn storage::Storage>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, api::router(storage)).await.unwrap();
        });
    });
    url
}

fn code(storage: &dyn storage::Storage, kind: auth::CodeKind) -> String {
    let code = auth::new_code();
    protocol::add_enrol_code(
        storage,
        &auth::code_hash_of(kind, &code),
        HALL,
        i64::MAX / 2,
    )
    .unwrap();
    code
}

struct BenchDesk {
    _dir: tempfile::TempDir,
    store: Store,
    clerk: Staff,
    n: u64,
}

impl BenchDesk {
    fn new(url: &str, code: &str, seed: u64) -> BenchDesk {
        let dir = tempfile::TempDir::new().unwrap();
        let mut store = Store::create_unencrypted(dir.path(), HALL).unwrap();
        for (name, role) in [("admin", Role::Admin), ("lawyer", Role::Lawyer)] {
            store
                .add_staff(&NewStaff {
                    username: format!("{name}{seed}"),
                    display_name: "测试".into(),
                    roles: vec![role],
                    password: "correct horse battery".into(),
                })
                .unwrap();
        }
        let clerk = store
            .add_staff(&NewStaff {
                username: format!("clerk{seed}"),
                display_name: "王接待".into(),
                roles: vec![Role::Clerk],
                password: "correct horse battery".into(),
            })
            .unwrap();
        client::enrol(&mut store, url, code, "bench desk").unwrap();
        BenchDesk {
            _dir: dir,
            store,
            clerk,
            n: seed * 1_000_000,
        }
    }

    /// Registers `n` visits of new visitors in one transaction; their ids.
    fn register(&mut self, n: usize) -> Vec<String> {
        let now = xinfang_core::clock::Clock::now_cst(&xinfang_core::clock::SystemClock);
        let visits: Vec<_> = (0..n)
            .map(|_| {
                self.n += 1;
                let body = format!("{HALL}19800101{:03}", self.n % 1000);
                let body = format!("{}{:03}", &body[..14], self.n % 997);
                let id_number = format!("{body}{}", resident_id_check_char(&body).unwrap());
                let input = VisitInput {
                    visited_at: String::new(),
                    visitors: vec![VisitorInput {
                        name: format!("张{}", ["伟", "芳", "娜", "敏"][(self.n % 4) as usize]),
                        id_number,
                        phone: format!("139{:08}", self.n % 100_000_000),
                        ..Default::default()
                    }],
                    head_count: 0,
                    representatives: vec![],
                    appeal: format!("拖欠工资，请求协调支付（{}）。", self.n),
                    appeal_kind: "claim".into(),
                    category: "劳动和社会保障".into(),
                    agency: String::new(),
                    place_code: HALL.into(),
                };
                validate_visit(&input, ReferenceData::bundled(), now).unwrap()
            })
            .collect();
        self.store
            .register_visits(&visits, &self.clerk.id)
            .unwrap()
            .into_iter()
            .map(|r| r.visit_id)
            .collect()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let handoffs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(200);
    let changes: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);

    let city_dir = tempfile::TempDir::new().unwrap();
    let city = storage::open(city_dir.path()).unwrap();
    let city_url = serve(city.clone());
    let hub_dir = tempfile::TempDir::new().unwrap();
    let hub_store = storage::open(hub_dir.path()).unwrap();
    let link = hub::join(
        hub_dir.path(),
        hub_store.as_ref(),
        &city_url,
        &code(city.as_ref(), auth::CodeKind::Hub),
        "bench hub",
    )
    .unwrap();
    let hub_url = serve(hub_store.clone());

    // A hand-off: the clerk's desk hands off and syncs, the lawyer's desk syncs and finds it.
    let mut clerk = BenchDesk::new(&hub_url, &code(hub_store.as_ref(), auth::CodeKind::Desk), 1);
    let mut lawyer = BenchDesk::new(&hub_url, &code(hub_store.as_ref(), auth::CodeKind::Desk), 2);
    let visits = clerk.register(handoffs);
    client::sync_once(&mut clerk.store).unwrap();
    client::sync_once(&mut lawyer.store).unwrap();
    let mut took = Vec::with_capacity(handoffs);
    for v in &visits {
        let start = Instant::now();
        clerk
            .store
            .hand_off(v, Desk::Lawyer, "", &clerk.clerk.id)
            .unwrap();
        client::sync_once(&mut clerk.store).unwrap();
        client::sync_once(&mut lawyer.store).unwrap();
        let queue = lawyer.store.queue(Desk::Lawyer).unwrap();
        assert!(queue.iter().any(|q| q.visit.visit_id == *v));
        took.push(start.elapsed());
    }
    took.sort();
    println!(
        "hand-off to the lawyer's queue through the hub ({handoffs}): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&took, 0.5).as_secs_f64() * 1e3,
        percentile(&took, 0.99).as_secs_f64() * 1e3
    );

    // 10,000 changes: one desk's registrations through the hub, another's straight to the city.
    let mut via_hub = BenchDesk::new(&hub_url, &code(hub_store.as_ref(), auth::CodeKind::Desk), 3);
    let mut direct = BenchDesk::new(&city_url, &code(city.as_ref(), auth::CodeKind::Desk), 4);
    // Each registration of one new visitor writes a few changes: measure, then fill up.
    let before = hub_store.device_heads(via_hub.store.device_id()).unwrap().0;
    via_hub.register(10);
    client::sync_once(&mut via_hub.store).unwrap();
    let per = (hub_store.device_heads(via_hub.store.device_id()).unwrap().0 - before) / 10;
    let n = changes / per.max(1) as usize;
    // What the hub already held goes up first, untimed.
    hub::relay_once(hub_dir.path(), hub_store.as_ref(), &link, 0).unwrap();
    via_hub.register(n);
    direct.register(10);
    direct.register(n);
    client::sync_once(&mut via_hub.store).unwrap();
    // The desk first (its sync also pulls: with nothing new of the hall's yet, little).
    let start = Instant::now();
    let d = client::sync_once(&mut direct.store).unwrap();
    let push = start.elapsed();
    let start = Instant::now();
    let r = hub::relay_once(hub_dir.path(), hub_store.as_ref(), &link, 0).unwrap();
    let relay = start.elapsed();
    println!(
        "relay hub → city of {} changes: {:.2} s; a desk pushing {} changes to the city: {:.2} s",
        r.pushed,
        relay.as_secs_f64(),
        d.pushed,
        push.as_secs_f64()
    );
}
