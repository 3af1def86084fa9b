//! TypeScript types for the UI, generated from the Rust types with ts-rs into
//! `ui/src/api/bindings/`. The test below fails when the committed files are stale;
//! `UPDATE_BINDINGS=1 cargo test -p xinfang-desk bindings` rewrites them. Beside the types,
//! `stepFields.ts` holds a value: the form of every step of a matter, from core.

use ts_rs::TS;

/// The generated files: (file name, contents).
pub fn all() -> Vec<(String, String)> {
    macro_rules! files {
        ($($t:ty),* $(,)?) => {
            vec![$(file::<$t>()),*]
        };
    }
    use xinfang_core::desk as d;
    use xinfang_store as s;
    let mut files = files![
        xinfang_app::api::AppInfo,
        xinfang_app::api::SessionInfo,
        xinfang_app::api::SetupInput,
        xinfang_app::account::PasswordChange,
        xinfang_app::account::RecoveryInput,
        xinfang_app::api::NewStaffInput,
        xinfang_app::api::Choice,
        xinfang_app::api::ReferenceLists,
        xinfang_app::api::RegisterResult,
        xinfang_app::api::SyncStatus,
        xinfang_app::enrolment::FoundServer,
        xinfang_app::enrolment::EnrolledDesk,
        xinfang_app::enrolment::ConnectionInfo,
        xinfang_app::enrolment::ConnectionTest,
        xinfang_app::enrolment::TrustedCa,
        xinfang_app::api::ContactField,
        xinfang_app::api::AuditQuery,
        xinfang_app::api::AuditRow,
        xinfang_app::conflicts::SyncConflicts,
        xinfang_app::backup::BackupDone,
        xinfang_app::backup::RestoreDone,
        xinfang_app::backup::BackupReminder,
        xinfang_app::update::UpdateCheck,
        xinfang_app::update::UpdateOffer,
        xinfang_app::update::InstallStarted,
        xinfang_app::other_halls::OtherHallMatters,
        xinfang_app::hall_queue::CallOutcome,
        xinfang_app::hall_queue::PrintedSlip,
        xinfang_app::other_halls::OtherHallEntry,
        xinfang_core::matter::OtherHallRemark,
        s::Conflict,
        s::ConflictOption,
        s::QuarantinedChange,
        // People: duplicates, merges, splits (xinfang_app::people).
        xinfang_app::people::PeoplePage,
        xinfang_app::people::SplitInput,
        s::DuplicatePair,
        s::PersonBrief,
        s::MergeRecord,
        s::SplitOutcome,
        xinfang_app::error::CommandError,
        xinfang_app::error::ErrorKind,
        xinfang_core::FieldError,
        xinfang_core::staff::Role,
        xinfang_core::reference::AppealKind,
        xinfang_core::visit::VisitInput,
        xinfang_core::visit::VisitorInput,
        d::IdCheck,
        d::Desk,
        d::HandoffState,
        d::VisitStatus,
        d::ConsultationInput,
        d::MediationInput,
        d::PartyInput,
        d::SessionInput,
        d::MediationOutcome,
        d::ConfirmationResult,
        d::PartyRole,
        d::PartyKind,
        d::StartedBy,
        d::AgreementForm,
        d::Fulfilment,
        d::ConclusionInput,
        d::ContinueMediationInput,
        d::FollowUpInput,
        d::InvestigationInput,
        s::Staff,
        s::Draft,
        s::HistoryEntry,
        s::VisitorHit,
        s::VisitSummary,
        s::Registered,
        s::PersonMatter,
        s::VisitRow,
        s::VisitorBrief,
        s::HandoffInfo,
        s::QueueItem,
        s::ConsultationRecord,
        s::MediationRecord,
        s::PartyRecord,
        s::SessionRecord,
        s::FollowUpRecord,
        s::InvestigationRecord,
        s::MediationDocument,
        s::PrintedEntry,
        xinfang_app::contact::HallSettings,
        xinfang_app::desk_settings::MySettings,
        xinfang_app::desk_settings::ReaderSettings,
        xinfang_app::desk_settings::CardFill,
        s::VisitDetail,
        s::VisitorPhoto,
        s::VisitorProfile,
        // Matters, due lists, backlog cases and notices (xinfang_app::matters).
        xinfang_app::matters::MatterPage,
        xinfang_app::matters::BacklogBoard,
        xinfang_app::matters::MatterPermissions,
        xinfang_app::matters::NoticeChoice,
        xinfang_app::matters::PrintedNotice,
        xinfang_app::matters::ProposeRouteInput,
        s::MatterView,
        s::EventRecord,
        s::DeadlineView,
        s::RouteProposal,
        s::AllowedEvent,
        s::DueItem,
        s::DueList,
        s::BacklogCase,
        s::BacklogCasePage,
        s::BacklogNote,
        s::BacklogFilter,
        s::BacklogDashboard,
        xinfang_core::matter::MatterStatus,
        xinfang_core::matter::EventKind,
        xinfang_core::matter::MatterEvent,
        xinfang_core::matter::MatterState,
        xinfang_core::matter::Transfer,
        xinfang_core::matter::TransferKind,
        xinfang_core::matter::TransferObjection,
        xinfang_core::matter::OpinionDetails,
        xinfang_core::matter::Refusal,
        xinfang_core::matter::LegalRouteGuidance,
        xinfang_core::matter::Extension,
        xinfang_core::matter::Opinion,
        xinfang_core::matter::HearingRecord,
        xinfang_core::matter::ReviewStage,
        xinfang_core::matter::NamedDeadline,
        xinfang_core::matter::DeadlineKind,
        xinfang_core::matter::DeadlineParty,
        xinfang_core::notice::NoticeKind,
        xinfang_core::hall::SkipLevel,
        xinfang_core::hall::SkipLevelBasis,
        xinfang_core::due::DueBucket,
        xinfang_core::classify::ClassifyInput,
        xinfang_core::backlog::FlagInput,
        xinfang_core::backlog::NoteInput,
        xinfang_core::backlog::ClearInput,
        xinfang_core::backlog::BacklogCounts,
        xinfang_core::backlog::BacklogGroup,
        xinfang_core::backlog::BacklogSummary,
        // Statistics, Excel export, monthly report, publicity (xinfang_app::stats).
        xinfang_app::stats::StatsPage,
        xinfang_app::stats::WrittenFile,
        xinfang_app::stats::PublicityPage,
        s::Statistics,
        s::Count,
        s::VisitCounts,
        s::DeskCounts,
        s::ConsultationCounts,
        s::MediationCounts,
        s::BacklogCounts,
        s::OverdueCounts,
        s::Rates,
        s::CompletenessCounts,
        s::RateMatter,
        s::RateMattersPage,
        s::Gap,
        s::Completeness,
        s::EvaluationRecord,
        s::PublicityRecord,
        xinfang_core::stats::Period,
        xinfang_core::stats::Rate,
        xinfang_core::stats::RateKind,
        xinfang_core::stats::Evaluation,
        xinfang_core::stats::EvaluationChannel,
        xinfang_core::stats::EvaluationInput,
        xinfang_core::stats::PublicityInput,
        xinfang_core::stats::ValidPublicity,
        xinfang_core::stats::PublicityTotals,
        xinfang_core::stats::PublicityGroup,
        xinfang_core::stats::PublicitySummary,
        xinfang_core::matter::StepField,
        xinfang_core::matter::StepInput,
    ];
    files.push(("stepFields.ts".to_owned(), step_fields_ts()));
    files
}

