//! The desk's background sync (docs/sync.md): a tokio task that runs one full sync (push,
//! pull, city reference data) every `XINFANG_SYNC_SECONDS` seconds (default 30), and at once
//! when woken — after a login and after each registered visit. The sync itself is blocking
//! (reqwest + SQLite) and runs in `spawn_blocking` on its **own** connection to the store
//! (SQLite WAL: the app's connection keeps answering the clerk during the network round trip).
//! It syncs only while a staff member is logged in: nothing is opened without a login. The
//! outcome lands in [`AppState::sync`], which the status bar reads through `sync_status`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tauri::{AppHandle, Manager};
use tokio::sync::Notify;
use xinfang_store::Store;
use xinfang_sync::DeskReplica;
use xinfang_sync::client;

use crate::api::{AppState, SyncStatus};

/// Env var: seconds between two background syncs.
pub const INTERVAL_ENV: &str = "XINFANG_SYNC_SECONDS";
/// Seconds between two background syncs unless configured.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// Shown while the desk has no enrolment: nothing is tried, nothing spins.
pub const NOT_ENROLLED: &str = "未登记到市级服务器：数据只保存在本机。请向市局管理员索取一次性登记码，再在本机运行 `xinfang enrol --server 服务器地址 --code 登记码` 完成登记。";

/// The interval from `XINFANG_SYNC_SECONDS` (a positive number of seconds), else the default.
pub fn interval_from(env: Option<String>) -> Duration {
    env.and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.max(0.2)))
        .unwrap_or(DEFAULT_INTERVAL)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn pending(store: &Store) -> i64 {
    match (store.last_local_seq(), store.pushed_seq()) {
        (Ok(last), Ok(pushed)) => (last - pushed).max(0),
        _ => 0,
    }
}

/// One attempt on `store`: syncs if the desk is enrolled, and says what to show.
pub fn attempt(store: &mut Store) -> SyncStatus {
    if !matches!(store.sync_settings(), Ok(Some(_))) {
        return SyncStatus {
            online: false,
            enrolled: false,
            checked: true,
            pending: pending(store),
            last_sync_at: None,
            last_error: Some(NOT_ENROLLED.to_owned()),
        };
    }
    let s = client::sync_status(store);
    SyncStatus {
        online: s.online,
        enrolled: true,
        checked: true,
        pending: s.pending,
        last_sync_at: s.last_sync_at,
        last_error: s.last_error,
    }
}

/// The loop. `open` gives a fresh store connection while someone is logged in (`None`
/// otherwise: skip this round). Runs until the runtime stops.
pub async fn run<F>(open: F, wake: Arc<Notify>, status: Arc<Mutex<SyncStatus>>, interval: Duration)
where
    F: Fn() -> Option<Result<Store, String>> + Send + Sync + Clone + 'static,
{
    loop {
        let open = open.clone();
        let outcome = tauri::async_runtime::spawn_blocking(move || {
            open().map(|r| r.map(|mut store| attempt(&mut store)))
        })
        .await;
        match outcome {
            Ok(Some(Ok(s))) => *lock(&status) = s,
            Ok(Some(Err(e))) => {
                let mut st = lock(&status);
                st.online = false;
                st.checked = true;
                st.last_error = Some(format!(
                    "无法打开本机数据库进行同步：{e}。请重新登录；如果一直出现，请联系管理员检查数据目录。"
                ));
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "sync attempt panicked"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = wake.notified() => {}
        }
    }
}

/// Starts the background sync of the app (from Tauri's `setup`).
pub fn start(app: AppHandle) {
    let interval = interval_from(std::env::var(INTERVAL_ENV).ok());
    let state = app.state::<AppState>();
    let (wake, status) = (state.sync_wake.clone(), state.sync.clone());
    tracing::info!(seconds = interval.as_secs_f64(), "background sync started");
    let open = move || {
        app.state::<AppState>()
            .sync_store()
            .map(|r| r.map_err(|e| e.message))
    };
    tauri::async_runtime::spawn(run(open, wake, status, interval));
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use xinfang_sync::Secret;

    use super::*;

    #[test]
    fn interval_from_env() {
        assert_eq!(interval_from(None), DEFAULT_INTERVAL);
        assert_eq!(interval_from(Some("5".into())), Duration::from_secs(5));
        assert_eq!(
            interval_from(Some("0.5".into())),
            Duration::from_millis(500)
        );
        for bad in ["0", "-3", "abc", ""] {
            assert_eq!(interval_from(Some(bad.into())), DEFAULT_INTERVAL, "{bad}");
        }
    }

    #[test]
    fn a_desk_not_enrolled_says_so_and_tries_nothing() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
        let s = attempt(&mut store);
        assert!(!s.online && !s.enrolled && s.checked);
        assert!(s.last_error.unwrap().contains("未登记到市级服务器"));
    }

    #[test]
    fn an_unreachable_server_is_offline_with_a_chinese_error() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
        // A loopback port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        store
            .save_enrolment(
                &format!("http://127.0.0.1:{port}"),
                &Secret::new("xft_test"),
            )
            .unwrap();
        let s = attempt(&mut store);
        assert!(!s.online && s.enrolled && s.checked);
        let e = s.last_error.unwrap();
        assert!(e.contains("无法连接市局服务器"), "{e}");
        assert_eq!(s.last_sync_at, None);
    }

    #[test]
    fn the_loop_runs_at_once_when_woken_and_skips_without_a_login() {
        let dir = tempfile::TempDir::new().unwrap();
        drop(Store::create_unencrypted(dir.path(), "140521").unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let logged_in = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (c, l, path) = (calls.clone(), logged_in.clone(), dir.path().to_owned());
        let open = move || {
            c.fetch_add(1, Ordering::SeqCst);
            l.load(Ordering::SeqCst)
                .then(|| Store::open_unencrypted(&path).map_err(|e| e.to_string()))
        };
        let wake = Arc::new(Notify::new());
        let status = Arc::new(Mutex::new(SyncStatus::default()));
        let task = tauri::async_runtime::spawn(run(
            open,
            wake.clone(),
            status.clone(),
            Duration::from_secs(3600),
        ));
        let wait_for = |n: usize| {
            let end = std::time::Instant::now() + Duration::from_secs(10);
            while calls.load(Ordering::SeqCst) < n {
                assert!(std::time::Instant::now() < end, "no attempt {n}");
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        wait_for(1);
        // Nobody logged in: nothing was shown.
        assert!(!lock(&status).checked);
        logged_in.store(true, Ordering::SeqCst);
        wake.notify_one();
        wait_for(2);
        let end = std::time::Instant::now() + Duration::from_secs(10);
        while !lock(&status).checked {
            assert!(std::time::Instant::now() < end);
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!lock(&status).enrolled);
        task.abort();
    }
}
