//! The visitor's live photo taken at registration (issue 19, 人证合一): a small JPEG, checked
//! here before any store keeps it, whoever sends it (the desk's camera dialog, a pulled change).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::FieldError;

/// Largest photo kept, in bytes. The desk's dialog makes a 320-pixel-wide JPEG of a few tens
/// of kilobytes; the cap keeps a larger one out of the encrypted store and the change log,
/// which carry it to every desk of the hall.
pub const MAX_PHOTO_BYTES: usize = 96 * 1024;

/// The photo's JPEG bytes from the base64 the webview sends, or why it cannot be kept.
pub fn check_photo(base64: &str) -> Result<Vec<u8>, FieldError> {
    let err = |code: &str, message: String| FieldError::new("photo", code, message);
    // Base64 is 4/3 of the bytes: a text that long cannot be under the cap.
    if base64.len() > MAX_PHOTO_BYTES.div_ceil(3) * 4 {
        return Err(too_large());
    }
    let bytes = STANDARD.decode(base64.trim()).map_err(|_| {
        err(
            "photo_invalid",
            "照片数据不完整，无法保存：请重新拍照。".to_owned(),
        )
    })?;
    if bytes.is_empty() {
        return Err(err("photo_empty", "照片是空的：请重新拍照。".to_owned()));
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(too_large());
    }
    // SOI at the start, EOI at the end: a whole JPEG, not another format or a cut one.
    if !(bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.ends_with(&[0xFF, 0xD9])) {
        return Err(err(
            "photo_not_jpeg",
            "照片不是完整的 JPEG 图片：请用登记页的“拍照”重新拍摄。".to_owned(),
        ));
    }
    Ok(bytes)
}

/// The bytes as the store keeps and syncs them (base64, as JSON carries them).
pub fn encode_photo(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn too_large() -> FieldError {
    FieldError::new(
        "photo",
        "photo_too_large",
        format!(
            "照片太大（最多 {} KB）：请重新拍照，照片会自动缩小。",
            MAX_PHOTO_BYTES / 1024
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(len: usize) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
        b.resize(len - 2, 0x11);
        b.extend([0xFF, 0xD9]);
        b
    }

    #[test]
    fn a_small_jpeg_is_kept_as_sent() {
        let b = jpeg(20_000);
        assert_eq!(check_photo(&encode_photo(&b)).unwrap(), b);
    }

    #[test]
    fn refusals_name_the_photo_and_say_what_to_do() {
        let cases = [
            ("不是base64", "photo_invalid"),
            ("", "photo_empty"),
            (&*encode_photo(b"\x89PNG\r\n\x1a\n...."), "photo_not_jpeg"),
            (&*encode_photo(&jpeg(5000)[..4000]), "photo_not_jpeg"),
            (
                &*encode_photo(&jpeg(MAX_PHOTO_BYTES + 1)),
                "photo_too_large",
            ),
            (&*"A".repeat(MAX_PHOTO_BYTES * 2), "photo_too_large"),
        ];
        for (input, code) in cases {
            let e = check_photo(input).unwrap_err();
            assert_eq!((e.field.as_str(), e.code.as_str()), ("photo", code));
            assert!(e.message.contains("拍"), "{}", e.message);
        }
        assert!(check_photo(&encode_photo(&jpeg(MAX_PHOTO_BYTES))).is_ok());
    }
}
