//! The desk's webcam for the visitor's live photo (issue 19). WebKitGTK keeps getUserMedia off
//! and, with it on, asks the embedding app for each request: this app answers itself, allowing
//! only the camera (never the microphone, the screen or any other permission), so the clerk
//! sees no browser prompt and the page can ask for nothing else.

/// `XINFANG_MOCK_CAMERA=1`: WebKitGTK's mock capture device stands in for a camera (e2e
/// tests and demos on a machine without one).
pub fn mock_camera_from(env: Option<String>) -> bool {
    env.is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

/// Turns on media capture in the window's webview and installs the permission answer.
#[cfg(target_os = "linux")]
pub fn enable(window: &tauri::WebviewWindow, mock: bool) {
    let done = window.with_webview(move |webview| {
        use webkit2gtk::glib::prelude::Cast;
        use webkit2gtk::{
            PermissionRequestExt, SettingsExt, UserMediaPermissionRequest,
            UserMediaPermissionRequestExt, WebViewExt,
        };
        let view = webview.inner();
        if let Some(settings) = view.settings() {
            settings.set_enable_media_stream(true);
            settings.set_enable_mock_capture_devices(mock);
        }
        view.connect_permission_request(|_, request| {
            let camera_only = request
                .downcast_ref::<UserMediaPermissionRequest>()
                .is_some_and(|m| m.is_for_video_device() && !m.is_for_audio_device());
            if camera_only {
                request.allow();
            } else {
                tracing::info!("webview permission request denied (only the camera is allowed)");
                request.deny();
            }
            // Answered here: WebKitGTK's default (a prompt, or a refusal) never runs.
            true
        });
    });
    if let Err(e) = done {
        tracing::warn!(error = %e, "camera not enabled in the webview");
    }
}

/// Other platforms' webviews ask the user themselves.
#[cfg(not(target_os = "linux"))]
pub fn enable(_window: &tauri::WebviewWindow, _mock: bool) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mock_camera_only_when_asked() {
        assert!(!mock_camera_from(None));
        assert!(!mock_camera_from(Some(String::new())));
        assert!(!mock_camera_from(Some("0".into())));
        assert!(mock_camera_from(Some("1".into())));
        assert!(mock_camera_from(Some("true".into())));
    }
}
