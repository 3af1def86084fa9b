//! The sync protocol's rules, once for every backend: enrolment, idempotency by (device, seq),
//! sequence gaps and conflicts, hall isolation, the merge of records, signed staff changes, the
//! continuation of audit chains, the people of the repeat-visit lookup. Each request is one
//! storage transaction ([`Storage::write`] / [`Storage::read`]); the backend only stores and
//! finds. A request the rules refuse is a [`Refusal`]: a kind, a stable code and a Chinese
//! message; `api.rs` gives the kind its HTTP status.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use xinfang_sync::audit::{
    AuditBreak, AuditChains, AuditEntry, AuditPushResponse, ChainFault, DeviceAuditChain, GENESIS,
    check_link, verify_chain,
};
use xinfang_sync::merge::{self, Record, Version};
use xinfang_sync::staff_sig;
use xinfang_sync::wire::{
    AuditHead, CityCounts, MAX_PAGE_BYTES, OtherHallMatter, OwnChangesResponse, PullResponse,
    PushResponse, RepeatVisit, RepeatVisits, SetAside, SnapshotRecord, SnapshotRequest,
    SnapshotResponse, change_bytes, fitting, json_len,
};
use xinfang_sync::{Change, Op, RemoteChange};

use crate::storage::{
    AuditPushOutcome, Device, Done, Hall, LetterRow, NewEnrolment, NewLogEntry, NewRecord, Storage,
    StorageError, StoredRecord, Tx, lookup_key,
};

/// What kind of refusal: `api.rs` maps it to an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// Not this caller's to do (403).
    Forbidden,
    /// Contradicts what is stored (409).
    Conflict,
    /// Names something that is not there (404).
    NotFound,
}

/// A request the rules refuse: a kind, a stable code and a Chinese message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CityError {
    #[error("{}", .0.message)]
    Refused(Refusal),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub type Result<T, E = CityError> = std::result::Result<T, E>;

fn hall_forbidden(what: &str, hall: &str) -> Refusal {
    Refusal {
        kind: RefusalKind::Forbidden,
        code: "hall_forbidden",
        message: format!(
            "{what}属于其他大厅（{hall}），本设备无权读写：每台设备只能同步本大厅的数据。"
        ),
    }
}

/// Runs `body` in a write transaction; a refusal it returns rolls the transaction back, unless
/// it asks to keep what it wrote (`(Done::Commit, Err(_))`).
fn write<T>(
    storage: &dyn Storage,
    mut body: impl FnMut(&mut dyn Tx) -> Result<(Done, std::result::Result<T, Refusal>), StorageError>,
) -> Result<T> {
    let mut out = None;
    storage.write(&mut |tx| {
        let (done, result) = body(tx)?;
        out = Some(result);
        Ok(done)
    })?;
    finish(out)
}

/// [`write`] of a transaction that reads and writes `hall`'s data only ([`Storage::write_hall`]):
/// other halls' writers need not wait for it.
fn write_hall<T>(
    storage: &dyn Storage,
    hall: &str,
    mut body: impl FnMut(&mut dyn Tx) -> Result<(Done, std::result::Result<T, Refusal>), StorageError>,
) -> Result<T> {
    let mut out = None;
    storage.write_hall(hall, &mut |tx| {
        let (done, result) = body(tx)?;
        out = Some(result);
        Ok(done)
    })?;
    finish(out)
}

fn read<T>(
    storage: &dyn Storage,
    mut body: impl FnMut(&mut dyn Tx) -> Result<std::result::Result<T, Refusal>, StorageError>,
) -> Result<T> {
    let mut out = None;
    storage.read(&mut |tx| {
        out = Some(body(tx)?);
        Ok(Done::Commit)
    })?;
    finish(out)
}

fn finish<T>(out: Option<std::result::Result<T, Refusal>>) -> Result<T> {
    match out {
        Some(Ok(v)) => Ok(v),
        Some(Err(r)) => Err(CityError::Refused(r)),
        None => Err(StorageError::Backend("transaction body did not run".into()).into()),
    }
}

// ---- Enrolment -------------------------------------------------------------------------------

/// Makes a one-time enrolment code for a known hall.
pub fn add_enrol_code(
    storage: &dyn Storage,
    code_hash: &str,
    hall_code: &str,
    expires_at: i64,
) -> Result<()> {
    write(storage, |tx| {
        if tx.hall_name(hall_code)?.is_none() {
            return Ok((
                Done::Rollback,
                Err(Refusal {
                    kind: RefusalKind::NotFound,
                    code: "hall_unknown",
                    message: format!(
                        "没有代码为 {hall_code} 的大厅：请先用 `xinfang-city hall add` 添加。"
                    ),
                }),
            ));
        }
        tx.insert_enrol_code(code_hash, hall_code, expires_at)?;
        Ok((Done::Commit, Ok(())))
    })
}

/// A code just made: shown once, only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCode {
    pub code: String,
    pub hall: Hall,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Makes a one-time enrolment code for a desk or the hub (`kind`) of `hall_code`, valid for
/// `ttl_secs` from `now`; logged with `actor` (the CLI and the web console both call this).
/// What a hall hub may make codes for: its own hall's desks only, and no hub's code
/// (`hub_hall`: the hall a hub serves; `None` on the city, which may make any).
pub fn check_code_on_hub(hub_hall: Option<&str>, hall_code: &str, hub: bool) -> Result<()> {
    let Some(own) = hub_hall else {
        return Ok(());
    };
    let refuse = |code, message: String| {
        Err(CityError::Refused(Refusal {
            kind: RefusalKind::Forbidden,
            code,
            message,
        }))
    };
    if hub {
        return refuse(
            "hub_code_on_hub",
            "大厅服务器不能生成大厅服务器登记码：请在市局服务器上生成。".into(),
        );
    }
    if hall_code != own {
        return refuse(
            "hall_not_this_hub",
            format!("本机是大厅 {own} 的大厅服务器，只能为本大厅的接待台生成登记码。"),
        );
    }
    Ok(())
}

