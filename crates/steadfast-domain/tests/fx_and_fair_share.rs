//! Exchange-rate conversion and fair-share allocation, as given/when/then scenarios and
//! properties, with no database.
//!
//! Rates are built the way the application builds them: each publication day is decided by a
//! `Draft` (`record_fixings`) and folded into a `Ledger` with the metadata of its place in the
//! log, so "as known on" cuts see exactly what was recorded by then. The rates themselves are
//! real ECB reference rates, copied from `data/ecb-eurofxref-hist.csv`.

mod common;

use common::{USD_JULY_2024, at, cur, date, dec, money, party};
use std::collections::BTreeMap;

use jiff::civil::Weekday;
use jiff::{Timestamp, ToSpan};
use proptest::prelude::*;
use rust_decimal::Decimal;
use steadfast_domain::framework::largest_remainder;
use steadfast_domain::fx::{EVENT_DATE_WINDOW_DAYS, euro_changeover, to_euros};
use steadfast_domain::{
    Category, Converted, Currency, DomainEvent, Draft, EventMeta, Exemption, Field,
    FrameworkAdopted, FrameworkId, FxFixingsPublished, FxPolicy, HalfYear, Ledger, Money, PartyId,
    RateBasis, ShareBasis, Stage, ValuationBasis, fair_shares,
};

// ---------------------------------------------------------------------------------------------
// Building values

/// Real ECB reference rates (units per euro), from data/ecb-eurofxref-hist.csv.
const USD_2024_06_28: (&str, &str) = ("2024-06-28", "1.0705");
const USD_2025_01_02: (&str, &str) = ("2025-01-02", "1.0321");
/// The last ISK fixings before the ECB stopped quoting the krona (December 2008 to January
/// 2018).
const ISK_END_2008: [(&str, &str); 14] = [
    ("2008-11-20", "245"),
    ("2008-11-21", "245"),
    ("2008-11-24", "265"),
    ("2008-11-25", "265"),
    ("2008-11-26", "275"),
    ("2008-11-27", "280"),
    ("2008-11-28", "280"),
    ("2008-12-01", "290"),
    ("2008-12-02", "290"),
    ("2008-12-03", "290"),
    ("2008-12-04", "290"),
    ("2008-12-05", "290"),
    ("2008-12-08", "290"),
    ("2008-12-09", "290"),
];
const HRK_END_2022: [(&str, &str); 5] = [
    ("2022-12-23", "7.537"),
    ("2022-12-27", "7.5375"),
    ("2022-12-28", "7.5365"),
    ("2022-12-29", "7.5365"),
    ("2022-12-30", "7.5365"),
];
const BGN_END_2025: [(&str, &str); 3] = [
    ("2025-12-29", "1.9558"),
    ("2025-12-30", "1.9558"),
    ("2025-12-31", "1.9558"),
];

// ---------------------------------------------------------------------------------------------
// given / when / then

/// A log being written: each publication day is decided by a `Draft` and folded in with its
/// position and the moment it was recorded.
struct Log {
    ledger: Ledger,
    position: u64,
    now: Timestamp,
}

impl Log {
    fn new() -> Self {
        Log {
            ledger: Ledger::new(),
            position: 0,
            now: at("2025-01-01T09:00:00Z"),
        }
    }

    /// Later records are stamped with this moment.
    fn at(&mut self, moment: &str) -> &mut Self {
        self.now = at(moment);
        self
    }

    fn apply(&mut self, events: Vec<DomainEvent>) {
        for e in events {
            self.position += 1;
            let meta = EventMeta {
                position: self.position,
                recorded_at: self.now,
            };
            self.ledger.apply(meta, &e);
        }
    }

    /// Records each day's fixing of one currency (one publication day per date).
    fn fixings(&mut self, currency: &str, days: &[(&str, &str)]) -> &mut Self {
        for (day, rate) in days {
            let mut draft = Draft::new(&self.ledger);
            let recorded = draft.record_fixings(FxFixingsPublished {
                source: "ECB".to_owned(),
                date: date(day),
                rates: BTreeMap::from([(cur(currency), dec(rate))]),
            });
            assert_eq!(recorded, Ok(true), "fixing {currency} {day}");
            let events = draft.into_events();
            self.apply(events);
        }
        self
    }
}

/// A ledger holding these fixings of one currency, all recorded at the same moment.
fn given_fixings(currency: &str, days: &[(&str, &str)]) -> Ledger {
    let mut log = Log::new();
    log.fixings(currency, days);
    log.ledger
}

fn when_converted(
    ledger: &Ledger,
    amount: &str,
    currency: &str,
    on: &str,
    policy: FxPolicy,
) -> Result<Converted, String> {
    ledger
        .rates()
        .convert(&money(amount, currency), date(on), policy, None)
}

#[track_caller]
fn then_euros(result: Result<Converted, String>, eur: &str, basis: RateBasis) -> Converted {
    let c = result.expect("converted");
    assert_eq!(c.eur.to_string(), eur, "{c:?}");
    assert_eq!(c.basis, basis, "{c:?}");
    c
}

/// The value is unconverted, and its reason names every one of `mentions`.
#[track_caller]
fn then_unconverted(result: Result<Converted, String>, mentions: &[&str]) -> String {
    match result {
        Err(reason) => {
            for m in mentions {
                assert!(reason.contains(m), "reason {reason:?} should mention {m}");
            }
            reason
        }
        Ok(c) => panic!("expected no conversion, got {c:?}"),
    }
}

fn fixing(on: &str) -> RateBasis {
    RateBasis::Fixing { date: date(on) }
}

fn half(text: &str) -> HalfYear {
    HalfYear::parse(text).expect("test half-year")
}

// ---------------------------------------------------------------------------------------------
// event-date

#[test]
fn event_date_uses_the_fixing_of_the_effective_date() {
    let ledger = given_fixings("USD", &USD_JULY_2024);
    let c = then_euros(
        when_converted(
            &ledger,
            "1082500.00",
            "USD",
            "2024-07-10",
            FxPolicy::EventDate,
        ),
        "1000000.00",
        fixing("2024-07-10"),
    );
    assert_eq!(c.rate, dec("1.0825"));
    // The neighbouring days have their own fixings: no mixing up of dates.
    then_euros(
        when_converted(
            &ledger,
            "1000000.00",
            "USD",
            "2024-07-11",
            FxPolicy::EventDate,
        ),
        "921234.45",
        fixing("2024-07-11"),
    );
    then_euros(
        when_converted(
            &ledger,
            "1089000.00",
            "USD",
            "2024-07-12",
            FxPolicy::EventDate,
        ),
        "1000000.00",
        fixing("2024-07-12"),
    );
}

