//! What several store tests share.

// Each test crate that includes this module uses only some of it.
#![allow(dead_code)]

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

/// What the city hands every desk of a hall at enrolment: the root keys of all of them, so
/// each takes the others' staff changes.
pub fn know_each_other(desks: &mut [&mut Store]) {
    let roots: Vec<_> = desks
        .iter()
        .flat_map(|d| d.root_key_offer().unwrap())
        .collect();
    for d in desks.iter_mut() {
        d.adopt_hall_roots(&roots).unwrap();
    }
}
