include!("../crates/xinfang-app/src/command_list.rs");

fn main() {
    // The command list lives in the application layer.
    println!("cargo:rerun-if-changed=../crates/xinfang-app/src/command_list.rs");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed");
}