#[test]
fn a_weekend_event_uses_the_fixing_of_the_friday_before_and_says_so() {
    let ledger = given_fixings("USD", &USD_JULY_2024);
    for weekend_day in ["2024-07-13", "2024-07-14"] {
        let c = then_euros(
            when_converted(
                &ledger,
                "1089000.00",
                "USD",
                weekend_day,
                FxPolicy::EventDate,
            ),
            "1000000.00",
            fixing("2024-07-12"),
        );
        assert_eq!(c.rate, dec("1.089"));
    }
    // Monday has its own fixing again.
    then_euros(
        when_converted(&ledger, "1.00", "USD", "2024-07-15", FxPolicy::EventDate),
        "0.92",
        fixing("2024-07-15"),
    );
}

#[test]
fn a_fixing_exactly_seven_days_earlier_is_used_and_eight_days_is_too_stale() {
    assert_eq!(EVENT_DATE_WINDOW_DAYS, 7);
    let ledger = given_fixings("USD", &USD_JULY_2024);
    // The last USD fixing recorded is 2024-07-16.
    then_euros(
        when_converted(
            &ledger,
            "1090200.00",
            "USD",
            "2024-07-23",
            FxPolicy::EventDate,
        ),
        "1000000.00",
        fixing("2024-07-16"),
    );
    then_unconverted(
        when_converted(
            &ledger,
            "1090200.00",
            "USD",
            "2024-07-24",
            FxPolicy::EventDate,
        ),
        &["USD", "2024-07-24"],
    );
}

#[test]
fn isk_after_the_ecb_stopped_quoting_it_is_unconverted_never_zero_never_stale() {
    // The ECB published no ISK rate from December 2008 to January 2018.
    let ledger = given_fixings("ISK", &ISK_END_2008);
    then_euros(
        when_converted(&ledger, "290000", "ISK", "2008-12-09", FxPolicy::EventDate),
        "1000.00",
        fixing("2008-12-09"),
    );
    // Exactly 7 days after the last fixing: still used.
    then_euros(
        when_converted(&ledger, "290000", "ISK", "2008-12-16", FxPolicy::EventDate),
        "1000.00",
        fixing("2008-12-09"),
    );
    // 8 days after: too stale.
    then_unconverted(
        when_converted(&ledger, "290000", "ISK", "2008-12-17", FxPolicy::EventDate),
        &["ISK", "2008-12-17"],
    );
    // Seventeen months later, still nothing — the 2008 rate is not carried forward.
    then_unconverted(
        when_converted(&ledger, "290000", "ISK", "2010-05-03", FxPolicy::EventDate),
        &["ISK", "2010-05-03"],
    );
    // The half-year has no fixing at all, so its average cannot be taken either.
    then_unconverted(
        when_converted(
            &ledger,
            "290000",
            "ISK",
            "2010-05-03",
            FxPolicy::PeriodAverage,
        ),
        &["ISK", "2010-H1"],
    );
}

#[test]
fn a_date_before_the_first_fixing_is_unconverted() {
    let ledger = given_fixings("USD", &USD_JULY_2024);
    then_unconverted(
        when_converted(&ledger, "100.00", "USD", "2024-06-30", FxPolicy::EventDate),
        &["USD", "2024-06-30"],
    );
}

#[test]
fn a_currency_with_no_fixing_recorded_is_unconverted_with_its_name() {
    let ledger = given_fixings("USD", &USD_JULY_2024);
    for policy in FxPolicy::ALL {
        then_unconverted(
            when_converted(&ledger, "100.00", "CAD", "2024-07-10", policy),
            &["CAD"],
        );
    }
}

#[test]
fn euros_convert_at_one_under_both_policies_with_no_fixing_recorded() {
    let ledger = Ledger::new();
    for policy in FxPolicy::ALL {
        let c = then_euros(
            when_converted(&ledger, "123456.78", "EUR", "2010-05-03", policy),
            "123456.78",
            RateBasis::Euro,
        );
        assert_eq!(c.rate, Decimal::ONE);
    }
}

// ---------------------------------------------------------------------------------------------
// Currencies that joined the euro

#[test]
fn kuna_converts_at_its_fixing_before_2023_and_at_the_irrevocable_rate_from_2023() {
    let ledger = given_fixings("HRK", &HRK_END_2022);
    then_euros(
        when_converted(
            &ledger,
            "1000000.00",
            "HRK",
            "2022-12-30",
            FxPolicy::EventDate,
        ),
        "132687.59",
        fixing("2022-12-30"),
    );
    // Saturday 2022-12-31: Friday's fixing, not yet the euro rate.
    then_euros(
        when_converted(
            &ledger,
            "1000000.00",
            "HRK",
            "2022-12-31",
            FxPolicy::EventDate,
        ),
        "132687.59",
        fixing("2022-12-30"),
    );
    // 2023-01-01 and after: 7.53450, although the 2022-12-30 fixing is within the window.
    let joined = RateBasis::Irrevocable {
        joined: date("2023-01-01"),
    };
    for on in ["2023-01-01", "2023-01-02", "2023-06-30", "2024-07-10"] {
        for policy in FxPolicy::ALL {
            let c = then_euros(
                when_converted(&ledger, "1000000.00", "HRK", on, policy),
                "132722.81",
                joined,
            );
            assert_eq!(c.rate, dec("7.53450"));
        }
    }
}

#[test]
fn kuna_after_2023_converts_with_no_fixing_recorded_at_all() {
    let ledger = Ledger::new();
    then_euros(
        when_converted(
            &ledger,
            "753450.00",
            "HRK",
            "2024-03-01",
            FxPolicy::EventDate,
        ),
        "100000.00",
        RateBasis::Irrevocable {
            joined: date("2023-01-01"),
        },
    );
    // Before joining, with nothing recorded, there is no rate.
    then_unconverted(
        when_converted(
            &ledger,
            "753450.00",
            "HRK",
            "2022-12-30",
            FxPolicy::EventDate,
        ),
        &["HRK"],
    );
}

#[test]
fn lev_converts_at_1_95583_from_2026() {
    let ledger = given_fixings("BGN", &BGN_END_2025);
    then_euros(
        when_converted(
            &ledger,
            "1955830.00",
            "BGN",
            "2025-12-31",
            FxPolicy::EventDate,
        ),
        "1000015.34",
        fixing("2025-12-31"),
    );
    let joined = RateBasis::Irrevocable {
        joined: date("2026-01-01"),
    };
    for on in ["2026-01-01", "2026-01-02"] {
        for policy in FxPolicy::ALL {
            let c = then_euros(
                when_converted(&ledger, "1955830.00", "BGN", on, policy),
                "1000000.00",
                joined,
            );
            assert_eq!(c.rate, dec("1.95583"));
        }
    }
    assert_eq!(euro_changeover(cur("BGN"), date("2025-12-31")), None);
    assert_eq!(
        euro_changeover(cur("BGN"), date("2026-01-01")),
        Some((date("2026-01-01"), dec("1.95583")))
    );
    assert_eq!(euro_changeover(cur("USD"), date("2026-01-01")), None);
}

