//! The statistics of a period, computed once for the desk and the city (issues 14 and 21).
//!
//! A [`StatsAccumulator`] takes the facts of a period one row at a time — visits, their
//! consultations and mediations, the matters received, the deadlines settled or open, the
//! matters concluded with their evaluation — and adds them up with the rules of
//! [`crate::stats`]. The desk's store and the city's storage backend only *select* the rows (by
//! an index on the period's days, streamed, never all records) and feed them here, so the two
//! cannot count differently and memory does not grow with the size of the store: what is kept
//! is one counter per hall, day, category, … and the ids of the overdue matters.
//!
//! What a source must feed, each row once:
//! - every visit of the period ([`VisitRow`]), with its consultations and mediations;
//! - every matter received in the period ([`ReceivedRow`]);
//! - every limit of a matter that was done in the period, or that is undone and ran out before
//!   the day the figures are taken ([`DeadlineRow`]); for a matter without steps, whose limits
//!   are not stored, [`StatsAccumulator::registered_matter`] computes them;
//! - every matter concluded in the period, with its latest evaluation up to that day
//!   ([`ConcludedRow`]).
//!
//! Rows outside those sets are harmless (the rules leave them out) but cost time.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::calendar::HolidayCalendar;
use crate::matter::{DeadlineKind, DeadlineParty, MatterState, NamedDeadline};
use crate::stats::{self, Disposition, Evaluation, GROUP_VISIT_MIN_PEOPLE, Period, Rate};

/// One visit of the period.
#[derive(Debug, Clone, Copy)]
pub struct VisitRow<'a> {
    pub hall_code: &'a str,
    pub date: NaiveDate,
    pub head_count: u32,
    pub is_repeat: bool,
    pub appeal_kind: &'a str,
    pub category_code: &'a str,
    /// 涉及单位, trimmed; empty when none was written.
    pub agency: &'a str,
    pub clerk_id: &'a str,
    /// Whether the visit's matter is on record (有一录一).
    pub has_matter: bool,
    /// 越级访 (`crate::hall::skip_level`, stored with the visit).
    pub skip_level: bool,
}

/// One consultation (法律咨询) of a visit of the period.
#[derive(Debug, Clone, Copy)]
pub struct ConsultationRow<'a> {
    pub hall_code: &'a str,
    pub lawyer_id: &'a str,
    pub legal_route: &'a str,
    pub follow_up: bool,
    pub minutes: u64,
    pub has_advice: bool,
}

/// One mediation (人民调解) of a visit of the period.
#[derive(Debug, Clone, Copy)]
pub struct MediationRow<'a> {
    pub hall_code: &'a str,
    pub mediator_id: &'a str,
    /// `agreed`, `not_agreed` or `terminated`.
    pub outcome: &'a str,
    pub dispute_type: &'a str,
    pub judicial_confirmation: bool,
}

/// One matter received in the period.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedRow<'a> {
    pub hall_code: &'a str,
    pub received_on: NaiveDate,
    pub disposition: Option<Disposition>,
    /// The confirmed legal route, if any.
    pub legal_route: Option<&'a str>,
}

/// One limit of a matter (a row of its state's `deadlines`).
#[derive(Debug, Clone, Copy)]
pub struct DeadlineRow<'a> {
    pub matter_id: &'a str,
    pub hall_code: &'a str,
    pub kind: DeadlineKind,
    pub party: DeadlineParty,
    pub due: NaiveDate,
    pub done_on: Option<NaiveDate>,
    /// The matter is closed (终结): nothing of it is overdue.
    pub matter_closed: bool,
}

/// One matter concluded (信访处理意见书 issued) in the period.
#[derive(Debug, Clone, Copy)]
pub struct ConcludedRow<'a> {
    pub hall_code: &'a str,
    pub concluded_on: NaiveDate,
    /// The latest evaluation recorded up to the day the figures are taken.
    pub evaluation: Option<Evaluation>,
}

