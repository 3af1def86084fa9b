//! A period's statistics from figures kept per day (issue 21), once for the desk and the city.
//!
//! The figures of a day depend only on that day's rows — its visits with their consultations
//! and mediations, the matters received, the limits done and the matters concluded on it — and
//! on the evaluations recorded for those matters. So each day's figures, once added up, can be
//! kept (the desk's and the city's `stats_days`, dropped by trigger whenever one of the day's
//! rows is written), and a period adds up its days' figures instead of its rows. What depends
//! on the day the figures are taken (limits run out undone) is read at every call, by the
//! caller, and is not part of a day.
//!
//! The store keeps and reads the days; [`add_days`] decides which days come from where.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::calendar::HolidayCalendar;
use crate::stats::Period;
use crate::tally::{Figures, RowsFed, StatsAccumulator};

/// Where a row goes: the one accumulator of a period, or the accumulator of the row's day
/// ([`ByDay`]).
pub trait Sink<'c> {
    fn at(&mut self, day: NaiveDate) -> &mut StatsAccumulator<'c>;
}

impl<'c> Sink<'c> for StatsAccumulator<'c> {
    fn at(&mut self, _: NaiveDate) -> &mut StatsAccumulator<'c> {
        self
    }
}

/// One accumulator per day: the figures of each day of a range, from one pass over its rows.
pub struct ByDay<'c> {
    cal: &'c HolidayCalendar,
    days: BTreeMap<NaiveDate, StatsAccumulator<'c>>,
}

impl<'c> ByDay<'c> {
    pub fn new(cal: &'c HolidayCalendar) -> Self {
        ByDay {
            cal,
            days: BTreeMap::new(),
        }
    }

    /// The figures of `day`: its rows', or a day's without any.
    fn take(&mut self, day: NaiveDate) -> Figures {
        match self.days.remove(&day) {
            Some(acc) => acc.finish(),
            None => StatsAccumulator::new(Period { from: day, to: day }, day, self.cal).finish(),
        }
    }
}

impl<'c> Sink<'c> for ByDay<'c> {
    fn at(&mut self, day: NaiveDate) -> &mut StatsAccumulator<'c> {
        let cal = self.cal;
        self.days
            .entry(day)
            .or_insert_with(|| StatsAccumulator::new(Period { from: day, to: day }, day, cal))
    }
}

/// A day's figures as kept, with the latest day an evaluation was recorded for a matter
/// concluded on it: figures taken before that day must not count it.
#[derive(Debug, Clone)]
pub struct KeptDay {
    pub figures: Figures,
    pub evaluated_until: Option<NaiveDate>,
}

/// The rows of days, as a store selects them.
pub trait DayRows<'c> {
    type Error;

    /// Feeds the rows that belong to the days `from..=to` alone, each to `sink.at(its day)`:
    /// visits with their consultations and mediations, matters received, limits done (the
    /// rated kinds), matters concluded with their latest evaluation recorded up to
    /// `evaluated_until` (every evaluation when `None`).
    fn feed_days(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
        evaluated_until: Option<NaiveDate>,
        sink: &mut dyn Sink<'c>,
    ) -> Result<(), Self::Error>;

    /// Feeds only the matters concluded on the days `from..=to`, each with its latest
    /// evaluation recorded up to `evaluated_until` (every evaluation when `None`), as
    /// [`DayRows::feed_days`] feeds them: the one part of a day's figures that depends on the
    /// day they are taken.
    fn feed_concluded(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
        evaluated_until: Option<NaiveDate>,
        sink: &mut dyn Sink<'c>,
    ) -> Result<(), Self::Error>;

    /// For each day of `from..=to`, the latest day an evaluation was recorded for a matter
    /// concluded on it.
    fn latest_evaluations(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, NaiveDate>, Self::Error>;
}

/// `evaluated_until` as the day a store's SQL compares evaluations' days with: every
/// evaluation when `None`.
pub fn evaluated_until_text(evaluated_until: Option<NaiveDate>) -> String {
    evaluated_until.map_or_else(|| "9999-12-31".to_owned(), |d| d.to_string())
}

