//! What several store tests share.

use xinfang_store::Store;
use xinfang_sync::{Change, DeskReplica, RemoteChange};

/// `changes` of `from` applied by `into` as one page the city hands on, with `from`'s cursor at
/// the last of them (`after` when there are none); returns that cursor.
pub fn pull_changes(into: &mut Store, from: &Store, changes: Vec<Change>, after: i64) -> i64 {
    let page: Vec<RemoteChange> = changes
        .into_iter()
        .map(|c| RemoteChange {
            device_id: from.device_id().to_owned(),
            server_seq: c.seq,
            change: c,
        })
        .collect();
    let last = page.iter().map(|c| c.change.seq).max().unwrap_or(after);
    let cursors = [(from.device_id().to_owned(), last)].into_iter().collect();
    into.apply_remote(&page, &cursors).unwrap();
    last
}