/// `STEP_FIELDS`: the inputs of each step's form (`xinfang_core::matter::step_fields`), so the
/// UI's form and timeline show what core reads, in core's order.
fn step_fields_ts() -> String {
    use xinfang_core::matter::{EventKind, step_fields};
    let mut ts = String::from(
        "// This file was generated from xinfang_core::matter::step_fields. Do not edit this file \
         manually.\n\
         import type { EventKind } from './EventKind'\n\
         import type { StepField } from './StepField'\n\n\
         /** The inputs of the form of each step, in the form's order. */\n\
         export const STEP_FIELDS: Record<EventKind, StepField[]> = {\n",
    );
    for kind in EventKind::ALL {
        let key = serde_json::to_string(&kind).expect("an event kind serialises");
        ts.push_str(&format!("  {key}: [\n"));
        for field in step_fields(kind) {
            let field = serde_json::to_string(&field).expect("a step field serialises");
            ts.push_str(&format!("    {field},\n"));
        }
        ts.push_str("  ],\n");
    }
    ts.push_str("}\n");
    ts
}

fn file<T: TS + 'static>() -> (String, String) {
    let name = format!("{}.ts", T::name());
    let text = T::export_to_string()
        .unwrap_or_else(|e| panic!("cannot generate the TypeScript of {name}: {e}"));
    // serde_json sends every integer as a JSON number; the counts and sequence numbers that are
    // i64 in Rust never come near 2^53, so the UI reads them as `number`, not ts-rs's `bigint`.
    (name, text.replace("bigint", "number"))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/api/bindings")
    }

    use xinfang_app::commands_ts::{commands_ts, signatures};

    /// `ui/src/api/commands.ts`, the typed signature of every command (xinfang_app::commands_ts).
    #[test]
    fn commands_ts_is_fresh_and_names_only_generated_types() {
        let path = dir().join("../commands.ts");
        let text = commands_ts();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        assert!(
            std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()),
            "ui/src/api/commands.ts is stale; run `UPDATE_BINDINGS=1 cargo test -p xinfang-desk \
             bindings` and commit the result"
        );
        let generated: Vec<String> = super::all().into_iter().map(|(n, _)| n).collect();
        for line in text.lines().filter(|l| l.starts_with("import type")) {
            let file = line.rsplit('/').next().unwrap().trim_end_matches('\'');
            assert!(
                generated.contains(&format!("{file}.ts")),
                "commands.ts imports {file}, which bindings.rs does not generate"
            );
        }
    }

    #[test]
    fn every_command_has_a_signature_in_the_tables_order() {
        let names: Vec<&str> = signatures().iter().map(|s| s.0).collect();
        assert_eq!(names, xinfang_app::command_list::COMMANDS);
        let ts = commands_ts();
        assert!(
            ts.contains(
                "  check_id: { args: { idType: string; number: string; sex: string; birthDate: string }; result: IdCheck }"
            ),
            "{ts}"
        );
        assert!(
            ts.contains("  logout: { args: null; result: null }"),
            "{ts}"
        );
        assert!(ts.contains("import type { MatterPage } from './bindings/MatterPage'"));
        assert!(ts.contains("event: Record<string, unknown>"));
    }

    #[test]
    fn bindings_are_fresh() {
        let files = super::all();
        let dir = dir();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            for entry in std::fs::read_dir(&dir).unwrap() {
                let p = entry.unwrap().path();
                if p.extension().is_some_and(|e| e == "ts") {
                    std::fs::remove_file(p).unwrap();
                }
            }
            for (name, text) in &files {
                std::fs::write(dir.join(name), text).unwrap();
            }
        }
        let mut stale = Vec::new();
        for (name, text) in &files {
            if std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text.as_str()) {
                stale.push(name.clone());
            }
        }
        let mut extra = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".ts") && !files.iter().any(|(n, _)| *n == name) {
                extra.push(name);
            }
        }
        assert!(
            stale.is_empty() && extra.is_empty(),
            "ui/src/api/bindings is stale (changed: {stale:?}, not generated: {extra:?}); \
             run `UPDATE_BINDINGS=1 cargo test -p xinfang-desk bindings` and commit the result"
        );
    }
}