/// The most days added up from their rows in one pass: one accumulator per day is held
/// meanwhile (the city server peaked at 169 MB adding up three years in one pass).
const RUN_DAYS: i64 = 31;

/// Adds the days of `period` to `out`, taken on `as_of`: a day kept in `kept` from there, the
/// others added up from their rows — each run of such days (at most [`RUN_DAYS`]) in one pass.
/// Returns the days added up, for the store to keep.
///
/// A day whose conclusions were evaluated after `as_of` counts only the evaluations until then:
/// its conclusions are read again with the evaluations until `as_of`, and what they count
/// replaces that part of the kept figures (what is kept stays the day's figures with every
/// evaluation).
/// Last month's statistics meet such days every day of the month after (evaluations come in
/// the weeks after a conclusion), and reading all their rows again took most of the month's
/// time at the benchmark's scale.
pub fn add_days<'c, R: DayRows<'c>>(
    rows: &mut R,
    period: Period,
    as_of: NaiveDate,
    cal: &'c HolidayCalendar,
    kept: &BTreeMap<NaiveDate, KeptDay>,
    out: &mut Figures,
) -> Result<Vec<(NaiveDate, KeptDay)>, R::Error> {
    let mut fresh = Vec::new();
    let mut run: Option<(NaiveDate, NaiveDate)> = None;
    let days = period.from.iter_days().take_while(|d| *d <= period.to);
    // A day past the end closes the last run.
    for d in days.map(Some).chain([None]) {
        let k = d.and_then(|d| kept.get(&d));
        if let (Some(d), None) = (d, k) {
            // A run ends at RUN_DAYS: what is held while it is added up stays bounded, whatever
            // the period.
            if let Some(r) = run.filter(|r| (d - r.0).num_days() >= RUN_DAYS) {
                add_run(rows, r, as_of, cal, out, &mut fresh)?;
                run = None;
            }
            run = Some((run.map_or(d, |r| r.0), d));
            continue;
        }
        if let Some(r) = run.take() {
            add_run(rows, r, as_of, cal, out, &mut fresh)?;
        }
        if let (Some(d), Some(k)) = (d, k) {
            if k.evaluated_until.is_some_and(|u| u > as_of) {
                let mut now = k.figures.clone();
                let read = evaluations_until(rows, d, as_of, cal, &mut now)?;
                out.add(&now);
                out.rows.add(read);
            } else {
                out.add(&k.figures);
            }
        }
    }
    Ok(fresh)
}

/// The days `a..=b`, none kept: added up from their rows in one pass, added to `out`, and
/// pushed to `fresh` to be kept.
fn add_run<'c, R: DayRows<'c>>(
    rows: &mut R,
    (a, b): (NaiveDate, NaiveDate),
    as_of: NaiveDate,
    cal: &'c HolidayCalendar,
    out: &mut Figures,
    fresh: &mut Vec<(NaiveDate, KeptDay)>,
) -> Result<(), R::Error> {
    let mut by_day = ByDay::new(cal);
    rows.feed_days(a, b, None, &mut by_day)?;
    let latest = rows.latest_evaluations(a, b)?;
    for d in a.iter_days().take_while(|d| *d <= b) {
        let figures = by_day.take(d);
        let evaluated_until = latest.get(&d).copied();
        if evaluated_until.is_none_or(|u| u <= as_of) {
            add_read(out, &figures);
        } else {
            let mut now = figures.clone();
            let read = evaluations_until(rows, d, as_of, cal, &mut now)?;
            add_read(out, &now);
            out.rows.add(read);
        }
        fresh.push((
            d,
            KeptDay {
                figures,
                evaluated_until,
            },
        ));
    }
    Ok(())
}

/// Makes `figures`, day `d`'s with every evaluation, the day's as taken on `as_of`: what its
/// conclusions count replaced by what they count with the evaluations recorded until then,
/// the only rows read again. Returns the rows read.
fn evaluations_until<'c, R: DayRows<'c>>(
    rows: &mut R,
    d: NaiveDate,
    as_of: NaiveDate,
    cal: &'c HolidayCalendar,
    figures: &mut Figures,
) -> Result<RowsFed, R::Error> {
    let mut acc = StatsAccumulator::new(Period { from: d, to: d }, d, cal);
    rows.feed_concluded(d, d, Some(as_of), &mut acc)?;
    let until = acc.finish();
    figures.replace_concluded(&until);
    Ok(until.rows)
}

