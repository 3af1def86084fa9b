//! Publicity activities (法治宣传活动) of the hall and the report's figures over them.

use rusqlite::params;
use serde::Serialize;
use serde_json::{Map, json};
use xinfang_core::stats::{self, Period, PublicitySummary, ValidPublicity};

use super::parse_date;
use crate::changelog::{self, Op};
use crate::{Result, Store, now_text};

/// A publicity activity as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PublicityRecord {
    pub id: String,
    pub hall_code: String,
    #[serde(flatten)]
    pub activity: ValidPublicity,
}

impl Store {
    /// Records a publicity activity (法治宣传活动) of this desk's hall.
    pub fn add_publicity(&mut self, a: &ValidPublicity, by: &str) -> Result<PublicityRecord> {
        let tx = self.conn.transaction()?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_text(&*self.clock);
        let units = serde_json::to_string(&a.units)?;
        tx.prepare_cached(
            "INSERT INTO publicity_activities(id, hall_code, held_on, place, units, kind, leaflets,
               consulted, reached, posts, reads, note, by_staff, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(params![
            id,
            self.hall_code,
            a.held_on.to_string(),
            a.place,
            units,
            a.kind,
            a.leaflets,
            a.consulted,
            a.reached,
            a.posts,
            a.reads,
            a.note,
            by,
            now
        ])?;
        let mut f = Map::new();
        f.insert("hall_code".into(), json!(self.hall_code));
        f.insert("held_on".into(), json!(a.held_on.to_string()));
        f.insert("place".into(), json!(a.place));
        f.insert("units".into(), json!(units));
        f.insert("kind".into(), json!(a.kind));
        f.insert("leaflets".into(), json!(a.leaflets));
        f.insert("consulted".into(), json!(a.consulted));
        f.insert("reached".into(), json!(a.reached));
        f.insert("posts".into(), json!(a.posts));
        f.insert("reads".into(), json!(a.reads));
        f.insert("note".into(), json!(a.note));
        f.insert("by_staff".into(), json!(by));
        f.insert("created_at".into(), json!(now));
        changelog::append(&tx, "publicity_activity", &id, Op::Insert, f, &now)?;
        tx.commit()?;
        Ok(PublicityRecord {
            id,
            hall_code: self.hall_code.clone(),
            activity: a.clone(),
        })
    }

    /// Publicity activities held in the period, oldest first.
    pub fn publicity_list(&self, period: &Period) -> Result<Vec<PublicityRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, hall_code, held_on, place, units, kind, leaflets, consulted, reached, posts,
               reads, note FROM publicity_activities WHERE held_on BETWEEN ?1 AND ?2
             ORDER BY held_on, id",
        )?;
        type Raw = (
            String,
            String,
            String,
            String,
            String,
            String,
            [i64; 5],
            String,
        );
        let rows: Vec<Raw> = stmt
            .query_map(
                params![period.from.to_string(), period.to.to_string()],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?],
                        r.get(11)?,
                    ))
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|(id, hall_code, held, place, units, kind, n, note)| {
                let n = n.map(|v| u32::try_from(v).unwrap_or(0));
                Ok(PublicityRecord {
                    id,
                    hall_code,
                    activity: ValidPublicity {
                        held_on: parse_date(&held)?,
                        place,
                        units: serde_json::from_str(&units)?,
                        kind_label: stats::publicity_kind(&kind)
                            .map_or_else(|| kind.clone(), |k| k.1.to_owned()),
                        kind,
                        leaflets: n[0],
                        consulted: n[1],
                        reached: n[2],
                        posts: n[3],
                        reads: n[4],
                        note,
                    },
                })
            })
            .collect()
    }

    /// The report's publicity figures for the period: events, distinct units, leaflets,
    /// consultations, beneficiaries, posts, reads; and the same per unit, kind and month.
    pub fn publicity_summary(&self, period: &Period) -> Result<PublicitySummary> {
        let acts: Vec<ValidPublicity> = self
            .publicity_list(period)?
            .into_iter()
            .map(|r| r.activity)
            .collect();
        Ok(stats::summarize_publicity(&acts))
    }
}
