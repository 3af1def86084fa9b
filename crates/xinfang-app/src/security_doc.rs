//! The role × command matrix of docs/security.md is generated from the code: the matrix of
//! `xinfang_core::staff` (what every action allows) and `api::access` (which action guards each
//! Tauri command). The test fails when the document is stale; `UPDATE_SECURITY_DOC=1 cargo
//! test -p xinfang-app security_doc` rewrites the generated part.

use xinfang_core::staff::{Action, Role, authorize};

use crate::api::{Access, access};
use crate::command_list::COMMANDS;

pub const BEGIN: &str =
    "<!-- BEGIN GENERATED: role matrix (crates/xinfang-app/src/security_doc.rs) -->";
pub const END: &str = "<!-- END GENERATED: role matrix -->";

fn mark(ok: bool) -> &'static str {
    if ok { "✓" } else { "—" }
}

/// The generated Markdown: actions × roles, then Tauri commands × roles.
pub fn matrix_markdown() -> String {
    let mut out = String::new();
    let header = |first: &str| {
        let mut h = format!("| {first} |");
        let mut sep = String::from("|---|");
        for r in Role::ALL {
            h.push_str(&format!(" {} `{}` |", r.label_zh(), r.code()));
            sep.push_str(":-:|");
        }
        format!("{h}\n{sep}\n")
    };
    out.push_str("### Actions (xinfang-core; the CLI and the app both ask this matrix)\n\n");
    out.push_str(&header("action"));
    for a in Action::ALL {
        let code = serde_json::to_value(a).expect("action serialises");
        out.push_str(&format!(
            "| {} `{}` |",
            a.label_zh(),
            code.as_str().unwrap_or_default()
        ));
        for r in Role::ALL {
            out.push_str(&format!(" {} |", mark(authorize(&[r], a).is_ok())));
        }
        out.push('\n');
    }
    out.push_str("\n### Tauri commands of the desktop app (`api::access`)\n\n");
    out.push_str(&header("command"));
    for c in COMMANDS {
        let rule = access(c).expect("every command has an access entry");
        let guard = match rule {
            Access::Public => "public".to_owned(),
            Access::LoggedIn => "logged in".to_owned(),
            Access::Action(a) => {
                let code = serde_json::to_value(a).expect("action serialises");
                format!("`{}`", code.as_str().unwrap_or_default())
            }
        };
        out.push_str(&format!("| `{c}` ({guard}) |"));
        for r in Role::ALL {
            out.push_str(&format!(" {} |", mark(rule.allows(&[r]))));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_doc_matrix_is_fresh() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/security.md");
        let doc = std::fs::read_to_string(&path).expect("docs/security.md");
        let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("docs/security.md lacks the generated-matrix markers");
        };
        let fresh = format!("{BEGIN}\n\n{}\n{END}", matrix_markdown());
        let current = &doc[b..e + END.len()];
        if current != fresh {
            if std::env::var_os("UPDATE_SECURITY_DOC").is_some() {
                let updated = format!("{}{fresh}{}", &doc[..b], &doc[e + END.len()..]);
                std::fs::write(&path, updated).unwrap();
                return;
            }
            panic!(
                "docs/security.md: the role matrix is stale; run \
                 `UPDATE_SECURITY_DOC=1 cargo test -p xinfang-app security_doc`"
            );
        }
    }
}
