//! Exchange rates and the two conversion policies.
//!
//! Rates are facts in the log (`FxFixingsPublished`, one event per publication day), folded
//! into a [`RateTable`]. A conversion never touches a stored event: it is computed when a report
//! asks, under a named policy, from the fixings known at the moment the report is "as known on".
//!
//! - `event-date`: the fixing of the event's effective date, else the latest fixing at most
//!   [`EVENT_DATE_WINDOW_DAYS`] days earlier (the date used is reported); none in that window
//!   means *unconverted*, with the reason — never zero, never silently stale.
//! - `period-average`: the mean of the fixings available in the event's half-year.
//!
//! Currencies that joined the euro convert at their irrevocable rate from the day they joined,
//! under both policies. Each value is rounded half-to-even to the cent; totals are sums of
//! rounded values, so a total always equals the sum of the figures shown for its parts.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use jiff::civil::{Date, Weekday};
use jiff::{Timestamp, ToSpan};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, Field, Reason, Rejection};
use crate::events::EventMeta;
use crate::money::{Currency, Money};
use crate::period::HalfYear;

/// How far back `event-date` may look for a fixing when the effective date has none.
pub const EVENT_DATE_WINDOW_DAYS: i8 = 7;

/// The publisher of the reference rates the ledger records.
pub const ECB: &str = "ECB";

/// One day's reference rates as published: units of each currency per one euro.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FxFixingsPublished {
    /// The publisher (`ECB`).
    pub source: String,
    pub date: Date,
    pub rates: BTreeMap<Currency, Decimal>,
}

/// The rule that turns an amount in its own currency into euros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FxPolicy {
    /// The fixing of the event's effective date, or the latest one up to 7 days earlier.
    EventDate,
    /// The mean of the fixings in the event's reporting half-year.
    PeriodAverage,
}

impl FxPolicy {
    pub const ALL: [FxPolicy; 2] = [FxPolicy::EventDate, FxPolicy::PeriodAverage];

    pub fn as_str(self) -> &'static str {
        match self {
            FxPolicy::EventDate => "event-date",
            FxPolicy::PeriodAverage => "period-average",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        FxPolicy::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// One sentence describing the policy, for a report's method.
    pub fn describe(self) -> String {
        match self {
            FxPolicy::EventDate => format!(
                "ECB reference rate of each event's effective date, else the latest fixing up to {EVENT_DATE_WINDOW_DAYS} days earlier; none in that window leaves the value unconverted"
            ),
            FxPolicy::PeriodAverage => {
                "mean of the ECB reference rates published in each event's half-year".to_owned()
            }
        }
    }
}

impl fmt::Display for FxPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The irrevocable conversion rates of currencies that joined the euro after the ECB's daily
/// history began (units per euro, fixed by the Council of the EU), with the day they joined.
const EURO_CHANGEOVERS: &[(&str, (i16, i8, i8), &str)] = &[
    ("SIT", (2007, 1, 1), "239.640"),
    ("CYP", (2008, 1, 1), "0.585274"),
    ("MTL", (2008, 1, 1), "0.429300"),
    ("SKK", (2009, 1, 1), "30.1260"),
    ("EEK", (2011, 1, 1), "15.6466"),
    ("LVL", (2014, 1, 1), "0.702804"),
    ("LTL", (2015, 1, 1), "3.45280"),
    ("HRK", (2023, 1, 1), "7.53450"),
    ("BGN", (2026, 1, 1), "1.95583"),
];

/// The irrevocable euro conversion of a currency that had joined the euro by `date`.
pub fn euro_changeover(currency: Currency, date: Date) -> Option<(Date, Decimal)> {
    EURO_CHANGEOVERS
        .iter()
        .find(|(code, _, _)| *code == currency.code())
        .and_then(|(_, (y, m, d), rate)| {
            let joined = Date::new(*y, *m, *d).ok()?;
            let rate = rate.parse().ok()?;
            (date >= joined).then_some((joined, rate))
        })
}

/// Which rate a conversion used, so a report can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RateBasis {
    /// The amount was already in euros.
    Euro,
    /// The ECB fixing of this date (the effective date, or an earlier one within the window).
    Fixing { date: Date },
    /// The irrevocable rate of a currency that joined the euro on `joined`.
    Irrevocable { joined: Date },
    /// The mean of `fixings` ECB fixings in `period`.
    PeriodMean { period: HalfYear, fixings: u32 },
}