pub fn make_enrol_code(
    storage: &dyn Storage,
    hall_code: &str,
    kind: crate::auth::CodeKind,
    ttl_secs: i64,
    now: i64,
    actor: &str,
) -> Result<NewCode> {
    let Some(hall) = storage.hall(hall_code)? else {
        return Err(CityError::Refused(Refusal {
            kind: RefusalKind::NotFound,
            code: "hall_unknown",
            message: format!("没有代码为 {hall_code} 的大厅：请先添加这个大厅。"),
        }));
    };
    let code = crate::auth::new_code();
    let expires_at = now + ttl_secs;
    add_enrol_code(
        storage,
        &crate::auth::code_hash_of(kind, &code),
        hall_code,
        expires_at,
    )?;
    storage.log(&NewLogEntry {
        action: "enrol_code_made",
        actor: actor.to_owned(),
        device_id: None,
        detail: format!(
            "hall {hall_code}; {}; expires {expires_at}",
            match kind {
                crate::auth::CodeKind::Desk => "desk",
                crate::auth::CodeKind::Hub => "hub",
            }
        ),
    })?;
    Ok(NewCode {
        code,
        hall,
        expires_at,
    })
}

/// Revokes a device (its token refused at once); false if there is no such device. Logged
/// with `actor`.
pub fn revoke_device(storage: &dyn Storage, device_id: &str, actor: &str) -> Result<bool> {
    if !storage.revoke_device(device_id)? {
        return Ok(false);
    }
    storage.log(&NewLogEntry {
        action: "device_revoked",
        actor: actor.to_owned(),
        device_id: Some(device_id.to_owned()),
        detail: String::new(),
    })?;
    Ok(true)
}

/// Consumes a one-time code and records the device; refuses wrong, used or expired codes,
/// a code of another hall, a revoked device, and an enrolled one the administrator did not
/// allow to enrol again.
pub fn enrol(storage: &dyn Storage, e: &NewEnrolment) -> Result<Hall> {
    write(storage, |tx| enrol_in(tx, e))
}

fn enrol_in(
    tx: &mut dyn Tx,
    e: &NewEnrolment,
) -> Result<(Done, std::result::Result<Hall, Refusal>), StorageError> {
    let refuse = |code: &'static str, message: String| {
        Ok((
            Done::Rollback,
            Err(Refusal {
                kind: RefusalKind::Forbidden,
                code,
                message,
            }),
        ))
    };
    let Some(code) = tx.enrol_code(&e.code_hash)? else {
        if tx.enrol_code(&e.other_kind_hash)?.is_some() {
            return refuse(
                "enrol_code_kind",
                if e.hub {
                    "这是接待台的登记码，不能用来加入大厅服务器：请市局管理员用 `xinfang-city enrol-code --hall 大厅代码 --hub` 生成大厅服务器登记码。"
                } else {
                    "这是大厅服务器的登记码，不能用来登记接待台：请向大厅服务器或市局管理员索取接待台登记码。"
                }
                .into(),
            );
        }
        return refuse(
            "enrol_code_invalid",
            "登记码不正确：请核对市局管理员给出的登记码（区分字母，不含空格），或请其重新生成。"
                .into(),
        );
    };
    if code.used {
        return refuse(
            "enrol_code_used",
            "该登记码已经使用过：登记码只能用一次，请向市局管理员索取新的登记码。".into(),
        );
    }
    if code.expires_at <= e.now {
        return refuse(
            "enrol_code_expired",
            "登记码已过期：请向市局管理员索取新的登记码（`xinfang-city enrol-code`）。".into(),
        );
    }
    let hall_code = code.hall_code;
    let name = tx.hall_name(&hall_code)?.unwrap_or_default();
    // A hub serves the hall its code names; a desk's own hall must be the code's.
    let hub_enrolment;
    let e = if e.hub {
        hub_enrolment = NewEnrolment {
            hall_code: hall_code.clone(),
            ..e.clone()
        };
        &hub_enrolment
    } else {
        e
    };
    if hall_code != e.hall_code {
        let mine = tx.hall_name(&e.hall_code)?.unwrap_or_default();
        return refuse(
            "hall_mismatch",
            format!(
                "登记码属于 {hall_code} {name}，而本机是 {} {mine} 的接待台：请使用本大厅的登记码。",
                e.hall_code
            ),
        );
    }
    match tx.device_enrolment(&e.device_id)? {
        Some(d) if d.revoked => {
            return refuse(
                "device_revoked",
                "本设备已被市局注销，不能再次登记：如需恢复，请联系市局管理员。".into(),
            );
        }
        Some(d) if d.hall_code != hall_code => {
            return Ok((Done::Rollback, Err(hall_forbidden("本设备", &d.hall_code))));
        }
        // A desk this server knows only through a relay holds no token here: it moves here
        // (from the hub to the city, or back) with a code of its hall like a new desk.
        Some(d) if d.relayed => {
            tx.reenrol_device(e)?;
            tx.append_log(&NewLogEntry {
                action: "moved_here",
                actor: e.device_id.clone(),
                device_id: Some(e.device_id.clone()),
                detail: format!("hall {hall_code}"),
            })?;
        }
        // A code alone must not take over an enrolled device's identity (and its token,
        // chain and changes): only while the administrator allows it.
        Some(d) if d.reenrol_until.is_none_or(|u| u <= e.now) => {
            tx.append_log(&NewLogEntry {
                action: "reenrol_refused",
                actor: e.device_id.clone(),
                device_id: Some(e.device_id.clone()),
                detail: format!("hall {hall_code}"),
            })?;
            // The refusal is recorded; the code stays unused.
            return Ok((
                Done::Commit,
                Err(Refusal {
                    kind: RefusalKind::Conflict,
                    code: "device_already_enrolled",
                    message: "本机已经登记过，不能直接用新的登记码再次登记：如果这台接待台重装过或断开过服务器，\
                     请市局管理员在管理控制台的“设备”页对它点“允许重新登记”，再用新的登记码登记。".into(),
                }),
            ));
        }
        Some(_) => {
            tx.reenrol_device(e)?;
            tx.append_log(&NewLogEntry {
                action: "reenrolled",
                actor: e.device_id.clone(),
                device_id: Some(e.device_id.clone()),
                detail: format!("hall {hall_code}"),
            })?;
        }
        None => tx.insert_device(e)?,
    }
    tx.use_enrol_code(&e.code_hash, &e.device_id)?;
    // The desk's first admins become roots of the hall's staff changes; a staff id keeps the
    // key first pinned for it.
    for root in &e.roots {
        tx.pin_root(&hall_code, root, &e.device_id)?;
    }
    Ok((
        Done::Commit,
        Ok(Hall {
            code: hall_code,
            name,
        }),
    ))
}

