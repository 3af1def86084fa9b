//! Rendering every notice with the bundled templates and font, and the ways printing refuses
//! rather than putting wrong or empty marks on paper.

use std::path::Path;

use tempfile::TempDir;
use xinfang_core::notice::NoticeKind;
use xinfang_print::{PrintError, Printer, default_assets_dir, samples};

fn text_of(pdf: &[u8]) -> String {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("n.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext is missing: run scripts/install-deps.sh (poppler-utils)");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn bundled() -> Printer {
    Printer::bundled(None).unwrap()
}

#[test]
fn every_sample_renders_with_its_text_and_the_rare_name() {
    let printer = bundled();
    assert_eq!(printer.families(), ["Noto Serif CJK SC"]);
    let all = samples::all();
    assert_eq!(all.len(), NoticeKind::ALL.len());
    for notice in all {
        let pdf = printer.render(&notice).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        // The font is embedded as a subset: a one- or two-page notice stays small.
        assert!(
            pdf.len() < 200_000,
            "{:?}: {} bytes",
            notice.kind,
            pdf.len()
        );
        let text = text_of(&pdf);
        for wanted in [
            notice.title.as_str(),
            notice.issued_on_zh.as_str(),
            samples::VISITOR,
        ] {
            assert!(
                text.contains(wanted),
                "{:?}: no “{wanted}” in {text}",
                notice.kind
            );
        }
        assert!(text.contains('𠮷'));
        // A matter's notices lead back to it on paper; the others have no matter number.
        let number = format!("事项编号：{}", samples::MATTER_NUMBER);
        assert_eq!(
            text.contains(&number),
            notice.facts.contains_key("matter_number"),
            "{:?}: {text}",
            notice.kind
        );
        // Same notice, same bytes.
        assert_eq!(printer.render(&notice).unwrap(), pdf, "{:?}", notice.kind);
    }
}

#[test]
fn a_character_no_font_has_is_refused() {
    let printer = bundled();
    let mut notice = samples::sample(NoticeKind::Acceptance);
    // Hangul is not in the bundled subset.
    notice.addressee = "김철수".into();
    let err = printer.render(&notice).unwrap_err();
    let PrintError::MissingGlyphs { chars } = &err else {
        panic!("{err}")
    };
    assert!(chars.contains("“김”"), "{chars}");
    assert!(err.to_string().contains("无法打印"));
    assert!(printer.missing_chars("王𠮷祥喆堃").is_empty());
}

fn hall_templates(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn with_override(dir: &Path) -> Printer {
    let assets = default_assets_dir();
    Printer::new(
        vec![dir.to_path_buf(), assets.join("templates")],
        &assets.join("fonts"),
    )
    .unwrap()
}

#[test]
fn a_broken_template_names_its_file_and_line() {
    let dir = hall_templates(&[(
        "acceptance.typ",
        "#import \"common.typ\": *\n#show: notice\n\n#addressee()\n\n#(f.no_such_fact)\n",
    )]);
    let err = with_override(dir.path())
        .render(&samples::sample(NoticeKind::Acceptance))
        .unwrap_err();
    let PrintError::Template {
        file,
        line,
        message,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(file, "acceptance.typ");
    assert_eq!(*line, 6);
    assert!(message.contains("no_such_fact"), "{message}");
    assert!(err.to_string().contains("请修正该模板"));
}

#[test]
fn an_unknown_font_family_is_an_error_not_a_fallback() {
    let common =
        std::fs::read_to_string(default_assets_dir().join("templates/common.typ")).unwrap();
    let dir = hall_templates(&[(
        "common.typ",
        &common.replace(
            "#let fonts = (\"Noto Serif CJK SC\",)",
            "#let fonts = (\"FangSong_GB2312\", \"Noto Serif CJK SC\")",
        ),
    )]);
    let err = with_override(dir.path())
        .render(&samples::sample(NoticeKind::Transfer))
        .unwrap_err();
    assert!(
        matches!(&err, PrintError::Template { file, .. } if file == "common.typ"),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.to_lowercase().contains("fangsong_gb2312"),
        "{message}"
    );
    assert!(
        message.contains("可用的字体：Noto Serif CJK SC"),
        "{message}"
    );
}

#[test]
fn a_missing_template_says_where_it_looked() {
    let fonts = default_assets_dir().join("fonts");
    let empty = TempDir::new().unwrap();
    let printer = Printer::new(vec![empty.path().to_path_buf()], &fonts).unwrap();
    let err = printer
        .render(&samples::sample(NoticeKind::Extension))
        .unwrap_err();
    assert!(
        matches!(&err, PrintError::TemplateMissing { file, .. } if file == "extension.typ"),
        "{err}"
    );
    assert!(matches!(
        Printer::new(vec![], empty.path()),
        Err(PrintError::NoFonts(_))
    ));
}

/// The 越级走访告知书 names the 属地 by the place of the problem, or, for a repeat visit about a
/// matter a county is handling, that county's authority.
#[test]
fn the_skip_level_notice_guides_to_the_local_authority() {
    let printer = bundled();
    let place = samples::sample(NoticeKind::SkipLevelGuidance);
    let text = text_of(&printer.render(&place).unwrap());
    for wanted in [
        "晋城市信访局",
        "2026年3月3日到晋城市信访接待大厅走访",
        "发生在沁水县",
        "第二十二条",
        "逐级走访",
        "沁水县信访接待大厅（沁水县信访局）",
    ] {
        assert!(text.contains(wanted), "no “{wanted}” in {text}");
    }
    let mut handling = place;
    handling.facts.insert("basis".into(), "handling".into());
    handling
        .facts
        .insert("authority".into(), "沁水县人力资源和社会保障局".into());
    handling.facts.insert("place".into(), "".into());
    let text = text_of(&printer.render(&handling).unwrap());
    assert!(
        text.contains("正由沁水县人力资源和社会保障局依法办理") && !text.contains("发生在"),
        "{text}"
    );
}