/// A value converted to euros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Converted {
    /// Euros, rounded half-to-even to the cent.
    pub eur: Decimal,
    /// Units of the original currency per euro.
    pub rate: Decimal,
    pub basis: RateBasis,
}

/// One fixing of a currency as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixing {
    pub date: Date,
    /// Units of the currency per euro.
    pub rate: Decimal,
    /// When the event that first gave it was recorded.
    pub recorded_at: Timestamp,
}

/// One rate event as the table keeps it: its publication day and when it was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publication {
    pub date: Date,
    pub recorded_at: Timestamp,
}

/// What a [`RateTable`] holds that is not derived from the rest: each currency's fixings and
/// the rate events folded, in order. See [`RateTable::from_records`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateRecords {
    /// Per currency, its fixings in date order.
    pub fixings: Vec<(Currency, Vec<Fixing>)>,
    pub publications: Vec<Publication>,
}

/// All recorded fixings, per currency, in date order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateTable {
    series: HashMap<Currency, Vec<Fixing>>,
    /// Publication days recorded, with the rates of each (to decide re-imports).
    days: BTreeMap<Date, BTreeMap<Currency, Decimal>>,
    /// Rate events folded, in order (a day may take more than one: currencies added later).
    publications: Vec<Publication>,
}

impl RateTable {
    /// Folds rates of a publication day. A day's currencies may come in more than one event (a
    /// file with fewer currencies first); a currency already recorded for the day keeps its
    /// first rate (the draft refuses a different one).
    pub fn apply(&mut self, meta: EventMeta, event: &FxFixingsPublished) {
        self.publications.push(Publication {
            date: event.date,
            recorded_at: meta.recorded_at,
        });
        let day = self.days.entry(event.date).or_default();
        for (currency, rate) in &event.rates {
            if day.contains_key(currency) {
                continue;
            }
            day.insert(*currency, *rate);
            let series = self.series.entry(*currency).or_default();
            let fixing = Fixing {
                date: event.date,
                rate: *rate,
                recorded_at: meta.recorded_at,
            };
            // Usually appended in date order; a late publication day is inserted in place.
            match series.last() {
                Some(last) if last.date > event.date => {
                    let at = series.partition_point(|f| f.date < event.date);
                    series.insert(at, fixing);
                }
                _ => series.push(fixing),
            }
        }
    }

    /// The rates recorded for a publication day.
    pub fn day(&self, date: Date) -> Option<&BTreeMap<Currency, Decimal>> {
        self.days.get(&date)
    }

    /// Number of publication days recorded.
    pub fn days(&self) -> usize {
        self.days.len()
    }

    /// Number of rate events folded.
    pub fn events(&self) -> u64 {
        self.publications.len() as u64
    }

    /// The rate events folded, in order.
    pub fn publications(&self) -> &[Publication] {
        &self.publications
    }

    /// Each currency's fixings in date order, currencies in order.
    pub fn fixings(&self) -> Vec<(Currency, &[Fixing])> {
        let mut all: Vec<_> = self
            .series
            .iter()
            .map(|(c, series)| (*c, series.as_slice()))
            .collect();
        all.sort_unstable_by_key(|(c, _)| *c);
        all
    }

    /// The table's records, taken apart.
    pub fn into_records(self) -> RateRecords {
        let mut fixings: Vec<_> = self.series.into_iter().collect();
        fixings.sort_unstable_by_key(|(c, _)| *c);
        RateRecords {
            fixings,
            publications: self.publications,
        }
    }