/// The letter of a desk's own queue numbers (`B017`'s `B`): the one it was given, or else the
/// first of `B`–`Z` no live desk of its hall holds, kept from now on — so two desks of a hall
/// cut off from their server at once never issue the same label (issue 17). `None` when the
/// hall has more live desks than letters (the desk then numbers with a letter of its own).
pub fn queue_letter(
    storage: &dyn Storage,
    hall_code: &str,
    device_id: &str,
) -> Result<Option<String>> {
    let given = |rows: &[LetterRow]| {
        rows.iter()
            .find(|r| r.device_id == device_id)
            .map(|r| r.letter.clone())
    };
    let held = read(storage, |tx| Ok(Ok(given(&tx.queue_letters(hall_code)?))))?;
    if held.is_some() {
        return Ok(held);
    }
    write(storage, |tx| {
        let rows = tx.queue_letters(hall_code)?;
        if let Some(l) = given(&rows) {
            return Ok((Done::Commit, Ok(Some(l))));
        }
        let free = xinfang_core::queue::desk_letters()
            .map(String::from)
            .find(|c| !rows.iter().any(|r| !r.revoked && r.letter == *c));
        if let Some(l) = &free {
            tx.set_queue_letter(hall_code, l, device_id)?;
        }
        Ok((Done::Commit, Ok(free)))
    })
}

/// Revokes the admin tokens whose id (the start of their hash) is `id`; how many. At least 8
/// hex digits: a short prefix must not revoke tokens by accident.
pub fn revoke_admin_token(storage: &dyn Storage, id: &str) -> Result<usize> {
    if id.len() < 8 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(0);
    }
    Ok(storage.revoke_admin_tokens(&id.to_ascii_lowercase())?)
}

// ---- Changes ---------------------------------------------------------------------------------

/// Stores and applies a batch of one device's consecutive changes in one transaction. A
/// change the rules refuse (stamped beyond `now_ms` + the allowed drift, another hall's
/// record, malformed) is set aside in quarantine under its sequence number, and the rest of the
/// batch goes on; a sequence gap or a number reused with other content refuses the batch.
pub fn push(
    storage: &dyn Storage,
    device: &Device,
    changes: &[Change],
    now_ms: i64,
) -> Result<PushResponse> {
    let cal = storage.calendar();
    write_hall(storage, &device.hall_code, |tx| {
        Ok(match push_in(tx, device, changes, now_ms, cal)? {
            Ok(resp) => (Done::Commit, Ok(resp)),
            Err(r) => (Done::Rollback, Err(r)),
        })
    })
}

fn push_in(
    tx: &mut dyn Tx,
    device: &Device,
    changes: &[Change],
    now_ms: i64,
    cal: &xinfang_core::calendar::HolidayCalendar,
) -> Result<std::result::Result<PushResponse, Refusal>, StorageError> {
    let mut max_seq = tx.device_max_seq(&device.id)?;
    let (mut new, mut duplicates) = (0u64, 0u64);
    let mut batch = Applier::new(device, cal);
    for c in changes {
        let fields_json = serde_json::to_string(&c.fields).map_err(backend)?;
        if c.seq <= max_seq {
            // A repeat is a duplicate only with the same content; the same number with other
            // content is a desk that reuses numbers (restored without recovery). It may repeat
            // a change of this very batch: what the batch holds back is stored first.
            batch.flush(tx)?;
            if tx.stored_change(&device.id, c.seq)?.is_some_and(|had| {
                had.entity == c.entity
                    && had.entity_id == c.entity_id
                    && had.op == c.op
                    && had.hlc == c.hlc
                    && had.fields == c.fields
            }) {
                duplicates += 1;
                continue;
            }
            return Ok(Err(Refusal {
                kind: RefusalKind::Conflict,
                code: "seq_conflict",
                message: format!(
                    "服务器已有本设备序号 {} 的另一条变更：本机数据可能是从旧备份恢复的。请把接待台程序升级到最新版本后再同步（新版本会先取回服务器上的变更），或联系市局管理员。",
                    c.seq
                ),
            }));
        }
        if c.seq != max_seq + 1 {
            return Ok(Err(Refusal {
                kind: RefusalKind::Conflict,
                code: "seq_gap",
                message: format!(
                    "推送的变更序号从 {} 开始，服务器需要的是 {}：请重新同步（客户端会自动从服务器的位置继续）。",
                    c.seq,
                    max_seq + 1
                ),
            }));
        }
        max_seq = c.seq;
        new += 1;
        if let Some((code, reason)) = shape_refusal(c) {
            batch.set_aside(tx, c, &fields_json, code, reason)?;
        } else if c.hlc.is_beyond(now_ms) {
            let (code, reason) = clock_ahead(c, now_ms);
            batch.set_aside(tx, c, &fields_json, code, reason)?;
        } else {
            batch.apply(tx, c, fields_json)?;
        }
    }
    let set_aside: Vec<SetAside> = batch
        .finish(tx)?
        .into_iter()
        .map(|(c, code, reason)| {
            tracing::warn!(device_id = %device.id, seq = c.seq, code, "change set aside");
            SetAside {
                seq: c.seq,
                entity: c.entity.clone(),
                entity_id: c.entity_id.clone(),
                code: code.to_owned(),
                reason,
            }
        })
        .collect();
    Ok(Ok(PushResponse {
        accepted: new - set_aside.len() as u64,
        duplicates,
        server_max_seq: max_seq,
        set_aside,
    }))
}

/// Stores one device's changes as the hall hub's city holds them (the hub's pull, docs/sync.md
/// "Hall hub"), in sequence order from the next one the hub lacks: an applied one is applied
/// here by the same merge rules, one the city set aside (server sequence 0) is set aside here
/// too. No clock check: the city checked the change against its own clock, and the two must
/// hold the same. Stops at a gap or at a number held here with other content (a desk that
/// reused numbers; the city's administrator sees it there). Returns how many were stored.
pub fn store_relayed(
    storage: &dyn Storage,
    device: &Device,
    changes: &[RemoteChange],
) -> Result<u64> {
    let cal = storage.calendar();
    write_hall(storage, &device.hall_code, |tx| {
        let mut max_seq = tx.device_max_seq(&device.id)?;
        let mut stored = 0u64;
        let mut batch = Applier::new(device, cal);
        for rc in changes {
            let c = &rc.change;
            if c.seq <= max_seq {
                continue;
            }
            if c.seq != max_seq + 1 {
                break;
            }
            max_seq = c.seq;
            stored += 1;
            let fields_json = serde_json::to_string(&c.fields).map_err(backend)?;
            if rc.server_seq == 0 {
                batch.set_aside(
                    tx,
                    c,
                    &fields_json,
                    "set_aside_upstream",
                    "市局已搁置这条变更（原因见市局的搁置记录）。".to_owned(),
                )?;
            } else {
                batch.apply(tx, c, fields_json)?;
            }
        }
        batch.finish(tx)?;
        Ok((Done::Commit, Ok(stored)))
    })
}

