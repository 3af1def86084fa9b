//! The conflict rule for a person's fields (`merge::heads`, `merge::conflict`): desks write
//! offline and exchange writes in random orders. After everyone has everything, every replica
//! finds the same conflict whatever order it received the writes in, and no write is silently
//! lost: each is the shown value, an option of the conflict, or was replaced by a writer who
//! had seen it.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use xinfang_sync::merge::{self, FieldWrite, Version};
use xinfang_sync::{Hlc, Op};

#[derive(Debug, Clone)]
enum Step {
    /// Desk d writes value v (an insert when it holds no write yet, as a registration).
    Write(usize, u8),
    /// Desk d receives everything desk e holds.
    Sync(usize, usize),
}

const DESKS: usize = 3;

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        prop_oneof![
            3 => (0..DESKS, 0u8..4).prop_map(|(d, v)| Step::Write(d, v)),
            2 => (0..DESKS, 0..DESKS).prop_map(|(d, e)| Step::Sync(d, e)),
        ],
        1..30,
    )
}

/// A write as a desk logs it: fields with `meta_base` naming the heads it saw.
fn write(view: &[FieldWrite], desk: usize, value: u8, clock: &mut i64) -> FieldWrite {
    *clock += 1;
    let op = if view.is_empty() {
        Op::Insert
    } else {
        Op::Update
    };
    let base: Vec<Version> = merge::heads(view)
        .into_iter()
        .map(|w| w.version.clone())
        .collect();
    let mut fields = Map::new();
    fields.insert("phone".into(), json!(format!("1380000000{value}")));
    fields.insert(
        merge::BASE_KEY.into(),
        json!({ "phone": merge::base_json(&base) }),
    );
    FieldWrite {
        value: fields["phone"].clone(),
        version: Version::new(Hlc(*clock), format!("dev-{desk}")),
        base: merge::base_of(&fields, op, "phone"),
        changed_at: String::new(),
        by: None,
    }
}

fn union(into: &mut Vec<FieldWrite>, from: &[FieldWrite]) {
    for w in from {
        if !into.iter().any(|x| x.version == w.version) {
            into.push(w.clone());
        }
    }
}

fn options(writes: &[FieldWrite]) -> Option<Vec<(Value, Version)>> {
    merge::conflict(writes).map(|o| {
        o.into_iter()
            .map(|w| (w.value.clone(), w.version.clone()))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn every_replica_finds_the_same_conflict_and_loses_no_write(
        history in steps(),
        seed in any::<u64>(),
    ) {
        let mut views: Vec<Vec<FieldWrite>> = vec![Vec::new(); DESKS];
        // One HLC for all: a desk's stamp is past everything it has seen.
        let mut clock = 0i64;
        for s in &history {
            match *s {
                Step::Write(d, v) => {
                    let w = write(&views[d], d, v, &mut clock);
                    views[d].push(w);
                }
                Step::Sync(d, e) => {
                    let from = views[e].clone();
                    union(&mut views[d], &from);
                }
            }
        }
        let mut all = Vec::new();
        for v in &views {
            union(&mut all, v);
        }
        let expected = options(&all);
        // Any arrival order gives the same conflict.
        let mut shuffled = all.clone();
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(options(&shuffled), expected.clone());
        // Nothing silently lost.
        let shown = all.iter().max_by(|a, b| a.version.cmp(&b.version)).map(|w| w.value.clone());
        for w in &all {
            let replaced = all.iter().any(|o| {
                o.base.as_ref().is_some_and(|b| b.contains(&w.version))
            });
            let in_conflict = expected
                .as_ref()
                .is_some_and(|o| o.iter().any(|(v, _)| *v == w.value));
            prop_assert!(
                replaced || in_conflict || Some(&w.value) == shown.as_ref(),
                "write {:?} lost", w
            );
        }
        // The shown value (LWW) is always one of the conflict's options.
        if let (Some(o), Some(s)) = (&expected, &shown) {
            prop_assert_eq!(&o.last().unwrap().0, s);
        }
    }
}

#[test]
fn one_desk_editing_in_turn_makes_no_conflict_and_a_resolution_ends_one() {
    let mut clock = 0;
    let mut view = Vec::new();
    for v in 0..4 {
        let w = write(&view, 0, v, &mut clock);
        view.push(w);
    }
    assert_eq!(options(&view), None);
    // Two desks change the phone concurrently from the same base.
    let mut other = view.clone();
    let a = write(&view, 0, 7, &mut clock);
    let b = write(&other, 1, 8, &mut clock);
    view.push(a);
    other.push(b);
    union(&mut view, &other);
    let o = options(&view).expect("a conflict");
    assert_eq!(o.len(), 2);
    // A resolution names both heads: no conflict afterwards.
    let r = write(&view, 2, 9, &mut clock);
    view.push(r);
    assert_eq!(options(&view), None);
}

#[test]
fn an_empty_field_of_a_registration_is_no_write() {
    // Records merged at the server skip an insert's nulls too.
    let mut r = merge::Record::default();
    let mut full = Map::new();
    full.insert("phone".into(), json!("13800000001"));
    r.apply("visitor", &full, Op::Insert, &Version::new(Hlc(1), "a"));
    let mut empty = Map::new();
    empty.insert("phone".into(), Value::Null);
    empty.insert(merge::BY_KEY.into(), json!("staff"));
    r.apply("visitor", &empty, Op::Insert, &Version::new(Hlc(2), "b"));
    assert_eq!(r.values()["phone"], json!("13800000001"));
    assert!(!r.values().contains_key(merge::BY_KEY));
}