    /// The table whose [`fixings`](Self::fixings) and [`publications`](Self::publications)
    /// these are; the publication days and their rates are derived from them. Refused unless
    /// each currency's fixings are in date order, once per day, on a day published.
    pub fn from_records(records: RateRecords) -> Result<RateTable, String> {
        let mut table = RateTable {
            publications: records.publications,
            ..RateTable::default()
        };
        for p in &table.publications {
            table.days.entry(p.date).or_default();
        }
        for (currency, series) in records.fixings {
            if series.windows(2).any(|w| w[0].date >= w[1].date) {
                return Err(format!("the {currency} fixings are not in date order"));
            }
            for f in &series {
                let Some(day) = table.days.get_mut(&f.date) else {
                    return Err(format!(
                        "a {currency} fixing of {} was never published",
                        f.date
                    ));
                };
                day.insert(currency, f.rate);
            }
            if table.series.insert(currency, series).is_some() {
                return Err(format!("the {currency} fixings are given twice"));
            }
        }
        Ok(table)
    }

    /// The first and last publication days recorded.
    pub fn span(&self) -> Option<(Date, Date)> {
        Some((*self.days.keys().next()?, *self.days.keys().next_back()?))
    }

    /// The rate every policy agrees on: 1 for the euro, the irrevocable rate of a currency
    /// that had joined the euro by `date`.
    pub fn fixed_rate(currency: Currency, date: Date) -> Option<(Decimal, RateBasis)> {
        if currency.code() == "EUR" {
            return Some((Decimal::ONE, RateBasis::Euro));
        }
        euro_changeover(currency, date)
            .map(|(joined, rate)| (rate, RateBasis::Irrevocable { joined }))
    }

    fn series(&self, currency: Currency, date: Date) -> Result<&[Fixing], String> {
        self.series
            .get(&currency)
            .map(Vec::as_slice)
            .ok_or_else(|| {
                format!("no ECB reference rate is recorded for {currency} (needed for {date})")
            })
    }

    /// The rate of `currency` on `date` under `policy`, from the fixings the cut keeps.
    /// `Err` carries why there is none.
    pub fn rate(
        &self,
        currency: Currency,
        date: Date,
        policy: FxPolicy,
        cut: RateCut,
    ) -> Result<(Decimal, RateBasis), String> {
        if let Some(fixed) = RateTable::fixed_rate(currency, date) {
            return Ok(fixed);
        }
        match policy {
            FxPolicy::EventDate => {
                let series = self.series(currency, date)?;
                let earliest = date
                    .checked_sub(i64::from(EVENT_DATE_WINDOW_DAYS).days())
                    .unwrap_or(Date::MIN);
                let end = series.partition_point(|f| f.date <= date);
                series[..end]
                    .iter()
                    .rev()
                    .take_while(|f| f.date >= earliest)
                    .find(|f| cut.keeps(f))
                    .map(|f| (f.rate, RateBasis::Fixing { date: f.date }))
                    .ok_or_else(|| {
                        format!(
                            "no ECB fixing for {currency} on {date} or in the {EVENT_DATE_WINDOW_DAYS} days before"
                        )
                    })
            }
            FxPolicy::PeriodAverage => {
                let period = HalfYear::of(date);
                let (mean, fixings) = self.period_mean(currency, period, cut)?;
                Ok((mean, RateBasis::PeriodMean { period, fixings }))
            }
        }
    }

    /// The mean of the fixings of `currency` in `period` that the cut keeps, with their count.
    pub fn period_mean(
        &self,
        currency: Currency,
        period: HalfYear,
        cut: RateCut,
    ) -> Result<(Decimal, u32), String> {
        let series = self.series(currency, period.first_day())?;
        let from = series.partition_point(|f| f.date < period.first_day());
        let to = series.partition_point(|f| f.date <= period.last_day());
        let mut sum = Decimal::ZERO;
        let mut count = 0u32;
        for f in series[from..to].iter().filter(|f| cut.keeps(f)) {
            sum = sum
                .checked_add(f.rate)
                .ok_or_else(|| format!("the {currency} rates of {period} overflow"))?;
            count += 1;
        }
        if count == 0 {
            return Err(match cut.published_by {
                Some(d) if d < period.last_day() => {
                    format!("no ECB fixing for {currency} in {period} published by {d}")
                }
                _ => format!("no ECB fixing for {currency} in {period}"),
            });
        }
        Ok((sum / Decimal::from(count), count))
    }