// ---------------------------------------------------------------------------------------------
// period-average

/// USD fixings of late June 2024 (H1), early July 2024 (H2) and early January 2025 (H1 of 2025).
fn given_fixings_around_2024_h2(july: &[(&str, &str)]) -> Ledger {
    let mut days = vec![USD_2024_06_28];
    days.extend_from_slice(july);
    days.push(USD_2025_01_02);
    given_fixings("USD", &days)
}

#[test]
fn period_average_is_the_mean_of_the_fixings_in_the_events_half_year_only() {
    // H2 2024 holds 1.0745, 1.0729, 1.0758, 1.08 and 1.0824: mean 5.3856 / 5 = 1.07712.
    // 2024-06-28 (H1) and 2025-01-02 (next year) must not be averaged in.
    let ledger = given_fixings_around_2024_h2(&USD_JULY_2024[..5]);
    let h2 = RateBasis::PeriodMean {
        period: half("2024-H2"),
        fixings: 5,
    };
    for on in ["2024-07-01", "2024-11-15", "2024-12-31"] {
        let c = then_euros(
            when_converted(&ledger, "1077120.00", "USD", on, FxPolicy::PeriodAverage),
            "1000000.00",
            h2,
        );
        assert_eq!(c.rate, dec("1.07712"));
    }
    // The same mid-November event has no fixing within 7 days under event-date.
    then_unconverted(
        when_converted(
            &ledger,
            "1077120.00",
            "USD",
            "2024-11-15",
            FxPolicy::EventDate,
        ),
        &["USD", "2024-11-15"],
    );
    // H1 2024 holds one fixing only; H1 2025 one other.
    let c = then_euros(
        when_converted(
            &ledger,
            "1070500.00",
            "USD",
            "2024-06-30",
            FxPolicy::PeriodAverage,
        ),
        "1000000.00",
        RateBasis::PeriodMean {
            period: half("2024-H1"),
            fixings: 1,
        },
    );
    assert_eq!(c.rate, dec("1.0705"));
    then_euros(
        when_converted(
            &ledger,
            "1032100.00",
            "USD",
            "2025-01-01",
            FxPolicy::PeriodAverage,
        ),
        "1000000.00",
        RateBasis::PeriodMean {
            period: half("2025-H1"),
            fixings: 1,
        },
    );
}

#[test]
fn period_average_of_an_inexact_mean_is_rounded_once_at_the_cent() {
    // Six fixings: mean 6.4691 / 6 = 1.078183333…; 1,000,000.00 / mean = 927,486.05.
    let ledger = given_fixings_around_2024_h2(&USD_JULY_2024[..6]);
    then_euros(
        when_converted(
            &ledger,
            "1000000.00",
            "USD",
            "2024-09-30",
            FxPolicy::PeriodAverage,
        ),
        "927486.05",
        RateBasis::PeriodMean {
            period: half("2024-H2"),
            fixings: 6,
        },
    );
}

#[test]
fn a_half_year_with_no_fixing_is_unconverted_under_period_average() {
    let ledger = given_fixings_around_2024_h2(&USD_JULY_2024);
    then_unconverted(
        when_converted(
            &ledger,
            "100.00",
            "USD",
            "2023-12-31",
            FxPolicy::PeriodAverage,
        ),
        &["USD", "2023-H2"],
    );
    then_unconverted(
        when_converted(
            &ledger,
            "100.00",
            "USD",
            "2025-07-01",
            FxPolicy::PeriodAverage,
        ),
        &["USD", "2025-H2"],
    );
}

// ---------------------------------------------------------------------------------------------
// as known on

#[test]
fn fixings_recorded_after_the_moment_are_invisible_to_event_date() {
    let mut log = Log::new();
    log.at("2024-07-09T16:00:00Z")
        .fixings("USD", &USD_JULY_2024[5..7]) // 07-08, 07-09
        .at("2024-07-10T16:00:00Z")
        .fixings("USD", &USD_JULY_2024[7..8]); // 07-10
    let rates = log.ledger.rates();
    let usd = money("1082500.00", "USD");
    let on = date("2024-07-10");
    let before = at("2024-07-10T12:00:00Z");
    // Known then: only up to 07-09, which is within the window.
    let c = rates
        .convert(&usd, on, FxPolicy::EventDate, Some(before))
        .expect("converted");
    assert_eq!(c.basis, fixing("2024-07-09"));
    assert_eq!(c.rate, dec("1.0814"));
    // Known from the moment it was recorded (inclusive), and with no cut.
    for known in [Some(at("2024-07-10T16:00:00Z")), None] {
        let c = rates
            .convert(&usd, on, FxPolicy::EventDate, known)
            .expect("converted");
        assert_eq!(c.basis, fixing("2024-07-10"));
        assert_eq!(c.eur, dec("1000000.00"));
    }
    // Before anything was recorded, nothing converts.
    assert!(
        rates
            .convert(
                &usd,
                on,
                FxPolicy::EventDate,
                Some(at("2024-07-01T00:00:00Z"))
            )
            .is_err()
    );
}

#[test]
fn a_late_publication_day_recorded_afterwards_is_used_in_date_order_but_only_once_known() {
    // 07-12 is recorded first; 07-10 arrives later (a late re-import of a missed day).
    let mut log = Log::new();
    log.at("2024-07-12T16:00:00Z")
        .fixings("USD", &USD_JULY_2024[9..10]) // 07-12
        .at("2024-07-20T16:00:00Z")
        .fixings("USD", &USD_JULY_2024[7..8]); // 07-10
    let rates = log.ledger.rates();
    let usd = money("1082500.00", "USD");
    let c = rates
        .convert(&usd, date("2024-07-11"), FxPolicy::EventDate, None)
        .expect("converted");
    assert_eq!(c.basis, fixing("2024-07-10"));
    assert_eq!(c.eur, dec("1000000.00"));
    // As known before it arrived: 07-12 is later than the event and 07-10 unknown.
    let reason = rates
        .convert(
            &usd,
            date("2024-07-11"),
            FxPolicy::EventDate,
            Some(at("2024-07-15T00:00:00Z")),
        )
        .expect_err("no known fixing on or before 2024-07-11");
    assert!(
        reason.contains("USD") && reason.contains("2024-07-11"),
        "{reason}"
    );
    assert_eq!(rates.span(), Some((date("2024-07-10"), date("2024-07-12"))));
}