/// The figures of one hall (or of all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HallFigures {
    /// 来访批次
    pub visits: u64,
    /// 来访人次
    pub people: u64,
    pub first_visits: u64,
    pub repeat_visits: u64,
    /// 越级访
    pub skip_level_visits: u64,
    pub group_visits: u64,
    pub group_people: u64,
    /// Matters received in the period.
    pub matters_received: u64,
    pub consultations: u64,
    pub mediations: u64,
    pub mediations_agreed: u64,
    /// Matters not closed with an authority's limit run out undone.
    pub overdue_matters: u64,
    /// (numerator, denominator) of 及时受理率, 按期办结率, 参评率, 满意率.
    pub rates: [(u32, u32); 4],
}

impl HallFigures {
    pub fn add(&mut self, o: &HallFigures) {
        self.visits += o.visits;
        self.people += o.people;
        self.first_visits += o.first_visits;
        self.repeat_visits += o.repeat_visits;
        self.skip_level_visits += o.skip_level_visits;
        self.group_visits += o.group_visits;
        self.group_people += o.group_people;
        self.matters_received += o.matters_received;
        self.consultations += o.consultations;
        self.mediations += o.mediations;
        self.mediations_agreed += o.mediations_agreed;
        self.overdue_matters += o.overdue_matters;
        for (a, b) in self.rates.iter_mut().zip(o.rates) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }

    fn count(&mut self, i: usize, side: Option<bool>) {
        if let Some(counted) = side {
            self.rates[i].1 += 1;
            self.rates[i].0 += u32::from(counted);
        }
    }

    /// 及时受理率, 按期办结率, 参评率, 满意率.
    pub fn rate(&self, i: usize) -> Rate {
        Rate::new(self.rates[i].0, self.rates[i].1)
    }
}

/// How many rows of each kind were fed: what a test checks to see that a period reads only
/// that period's rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowsFed {
    pub visits: u64,
    pub consultations: u64,
    pub mediations: u64,
    pub received: u64,
    pub deadlines: u64,
    pub concluded: u64,
}

impl RowsFed {
    pub fn total(&self) -> u64 {
        self.visits
            + self.consultations
            + self.mediations
            + self.received
            + self.deadlines
            + self.concluded
    }

    /// Counts the rows read for another figure as read for this one.
    pub fn add(&mut self, o: RowsFed) {
        self.visits += o.visits;
        self.consultations += o.consultations;
        self.mediations += o.mediations;
        self.received += o.received;
        self.deadlines += o.deadlines;
        self.concluded += o.concluded;
    }
}

/// The statistics of a period, keyed by codes (the callers label them). Serialisable so a
/// source may keep the figures of a past day and add them up later (see [`Figures::add`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub period: Period,
    pub as_of: NaiveDate,
    pub total: HallFigures,
    /// Every hall that had a row, in code order.
    pub halls: BTreeMap<String, HallFigures>,
    pub by_day: BTreeMap<NaiveDate, u64>,
    /// `YYYY-MM`
    pub by_month: BTreeMap<String, u64>,
    /// `YYYY`
    pub by_year: BTreeMap<String, u64>,
    pub by_appeal_kind: BTreeMap<String, u64>,
    pub by_category: BTreeMap<String, u64>,
    /// Key "" for none written.
    pub by_agency: BTreeMap<String, u64>,
    pub by_clerk: BTreeMap<String, u64>,
    pub by_lawyer: BTreeMap<String, u64>,
    pub by_mediator: BTreeMap<String, u64>,
    pub consultation_routes: BTreeMap<String, u64>,
    pub consultation_follow_up: u64,
    pub consultation_minutes: u64,
    pub mediation_outcomes: BTreeMap<String, u64>,
    pub mediation_dispute_types: BTreeMap<String, u64>,
    pub judicial_confirmation: u64,
    /// Of the matters received in the period; `None` = not disposed of yet.
    #[serde(with = "pairs")]
    pub by_disposition: BTreeMap<Option<Disposition>, u64>,
    pub by_legal_route: BTreeMap<String, u64>,
    /// Overdue limits by kind (of matters not closed).
    pub overdue_by_deadline: BTreeMap<DeadlineKind, u64>,
    /// Latest evaluations of the matters concluded in the period.
    pub evaluations: BTreeMap<Evaluation, u64>,
    pub visits_without_matter: u64,
    pub matters_without_disposition: u64,
    pub consultations_without_advice: u64,
    pub rows: RowsFed,
}

