//! The visitor's live photo (issue 19) through the real server binary over loopback HTTP, on
//! both storage backends: pushed once as a record of its own, relayed to the hall's other
//! desks (by pull, and in a new desk's first snapshot), never to another hall's; a photo a desk
//! would refuse is set aside at the city rather than relayed.

mod common;

use common::{Desk, Server, both_backends, jpeg, photo_change};
use serde_json::json;
use xinfang_core::photo::{MAX_PHOTO_BYTES, encode_photo};

const HALL: &str = "140521";
const OTHER: &str = "140525";

/// The visit and visitor a desk registered first.
fn first_visit(desk: &Desk) -> (String, String) {
    desk.db()
        .query_row(
            "SELECT visit_id, visitor_id FROM visit_visitors ORDER BY visit_id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

both_backends! {
    fn a_photo_reaches_the_halls_other_desks_once_and_no_other_hall() {
        let server = Server::start();
        let mut a = Desk::new(HALL, 61);
        let b = Desk::new(HALL, 62);
        let other = Desk::new(OTHER, 63);
        for (d, hall) in [(&a, HALL), (&b, HALL), (&other, OTHER)] {
            d.enrol(&server.url, &server.enrol_code(hall)).unwrap();
        }
        a.register_new(1);
        let (visit_id, visitor_id) = first_visit(&a);
        let photo = jpeg(30_000, 0x5A);
        a.open()
            .save_visit_photo(&visit_id, &visitor_id, &photo, &a.clerk.id)
            .unwrap();
        a.sync().unwrap();
        // The city holds it once, as the `visit_photo` record of the visit.
        let held = server.rows("SELECT entity_id FROM changes WHERE entity = 'visit_photo'");
        assert_eq!(held, std::slice::from_ref(&visit_id));

        b.sync().unwrap();
        other.sync().unwrap();
        let pulled = b.open().visitor_photo(&visitor_id).unwrap().expect("pulled");
        assert_eq!((pulled.visit_id.as_str(), pulled.jpeg.as_str()), (visit_id.as_str(), photo.as_str()));
        assert_eq!(other.count("visit_photos"), 0, "another hall's desk");

        // A desk of the hall enrolled later gets it with its first snapshot.
        let c = Desk::new(HALL, 64);
        c.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
        c.sync().unwrap();
        assert_eq!(
            c.open().visitor_photo(&visitor_id).unwrap().map(|p| p.jpeg),
            Some(photo.clone())
        );
        for d in [&b, &c] {
            let report = d.open().verify().unwrap();
            assert!(report.ok(), "{:?}", report.problems);
        }
    }
}

both_backends! {
    fn a_photo_no_desk_would_keep_is_set_aside_not_relayed() {
        let server = Server::start();
        let token = server.enrol_device(HALL, "desk-photo-0001");
        let change = |seq: i64, id: &str, jpeg: String| {
            json!({ "seq": seq, "entity": "visit_photo", "entity_id": id, "op": "insert",
                    "fields": { "visitor_id": "p-1", "jpeg": jpeg, "taken_by": "s-1",
                                "taken_at": "2026-12-05T10:00:00+08:00" },
                    "hlc": 1_000_000 + seq, "changed_at": "2026-12-05T10:00:00+08:00" })
        };
        let batch = json!({ "changes": [
            change(1, "v-big", jpeg(MAX_PHOTO_BYTES + 1, 1)),
            change(2, "v-gif", encode_photo(b"GIF89a......")),
            change(3, "v-ok", jpeg(20_000, 2)),
        ]});
        let (s, r) = server.post_json("/v1/sync/push", Some(&token), &batch);
        assert_eq!(s, 200, "{r}");
        let set_aside: Vec<(&str, &str)> = r["set_aside"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["code"].as_str().unwrap(), x["reason"].as_str().unwrap()))
            .collect();
        assert_eq!(set_aside.len(), 2, "{r}");
        assert!(set_aside.iter().all(|(code, _)| *code == "photo_invalid"));
        assert!(set_aside[0].1.contains("照片太大"), "{}", set_aside[0].1);
        assert!(set_aside[1].1.contains("JPEG"), "{}", set_aside[1].1);
        let held = server.rows("SELECT entity_id FROM changes WHERE entity = 'visit_photo'");
        assert_eq!(held, ["v-ok"]);
    }
}

/// Asks `path` for pages until the last, starting with `first` and going on with what `next`
/// makes of each answer; checks each page is within `MAX_PAGE_BYTES`. Returns the ids of the
/// records the pages carried, in order, and the number of pages.
fn pages(
    server: &Server,
    path: &str,
    token: &str,
    first: serde_json::Value,
    next: impl Fn(&serde_json::Value) -> Option<serde_json::Value>,
) -> (Vec<String>, usize) {
    let (mut body, mut carried, mut count) = (first, Vec::new(), 0);
    loop {
        let (s, r) = server.post_json(path, Some(token), &body);
        assert_eq!(s, 200, "{path}: {r}");
        let bytes = serde_json::to_vec(&r).unwrap().len();
        let bound = xinfang_sync::wire::MAX_PAGE_BYTES + 64 * 1024;
        assert!(bytes <= bound, "{path}: a page of {bytes} bytes");
        let changes = r["changes"].as_array().into_iter().flatten();
        let records = r["records"].as_array().into_iter().flatten();
        for id in changes
            .map(|c| &c["change"]["entity_id"])
            .chain(records.map(|r| &r["entity_id"]))
        {
            carried.push(id.as_str().unwrap().to_owned());
        }
        count += 1;
        match next(&r) {
            Some(b) => body = b,
            None => return (carried, count),
        }
    }
}

both_backends! {
    /// A hall's photos do not come in one answer of hundreds of megabytes (2,000 changes of up
    /// to 96 KB each), which a slow county line would not bring within a sync's patience: each
    /// page — pulled, handed back to a restored desk, or of a new desk's snapshot — carries at
    /// most `MAX_PAGE_BYTES`, and the next page goes on from where it was cut, each photo once.
    fn pages_of_photos_are_cut_to_their_bytes_and_go_on_where_cut() {
        let server = Server::start();
        let writer = server.enrol_device(HALL, "desk-photo-0001");
        let reader = server.enrol_device(HALL, "desk-photo-0002");
        // 120 photos, ≈ 14 MB as JSON, pushed in batches the body limit takes.
        let ids: Vec<String> = (1..=120).map(|n| format!("v-{n:03}")).collect();
        for (b, batch) in ids.chunks(40).enumerate() {
            let changes: Vec<_> =
                batch.iter().enumerate().map(|(i, id)| photo_change(b * 40 + i + 1, id)).collect();
            let batch = json!({ "changes": changes });
            let (s, r) = server.post_json("/v1/sync/push", Some(&writer), &batch);
            assert_eq!((s, r["accepted"].as_u64()), (200, Some(40)), "{r}");
        }

        let (pulled, n) = pages(&server, "/v1/sync/pull", &reader, json!({ "cursors": {} }), |r| {
            r["more"].as_bool().unwrap().then(|| json!({ "cursors": r["cursors"] }))
        });
        assert_eq!((&pulled, n > 1), (&ids, true), "pulled in {n} pages");

        let (own, n) = pages(&server, "/v1/sync/own", &writer, json!({ "after": 0 }), |r| {
            let last = &r["changes"].as_array().unwrap().last().unwrap()["change"]["seq"];
            r["more"].as_bool().unwrap().then(|| json!({ "after": last }))
        });
        assert_eq!((&own, n > 1), (&ids, true), "handed back in {n} pages");

        let first = json!({ "entity": "visit_photo" });
        let (snapshot, n) = pages(&server, "/v1/sync/snapshot", &reader, first, |r| {
            r["next"].as_str().map(|a| json!({ "entity": "visit_photo", "after": a }))
        });
        assert_eq!((&snapshot, n > 1), (&ids, true), "snapshot in {n} pages");
    }
}
