//! The desk's background sync (docs/sync.md): a tokio task that runs one full sync (push,
//! pull, city reference data) every `XINFANG_SYNC_SECONDS` seconds (default 30), and at once
//! when woken — after a login and after each registered visit. The sync itself is blocking
//! (reqwest + SQLite) and runs in `spawn_blocking` on its **own** connection to the store
//! (SQLite WAL: the app's connection keeps answering the clerk during the network round trip).
//! It syncs only while a staff member is logged in: nothing is opened without a login. The
//! outcome lands in [`AppState::sync`], which the status bar reads through `sync_status`.
//! After each sync the same connection adds up the statistics' days it dropped
//! (`xinfang_app::stats::keep_figures`), a bounded number of months per turn.
//!
//! Live inside the hall (docs/sync.md "Live notifications"): a thread listens to the enrolled
//! server's notifications (`xinfang_app::live`) and wakes the loop on each; after a sync that
//! pulled something the app emits [`HALL_CHANGED`], on which the lawyer's and mediator's
//! queues and the clerk's today list reload by themselves.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::Notify;
use xinfang_app::api::{AppState, SyncStatus};
use xinfang_app::stats::{KEEP_MONTHS_PER_TURN, keep_figures};
use xinfang_app::sync::attempt_counted;
use xinfang_store::Store;

/// Env var: seconds between two background syncs.
pub const INTERVAL_ENV: &str = "XINFANG_SYNC_SECONDS";
/// Seconds between two background syncs unless configured.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// The event the UI reloads the hall's lists on; its payload is the number of changes pulled.
pub const HALL_CHANGED: &str = "hall-changed";

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

/// The loop. `open` gives a fresh store connection while someone is logged in (`None`
/// otherwise: skip this round); `pulled` is told how many changes a sync brought, when any.
/// Runs until the runtime stops.
pub async fn run<F, P>(
    open: F,
    wake: Arc<Notify>,
    status: Arc<Mutex<SyncStatus>>,
    interval: Duration,
    pulled: P,
) where
    F: Fn() -> Option<Result<Store, String>> + Send + Sync + Clone + 'static,
    P: Fn(u64) + Send + 'static,
{
    loop {
        let open = open.clone();
        let outcome = tauri::async_runtime::spawn_blocking(move || {
            open().map(|r| {
                r.map(|mut store| {
                    let (s, n) = attempt_counted(&mut store);
                    (s, n, store)
                })
            })
        })
        .await;
        match outcome {
            Ok(Some(Ok((s, n, store)))) => {
                *lock(&status) = s;
                if n > 0 {
                    pulled(n);
                }
                // After the status is shown: the days the sync dropped are added up before the
                // statistics screen asks for them (a bounded turn; the rest at the next).
                let kept = tauri::async_runtime::spawn_blocking(move || {
                    keep_figures(&store, KEEP_MONTHS_PER_TURN)
                })
                .await;
                match kept {
                    Ok(Ok(k)) if k.days > 0 => {
                        tracing::info!(days = k.days, months_left = k.months_left, "figures kept");
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e.message, "figures not kept"),
                    Err(e) => tracing::error!(error = %e, "keeping figures panicked"),
                }
            }
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
    let handle = app.clone();
    let open = move || {
        handle
            .state::<AppState>()
            .sync_store()
            .map(|r| r.map_err(|e| e.message))
    };
    let emitter = app.clone();
    let pulled = move |n: u64| {
        if let Err(e) = emitter.emit(HALL_CHANGED, n) {
            tracing::warn!(error = %e, "hall-changed not emitted");
        }
    };
    tauri::async_runtime::spawn(run(open.clone(), wake.clone(), status, interval, pulled));
    // The live stream blocks on its reads: a thread of its own, for the app's lifetime.
    let spawned = std::thread::Builder::new()
        .name("xinfang-live".into())
        .spawn(move || {
            xinfang_app::live::listen(
                || xinfang_app::live::connect_store(open()),
                |_| wake.notify_one(),
                || true,
                std::thread::sleep,
            )
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "live updates not started: the desk syncs periodically");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

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
            |_| panic!("nothing to pull without an enrolment"),
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