fn add_map<K: Ord + Clone>(a: &mut BTreeMap<K, u64>, b: &BTreeMap<K, u64>) {
    for (k, n) in b {
        match a.get_mut(k) {
            Some(m) => *m += n,
            None => {
                a.insert(k.clone(), *n);
            }
        }
    }
}

impl Figures {
    /// Adds the figures of another, disjoint part of the period (e.g. one day's, kept from an
    /// earlier call): every count, map and rate side. `rows` is left alone — it tells the rows
    /// read for *this* figure, not those the added one was made from.
    pub fn add(&mut self, o: &Figures) {
        self.total.add(&o.total);
        for (code, h) in &o.halls {
            self.halls.entry(code.clone()).or_default().add(h);
        }
        add_map(&mut self.by_day, &o.by_day);
        add_map(&mut self.by_month, &o.by_month);
        add_map(&mut self.by_year, &o.by_year);
        add_map(&mut self.by_appeal_kind, &o.by_appeal_kind);
        add_map(&mut self.by_category, &o.by_category);
        add_map(&mut self.by_agency, &o.by_agency);
        add_map(&mut self.by_clerk, &o.by_clerk);
        add_map(&mut self.by_lawyer, &o.by_lawyer);
        add_map(&mut self.by_mediator, &o.by_mediator);
        add_map(&mut self.consultation_routes, &o.consultation_routes);
        self.consultation_follow_up += o.consultation_follow_up;
        self.consultation_minutes += o.consultation_minutes;
        add_map(&mut self.mediation_outcomes, &o.mediation_outcomes);
        add_map(
            &mut self.mediation_dispute_types,
            &o.mediation_dispute_types,
        );
        self.judicial_confirmation += o.judicial_confirmation;
        add_map(&mut self.by_disposition, &o.by_disposition);
        add_map(&mut self.by_legal_route, &o.by_legal_route);
        add_map(&mut self.overdue_by_deadline, &o.overdue_by_deadline);
        add_map(&mut self.evaluations, &o.evaluations);
        self.visits_without_matter += o.visits_without_matter;
        self.matters_without_disposition += o.matters_without_disposition;
        self.consultations_without_advice += o.consultations_without_advice;
    }
}

/// The rates the concluded matters make (参评率, 满意率: indexes into [`HallFigures::rates`]).
pub const CONCLUDED_RATES: [usize; 2] = [2, 3];

impl HallFigures {
    fn replace_concluded(&mut self, now: &HallFigures) {
        for i in CONCLUDED_RATES {
            self.rates[i] = now.rates[i];
        }
    }
}

impl Figures {
    /// Replaces what the concluded matters count in one day's figures (参评率, 满意率 and the
    /// evaluations: nothing else counts there, see [`StatsAccumulator::concluded`]) with what
    /// they count in `now`, the figures of the same day's conclusions alone, fed with other
    /// evaluations: a day's figures kept with every evaluation, taken as on an earlier day.
    /// `rows` is left alone.
    pub fn replace_concluded(&mut self, now: &Figures) {
        let none = HallFigures::default();
        for (code, h) in &mut self.halls {
            h.replace_concluded(now.halls.get(code).unwrap_or(&none));
        }
        for (code, n) in &now.halls {
            if !self.halls.contains_key(code) {
                let mut h = HallFigures::default();
                h.replace_concluded(n);
                self.halls.insert(code.clone(), h);
            }
        }
        self.total.replace_concluded(&now.total);
        self.evaluations = now.evaluations.clone();
    }
}

