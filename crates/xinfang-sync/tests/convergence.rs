//! Replicas converge: applying the same changes in any order, with repeats, gives the same records.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use xinfang_sync::merge::{Record, Version};
use xinfang_sync::{Hlc, Op};

#[derive(Debug, Clone)]
struct Change {
    entity: &'static str,
    id: u8,
    op: Op,
    fields: Map<String, Value>,
    version: Version,
}

const STATUSES: &[&str] = &[
    "registered",
    "forwarded",
    "assigned",
    "accepted",
    "not_accepted",
    "in_progress",
    "concluded",
    "under_review",
    "closed",
    "something_unknown",
];

fn change() -> impl Strategy<Value = Change> {
    (
        prop_oneof![Just("visitor"), Just("matter")],
        0u8..3,
        prop_oneof![3 => Just(Op::Update), 1 => Just(Op::Insert), 1 => Just(Op::Delete)],
        proptest::collection::btree_map(
            prop_oneof![Just("phone"), Just("name"), Just("status")],
            0usize..STATUSES.len(),
            0..3,
        ),
        // Few distinct timestamps and devices, so ties and equal clocks happen often.
        0i64..6,
        0u16..3,
        prop_oneof![Just("dev-a"), Just("dev-b"), Just("dev-c")],
    )
        .prop_map(|(entity, id, op, fields, ms, logical, dev)| Change {
            entity,
            id,
            op,
            fields: fields
                .into_iter()
                .map(|(k, i)| {
                    let v = if k == "status" {
                        json!(STATUSES[i])
                    } else {
                        json!(format!("{k}{i}"))
                    };
                    (k.to_owned(), v)
                })
                .collect(),
            version: Version::new(Hlc::new(ms, logical), dev),
        })
}

fn replay(changes: &[Change]) -> BTreeMap<(&'static str, u8), Record> {
    let mut state: BTreeMap<(&'static str, u8), Record> = BTreeMap::new();
    for c in changes {
        state
            .entry((c.entity, c.id))
            .or_default()
            .apply(c.entity, &c.fields, c.op, &c.version);
    }
    state
}

/// A device never stamps two changes with one timestamp: keep the first of each version.
fn one_change_per_version(changes: Vec<Change>) -> Vec<Change> {
    let mut seen = std::collections::BTreeSet::new();
    changes
        .into_iter()
        .filter(|c| seen.insert(c.version.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_order_and_any_repeats_give_the_same_state(
        changes in proptest::collection::vec(change(), 0..40),
        order in any::<proptest::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let changes = one_change_per_version(changes);
        let reference = replay(&changes);
        // A deterministic shuffle from the seed, plus repeats of a prefix (a re-sent batch).
        let mut shuffled = changes.clone();
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        if !changes.is_empty() {
            let k = order.index(changes.len());
            let repeat: Vec<Change> = changes[..k].to_vec();
            shuffled.extend(repeat);
        }
        prop_assert_eq!(replay(&shuffled), reference.clone());
        let mut reversed = changes.clone();
        reversed.reverse();
        prop_assert_eq!(replay(&reversed), reference);
    }

    #[test]
    fn matter_status_never_moves_back(changes in proptest::collection::vec(change(), 1..30)) {
        let changes = one_change_per_version(changes);
        let mut record = Record::default();
        let mut best = -2;
        for c in changes.iter().filter(|c| c.entity == "matter") {
            record.apply("matter", &c.fields, c.op, &c.version);
            if let Some((v, _)) = record.fields.get("status") {
                let rank = xinfang_sync::merge::status_rank(v);
                prop_assert!(rank >= best);
                best = rank;
            }
        }
    }
}