#[test]
fn period_average_averages_only_the_fixings_known_at_the_moment() {
    let mut log = Log::new();
    log.at("2024-07-03T16:00:00Z")
        .fixings("USD", &USD_JULY_2024[..3]) // 1.0745, 1.0729, 1.0758: mean 1.0744
        .at("2024-07-05T16:00:00Z")
        .fixings("USD", &USD_JULY_2024[3..5]); // + 1.08, 1.0824: mean 1.07712
    let rates = log.ledger.rates();
    let usd = money("1074400.00", "USD");
    let on = date("2024-12-01");
    let c = rates
        .convert(
            &usd,
            on,
            FxPolicy::PeriodAverage,
            Some(at("2024-07-04T00:00:00Z")),
        )
        .expect("converted");
    assert_eq!(c.rate, dec("1.0744"));
    assert_eq!(c.eur, dec("1000000.00"));
    assert_eq!(
        c.basis,
        RateBasis::PeriodMean {
            period: half("2024-H2"),
            fixings: 3
        }
    );
    let c = rates
        .convert(&usd, on, FxPolicy::PeriodAverage, None)
        .expect("converted");
    assert_eq!(c.rate, dec("1.07712"));
    assert_eq!(
        c.basis,
        RateBasis::PeriodMean {
            period: half("2024-H2"),
            fixings: 5
        }
    );
    assert!(
        rates
            .convert(
                &usd,
                on,
                FxPolicy::PeriodAverage,
                Some(at("2024-07-01T00:00:00Z"))
            )
            .is_err()
    );
}

#[test]
fn a_publication_day_recorded_again_with_different_rates_is_refused_and_the_first_kept() {
    let ledger = given_fixings("USD", &USD_JULY_2024[7..8]);
    let mut draft = Draft::new(&ledger);
    let again = FxFixingsPublished {
        source: "ECB".to_owned(),
        date: date("2024-07-10"),
        rates: BTreeMap::from([(cur("USD"), dec("1.0825"))]),
    };
    assert_eq!(draft.record_fixings(again.clone()), Ok(false));
    let changed = FxFixingsPublished {
        rates: BTreeMap::from([(cur("USD"), dec("1.2"))]),
        ..again
    };
    let err = draft
        .record_fixings(changed.clone())
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("USD") && err.contains("1.0825") && err.contains("1.2"),
        "{err}"
    );
    // Folded anyway (say, a log written by an older version): the first day's rates stay.
    let mut ledger = ledger.clone();
    ledger.apply(
        EventMeta {
            position: 99,
            recorded_at: at("2025-06-01T00:00:00Z"),
        },
        &DomainEvent::FxFixingsPublished(changed),
    );
    let c = ledger
        .rates()
        .convert(
            &money("1082500.00", "USD"),
            date("2024-07-10"),
            FxPolicy::EventDate,
            None,
        )
        .expect("converted");
    assert_eq!(c.eur, dec("1000000.00"));
}

// ---------------------------------------------------------------------------------------------
// Rounding

#[test]
fn conversions_round_half_to_even_at_the_cent() {
    // ISK 2008-11-10 = 200 (ISK has no minor unit): n / 200 lands on exactly .xx5.
    let isk = given_fixings("ISK", &[("2008-11-10", "200")]);
    for (amount, eur) in [
        ("1", "0.00"),   // 0.005 → 0.00
        ("3", "0.02"),   // 0.015 → 0.02
        ("5", "0.02"),   // 0.025 → 0.02
        ("7", "0.04"),   // 0.035 → 0.04
        ("201", "1.00"), // 1.005 → 1.00
        ("203", "1.02"), // 1.015 → 1.02
        ("199", "1.00"), // 0.995 → 1.00
        ("9", "0.04"),   // 0.045 → 0.04
    ] {
        then_euros(
            when_converted(&isk, amount, "ISK", "2008-11-10", FxPolicy::EventDate),
            eur,
            fixing("2008-11-10"),
        );
    }
    // CZK 2023-08-22 = 24.
    let czk = given_fixings("CZK", &[("2023-08-22", "24")]);
    for (amount, eur) in [
        ("0.12", "0.00"),  // 0.005
        ("0.36", "0.02"),  // 0.015
        ("24.12", "1.00"), // 1.005
        ("24.36", "1.02"), // 1.015
        ("24.60", "1.02"), // 1.025
    ] {
        then_euros(
            when_converted(&czk, amount, "CZK", "2023-08-22", FxPolicy::EventDate),
            eur,
            fixing("2023-08-22"),
        );
    }
    // Negative deltas (amendments) round the same way, symmetrically.
    assert_eq!(to_euros(dec("-3"), dec("200")), Some(dec("-0.02")));
    assert_eq!(to_euros(dec("-1"), dec("200")), Some(dec("0.00")));
}

#[test]
fn to_euros_refuses_a_non_positive_rate_and_always_answers_in_cents() {
    assert_eq!(to_euros(dec("100"), Decimal::ZERO), None);
    assert_eq!(to_euros(dec("100"), dec("-1.08")), None);
    let eur = to_euros(dec("100000"), dec("160.5")).expect("converted");
    assert_eq!(eur.scale(), 2);
    assert_eq!(eur.to_string(), "623.05");
    let whole = to_euros(dec("1000"), Decimal::ONE).expect("converted");
    assert_eq!(whole.to_string(), "1000.00");
}

// ---------------------------------------------------------------------------------------------
// Fair shares

fn framework(
    participants: &[(&str, &str)],
    exemptions: &[(&str, bool)],
    target: &str,
) -> FrameworkAdopted {
    FrameworkAdopted {
        framework: FrameworkId::parse("test-pledge").expect("id"),
        name: "Test pledge".to_owned(),
        adopted_on: date("2024-01-01"),
        target: money(target, "EUR"),
        period_start: date("2024-01-01"),
        period_end: date("2024-12-31"),
        recipients: vec![party("UKR")],
        participants: participants.iter().map(|(p, _)| party(p)).collect(),
        exemptions: exemptions
            .iter()
            .map(|(p, in_denominator)| Exemption {
                party: party(p),
                in_denominator: *in_denominator,
                reason: "test".to_owned(),
            })
            .collect(),
        eligible_categories: vec![Category::EquipmentPurchase],
        counting_stage: Stage::Committed,
        share_basis: ShareBasis {
            indicator: "gdp-current-usd".to_owned(),
            source: "test".to_owned(),
            dataset: "test".to_owned(),
            year: 2023,
            values: participants
                .iter()
                .map(|(p, v)| (party(p), dec(v)))
                .collect(),
        },
        valuation_preference: vec![ValuationBasis::ReplacementCost],
        reporting_periods: vec![half("2024-H1"), half("2024-H2")],
        counting: steadfast_domain::Counting::Literal,
    }
}