/// A map whose keys are not strings (`Option<Disposition>`), as a list of pairs in JSON.
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, K: Serialize, V: Serialize>(
        m: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        D: Deserializer<'de>,
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
    {
        Vec::<(K, V)>::deserialize(d).map(|v| v.into_iter().collect())
    }
}

/// Adds up the facts of a period; see the module docs for what to feed.
pub struct StatsAccumulator<'c> {
    period: Period,
    as_of: NaiveDate,
    cal: &'c HolidayCalendar,
    f: Figures,
    /// Overdue matters counted so far (a matter may have several overdue limits).
    overdue: HashSet<String>,
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    // No allocation for a key already there: the common case over thousands of rows.
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

impl<'c> StatsAccumulator<'c> {
    /// The figures of `period` taken on `today` (capped at the day after the period, see
    /// [`Period::as_of`]); `cal` gives the limits of matters without steps.
    pub fn new(period: Period, today: NaiveDate, cal: &'c HolidayCalendar) -> Self {
        let as_of = period.as_of(today);
        StatsAccumulator {
            period,
            as_of,
            cal,
            f: Figures {
                period,
                as_of,
                total: HallFigures::default(),
                halls: BTreeMap::new(),
                by_day: BTreeMap::new(),
                by_month: BTreeMap::new(),
                by_year: BTreeMap::new(),
                by_appeal_kind: BTreeMap::new(),
                by_category: BTreeMap::new(),
                by_agency: BTreeMap::new(),
                by_clerk: BTreeMap::new(),
                by_lawyer: BTreeMap::new(),
                by_mediator: BTreeMap::new(),
                consultation_routes: BTreeMap::new(),
                consultation_follow_up: 0,
                consultation_minutes: 0,
                mediation_outcomes: BTreeMap::new(),
                mediation_dispute_types: BTreeMap::new(),
                judicial_confirmation: 0,
                by_disposition: BTreeMap::new(),
                by_legal_route: BTreeMap::new(),
                overdue_by_deadline: BTreeMap::new(),
                evaluations: BTreeMap::new(),
                visits_without_matter: 0,
                matters_without_disposition: 0,
                consultations_without_advice: 0,
                rows: RowsFed::default(),
            },
            overdue: HashSet::new(),
        }
    }

    pub fn period(&self) -> &Period {
        &self.period
    }

    /// The day the figures are taken.
    pub fn as_of(&self) -> NaiveDate {
        self.as_of
    }

    /// The rows fed so far.
    pub fn rows(&self) -> RowsFed {
        self.f.rows
    }

    fn hall(&mut self, code: &str) -> &mut HallFigures {
        if !self.f.halls.contains_key(code) {
            self.f.halls.insert(code.to_owned(), HallFigures::default());
        }
        self.f.halls.get_mut(code).expect("inserted above")
    }

    /// A visit; one outside the period is left out.
    pub fn visit(&mut self, v: &VisitRow<'_>) {
        self.f.rows.visits += 1;
        if !self.period.contains(v.date) {
            return;
        }
        let h = self.hall(v.hall_code);
        let people = u64::from(v.head_count);
        h.visits += 1;
        h.people += people;
        if v.is_repeat {
            h.repeat_visits += 1;
        } else {
            h.first_visits += 1;
        }
        if v.skip_level {
            h.skip_level_visits += 1;
        }
        if v.head_count >= GROUP_VISIT_MIN_PEOPLE {
            h.group_visits += 1;
            h.group_people += people;
        }
        *self.f.by_day.entry(v.date).or_default() += 1;
        bump(&mut self.f.by_appeal_kind, v.appeal_kind);
        bump(&mut self.f.by_category, v.category_code);
        bump(&mut self.f.by_agency, v.agency.trim());
        bump(&mut self.f.by_clerk, v.clerk_id);
        if !v.has_matter {
            self.f.visits_without_matter += 1;
        }
    }