/// Adds figures just added up from rows: their counts, and the rows read for them count as
/// read for `out` (see [`Figures::add`]).
fn add_read(out: &mut Figures, f: &Figures) {
    out.add(f);
    out.rows.add(f.rows);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::VisitRow;

    /// One visit a day; records the ranges it was asked for.
    struct OneADay {
        asked: Vec<(NaiveDate, NaiveDate)>,
    }

    impl<'c> DayRows<'c> for OneADay {
        type Error = ();

        fn feed_days(
            &mut self,
            from: NaiveDate,
            to: NaiveDate,
            _: Option<NaiveDate>,
            sink: &mut dyn Sink<'c>,
        ) -> Result<(), ()> {
            self.asked.push((from, to));
            for date in from.iter_days().take_while(|d| *d <= to) {
                sink.at(date).visit(&VisitRow {
                    hall_code: "140521",
                    date,
                    head_count: 1,
                    is_repeat: false,
                    appeal_kind: "complaint",
                    category_code: "labor",
                    agency: "",
                    clerk_id: "c",
                    has_matter: false,
                    skip_level: false,
                });
            }
            Ok(())
        }

        fn feed_concluded(
            &mut self,
            _: NaiveDate,
            _: NaiveDate,
            _: Option<NaiveDate>,
            _: &mut dyn Sink<'c>,
        ) -> Result<(), ()> {
            Ok(())
        }

        fn latest_evaluations(
            &mut self,
            _: NaiveDate,
            _: NaiveDate,
        ) -> Result<BTreeMap<NaiveDate, NaiveDate>, ()> {
            Ok(BTreeMap::new())
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Days not kept are read in runs of at most a month, each once; kept days are not read; the
    /// sum is every day's either way.
    #[test]
    fn days_not_kept_are_read_in_bounded_runs_and_kept_ones_not_at_all() {
        let cal = HolidayCalendar::bundled();
        let period = Period::new(d("2025-01-01"), d("2025-04-30")).unwrap();
        let as_of = d("2025-05-01");
        let mut rows = OneADay { asked: Vec::new() };
        let mut out = StatsAccumulator::new(period, as_of, &cal).finish();
        let fresh = add_days(&mut rows, period, as_of, &cal, &BTreeMap::new(), &mut out).unwrap();
        assert_eq!(
            (out.total.visits, out.rows.visits, fresh.len()),
            (120, 120, 120)
        );
        assert!(
            rows.asked
                .iter()
                .all(|(a, b)| (*b - *a).num_days() < RUN_DAYS)
        );
        let read: i64 = rows
            .asked
            .iter()
            .map(|(a, b)| (*b - *a).num_days() + 1)
            .sum();
        assert_eq!(read, 120);

        // Every day but 2025-03-15 kept.
        let kept: BTreeMap<NaiveDate, KeptDay> = fresh
            .into_iter()
            .filter(|(day, _)| *day != d("2025-03-15"))
            .collect();
        let mut rows = OneADay { asked: Vec::new() };
        let mut out = StatsAccumulator::new(period, as_of, &cal).finish();
        let fresh = add_days(&mut rows, period, as_of, &cal, &kept, &mut out).unwrap();
        assert_eq!((out.total.visits, out.rows.visits), (120, 1));
        assert_eq!(rows.asked, vec![(d("2025-03-15"), d("2025-03-15"))]);
        assert_eq!(fresh.len(), 1);
    }

    /// A visit and a conclusion every day; each conclusion evaluated 满意 twenty days later
    /// and 不满意 (the one that counts once recorded) thirty days later. Records what it was
    /// asked for.
    #[derive(Default)]
    struct Evaluated {
        days: Vec<(NaiveDate, NaiveDate)>,
        concluded: Vec<(NaiveDate, NaiveDate)>,
    }

    fn conclusions<'c>(
        from: NaiveDate,
        to: NaiveDate,
        until: Option<NaiveDate>,
        sink: &mut dyn Sink<'c>,
    ) {
        use crate::stats::Evaluation::{Satisfied, Unsatisfied};
        use crate::tally::ConcludedRow;
        for date in from.iter_days().take_while(|d| *d <= to) {
            let evaluation = [(20, Satisfied), (30, Unsatisfied)]
                .into_iter()
                .rfind(|(after, _)| until.is_none_or(|u| date + chrono::Days::new(*after) <= u))
                .map(|(_, e)| e);
            sink.at(date).concluded(&ConcludedRow {
                hall_code: "140521",
                concluded_on: date,
                evaluation,
            });
        }
    }

    impl<'c> DayRows<'c> for Evaluated {
        type Error = ();

        fn feed_days(
            &mut self,
            from: NaiveDate,
            to: NaiveDate,
            until: Option<NaiveDate>,
            sink: &mut dyn Sink<'c>,
        ) -> Result<(), ()> {
            self.days.push((from, to));
            OneADay { asked: Vec::new() }.feed_days(from, to, until, sink)?;
            conclusions(from, to, until, sink);
            Ok(())
        }

        fn feed_concluded(
            &mut self,
            from: NaiveDate,
            to: NaiveDate,
            until: Option<NaiveDate>,
            sink: &mut dyn Sink<'c>,
        ) -> Result<(), ()> {
            self.concluded.push((from, to));
            conclusions(from, to, until, sink);
            Ok(())
        }

        fn latest_evaluations(
            &mut self,
            from: NaiveDate,
            to: NaiveDate,
        ) -> Result<BTreeMap<NaiveDate, NaiveDate>, ()> {
            Ok(from
                .iter_days()
                .take_while(|d| *d <= to)
                .map(|d| (d, d + chrono::Days::new(30)))
                .collect())
        }
    }

    /// Last month's figures, taken on the 1st of this one, count only the evaluations recorded
    /// until then. A kept day with later evaluations reads again only its conclusions (it read
    /// all its rows), and the sum is the one every row fed with those evaluations gives.
    #[test]
    fn a_kept_day_evaluated_later_reads_only_its_conclusions_again() {
        let cal = HolidayCalendar::bundled();
        let march = Period::new(d("2025-03-01"), d("2025-03-31")).unwrap();
        let as_of = d("2025-04-01");
        let mut direct = StatsAccumulator::new(march, as_of, &cal);
        Evaluated::default()
            .feed_days(march.from, march.to, Some(as_of), &mut direct)
            .unwrap();
        let direct = direct.finish();
        // 参评: the days until 12 March were evaluated by 1 April; of them, those until 2 March
        // were 不满意 by then.
        assert_eq!(direct.total.rates[2], (12, 31));
        assert_eq!(direct.total.rates[3], (10, 12));

        let mut rows = Evaluated::default();
        let mut out = StatsAccumulator::new(march, as_of, &cal).finish();
        let fresh = add_days(&mut rows, march, as_of, &cal, &BTreeMap::new(), &mut out).unwrap();
        assert_eq!(out.total, direct.total);
        assert_eq!(out.evaluations, direct.evaluations);
        assert_eq!(rows.days, vec![(march.from, d("2025-03-31"))]);

        // Every day kept, with every evaluation (each 不满意).
        let kept: BTreeMap<NaiveDate, KeptDay> = fresh.into_iter().collect();
        assert!(kept.values().all(|k| k.figures.total.rates[3] == (0, 1)));
        let mut rows = Evaluated::default();
        let mut out = StatsAccumulator::new(march, as_of, &cal).finish();
        let fresh = add_days(&mut rows, march, as_of, &cal, &kept, &mut out).unwrap();
        assert!(fresh.is_empty());
        assert_eq!(out.total, direct.total);
        assert_eq!(out.evaluations, direct.evaluations);
        assert!(rows.days.is_empty(), "{:?}", rows.days);
        // The days evaluated after 1 April (3 March on), once each: with the evaluations until
        // then.
        let later: Vec<(NaiveDate, NaiveDate)> = d("2025-03-03")
            .iter_days()
            .take_while(|d| *d <= march.to)
            .map(|d| (d, d))
            .collect();
        assert_eq!(rows.concluded, later);
        assert_eq!((out.rows.visits, out.rows.concluded), (0, 29));
    }
}