    /// Converts an amount effective on `date` to euros, rounded half-to-even to the cent, from
    /// the fixings recorded at or before `known_on` (all when `None`).
    pub fn convert(
        &self,
        money: &Money,
        date: Date,
        policy: FxPolicy,
        known_on: Option<Timestamp>,
    ) -> Result<Converted, String> {
        self.convert_with(money, date, policy, RateCut::known_on(known_on))
    }

    /// Converts an amount effective on `date` to euros from the fixings the cut keeps.
    pub fn convert_with(
        &self,
        money: &Money,
        date: Date,
        policy: FxPolicy,
        cut: RateCut,
    ) -> Result<Converted, String> {
        let (rate, basis) = self.rate(money.currency(), date, policy, cut)?;
        converted(money.amount(), money.currency(), rate, basis)
    }
}

/// `amount` at `rate`, or why it cannot be converted.
pub(crate) fn converted(
    amount: Decimal,
    currency: Currency,
    rate: Decimal,
    basis: RateBasis,
) -> Result<Converted, String> {
    let eur = to_euros(amount, rate)
        .ok_or_else(|| format!("{amount} {currency} cannot be converted at {rate}"))?;
    Ok(Converted { eur, rate, basis })
}

/// Converts for one report: the same policy and cut for every value, with each period mean
/// computed once per currency and half-year rather than once per value.
#[derive(Debug)]
pub struct Converter<'a> {
    rates: &'a RateTable,
    policy: FxPolicy,
    cut: RateCut,
    means: HashMap<(Currency, HalfYear), Result<(Decimal, u32), String>>,
}

impl<'a> Converter<'a> {
    pub fn new(rates: &'a RateTable, policy: FxPolicy, cut: RateCut) -> Self {
        Converter {
            rates,
            policy,
            cut,
            means: HashMap::new(),
        }
    }

    /// Converts `amount` of `currency` effective on `date`.
    pub fn convert(
        &mut self,
        amount: Decimal,
        currency: Currency,
        date: Date,
    ) -> Result<Converted, String> {
        let (rate, basis) = match (RateTable::fixed_rate(currency, date), self.policy) {
            (Some(fixed), _) => fixed,
            (None, FxPolicy::EventDate) => {
                self.rates.rate(currency, date, self.policy, self.cut)?
            }
            (None, FxPolicy::PeriodAverage) => {
                let period = HalfYear::of(date);
                let (rates, cut) = (self.rates, self.cut);
                let (mean, fixings) = self
                    .means
                    .entry((currency, period))
                    .or_insert_with(|| rates.period_mean(currency, period, cut))
                    .clone()?;
                (mean, RateBasis::PeriodMean { period, fixings })
            }
        };
        converted(amount, currency, rate, basis)
    }
}

/// The smallest rate accepted (units per euro): every rate the ECB has published is far above
/// it, and it keeps any converted amount well inside the decimal range.
pub const MIN_RATE: Decimal = Decimal::from_parts(1, 0, 0, false, 4);

/// A decimal at two places (cents).
pub(crate) fn cents(mut d: Decimal) -> Decimal {
    d.rescale(2);
    d
}

/// Which fixings a conversion may use: those recorded at or before a moment, and published on
/// or before a date (a report "as of" a date does not average fixings published after it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateCut {
    pub known_on: Option<Timestamp>,
    pub published_by: Option<Date>,
}

impl RateCut {
    pub fn known_on(known_on: Option<Timestamp>) -> Self {
        RateCut {
            known_on,
            published_by: None,
        }
    }

    fn keeps(&self, f: &Fixing) -> bool {
        self.known_on.is_none_or(|t| f.recorded_at <= t)
            && self.published_by.is_none_or(|d| f.date <= d)
    }
}

/// `amount / rate`, rounded half-to-even to the cent; `None` for a non-positive rate or an
/// overflow.
pub fn to_euros(amount: Decimal, rate: Decimal) -> Option<Decimal> {
    if rate <= Decimal::ZERO {
        return None;
    }
    let mut eur = amount
        .checked_div(rate)?
        .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    eur.rescale(2);
    Some(eur)
}

/// The reference rates are one record per publisher (stream `fx:ECB`): its days of fixings.
impl Aggregate for RateTable {
    const KIND: &'static str = "fx";
    type Id = String;
    type Command = FxFixingsPublished;
    type Event = FxFixingsPublished;
    type Context<'c> = ();