    /// A consultation of a visit of the period.
    pub fn consultation(&mut self, c: &ConsultationRow<'_>) {
        self.f.rows.consultations += 1;
        self.hall(c.hall_code).consultations += 1;
        bump(&mut self.f.by_lawyer, c.lawyer_id);
        bump(&mut self.f.consultation_routes, c.legal_route);
        self.f.consultation_follow_up += u64::from(c.follow_up);
        self.f.consultation_minutes += c.minutes;
        if !c.has_advice {
            self.f.consultations_without_advice += 1;
        }
    }

    /// A mediation of a visit of the period.
    pub fn mediation(&mut self, m: &MediationRow<'_>) {
        self.f.rows.mediations += 1;
        let agreed = m.outcome == crate::desk::MediationOutcome::Agreed.code();
        let h = self.hall(m.hall_code);
        h.mediations += 1;
        h.mediations_agreed += u64::from(agreed);
        bump(&mut self.f.by_mediator, m.mediator_id);
        bump(&mut self.f.mediation_outcomes, m.outcome);
        bump(&mut self.f.mediation_dispute_types, m.dispute_type);
        self.f.judicial_confirmation += u64::from(m.judicial_confirmation);
    }

    /// A matter received in the period; one received outside it is left out.
    pub fn received(&mut self, m: &ReceivedRow<'_>) {
        self.f.rows.received += 1;
        if !self.period.contains(m.received_on) {
            return;
        }
        self.hall(m.hall_code).matters_received += 1;
        *self.f.by_disposition.entry(m.disposition).or_default() += 1;
        if m.disposition.is_none() {
            self.f.matters_without_disposition += 1;
        }
        if let Some(r) = m.legal_route {
            bump(&mut self.f.by_legal_route, r);
        }
    }

    /// A limit of a matter: its side of 及时受理率 or 按期办结率 if it is settled in the period,
    /// and the overdue figures if it ran out undone.
    pub fn deadline(&mut self, d: &DeadlineRow<'_>) {
        self.f.rows.deadlines += 1;
        let named = NamedDeadline {
            kind: d.kind,
            label_zh: String::new(),
            basis_zh: String::new(),
            party: d.party,
            start: d.due,
            days: 0,
            due: d.due,
            moved: false,
            calendar_known: true,
            done_on: d.done_on,
        };
        let rate = match d.kind {
            DeadlineKind::Disposition => Some(0),
            DeadlineKind::Conclusion => Some(1),
            _ => None,
        };
        let (period, as_of) = (self.period, self.as_of);
        if let Some(i) = rate {
            let side = stats::deadline_outcome(&named, &period, as_of);
            self.hall(d.hall_code).count(i, side);
        }
        if !d.matter_closed && named.is_overdue(as_of) {
            *self.f.overdue_by_deadline.entry(d.kind).or_default() += 1;
            if !self.overdue.contains(d.matter_id) {
                self.overdue.insert(d.matter_id.to_owned());
                self.hall(d.hall_code).overdue_matters += 1;
            }
        }
    }

    /// A matter without steps yet (no stored state): its limits as registered on
    /// `received_on`, from the calendar.
    pub fn registered_matter(&mut self, matter_id: &str, hall_code: &str, received_on: NaiveDate) {
        let state = MatterState::registered(received_on, self.cal);
        for d in &state.deadlines {
            self.deadline(&DeadlineRow {
                matter_id,
                hall_code,
                kind: d.kind,
                party: d.party,
                due: d.due,
                done_on: d.done_on,
                matter_closed: false,
            });
        }
    }