fn fair_share_of(shares: &steadfast_domain::FairShares, p: &str) -> String {
    shares
        .allocations
        .iter()
        .find(|a| a.party == party(p))
        .map(|a| a.fair_share.to_string())
        .expect("participant allocated")
}

#[test]
fn an_exemption_out_of_the_denominator_grows_the_others_and_in_it_leaves_its_share_unallocated() {
    let members = [("DEU", "6"), ("FRA", "3"), ("ISL", "1")];
    // Out of the denominator: DEU and FRA share the whole target 2:1.
    let out = fair_shares(&framework(&members, &[("ISL", false)], "900.00"));
    assert_eq!(fair_share_of(&out, "DEU"), "600.00");
    assert_eq!(fair_share_of(&out, "FRA"), "300.00");
    assert_eq!(fair_share_of(&out, "ISL"), "0.00");
    assert_eq!(out.unallocated.to_string(), "0.00");
    let isl = out.allocations.iter().find(|a| a.party == party("ISL"));
    assert!(
        isl.is_some_and(|a| a.exempt && a.share.is_zero()),
        "{isl:?}"
    );
    // In it: 6:3:1 of 1000, ISL's 100 left unallocated.
    let inside = fair_shares(&framework(&members, &[("ISL", true)], "1000.00"));
    assert_eq!(fair_share_of(&inside, "DEU"), "600.00");
    assert_eq!(fair_share_of(&inside, "FRA"), "300.00");
    assert_eq!(fair_share_of(&inside, "ISL"), "0.00");
    assert_eq!(inside.unallocated.to_string(), "100.00");
    // Allocations come in party-id order whatever the listing order.
    let ids: Vec<&str> = inside
        .allocations
        .iter()
        .map(|a| a.party.as_str())
        .collect();
    assert_eq!(ids, ["DEU", "FRA", "ISL"]);
}

#[test]
fn leftover_cents_go_to_the_largest_remainders_then_the_lowest_party_id() {
    // 100.00 in thirds: 33.33 each, one cent left; equal remainders → lowest id (BEL).
    let thirds = largest_remainder(
        dec("100.00"),
        &[
            (party("NLD"), Decimal::ONE),
            (party("BEL"), Decimal::ONE),
            (party("LUX"), Decimal::ONE),
        ],
    );
    let got: Vec<String> = thirds.values().map(|(_, a)| a.to_string()).collect();
    assert_eq!(got, ["33.34", "33.33", "33.33"]); // BEL, LUX, NLD
    // 0.05 split 1:1:1:1:1:1:1 (7 parties): 0.00 each, 5 cents to the 5 lowest ids.
    let ids = ["AUT", "BEL", "CZE", "DNK", "EST", "FIN", "GRC"];
    let weights: Vec<(PartyId, Decimal)> =
        ids.iter().rev().map(|p| (party(p), Decimal::ONE)).collect();
    let out = largest_remainder(dec("0.05"), &weights);
    let got: Vec<String> = ids.iter().map(|p| out[&party(p)].1.to_string()).collect();
    assert_eq!(
        got,
        ["0.01", "0.01", "0.01", "0.01", "0.01", "0.00", "0.00"]
    );
    // 10.00 split 1:1:1:7 → 1, 1, 1, 7 exactly: no cent to hand out, no one rounded up.
    let out = largest_remainder(
        dec("10.00"),
        &[
            (party("AUT"), dec("1")),
            (party("BEL"), dec("1")),
            (party("CZE"), dec("1")),
            (party("DEU"), dec("7")),
        ],
    );
    assert_eq!(out[&party("DEU")].1.to_string(), "7.00");
    assert_eq!(out[&party("AUT")].1.to_string(), "1.00");
    // Remainders, not ids, decide first: 1.00 split 1:2 → 0.333… and 0.666…: the larger
    // remainder (0.666… − 0.66) gets the cent although its id sorts later.
    let out = largest_remainder(
        Decimal::ONE,
        &[(party("AUT"), dec("1")), (party("ZAF"), dec("2"))],
    );
    assert_eq!(out[&party("AUT")].1.to_string(), "0.33");
    assert_eq!(out[&party("ZAF")].1.to_string(), "0.67");
}

#[test]
fn a_zero_or_negative_weight_gets_nothing() {
    let out = largest_remainder(
        dec("10.00"),
        &[
            (party("AUT"), dec("0")),
            (party("BEL"), dec("-5")),
            (party("CZE"), dec("3")),
        ],
    );
    assert_eq!(out[&party("AUT")].1.to_string(), "0.00");
    assert_eq!(out[&party("BEL")].1.to_string(), "0.00");
    assert_eq!(out[&party("CZE")].1.to_string(), "10.00");
}