/// A refusal of one change: its code and reason, for quarantine.
type ChangeRefusal = (&'static str, String);

/// Stores and applies one device's new changes in batch order, with the same result as
/// [`store_and_apply`] one by one, in a handful of statements (docs/performance.md, "Province
/// scale"). The usual change makes a new record that nothing else in the batch touches
/// before it is written: such changes are held back in a run and stored together, their new
/// records in one statement and their change rows (numbered in batch order) in another; the
/// few whose record was held already take the merge. Any other change (a delete, a staff
/// change, a matter or one of its steps, another hall's code, a record the run holds
/// already) first stores the run, then goes alone through [`store_and_apply`], so whatever it
/// reads is what the changes before it wrote.
struct Applier<'c> {
    device: &'c Device,
    cal: &'c xinfang_core::calendar::HolidayCalendar,
    /// The run held back: each change, its fields as JSON, its new record's fields as JSON.
    run: Vec<(&'c Change, String, Option<String>)>,
    /// The changes set aside, in batch order.
    set_aside: Vec<(&'c Change, &'static str, String)>,
    /// The matters a change of the batch touched (the matter or one of its steps): each is
    /// folded once, at the end, from all its steps — what folding it after every change would
    /// leave, as every fold reads all the steps (a history brings a matter's steps together).
    to_fold: BTreeSet<String>,
}

impl<'c> Applier<'c> {
    fn new(device: &'c Device, cal: &'c xinfang_core::calendar::HolidayCalendar) -> Self {
        Applier {
            device,
            cal,
            run: Vec::new(),
            set_aside: Vec::new(),
            to_fold: BTreeSet::new(),
        }
    }

    /// Stores and applies a change, now or with the run.
    fn apply(&mut self, tx: &mut dyn Tx, c: &'c Change, fields_json: String) -> StoreResult<()> {
        let joins_run = c.op != Op::Delete
            && !matches!(c.entity.as_str(), "staff" | "matter" | "matter_event")
            && c.fields
                .get("hall_code")
                .is_none_or(|h| h.as_str() == Some(self.device.hall_code.as_str()));
        if !joins_run {
            self.flush(tx)?;
            if let Some((code, reason)) =
                store_and_apply(tx, self.device, c, &fields_json, &mut self.to_fold)?
            {
                self.set_aside(tx, c, &fields_json, code, reason)?;
            }
            return Ok(());
        }
        if self
            .run
            .iter()
            .any(|(r, ..)| r.entity == c.entity && r.entity_id == c.entity_id)
        {
            self.flush(tx)?;
        }
        let data = new_record_fields(c).map(|m| Value::Object(m).to_string());
        self.run.push((c, fields_json, data));
        Ok(())
    }

    /// Sets a change aside in quarantine.
    fn set_aside(
        &mut self,
        tx: &mut dyn Tx,
        c: &'c Change,
        fields_json: &str,
        code: &'static str,
        reason: String,
    ) -> StoreResult<()> {
        tx.insert_quarantine(self.device, c, fields_json, code, &reason)?;
        self.set_aside.push((c, code, reason));
        Ok(())
    }

    /// Stores the run held back: as [`store_and_apply`] for each of its changes in turn, for
    /// none reads a record another one writes.
    fn flush(&mut self, tx: &mut dyn Tx) -> StoreResult<()> {
        if self.run.is_empty() {
            return Ok(());
        }
        let run = std::mem::take(&mut self.run);
        let device = self.device;
        let lookups: Vec<Option<String>> = run
            .iter()
            .map(|(c, ..)| lookup_key(&c.entity, &c.fields))
            .collect();
        let rows: Vec<NewRecord<'_>> = run
            .iter()
            .zip(&lookups)
            .map(|((c, fields_json, data), lookup)| NewRecord {
                entity: &c.entity,
                entity_id: &c.entity_id,
                hall_code: &device.hall_code,
                data_json: data.as_deref().unwrap_or(fields_json),
                hlc: c.hlc.0,
                device_id: &device.id,
                lookup: lookup.as_deref(),
            })
            .collect();
        let stored = tx.insert_new_records(&rows)?;
        let mut applied: Vec<(&Change, &str)> = Vec::with_capacity(run.len());
        for (held, new) in run.iter().zip(stored) {
            let (c, fields_json): (&'c Change, &String) = (held.0, &held.1);
            let refusal = if new {
                None
            } else {
                merge_record(tx, device, c)?.err()
            };
            match refusal {
                None => applied.push((c, fields_json.as_str())),
                Some(r) => self.set_aside(tx, c, fields_json, r.code, r.message)?,
            }
        }
        tx.insert_changes(device, &applied)
    }

    /// Stores the run held back and folds the matters touched; the changes set aside, in batch
    /// order.
    fn finish(mut self, tx: &mut dyn Tx) -> StoreResult<Vec<(&'c Change, &'static str, String)>> {
        self.flush(tx)?;
        for m in &self.to_fold {
            rederive_matter(tx, m, &self.device.hall_code, self.cal)?;
        }
        self.set_aside.sort_by_key(|(c, ..)| c.seq);
        Ok(self.set_aside)
    }
}

type StoreResult<T> = Result<T, StorageError>;

/// Applies a change to the records and stores it, and lists its matter to fold: a change the
/// rules refuse is neither, and its refusal (code, reason) is returned, for quarantine.
/// [`apply_change`] decides every refusal before it writes anything, so a refused change leaves
/// nothing to undo and no savepoint is taken per change (on PostgreSQL each was two more round
/// trips of a history's thousands).
fn store_and_apply(
    tx: &mut dyn Tx,
    device: &Device,
    c: &Change,
    fields_json: &str,
    to_fold: &mut BTreeSet<String>,
) -> Result<Option<ChangeRefusal>, StorageError> {
    if let Err(r) = apply_change(tx, device, c, fields_json)? {
        return Ok(Some((r.code, r.message)));
    }
    tx.insert_change(device, c, fields_json)?;
    // A step (or the matter itself) changed: the matter's state is folded again from all its
    // steps, as on every desk, once the batch is stored.
    if let Some(m) = matter_of_change(tx, c)? {
        to_fold.insert(m);
    }
    Ok(None)
}

fn backend<E: std::fmt::Display>(e: E) -> StorageError {
    StorageError::Backend(e.to_string())
}

/// Why a change stamped beyond the server's clock is set aside.
fn clock_ahead(c: &Change, now_ms: i64) -> (&'static str, String) {
    let ahead_min = c.hlc.physical_ms().saturating_sub(now_ms) / 60_000;
    let ahead = if ahead_min >= 2 * 24 * 60 {
        format!("{} 天", ahead_min / (24 * 60))
    } else if ahead_min >= 120 {
        format!("{} 小时", ahead_min / 60)
    } else {
        format!("{ahead_min} 分钟")
    };
    (
        "clock_ahead",
        format!(
            "第 {} 条变更的时间比市局服务器晚 {ahead}（允许误差 {} 分钟）：发出它的接待台时间不准。请校准该接待台的系统时间；这条变更已暂存待查，未被采用。",
            c.seq,
            xinfang_sync::hlc::MAX_DRIFT_MS / 60_000
        ),
    )
}

/// A staff change is taken only when signed back to one of the hall's roots (docs/security.md
/// "Signed staff changes"); the signer is looked up as the city holds it, in this transaction.
fn check_staff_signature(
    tx: &mut dyn Tx,
    device: &Device,
    c: &Change,
) -> Result<std::result::Result<(), Refusal>, StorageError> {
    let roots = tx.hall_roots(&device.hall_code)?;
    let mut failed = None;
    let signer = |id: &str| -> Option<staff_sig::SignerState> {
        match tx.record_in_hall("staff", id, &device.hall_code) {
            Ok(fields) => fields.map(|f| staff_sig::SignerState::from_fields(&f)),
            Err(e) => {
                failed = Some(e);
                None
            }
        }
    };
    let verdict = staff_sig::verify(&device.hall_code, c, signer, &roots);
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(verdict.map_err(|r| Refusal {
        kind: RefusalKind::Forbidden,
        code: r.code,
        message: r.message,
    }))
}

/// Applies one new change to the records: the merge rules of `xinfang_sync::merge`, within
/// the device's hall. Every refusal is decided before the first write ([`store_and_apply`]
/// takes no savepoint on that account).
fn apply_change(
    tx: &mut dyn Tx,
    device: &Device,
    c: &Change,
    fields_json: &str,
) -> Result<std::result::Result<(), Refusal>, StorageError> {
    if c.entity == "staff"
        && let Err(r) = check_staff_signature(tx, device, c)?
    {
        return Ok(Err(r));
    }
    if let Some(h) = c.fields.get("hall_code")
        && h.as_str() != Some(device.hall_code.as_str())
    {
        return Ok(Err(hall_forbidden(
            "变更中的记录",
            h.as_str().unwrap_or("?"),
        )));
    }
    if c.op != Op::Delete {
        // The common case, a new record: stored as received, every field at this version, in
        // one statement (no read first). An existing record falls through to the merge.
        let stripped = new_record_fields(c).map(|m| Value::Object(m).to_string());
        let fields_json = stripped.as_deref().unwrap_or(fields_json);
        if tx.insert_new_record(
            &c.entity,
            &c.entity_id,
            &device.hall_code,
            fields_json,
            c.hlc.0,
            &device.id,
            lookup_key(&c.entity, &c.fields).as_deref(),
        )? {
            return Ok(Ok(()));
        }
    }
    merge_record(tx, device, c)
}

/// A new record's fields when they are not the change's own: change metadata (`meta_base`,
/// `meta_by`) and an insert's empty fields are no fields of it.
fn new_record_fields(c: &Change) -> Option<Map<String, Value>> {
    let no_field = |k: &str, v: &Value| merge::is_meta(k) || (c.op == Op::Insert && v.is_null());
    c.fields.iter().any(|(k, v)| no_field(k, v)).then(|| {
        c.fields
            .iter()
            .filter(|(k, v)| !no_field(k, v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

/// Merges a change into its record as held (a new one when none is): the merge rules of
/// `xinfang_sync::merge`, within the device's hall.
fn merge_record(
    tx: &mut dyn Tx,
    device: &Device,
    c: &Change,
) -> Result<std::result::Result<(), Refusal>, StorageError> {
    let version = Version::new(c.hlc, device.id.clone());
    let stored = match tx.load_record(&c.entity, &c.entity_id)? {
        None => {
            let mut record = Record::default();
            record.apply(&c.entity, &c.fields, c.op, &version);
            StoredRecord {
                hall_code: device.hall_code.clone(),
                record,
            }
        }
        Some(mut stored) => {
            if stored.hall_code != device.hall_code {
                return Ok(Err(hall_forbidden("该记录", &stored.hall_code)));
            }
            stored.record.apply(&c.entity, &c.fields, c.op, &version);
            stored
        }
    };
    tx.save_record(&c.entity, &c.entity_id, &stored)?;
    Ok(Ok(()))
}

/// The matter a change may change the derived status of.
fn matter_of_change(tx: &mut dyn Tx, c: &Change) -> Result<Option<String>, StorageError> {
    Ok(match c.entity.as_str() {
        "matter" => Some(c.entity_id.clone()),
        "matter_event" => match c.fields.get("matter_id").and_then(Value::as_str) {
            Some(m) => Some(m.to_owned()),
            None => tx.record_lookup("matter_event", &c.entity_id)?,
        },
        _ => None,
    })
}

/// Derives a matter's status, state and step count from all the step records its hall holds
/// (the desks' rule: `xinfang_core::matter::fold_steps`). A matter without steps keeps what
/// was pushed. Only the pushing device's hall is read and written: a step another hall's device
/// recorded for this matter is that hall's record, never folded into a matter it does not own
/// (it is also what lets halls write at once, docs/sync.md "Server sequence").
fn rederive_matter(
    tx: &mut dyn Tx,
    matter_id: &str,
    hall_code: &str,
    cal: &xinfang_core::calendar::HolidayCalendar,
) -> Result<(), StorageError> {
    // The matter's kind and the unit its first visit concerns: the kind's procedure judges
    // the steps by them.
    let Some(subject) = tx.matter_subject(matter_id, hall_code)? else {
        return Ok(());
    };
    let Some(received) = subject.received_on else {
        return Ok(());
    };
    let subject_of = xinfang_core::matter::Subject {
        kind: subject
            .appeal_kind
            .as_deref()
            .and_then(xinfang_core::reference::AppealKind::parse)
            .unwrap_or(xinfang_core::reference::AppealKind::Claim),
        agency: subject.agency.as_deref(),
    };
    let steps = tx.matter_steps(matter_id, hall_code)?;
    if let Some((status, state, count)) =
        crate::storage::derive::matter_fields(&received, subject_of, &steps, cal)
    {
        tx.set_matter_derived(matter_id, hall_code, &status, &state, count)?;
    }
    Ok(())
}

/// Changes of the device's hall's other devices after the given per-device cursors, in
/// server order; a cursor of a device of another hall is refused.
pub fn pull(
    storage: &dyn Storage,
    device: &Device,
    cursors: &BTreeMap<String, i64>,
    limit: u32,
) -> Result<PullResponse> {
    read(storage, |tx| {
        let mut hall_devices = tx.hall_device_ids(&device.hall_code, &device.id)?;
        // A hub makes no changes of its own: nothing to pull from it.
        hall_devices.retain(|d| !crate::hub::is_hub_id(d));
        for d in cursors.keys() {
            if *d == device.id || hall_devices.contains(d) {
                continue;
            }
            // Another hall's device is refused; one this server does not know (yet) — a desk
            // moved here from the city or the hub brings cursors of its hall's other desks —
            // has nothing here to pull.
            if let Some(other) = tx.device_enrolment(d)?
                && other.hall_code != device.hall_code
            {
                return Ok(Err(hall_forbidden("所请求的设备", &other.hall_code)));
            }
        }
        let limit = limit.max(1) as usize;
        let after: Vec<(String, i64)> = hall_devices
            .iter()
            .map(|d| (d.clone(), cursors.get(d).copied().unwrap_or(0)))
            .collect();
        // Server order is causal order: a change that depends on another arrived after it.
        let mut all = tx.hall_changes_after(&after, (limit + 1) as i64)?;
        let keep = page_fitting(&all[..all.len().min(limit)], |c| change_bytes(&c.change));
        let more = all.len() > keep;
        all.truncate(keep);
        let mut out_cursors: BTreeMap<String, i64> = hall_devices
            .iter()
            .map(|d| (d.clone(), cursors.get(d).copied().unwrap_or(0)))
            .collect();
        for c in &all {
            let cur = out_cursors.entry(c.device_id.clone()).or_default();
            *cur = (*cur).max(c.change.seq);
        }
        Ok(Ok(PullResponse {
            changes: all,
            cursors: out_cursors,
            more,
            server_seq: tx.max_server_seq()?,
        }))
    })
}

/// How many of a page's items, from the first, it carries: at most [`MAX_PAGE_BYTES`] of them
/// (at least one), so an answer of photos is cut into several a slow line brings in time.
fn page_fitting<T>(items: &[T], size: impl Fn(&T) -> usize) -> usize {
    fitting(items, MAX_PAGE_BYTES, size)
}

/// The device's own changes after `after` (a restored desk's recovery), at most `limit` and
/// [`MAX_PAGE_BYTES`] of them.
pub fn own_changes(
    storage: &dyn Storage,
    device: &Device,
    after: i64,
    limit: u32,
) -> Result<OwnChangesResponse> {
    let mut page = storage.own_changes(device, after, limit)?;
    let keep = page_fitting(&page.changes, |c| change_bytes(&c.change));
    page.more |= keep < page.changes.len();
    page.changes.truncate(keep);
    Ok(page)
}

/// One page of a snapshot of the hall's records of one entity, at most [`MAX_PAGE_BYTES`] of
/// records or changes: a page cut short continues after its last.
pub fn snapshot(
    storage: &dyn Storage,
    device: &Device,
    req: &SnapshotRequest,
) -> Result<SnapshotResponse> {
    let mut page = storage.snapshot(device, req)?;
    // A desk's own records come back only as it wrote them: a desk with a history (a county
    // hall offline for months) pushes it before its first pull and holds every one already,
    // with their versions in its log. Sending them made its first sync apply its own history a
    // second time. `next` still says where the records read end.
    page.records.retain(|r| !written_only_by(r, &device.id));
    let keep = page_fitting(&page.changes, |c| change_bytes(&c.change));
    if keep < page.changes.len() {
        page.changes.truncate(keep);
        page.next = page.changes.last().map(|c| c.server_seq.to_string());
    }
    let keep = page_fitting(&page.records, |r| {
        json_len(&r.data) + json_len(&r.versions) + 200
    });
    if keep < page.records.len() {
        page.records.truncate(keep);
        page.next = page.records.last().map(|r| r.entity_id.clone());
    }
    Ok(page)
}

/// Whether every version of `record` (its base, each field written later, its deletion) is
/// `device`'s own.
fn written_only_by(record: &SnapshotRecord, device: &str) -> bool {
    record.base_device == device
        && record.versions.values().all(|(_, d)| d == device)
        && record.deleted.as_ref().is_none_or(|(_, d)| d == device)
}

/// The highest server sequence number stored (what a live notification carries).
pub fn server_seq(storage: &dyn Storage) -> Result<i64> {
    read(storage, |tx| Ok(Ok(tx.max_server_seq()?)))
}

// ---- Audit chains ----------------------------------------------------------------------------

/// Stores a batch of the device's audit entries (all of the device, checked before) as long as
/// each continues the device's stored chain (`xinfang_sync::audit::check_link`) and has the
/// hash the device reported for it; an entry already stored with the same hash counts as a
/// duplicate. At the first entry that does not, stops, records the break and keeps what came
/// before it: one transaction.
pub fn push_audit(
    storage: &dyn Storage,
    device: &Device,
    entries: &[AuditEntry],
) -> Result<AuditPushOutcome> {
    write_hall(storage, &device.hall_code, |tx| {
        let (max, prev_hash) = tx
            .audit_last(&device.id)?
            .unwrap_or((0, GENESIS.to_owned()));
        let (new, duplicates, fault) = continue_chain(max, prev_hash, entries, |seq| {
            tx.audit_hash(&device.id, seq)
        })?;
        // An entry must have the hash its device reported for it with a change push.
        let mut fault = fault;
        let mut kept = Vec::new();
        for e in new {
            if tx
                .reported_head(&device.id, e.seq)?
                .is_some_and(|h| h != e.hash)
            {
                fault = Some(ChainFault {
                    seq: e.seq,
                    reason: format!(
                        "与本机此前随变更上报的第 {} 条审计日志摘要不同：本机的审计日志在上报后被改写",
                        e.seq
                    ),
                });
                break;
            }
            kept.push(e);
        }
        let mut server_max_seq = max;
        for e in &kept {
            tx.insert_audit(device, e)?;
            server_max_seq = e.seq;
        }
        if let Some(f) = &fault {
            tx.record_break(device, f)?;
        }
        Ok((
            Done::Commit,
            Ok(AuditPushOutcome {
                response: AuditPushResponse {
                    accepted: kept.len() as u64,
                    duplicates,
                    server_max_seq,
                },
                fault,
            }),
        ))
    })
}

/// The first place where `entries` (in order) stop continuing a stored chain whose last entry
/// is `max` with hash `prev_hash`; `stored_hash(seq)` gives a stored entry's hash. Returns the
/// entries to store (a prefix of the new ones), the number of duplicates and the fault.
fn continue_chain(
    mut max: i64,
    mut prev_hash: String,
    entries: &[AuditEntry],
    mut stored_hash: impl FnMut(i64) -> Result<Option<String>, StorageError>,
) -> Result<(Vec<&AuditEntry>, u64, Option<ChainFault>), StorageError> {
    let mut new = Vec::new();
    let mut duplicates = 0u64;
    let mut next_in_batch: Option<i64> = None;
    for e in entries {
        if let Some(n) = next_in_batch
            && e.seq != n
        {
            let reason = xinfang_sync::audit::LinkFault::Missing { found: e.seq }.reason(n);
            return Ok((new, duplicates, Some(ChainFault { seq: n, reason })));
        }
        next_in_batch = Some(e.seq.saturating_add(1));
        if e.seq <= max {
            let same =
                stored_hash(e.seq)?.is_some_and(|h| h == e.hash) && e.compute_hash() == e.hash;
            if same {
                duplicates += 1;
                continue;
            }
            let reason = format!(
                "与市局服务器已收到的第 {} 条不同（本机的审计日志被改写，或从旧备份恢复）",
                e.seq
            );
            return Ok((new, duplicates, Some(ChainFault { seq: e.seq, reason })));
        }
        let expected = max + 1;
        if let Err(f) = check_link(expected, &prev_hash, e) {
            return Ok((
                new,
                duplicates,
                Some(ChainFault {
                    seq: expected,
                    reason: f.reason(expected),
                }),
            ));
        }
        new.push(e);
        max = e.seq;
        prev_hash.clone_from(&e.hash);
    }
    Ok((new, duplicates, None))
}

/// Keeps the head of its audit chain a device reported with a change push. A head that
/// contradicts an entry or a head received before, or goes back, is recorded as a break.
pub fn report_audit_head(storage: &dyn Storage, device: &Device, head: &AuditHead) -> Result<()> {
    write_hall(storage, &device.hall_code, |tx| {
        let stored = tx.audit_hash(&device.id, head.seq)?;
        let reported = tx.reported_head(&device.id, head.seq)?;
        let furthest = tx.furthest_head(&device.id)?;
        let fault = if stored.as_ref().is_some_and(|h| *h != head.hash) {
            Some(ChainFault {
                seq: head.seq,
                reason: format!(
                    "本机上报的第 {} 条审计日志摘要与市局服务器已收到的不同：本机的审计日志被改写",
                    head.seq
                ),
            })
        } else if reported.as_ref().is_some_and(|h| *h != head.hash) {
            Some(ChainFault {
                seq: head.seq,
                reason: format!(
                    "本机先后上报的第 {} 条审计日志摘要不同：本机的审计日志被改写",
                    head.seq
                ),
            })
        } else if furthest > head.seq {
            Some(ChainFault {
                seq: head.seq + 1,
                reason: format!(
                    "本机审计日志回退：此前上报到第 {furthest} 条，现在只到第 {} 条（本机可能从旧备份恢复，或审计日志被删改）",
                    head.seq
                ),
            })
        } else {
            None
        };
        if let Some(f) = &fault {
            tracing::warn!(device_id = %device.id, seq = f.seq, "audit head does not match");
            tx.record_break(device, f)?;
        }
        tx.insert_head(&device.id, head)?;
        Ok((Done::Commit, Ok(())))
    })
}

/// Every device's chain: what is stored, the refused pushes recorded, and a fresh check of
/// the stored chain (which catches a changed database).
pub fn audit_chains(storage: &dyn Storage) -> Result<AuditChains> {
    read(storage, |tx| {
        let now = tx.now_text();
        let mut out = Vec::new();
        for d in tx.audit_devices()? {
            let entries = tx.audit_entries(&d.device_id)?;
            let count = entries.len() as i64;
            let last_seq = entries.iter().map(|e| e.seq).max().unwrap_or(0);
            let last_at = entries.last().map(|e| e.at.clone());
            let stored_fault = verify_chain(entries);
            let mut breaks: Vec<AuditBreak> = tx.audit_breaks(&d.device_id)?;
            if let Some(f) = stored_fault {
                breaks.push(AuditBreak {
                    seq: f.seq,
                    reason: f.reason,
                    source: "stored".into(),
                    detected_at: now.clone(),
                    attempts: 0,
                });
            }
            out.push(DeviceAuditChain {
                device_id: d.device_id,
                device_name: d.device_name,
                hall_code: d.hall_code,
                hall_name: d.hall_name,
                entries: count,
                last_seq,
                last_at,
                status: (if breaks.is_empty() { "ok" } else { "broken" }).into(),
                breaks,
            });
        }
        Ok(Ok(AuditChains {
            broken: out.iter().filter(|d| !d.breaks.is_empty()).count() as i64,
            devices: out,
        }))
    })
}

// ---- People and counts -----------------------------------------------------------------------

/// Who shows under whom at the city, by the desks' rule (`xinfang_core::people`) from the
/// merge, unmerge and visit-move records held here, and the moved links.
#[allow(clippy::type_complexity)]
fn city_people(
    tx: &mut dyn Tx,
) -> Result<
    (
        xinfang_core::people::People,
        BTreeMap<(String, String), String>,
    ),
    StorageError,
> {
    let (merges, moves) = tx.person_links()?;
    Ok((
        xinfang_core::people::resolve(&merges),
        xinfang_core::people::moved_links(&moves),
    ))
}

/// Per hall: visitors (a record merged into another person is not a person of its own),
/// visits, matters, live devices, changes.
pub fn city_counts(storage: &dyn Storage) -> Result<CityCounts> {
    read(storage, |tx| {
        let mut halls = tx.hall_counts()?;
        let (people, _) = city_people(tx)?;
        for record in people.canon.keys() {
            if let Some(hall) = tx.visitor_hall(record)?
                && let Some(h) = halls.iter_mut().find(|h| h.hall_code == hall)
            {
                h.visitors -= 1;
            }
        }
        Ok(Ok(CityCounts {
            total_visitors: halls.iter().map(|h| h.visitors).sum(),
            total_visits: halls.iter().map(|h| h.visits).sum(),
            total_matters: halls.iter().map(|h| h.matters).sum(),
            halls,
        }))
    })
}

/// Every visit, at every hall, of the person with `id_number`: one person whatever the records
/// (the records found by the number, and every record merged into them, with the desks' rule,
/// docs/sync.md "People"), newest first.
pub fn repeat_visits(storage: &dyn Storage, id_number: &str) -> Result<RepeatVisits> {
    read(storage, |tx| Ok(Ok(repeat_visits_in(tx, id_number)?)))
}

fn repeat_visits_in(tx: &mut dyn Tx, id_number: &str) -> Result<RepeatVisits, StorageError> {
    let found = tx.visitors_by_id_number(id_number)?;
    let (people, moved) = city_people(tx)?;
    let persons: BTreeSet<String> = found
        .iter()
        .map(|id| people.person_of(id).to_owned())
        .collect();
    let mut records: BTreeSet<String> = persons.clone();
    for (record, person) in &people.canon {
        if persons.contains(person) {
            records.insert(record.clone());
        }
    }
    // Links a split moved to these people from records of others.
    for ((_, from), to) in &moved {
        if persons.contains(people.person_of(to)) {
            records.insert(from.clone());
        }
    }
    let mut visits: Vec<RepeatVisit> = Vec::new();
    for visitor_id in &records {
        for visit_id in tx.visits_of_visitor(visitor_id)? {
            let target = moved
                .get(&(visit_id.clone(), visitor_id.clone()))
                .map_or(visitor_id.as_str(), String::as_str);
            let person = people.person_of(target).to_owned();
            if !persons.contains(&person) || visits.iter().any(|v| v.visit_id == visit_id) {
                continue;
            }
            if let Some(v) = tx.visit_facts(&visit_id)? {
                visits.push(RepeatVisit {
                    hall_code: v.hall_code,
                    hall_name: v.hall_name,
                    visitor_id: person,
                    visit_id,
                    visited_at: v.visited_at.unwrap_or_default(),
                    category_code: v.category_code.unwrap_or_default(),
                });
            }
        }
    }
    visits.sort_by(|a, b| {
        b.visited_at
            .cmp(&a.visited_at)
            .then(a.visit_id.cmp(&b.visit_id))
    });
    let mut halls: Vec<String> = visits.iter().map(|v| v.hall_code.clone()).collect();
    halls.sort();
    halls.dedup();
    Ok(RepeatVisits {
        id_number: id_number.to_owned(),
        halls,
        visits,
    })
}

/// The matters of the person with `id_number` at halls other than `except_hall`, newest
/// visit first; 检举控告 matters (and confidential ones) left out: who reported whom is never
/// told to another hall.
pub fn person_matters(
    storage: &dyn Storage,
    id_number: &str,
    except_hall: &str,
) -> Result<Vec<OtherHallMatter>> {
    read(storage, |tx| {
        let visits = repeat_visits_in(tx, id_number)?.visits;
        let mut out: Vec<OtherHallMatter> = Vec::new();
        // Visits come newest first: a matter's first listing carries its latest visit.
        for v in visits.iter().filter(|v| v.hall_code != except_hall) {
            let Some(matter_id) = tx.visit_matter(&v.visit_id)? else {
                continue;
            };
            if let Some(seen) = out.iter_mut().find(|m| m.matter_id == matter_id) {
                seen.visits += 1;
                continue;
            }
            let Some(m) = tx.matter_facts(&matter_id)? else {
                continue;
            };
            if m.confidential || m.appeal_kind == "report" || m.visit_kind == "report" {
                continue;
            }
            out.push(OtherHallMatter {
                hall_code: m.hall_code,
                hall_name: m.hall_name,
                matter_id,
                received_on: m.received_on,
                appeal_kind: m.appeal_kind,
                category_code: m.category_code,
                appeal: m.appeal,
                agency: m.agency,
                place_code: m.place_code,
                status: m.status,
                state: m.state,
                visits: 1,
                last_visit_at: v.visited_at.clone(),
            });
        }
        Ok(Ok(out))
    })
}

// ---- The shape of a change -------------------------------------------------------------------

fn valid_name(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= max
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Why one pushed change cannot be stored as it is, if it cannot. Such a change is set aside
/// like one the rules refuse (its sequence number taken), so the device's later changes still
/// flow: a desk with one bad change must not be stuck forever.
pub fn shape_refusal(c: &Change) -> Option<(&'static str, String)> {
    let n = c.seq;
    if !valid_name(&c.entity, 40) {
        return Some((
            "entity_invalid",
            format!("第 {n} 条变更的记录类型无效：应为小写字母、数字和下划线。"),
        ));
    }
    if c.entity_id.is_empty()
        || c.entity_id.len() > 100
        || c.entity_id.chars().any(char::is_control)
    {
        return Some((
            "entity_id_invalid",
            format!("第 {n} 条变更的记录编号无效（1–100 个字符）。"),
        ));
    }
    if c.fields.len() > 200 || c.fields.keys().any(|k| !valid_name(k, 64)) {
        return Some((
            "fields_invalid",
            format!("第 {n} 条变更的字段名无效：应为小写字母、数字和下划线。"),
        ));
    }
    if c.op != xinfang_sync::Op::Delete && c.fields.is_empty() {
        return Some(("fields_empty", format!("第 {n} 条变更没有任何字段。")));
    }
    // A NUL character is no text a desk means to keep, and PostgreSQL cannot store it: set
    // aside on every backend alike, never a push that fails forever.
    if c.fields.values().any(has_nul) {
        return Some((
            "fields_nul",
            format!(
                "第 {n} 条变更的字段值含有空字符（\\0），无法保存：请在该接待台上修改这条记录。"
            ),
        ));
    }
    if c.hlc <= xinfang_sync::Hlc::ZERO {
        return Some(("hlc_invalid", format!("第 {n} 条变更缺少时间戳（hlc）。")));
    }
    // A visitor's photo is kept by every desk of the hall: one the desk's own check would
    // refuse (not a JPEG, over the cap) is not relayed to them either.
    if c.entity == "visit_photo"
        && let Some(jpeg) = c.fields.get("jpeg")
        && let Err(e) = xinfang_core::photo::check_photo(jpeg.as_str().unwrap_or_default())
    {
        return Some((
            "photo_invalid",
            format!("第 {n} 条变更的来访人照片无法保存：{}", e.message),
        ));
    }
    if c.changed_at.len() > 64 || c.changed_at.contains('\0') {
        return Some(("changed_at_invalid", format!("第 {n} 条变更的时间过长。")));
    }
    None
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}
