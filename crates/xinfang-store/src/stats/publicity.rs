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
    /// The hall it was recorded at: its county (县、市、区) or the city bureau.
    pub hall_code: String,
    /// The county's name, e.g. 沁水县 (the code itself when the region table lacks it).
    pub county: String,
    #[serde(flatten)]
    pub activity: ValidPublicity,
}

impl Store {
    /// Records a publicity activity (法治宣传活动) of this desk's hall.
    pub fn add_publicity(&mut self, a: &ValidPublicity, by: &str) -> Result<PublicityRecord> {
        let tx = self.conn.savepoint()?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_text(&*self.clock);
        let units = serde_json::to_string(&a.units)?;
        tx.prepare_cached(
            "INSERT INTO publicity_activities(id, hall_code, held_on, place, units, kind, leaflets,
               consulted, reached, posts, reads, note, by_staff, created_at, campaign)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
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
            now,
            a.campaign
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
        f.insert("campaign".into(), json!(a.campaign));
        changelog::append(&tx, "publicity_activity", &id, Op::Insert, f, &now)?;
        tx.commit()?;
        Ok(PublicityRecord {
            id,
            county: county_name(&self.hall_code),
            hall_code: self.hall_code.clone(),
            activity: a.clone(),
        })
    }

    /// Publicity activities held in the period, oldest first; of one campaign when `campaign`
    /// is given (`Some("")`: those of no campaign).
    pub fn publicity_list(
        &self,
        period: &Period,
        campaign: Option<&str>,
    ) -> Result<Vec<PublicityRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, hall_code, held_on, place, units, kind, leaflets, consulted, reached, posts,
               reads, note, campaign FROM publicity_activities
             WHERE held_on BETWEEN ?1 AND ?2 AND (?3 IS NULL OR campaign = ?3)
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
            String,
        );
        let rows: Vec<Raw> = stmt
            .query_map(
                params![
                    period.from.to_string(),
                    period.to.to_string(),
                    campaign.map(stats::normalize_campaign)
                ],
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
                        r.get(12)?,
                    ))
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(
                |(id, hall_code, held, place, units, kind, n, note, campaign)| {
                    let n = n.map(|v| u32::try_from(v).unwrap_or(0));
                    Ok(PublicityRecord {
                        id,
                        county: county_name(&hall_code),
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
                            campaign,
                        },
                    })
                },
            )
            .collect()
    }

    /// The report's publicity figures for the period (of one campaign when given): events,
    /// distinct units, leaflets, consultations, beneficiaries, posts, reads; and the same per
    /// unit, kind, month and campaign.
    pub fn publicity_summary(
        &self,
        period: &Period,
        campaign: Option<&str>,
    ) -> Result<PublicitySummary> {
        let acts: Vec<ValidPublicity> = self
            .publicity_list(period, campaign)?
            .into_iter()
            .map(|r| r.activity)
            .collect();
        Ok(stats::summarize_publicity(&acts))
    }

    /// The campaigns this desk has recorded activities of, most recent first: what the form
    /// offers, so that every activity of a campaign carries the same name.
    pub fn publicity_campaigns(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT campaign FROM publicity_activities WHERE campaign <> ''
             GROUP BY campaign ORDER BY max(held_on) DESC, campaign LIMIT 50",
        )?;
        let names = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(names)
    }
}

/// A hall's county name from the region table, e.g. 沁水县 for 140521.
fn county_name(hall_code: &str) -> String {
    xinfang_core::regions::Regions::bundled()
        .short_name(hall_code)
        .unwrap_or(hall_code)
        .to_owned()
}