#[test]
fn framework_problems_name_their_field() {
    let members = [("DEU", "6"), ("FRA", "3"), ("ISL", "1")];
    assert_eq!(
        framework(&members, &[("ISL", false)], "900.00").problems(),
        Vec::new()
    );
    let mut f = framework(&members, &[("POL", false)], "900.00");
    f.share_basis.values.remove(&party("FRA"));
    f.target = money("900.00", "USD");
    let problems = f.problems();
    for (key, text) in [
        ("target", "target: only EUR targets"),
        ("exemptions", "exemptions: POL"),
        (
            "share_basis",
            "share_basis: no gdp-current-usd 2023 for participant FRA",
        ),
    ] {
        assert!(
            problems
                .iter()
                .any(|p| p.field == Some(Field::Key(key)) && p.to_string().contains(text)),
            "{text} missing from {problems:?}"
        );
    }
    // Everyone exempted out of the denominator: nobody to share the target.
    let f = framework(
        &members,
        &[("DEU", false), ("FRA", false), ("ISL", false)],
        "900.00",
    );
    assert!(
        f.problems()
            .iter()
            .any(|p| p.to_string().contains("denominator")),
        "{:?}",
        f.problems()
    );
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Party ids to draw participants from (distinct ISO 3166-1 codes).
const POOL: [&str; 12] = [
    "ALB", "BEL", "CAN", "DEU", "EST", "FRA", "GBR", "ISL", "LUX", "NLD", "POL", "USA",
];

/// Up to 12 distinct parties with positive weights (GDP-like, with cents), and a target in
/// cents.
fn weights_and_total() -> impl Strategy<Value = (Vec<(PartyId, Decimal)>, Decimal)> {
    let weights = prop::sample::subsequence(POOL.to_vec(), 1..=POOL.len()).prop_flat_map(|ps| {
        let n = ps.len();
        (
            Just(ps),
            prop::collection::vec(
                prop_oneof![1i64..=1_000, 1i64..=30_000_000_000_000_000i64],
                n,
            ),
        )
    });
    (weights, 0i64..=100_000_000_000_000i64).prop_map(|((ps, ws), cents)| {
        let weights = ps
            .into_iter()
            .zip(ws)
            .map(|(p, w)| (party(p), Decimal::new(w, 2)))
            .collect();
        (weights, Decimal::new(cents, 2))
    })
}

/// The exact proportional value `total × w / Σw`.
fn exact_share(total: Decimal, w: Decimal, denominator: Decimal) -> Decimal {
    total * w / denominator
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn largest_remainder_adds_up_to_the_total_exactly_and_each_share_is_within_a_cent(
        (weights, total) in weights_and_total()
    ) {
        let out = largest_remainder(total, &weights);
        prop_assert_eq!(out.len(), weights.len());
        let sum: Decimal = out.values().map(|(_, a)| *a).sum();
        prop_assert_eq!(sum, total);
        let denominator: Decimal = weights.iter().map(|(_, w)| *w).sum();
        for (p, w) in &weights {
            let (fraction, amount) = out[p];
            prop_assert_eq!(amount.scale(), 2);
            prop_assert!(amount >= Decimal::ZERO);
            let exact = exact_share(total, *w, denominator);
            prop_assert!(
                (amount - exact).abs() < dec("0.01"),
                "{} got {} for exact {}", p, amount, exact
            );
            prop_assert!((fraction - *w / denominator).abs() < dec("0.0000000001"));
        }
    }

    #[test]
    fn largest_remainder_does_not_depend_on_listing_order(
        (weights, total, shuffled) in weights_and_total().prop_flat_map(|(w, t)| {
            let s = Just(w.clone()).prop_shuffle();
            (Just(w), Just(t), s)
        })
    ) {
        prop_assert_eq!(largest_remainder(total, &weights), largest_remainder(total, &shuffled));
    }

    #[test]
    fn fair_shares_plus_unallocated_is_the_target_in_any_order(
        (weights, total) in weights_and_total(),
        exempt in prop::collection::vec(prop::option::of(any::<bool>()), POOL.len()),
        seed in any::<u64>(),
    ) {
        let target = total.max(dec("0.01"));
        let participants: Vec<(String, String)> =
            weights.iter().map(|(p, w)| (p.to_string(), w.to_string())).collect();
        let exemptions: Vec<(String, bool)> = participants
            .iter()
            .zip(&exempt)
            .filter_map(|((p, _), e)| e.map(|inside| (p.clone(), inside)))
            .collect();
        let build = |ps: &[(String, String)], ex: &[(String, bool)]| {
            let ps: Vec<(&str, &str)> = ps.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let ex: Vec<(&str, bool)> = ex.iter().map(|(a, b)| (a.as_str(), *b)).collect();
            framework(&ps, &ex, &target.to_string())
        };
        let f = build(&participants, &exemptions);
        prop_assume!(f.problems().is_empty());
        let shares = fair_shares(&f);
        prop_assert_eq!(shares.allocations.len(), participants.len());
        let allocated: Decimal = shares.allocations.iter().map(|a| a.fair_share).sum();
        prop_assert_eq!(allocated + shares.unallocated, target);
        prop_assert_eq!(shares.unallocated.scale(), 2);

        // Denominator: everyone not exempted out of it.
        let denominator: Decimal = weights
            .iter()
            .filter(|(p, _)| f.exemption(p).is_none_or(|e| e.in_denominator))
            .map(|(_, w)| *w)
            .sum();
        for a in &shares.allocations {
            prop_assert_eq!(a.fair_share.scale(), 2);
            let w = f.share_basis.values[&a.party];
            match f.exemption(&a.party) {
                Some(e) => {
                    prop_assert!(a.exempt);
                    prop_assert!(a.fair_share.is_zero());
                    if !e.in_denominator {
                        prop_assert!(a.share.is_zero());
                    }
                }
                None => {
                    prop_assert!(!a.exempt);
                    let exact = exact_share(target, w, denominator);
                    prop_assert!((a.fair_share - exact).abs() < dec("0.01"),
                        "{} got {} for exact {}", a.party, a.fair_share, exact);
                }
            }
        }

        // Another listing order (participants and exemptions rotated and reversed) gives the
        // very same allocation.
        let mut ps = participants.clone();
        let k = usize::try_from(seed % (ps.len() as u64)).unwrap_or(0);
        ps.rotate_left(k);
        if seed & 1 == 1 {
            ps.reverse();
        }
        let mut ex = exemptions.clone();
        ex.reverse();
        prop_assert_eq!(fair_shares(&build(&ps, &ex)), shares);
    }

    #[test]
    fn to_euros_is_at_the_cent_stable_and_the_identity_for_euros_at_one(
        cents in -100_000_000_000_000i64..=100_000_000_000_000i64,
        minor in 0u32..=3,
        rate_units in 1i64..=10_000_000_000i64,
        rate_scale in 0u32..=6,
    ) {
        let amount = Decimal::new(cents, minor);
        let rate = Decimal::new(rate_units, rate_scale);
        let eur = to_euros(amount, rate).expect("a positive rate converts");
        prop_assert_eq!(eur.scale(), 2);
        prop_assert_eq!(to_euros(amount, rate), Some(eur));
        // Within half a cent of the exact quotient.
        prop_assert!((eur - amount / rate).abs() <= dec("0.005"));
        // Euros (two decimals) at rate 1 are themselves.
        let euros = Decimal::new(cents, 2);
        prop_assert_eq!(to_euros(euros, Decimal::ONE), Some(euros));
        // Converting a converted value again at 1 changes nothing.
        prop_assert_eq!(to_euros(eur, Decimal::ONE), Some(eur));
    }

    /// A model of event-date: the latest fixing on or before the date, if at most 7 days back.
    #[test]
    fn event_date_picks_the_latest_fixing_within_seven_days_or_none(
        published in prop::collection::vec(any::<bool>(), 40),
        offset in 0i64..50,
    ) {
        let first = date("2024-07-01");
        // The ECB publishes on weekdays only (a weekend day is refused).
        let days: Vec<(String, String)> = published
            .iter()
            .enumerate()
            .filter(|(_, p)| **p)
            .map(|(i, _)| (i, first.checked_add((i as i64).days()).expect("date")))
            .filter(|(_, d)| !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday))
            .map(|(i, d)| (d.to_string(), format!("1.0{:03}", 700 + i)))
            .collect();
        let refs: Vec<(&str, &str)> = days.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let ledger = given_fixings("USD", &refs);
        let on = first.checked_add(offset.days()).expect("date");
        let expected = (0..=7i64)
            .map(|back| on.checked_sub(back.days()).expect("date"))
            .find(|d| days.iter().any(|(day, _)| *day == d.to_string()));
        let got = ledger
            .rates()
            .convert(&money("1000.00", "USD"), on, FxPolicy::EventDate, None);
        match expected {
            Some(d) => {
                let c = got.expect("a fixing within the window converts");
                prop_assert_eq!(c.basis, RateBasis::Fixing { date: d });
            }
            None => {
                let reason = got.expect_err("nothing within the window");
                prop_assert!(reason.contains("USD") && reason.contains(&on.to_string()), "{}", reason);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Recording fixings: a day may gain currencies in later events, never change one

use steadfast_domain::fx::MIN_RATE;
use steadfast_domain::{Converter, RateCut, Rejection};

/// One publication day of the ECB with these rates.
fn publication(on: &str, rates: &[(&str, &str)]) -> FxFixingsPublished {
    FxFixingsPublished {
        source: "ECB".to_owned(),
        date: date(on),
        rates: rates.iter().map(|(c, r)| (cur(c), dec(r))).collect(),
    }
}

impl Log {
    /// Decides one publication day against the ledger and folds in whatever it yields.
    fn record(&mut self, cmd: FxFixingsPublished) -> (Result<bool, Rejection>, Vec<DomainEvent>) {
        let mut draft = Draft::new(&self.ledger);
        let result = draft.record_fixings(cmd);
        let events = draft.into_events();
        self.apply(events.clone());
        (result, events)
    }
}

/// The rates each event carries (every event must be a rate event).
fn carried(events: &[DomainEvent]) -> Vec<BTreeMap<Currency, Decimal>> {
    events
        .iter()
        .map(|e| match e {
            DomainEvent::FxFixingsPublished(f) => f.rates.clone(),
            other => panic!("expected a rate event, got {other:?}"),
        })
        .collect()
}

fn rates_of(pairs: &[(&str, &str)]) -> BTreeMap<Currency, Decimal> {
    pairs.iter().map(|(c, r)| (cur(c), dec(r))).collect()
}

/// The refusal names `currency` (or none: the day itself) and mentions every one of `mentions`.
#[track_caller]
fn then_refused(
    result: Result<bool, Rejection>,
    currency: Option<&str>,
    mentions: &[&str],
) -> Rejection {
    let refusal = result.expect_err("refused");
    let named = refusal.iter().find_map(|r| match r.field {
        Some(Field::Rate(c)) => Some(c),
        _ => None,
    });
    assert_eq!(named, currency.map(cur), "{refusal:?}");
    for m in mentions {
        assert!(
            refusal.to_string().contains(m),
            "refusal `{refusal}` should mention {m}"
        );
    }
    refusal
}

#[test]
fn a_day_recorded_with_fewer_currencies_gains_the_others_in_a_later_event_carrying_only_them() {
    let mut log = Log::new();
    // A short file first: 2024-07-10 with USD only.
    log.at("2024-07-10T16:00:00Z");
    let (first, events) = log.record(publication("2024-07-10", &[("USD", "1.0825")]));
    assert_eq!(first, Ok(true));
    assert_eq!(carried(&events), [rates_of(&[("USD", "1.0825")])]);
    let first_event = events[0].clone();

    // The full day later: USD again (same rate) and GBP. Accepted; the event carries GBP only.
    log.at("2024-07-20T16:00:00Z");
    let full = publication("2024-07-10", &[("USD", "1.0825"), ("GBP", "0.84518")]);
    let (second, events) = log.record(full.clone());
    assert_eq!(second, Ok(true));
    assert_eq!(carried(&events), [rates_of(&[("GBP", "0.84518")])]);
    let second_event = events[0].clone();

    // Both events fold into one day holding both currencies.
    let rates = log.ledger.rates();
    assert_eq!(
        rates.day(date("2024-07-10")),
        Some(&rates_of(&[("USD", "1.0825"), ("GBP", "0.84518")]))
    );
    assert_eq!(rates.events(), 2, "two rate events folded");
    assert_eq!(rates.days(), 1, "one publication day");
    assert_eq!(rates.span(), Some((date("2024-07-10"), date("2024-07-10"))));

    // The two events of the same day have different idempotency keys (else the second would
    // be taken for a retry of the first and dropped by the store).
    let (k1, k2) = (
        first_event.idempotency_key().expect("a key"),
        second_event.idempotency_key().expect("a key"),
    );
    assert_ne!(k1, k2);
    assert!(
        k1.contains("2024-07-10") && k2.contains("2024-07-10"),
        "{k1} {k2}"
    );

    // Each currency converts, and is known from the moment its own event was recorded.
    let gbp = money("845180.00", "GBP");
    let on = date("2024-07-10");
    let c = rates
        .convert(&gbp, on, FxPolicy::EventDate, None)
        .expect("GBP converts");
    assert_eq!((c.eur, c.basis), (dec("1000000.00"), fixing("2024-07-10")));
    let between = Some(at("2024-07-15T00:00:00Z"));
    assert!(
        rates
            .convert(&gbp, on, FxPolicy::EventDate, between)
            .is_err(),
        "GBP was not recorded yet at that moment"
    );
    let usd = rates
        .convert(
            &money("1082500.00", "USD"),
            on,
            FxPolicy::EventDate,
            between,
        )
        .expect("USD was");
    assert_eq!(usd.eur, dec("1000000.00"));

    // The full day again: nothing new, no event.
    let (again, events) = log.record(full.clone());
    assert_eq!(again, Ok(false));
    assert!(events.is_empty(), "{events:?}");
    // The short file again: nothing new either.
    let (again, events) = log.record(publication("2024-07-10", &[("USD", "1.0825")]));
    assert_eq!(again, Ok(false));
    assert!(events.is_empty(), "{events:?}");

    // A different USD for the day is refused, naming USD, whatever else the file adds.
    let (changed, events) = log.record(publication(
        "2024-07-10",
        &[("USD", "1.0826"), ("GBP", "0.84518"), ("JPY", "174.79")],
    ));
    then_refused(changed, Some("USD"), &["USD", "1.0825", "1.0826"]);
    assert!(
        events.is_empty(),
        "a refused day yields nothing: {events:?}"
    );
    // A different GBP, the currency added later, is refused the same way.
    let (changed, _) = log.record(publication("2024-07-10", &[("GBP", "0.845")]));
    then_refused(changed, Some("GBP"), &["GBP", "0.84518", "0.845"]);
    assert_eq!(log.ledger.rates().events(), 2);
}

#[test]
fn within_one_batch_a_day_may_gain_currencies_but_not_change_one() {
    let log = Log::new();
    let mut draft = Draft::new(&log.ledger);
    assert_eq!(
        draft.record_fixings(publication("2024-07-10", &[("USD", "1.0825")])),
        Ok(true)
    );
    assert_eq!(
        draft.record_fixings(publication(
            "2024-07-10",
            &[("USD", "1.0825"), ("JPY", "174.79")]
        )),
        Ok(true)
    );
    assert_eq!(
        draft.record_fixings(publication(
            "2024-07-10",
            &[("JPY", "174.79"), ("USD", "1.0825")]
        )),
        Ok(false)
    );
    then_refused(
        draft.record_fixings(publication("2024-07-10", &[("JPY", "175")])),
        Some("JPY"),
        &["174.79", "175"],
    );
    let events = draft.into_events();
    assert_eq!(
        carried(&events),
        [
            rates_of(&[("USD", "1.0825")]),
            rates_of(&[("JPY", "174.79")])
        ]
    );
    let keys: Vec<Option<String>> = events.iter().map(DomainEvent::idempotency_key).collect();
    assert_ne!(keys[0], keys[1]);
    let mut ledger = log.ledger.clone();
    for (i, e) in events.iter().enumerate() {
        ledger.apply(
            EventMeta {
                position: i as u64 + 1,
                recorded_at: at("2025-01-01T09:00:00Z"),
            },
            e,
        );
    }
    assert_eq!(ledger.rates().events(), 2);
    assert_eq!(ledger.rates().days(), 1);
    assert_eq!(
        ledger.rates().day(date("2024-07-10")),
        Some(&rates_of(&[("USD", "1.0825"), ("JPY", "174.79")]))
    );
}

#[test]
fn an_empty_day_a_tiny_rate_a_weekend_and_a_currency_after_it_joined_the_euro_are_refused() {
    let mut log = Log::new();
    // Every cell N/A: nothing to record, and the day itself is at fault.
    let (empty, events) = log.record(publication("2024-07-10", &[]));
    then_refused(empty, None, &["2024-07-10"]);
    assert!(events.is_empty());

    // Below 0.0001 per euro: refused, naming the currency; 0.0001 itself is accepted.
    assert_eq!(MIN_RATE, dec("0.0001"));
    let (tiny, events) = log.record(publication(
        "2024-07-10",
        &[("USD", "1.0825"), ("JPY", "0.00009")],
    ));
    then_refused(tiny, Some("JPY"), &["0.00009"]);
    assert!(events.is_empty(), "nothing of a refused day is recorded");
    let (tiny, _) = log.record(publication("2024-07-10", &[("GBP", "0.00001")]));
    then_refused(tiny, Some("GBP"), &["0.00001"]);
    let (smallest, _) = log.record(publication("2024-07-11", &[("JPY", "0.0001")]));
    assert_eq!(smallest, Ok(true));

    // The kuna joined the euro on 2023-01-01: its last fixing was 2022-12-30.
    let (kuna, events) = log.record(publication(
        "2023-01-02",
        &[("USD", "1.0683"), ("HRK", "7.5345")],
    ));
    then_refused(
        kuna,
        Some("HRK"),
        &["joined the euro", "2023-01-01", "2023-01-02"],
    );
    assert!(events.is_empty(), "{events:?}");
    let (kuna, _) = log.record(publication("2022-12-30", &[("HRK", "7.5365")]));
    assert_eq!(kuna, Ok(true));

    // The lev joined on 2026-01-01.
    let (lev, _) = log.record(publication("2026-01-02", &[("BGN", "1.9558")]));
    then_refused(lev, Some("BGN"), &["joined the euro", "2026-01-01"]);
    let (lev, _) = log.record(publication("2025-12-31", &[("BGN", "1.9558")]));
    assert_eq!(lev, Ok(true));

    // A Saturday: the day is at fault, not a currency.
    let (saturday, events) = log.record(publication("2024-07-13", &[("USD", "1.089")]));
    then_refused(saturday, None, &["2024-07-13", "Saturday"]);
    assert!(events.is_empty());
    let (sunday, _) = log.record(publication("2024-07-14", &[("USD", "1.089")]));
    then_refused(sunday, None, &["Sunday"]);

    // What was accepted, and only that.
    let rates = log.ledger.rates();
    assert_eq!(rates.events(), 3);
    assert_eq!(rates.days(), 3);
    assert_eq!(rates.day(date("2024-07-10")), None);
    assert_eq!(rates.day(date("2023-01-02")), None);
    assert_eq!(rates.day(date("2026-01-02")), None);
}

// ---------------------------------------------------------------------------------------------
// The report converter: each period mean computed once, the same figures as convert_with

/// When the property's fixings are recorded: the first ones early, the rest late.
const EARLY: &str = "2024-07-10T00:00:00Z";
const LATE: &str = "2024-07-20T00:00:00Z";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_converter_gives_what_convert_with_gives_for_every_value_of_a_half_year(
        picks in prop::sample::subsequence(USD_JULY_2024.to_vec(), 1..=USD_JULY_2024.len()),
        split in 0usize..=12,
        values in prop::collection::vec(
            (-3i64..=186, -10_000_000_000i64..=10_000_000_000i64, 0usize..6),
            1..40,
        ),
        policy in prop::sample::select(FxPolicy::ALL.to_vec()),
        published_by in prop::option::of(-3i64..=186),
        known_on in prop::option::of(prop::sample::select(vec![EARLY, LATE])),
    ) {
        let mut log = Log::new();
        let split = split.min(picks.len());
        log.at(EARLY).fixings("USD", &picks[..split]);
        log.at(LATE).fixings("USD", &picks[split..]);
        let rates = log.ledger.rates();
        let first = date("2024-07-01");
        let day = |offset: i64| first.checked_add(offset.days()).expect("date");
        let cut = RateCut {
            known_on: known_on.map(at),
            published_by: published_by.map(day),
        };
        // Mostly USD, in 2024-H2 (and a few days of 2024-H1 and 2025-H1), with some euros and
        // kunas (fixed rates) mixed in.
        let currencies = ["USD", "USD", "USD", "USD", "EUR", "HRK"];
        let mut converter = Converter::new(rates, policy, cut);
        let mut expected = Vec::new();
        for (offset, cents, c) in &values {
            let on = day(*offset);
            let m = Money::new(Decimal::new(*cents, 2), cur(currencies[*c])).expect("money");
            let want = rates.convert_with(&m, on, policy, cut);
            let got = converter.convert(m.amount(), m.currency(), on);
            prop_assert_eq!(&got, &want, "{} {} on {}", m.amount(), m.currency(), on);
            if let Ok(c) = &got {
                prop_assert_eq!(c.eur.scale(), 2);
            }
            if cut.published_by.is_none() {
                prop_assert_eq!(&got, &rates.convert(&m, on, policy, cut.known_on));
            }
            expected.push((m, on, want));
        }
        // In another order, with a fresh converter: the same figures (the cache holds no order).
        let mut converter = Converter::new(rates, policy, cut);
        for (m, on, want) in expected.iter().rev() {
            prop_assert_eq!(&converter.convert(m.amount(), m.currency(), *on), want);
        }
    }
}
