//! 信访接待台 desktop app: a thin Tauri shell over xinfang-app, which checks the session and
//! role and holds every use case; the UI in `ui/` only shows what the commands return.

pub mod bindings;
pub mod camera;
pub mod commands;
pub mod sync_task;

use std::path::PathBuf;

use xinfang_app::api::{AppState, DEFAULT_IDLE_MINUTES};

/// Where the store lives: `--data-dir DIR`, else env `XINFANG_DATA_DIR`, else the platform
/// data dir (the same default as the `xinfang` CLI).
pub fn data_dir_from(args: &[String], env: Option<String>) -> Option<PathBuf> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--data-dir" {
            if let Some(d) = it.next() {
                return Some(PathBuf::from(d));
            }
        } else if let Some(d) = a.strip_prefix("--data-dir=") {
            return Some(PathBuf::from(d));
        }
    }
    env.filter(|e| !e.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::data_dir().map(|d| d.join("xinfang")))
}

/// Idle minutes before the session ends: `--idle-minutes N` or env `XINFANG_IDLE_MINUTES`.
pub fn idle_minutes_from(args: &[String], env: Option<String>) -> u32 {
    let arg = args
        .windows(2)
        .find(|w| w[0] == "--idle-minutes")
        .map(|w| w[1].clone());
    arg.or(env)
        .and_then(|v| v.trim().parse().ok())
        .filter(|&m| m > 0)
        .unwrap_or(DEFAULT_IDLE_MINUTES)
}

/// The invoke handler of every command of the table (`xinfang_app::command_table`): a command
/// in `commands` but not in the table cannot be called.
macro_rules! handler {
    ($($name:ident : $rule:ident, ($($arg:ident : $tn:ident $(<$inner:ty>)?),*) -> $ret:ty;)*) => {
        tauri::generate_handler![$(commands::$name),*]
    };
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("XINFANG_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().collect();
    let Some(data_dir) = data_dir_from(&args, std::env::var("XINFANG_DATA_DIR").ok()) else {
        eprintln!("找不到系统数据目录：请用 --data-dir 指定数据目录。");
        std::process::exit(2);
    };
    let idle = idle_minutes_from(&args, std::env::var("XINFANG_IDLE_MINUTES").ok());
    let mock_camera = camera::mock_camera_from(std::env::var("XINFANG_MOCK_CAMERA").ok());
    tracing::info!(data_dir = %data_dir.display(), idle_minutes = idle, mock_camera, "starting");
    tauri::Builder::default()
        .manage(AppState::new(data_dir, idle))
        .setup(move |app| {
            use tauri::Manager;
            if let Some(window) = app.get_webview_window("main") {
                camera::enable(&window, mock_camera);
            }
            sync_task::start(app.handle().clone());
            Ok(())
        })
        .invoke_handler(xinfang_app::command_table!(handler))
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("信访接待台无法启动：{e}");
            std::process::exit(1);
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn data_dir_flag_beats_env() {
        assert_eq!(
            data_dir_from(&args(&["x", "--data-dir", "/a"]), Some("/b".into())),
            Some(PathBuf::from("/a"))
        );
        assert_eq!(
            data_dir_from(&args(&["x", "--data-dir=/c"]), None),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            data_dir_from(&args(&["x"]), Some("/b".into())),
            Some(PathBuf::from("/b"))
        );
    }

    #[test]
    fn idle_minutes() {
        assert_eq!(idle_minutes_from(&args(&["x"]), None), DEFAULT_IDLE_MINUTES);
        assert_eq!(
            idle_minutes_from(&args(&["x", "--idle-minutes", "5"]), None),
            5
        );
        assert_eq!(idle_minutes_from(&args(&["x"]), Some("30".into())), 30);
        assert_eq!(
            idle_minutes_from(&args(&["x"]), Some("0".into())),
            DEFAULT_IDLE_MINUTES
        );
    }
}