    /// A matter concluded in the period: 参评率 and 满意率 ([`CONCLUDED_RATES`]), and the
    /// evaluations — nothing else (see [`Figures::replace_concluded`]).
    pub fn concluded(&mut self, c: &ConcludedRow<'_>) {
        self.f.rows.concluded += 1;
        if !self.period.contains(c.concluded_on) {
            return;
        }
        let h = self.hall(c.hall_code);
        let [evaluated, satisfied] = CONCLUDED_RATES;
        h.count(evaluated, Some(c.evaluation.is_some()));
        h.count(satisfied, c.evaluation.map(Evaluation::is_satisfied));
        if let Some(e) = c.evaluation {
            *self.f.evaluations.entry(e).or_default() += 1;
        }
    }

    /// The figures: the halls' sums as the total, days rolled up into months and years.
    pub fn finish(mut self) -> Figures {
        let mut total = HallFigures::default();
        for h in self.f.halls.values() {
            total.add(h);
        }
        self.f.total = total;
        for (day, n) in &self.f.by_day {
            *self
                .f
                .by_month
                .entry(format!("{:04}-{:02}", day.year(), day.month()))
                .or_default() += n;
            *self
                .f
                .by_year
                .entry(format!("{:04}", day.year()))
                .or_default() += n;
        }
        self.f
    }
}