    fn target(command: &FxFixingsPublished) -> String {
        command.source.clone()
    }

    fn id_of(event: &FxFixingsPublished) -> String {
        event.source.clone()
    }

    /// Records the reference rates of one publication day. Rates already recorded for the day
    /// must match (a recorded fixing is never changed); currencies the day does not have yet are
    /// added, so a file with fewer currencies imported first never blocks the full history. The
    /// event decided holds only the new currencies.
    fn decide(
        record: Option<&RateTable>,
        cmd: &FxFixingsPublished,
        _: &(),
    ) -> Result<Vec<FxFixingsPublished>, Rejection> {
        let refuse = |field: Field, message: String| Rejection::one(Reason::at(field, message));
        if cmd.source != ECB {
            return Err(refuse(
                Field::EffectiveDate,
                format!("only {ECB} reference rates are supported"),
            ));
        }
        if matches!(cmd.date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            return Err(refuse(
                Field::EffectiveDate,
                format!(
                    "{} is a {:?}: the {ECB} publishes no reference rates at weekends",
                    cmd.date,
                    cmd.date.weekday()
                ),
            ));
        }
        if cmd.rates.is_empty() {
            return Err(refuse(
                Field::EffectiveDate,
                format!("{} has no rate at all (every cell N/A)", cmd.date),
            ));
        }
        for (currency, rate) in &cmd.rates {
            let at = Field::Rate(*currency);
            if currency.code() == "EUR" {
                return Err(refuse(
                    at,
                    "reference rates are quoted against the euro; EUR has none".to_owned(),
                ));
            }
            if *rate < MIN_RATE {
                return Err(refuse(
                    at,
                    format!("the rate {rate} is implausibly small (below {MIN_RATE} per euro)"),
                ));
            }
            if let Some((joined, fixed)) = euro_changeover(*currency, cmd.date) {
                return Err(refuse(
                    at,
                    format!(
                        "{currency} joined the euro on {joined} at {fixed} per euro; it has no reference rate on {}",
                        cmd.date
                    ),
                ));
            }
        }
        let recorded = record.and_then(|r| r.day(cmd.date));
        let mut new = BTreeMap::new();
        for (currency, rate) in &cmd.rates {
            match recorded.and_then(|d| d.get(currency)) {
                Some(was) if was == rate => {}
                Some(was) => {
                    return Err(refuse(
                        Field::Rate(*currency),
                        format!(
                            "the {ECB} fixing of {} is already recorded as {was}, this file says {rate}; a recorded fixing is never changed",
                            cmd.date
                        ),
                    ));
                }
                None => {
                    new.insert(*currency, *rate);
                }
            }
        }
        if new.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![FxFixingsPublished {
            source: cmd.source.clone(),
            date: cmd.date,
            rates: new,
        }])
    }

    fn open(_: EventMeta, _: &FxFixingsPublished) -> Option<RateTable> {
        Some(RateTable::default())
    }

    fn apply(&mut self, meta: EventMeta, event: FxFixingsPublished) {
        RateTable::apply(self, meta, &event);
    }

    fn version(&self) -> u64 {
        self.events()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn every_changeover_names_a_known_currency_and_a_valid_rate() {
        for (code, (y, m, d), rate) in EURO_CHANGEOVERS {
            let c = cur(code);
            let joined = Date::new(*y, *m, *d).unwrap();
            assert_eq!(
                euro_changeover(c, joined),
                Some((joined, rate.parse().unwrap()))
            );
            assert_eq!(euro_changeover(c, joined.yesterday().unwrap()), None);
        }
    }

    #[test]
    fn rounding_is_half_to_even_at_the_cent() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(to_euros(d("0.125"), Decimal::ONE), Some(d("0.12")));
        assert_eq!(to_euros(d("0.135"), Decimal::ONE), Some(d("0.14")));
        assert_eq!(
            to_euros(d("1082500.00"), d("1.0825")),
            Some(d("1000000.00"))
        );
        assert_eq!(to_euros(d("1"), Decimal::ZERO), None);
    }
}
