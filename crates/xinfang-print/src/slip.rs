//! 排队单（回执）: the slip a visitor takes at registration (issue 17) — the hall, the queue
//! number, when, where to wait, the hall's phone and a QR code of the visit's number. Never a
//! name, an appeal or an ID number: the slip is left on chairs and taken home.

use serde::Serialize;

use crate::{PrintError, Printer};

/// The template of the slip, in the templates folder like the notices.
pub const TEMPLATE: &str = "queue_slip.typ";

/// What a slip shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueSlip {
    /// e.g. 沁水县信访接待大厅
    pub hall_name: String,
    /// e.g. 17, or B017 from a desk that could not reach its hub.
    pub queue_no: String,
    /// e.g. 2026年12月4日 09:30
    pub visited_at_zh: String,
    /// Where to wait, e.g. 请在等候区等候叫号。
    pub wait_at: String,
    /// The hall's phone; empty when none is set.
    pub phone: String,
    /// The visit's 来访编号 (`沁水-2026-11-05-B017`), in the QR code and under it.
    pub visit_ref: String,
    /// The day printed, for the document's date.
    pub date: chrono::NaiveDate,
}

/// Paper: an 80 mm receipt printer, or A5 from an office printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlipSize {
    Receipt,
    A5,
}

impl SlipSize {
    pub fn parse(s: &str) -> Option<SlipSize> {
        match s {
            "receipt" | "80mm" => Some(SlipSize::Receipt),
            "a5" | "A5" => Some(SlipSize::A5),
            _ => None,
        }
    }
}

/// The QR code of `text` as rows of '1' (dark) and '0', for the template to draw.
fn qr_rows(text: &str) -> Result<Vec<String>, PrintError> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| PrintError::Template {
        file: TEMPLATE.to_owned(),
        line: 0,
        message: format!("二维码无法生成：{e}"),
    })?;
    let width = code.width();
    let colors = code.to_colors();
    Ok(colors
        .chunks(width)
        .map(|row| {
            row.iter()
                .map(|c| if *c == qrcode::Color::Dark { '1' } else { '0' })
                .collect()
        })
        .collect())
}

impl Printer {
    /// Renders a queue slip to PDF bytes. Same slip, same bytes.
    pub fn render_slip(&self, slip: &QueueSlip, size: SlipSize) -> Result<Vec<u8>, PrintError> {
        self.check_glyphs([
            slip.hall_name.as_str(),
            &slip.queue_no,
            &slip.visited_at_zh,
            &slip.wait_at,
            &slip.phone,
            &slip.visit_ref,
        ])?;
        let data = serde_json::json!({
            "slip": slip,
            "size": size,
            "qr": qr_rows(&slip.visit_ref)?,
        });
        self.compile(TEMPLATE, data.to_string(), slip.date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qr_code_is_square_and_has_its_finder_patterns() {
        let rows = qr_rows("0193a5c2-7b1e-7c3a-9a10-2b3c4d5e6f70").unwrap();
        assert!(rows.iter().all(|r| r.len() == rows.len()));
        // The top-left finder pattern: a dark 7-module row, then dark, light ×5, dark.
        assert!(rows[0].starts_with("1111111"));
        assert!(rows[1].starts_with("1000001"));
    }
}