/// The first day that a matter without steps received on or before it can be overdue on
/// `as_of`: its one limit (登记之日起15日) never ends before `received_on + 15` days, so only
/// matters received before `as_of - 15` days can have run out. Sources use it to select
/// those matters by an index on `received_on`.
pub fn registered_overdue_cutoff(as_of: NaiveDate) -> NaiveDate {
    as_of
        .checked_sub_days(chrono::Days::new(crate::matter::DECISION_DAYS.into()))
        .unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matter::{MatterEvent, MatterStatus};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn visit<'a>(hall: &'a str, date: &str, head: u32, repeat: bool) -> VisitRow<'a> {
        VisitRow {
            hall_code: hall,
            date: d(date),
            head_count: head,
            is_repeat: repeat,
            appeal_kind: "claim",
            category_code: "01",
            agency: "",
            clerk_id: "c1",
            has_matter: true,
            skip_level: false,
        }
    }

    /// 越级访 are counted per hall within the period, beside the other visit counts.
    #[test]
    fn skip_level_visits_are_counted_in_their_period() {
        let cal = HolidayCalendar::bundled();
        let march = Period::new(d("2025-03-01"), d("2025-03-31")).unwrap();
        let mut acc = StatsAccumulator::new(march, d("2025-06-01"), &cal);
        let skipped = |date| VisitRow {
            skip_level: true,
            ..visit("140500", date, 1, false)
        };
        acc.visit(&skipped("2025-03-03"));
        acc.visit(&skipped("2025-04-03"));
        acc.visit(&visit("140500", "2025-03-05", 1, false));
        let f = acc.finish();
        assert_eq!((f.total.visits, f.total.skip_level_visits), (2, 1));
        assert_eq!(f.halls["140500"].skip_level_visits, 1);
    }

    /// The accumulator fed a matter's stored deadlines gives the rates that
    /// `xinfang_core::stats` gives for its state.
    #[test]
    fn rates_from_deadline_rows_equal_the_rules_on_the_state() {
        let cal = HolidayCalendar::bundled();
        let march = Period::new(d("2025-03-01"), d("2025-03-31")).unwrap();
        let accepted = MatterState::replay(
            d("2025-03-03"),
            &[
                MatterEvent::Accept {
                    at: d("2025-03-10"),
                    notice_no: None,
                },
                MatterEvent::Conclude {
                    at: d("2025-03-28"),
                    opinion_summary: "已答复".into(),
                    details: Default::default(),
                },
            ],
            &cal,
        )
        .unwrap();
        let mut acc = StatsAccumulator::new(march, d("2025-06-01"), &cal);
        for dl in &accepted.deadlines {
            acc.deadline(&DeadlineRow {
                matter_id: "m1",
                hall_code: "140521",
                kind: dl.kind,
                party: dl.party,
                due: dl.due,
                done_on: dl.done_on,
                matter_closed: accepted.status == MatterStatus::Closed,
            });
        }
        // Registered 1 March, nothing done: its limit (16 March) ran out in March.
        acc.registered_matter("m2", "140521", d("2025-03-01"));
        // Registered 28 March: due in April, not counted in March.
        acc.registered_matter("m3", "140521", d("2025-03-28"));
        acc.concluded(&ConcludedRow {
            hall_code: "140521",
            concluded_on: d("2025-03-28"),
            evaluation: Some(Evaluation::BasicallySatisfied),
        });
        acc.visit(&visit("140521", "2025-03-03", 6, false));
        acc.visit(&visit("140521", "2025-03-04", 1, true));
        acc.visit(&visit("140521", "2025-04-04", 1, true));
        let f = acc.finish();
        let h = &f.halls["140521"];
        assert_eq!(
            (
                h.rate(0),
                h.rate(1),
                h.rate(2),
                h.rate(3),
                stats::timely_acceptance(&accepted, &march, f.as_of)
            ),
            (
                Rate::new(1, 2),
                Rate::new(1, 1),
                Rate::new(1, 1),
                Rate::new(1, 1),
                Some(true)
            )
        );
        assert_eq!(f.as_of, d("2025-04-01"));
        // m2 and m3 are both overdue on 1 April (m3 due 12 April is not).
        assert_eq!(h.overdue_matters, 1);
        assert_eq!(
            (
                h.visits,
                h.people,
                h.repeat_visits,
                h.group_visits,
                h.group_people
            ),
            (2, 7, 1, 1, 6)
        );
        assert_eq!(f.by_month.get("2025-03"), Some(&2));
        assert_eq!(f.rows.visits, 3);
        assert_eq!(f.total, *h);
    }

    #[test]
    fn an_overdue_matter_counts_once_with_each_limit() {
        let cal = HolidayCalendar::bundled();
        let p = Period::new(d("2025-05-01"), d("2025-05-31")).unwrap();
        let mut acc = StatsAccumulator::new(p, d("2025-05-20"), &cal);
        for kind in [DeadlineKind::AcceptanceDecision, DeadlineKind::ReportBack] {
            acc.deadline(&DeadlineRow {
                matter_id: "m1",
                hall_code: "140522",
                kind,
                party: DeadlineParty::Authority,
                due: d("2025-05-02"),
                done_on: None,
                matter_closed: false,
            });
        }
        // Closed matters and visitors' windows are never overdue.
        acc.deadline(&DeadlineRow {
            matter_id: "m2",
            hall_code: "140522",
            kind: DeadlineKind::ReviewRequest,
            party: DeadlineParty::Visitor,
            due: d("2025-05-02"),
            done_on: None,
            matter_closed: false,
        });
        acc.deadline(&DeadlineRow {
            matter_id: "m3",
            hall_code: "140522",
            kind: DeadlineKind::Conclusion,
            party: DeadlineParty::Authority,
            due: d("2025-05-02"),
            done_on: None,
            matter_closed: true,
        });
        let f = acc.finish();
        assert_eq!(f.total.overdue_matters, 1);
        assert_eq!(f.overdue_by_deadline.values().sum::<u64>(), 2);
        // The closed matter's conclusion limit still ran out late in May.
        assert_eq!(f.total.rates[1], (0, 1));
    }

    #[test]
    fn registered_matters_before_the_cutoff_are_the_only_ones_that_can_be_late() {
        let cal = HolidayCalendar::bundled();
        let as_of = d("2025-10-20");
        let cutoff = registered_overdue_cutoff(as_of);
        let mut day = d("2025-08-01");
        while day <= as_of {
            let s = MatterState::registered(day, &cal);
            let late = s.deadlines.iter().any(|x| x.is_overdue(as_of));
            assert!(!late || day < cutoff, "{day} late but after {cutoff}");
            day = day.succ_opt().unwrap();
        }
    }
}
