//! Synthetic ledgers: realistic, reproducible contributions files for load tests and demos.
//!
//! [`generate`] yields exactly the requested number of stage-event rows in the contributions
//! import layout ([`HEADER`]); [`write_csv`] writes them as CSV to any writer.
//! The same options give the same bytes on every platform and with every dependency version:
//! the random numbers come from xoshiro256** seeded by SplitMix64 (`rand_xoshiro`; a test
//! checks its stream against the reference implementations' outputs), every draw is an integer
//! made from that stream here, and
//! amounts are integers of minor units written as decimals at their currency's scale.
//!
//! What a file looks like, and why:
//!
//! - Donors are states only (the 32 NATO Allies and AUS, IRL, JPN, KOR): a state needs no
//!   registration, so a file imports into an empty ledger as well as into the founding
//!   scenario. Ids (`S{seed}-C{n}` and `S{seed}-C{n}-{k}`, zero-padded so text order is number
//!   order) never clash with the scenario's.
//! - Each contribution follows the stages announced → committed → allocated → delivered (often
//!   in several parts) → confirmed (one receipt per delivery, with its condition), stopping at
//!   any stage; some are amended (a signed delta on the pledge, never below zero) or withdrawn
//!   (dated on or after everything else). Dates run from 2022-02-24 to 2025-12-31, weekends
//!   included; what would fall later has simply not happened yet and is left out.
//! - Anomalies the importer flags (never refuses) appear at realistic rates: skipped stages,
//!   late disclosures (a delivery dated before the commitment, listed where it was disclosed),
//!   deliveries above the commitment, receipts that differ from the deliveries. The summary
//!   counts them from the rows actually written, with the ledger's own definitions.
//! - Rows are sorted by effective date, then event id, like a tracker's export, except the late
//!   disclosures. Generation streams: contributions open in date order, and their rows wait in
//!   a heap only until no later contribution can precede them, so memory stays small.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::io::{self, Write};

use jiff::civil::Date;
use rand_xoshiro::Xoshiro256StarStar;
use rand_xoshiro::rand_core::{Rng as _, SeedableRng as _};
use serde::Serialize;
use steadfast_domain::{
    AnomalyKind, Category, Channel, Condition, Stage, ValuationBasis, Visibility,
};

// ---------------------------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------------------------

/// The draws a synthetic file is made of, every one an integer, from xoshiro256**
/// (`rand_xoshiro`) seeded with four SplitMix64 outputs, as its authors recommend. The stream is
/// fixed by the algorithm, not by a library's version (a test pins it to the reference
/// outputs), and every draw below is made from it here, which is what makes synthetic files
/// reproducible.
#[derive(Debug)]
struct Draws(Xoshiro256StarStar);

impl Draws {
    fn seed_from_u64(seed: u64) -> Self {
        Draws(Xoshiro256StarStar::seed_from_u64(seed))
    }

    /// A uniform integer in `0..n` (`n > 0`), without bias (Lemire's multiply-and-reject).
    fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no value to return");
        let mut product = u128::from(self.0.next_u64()) * u128::from(n);
        if (product as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (product as u64) < threshold {
                product = u128::from(self.0.next_u64()) * u128::from(n);
            }
        }
        (product >> 64) as u64
    }

    /// A uniform integer in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_mille / 1000`.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// A number in `0..=max` skewed towards small values (the smaller of two draws), the shape
    /// of most delays: usually short, now and then long.
    fn skewed(&mut self, max: u64) -> u64 {
        self.below(max + 1).min(self.below(max + 1))
    }

    /// A value drawn from a table with integer weights.
    fn pick<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        table[self.pick_index(table.iter().map(|(_, w)| *w))].0
    }

    /// An index drawn with the given integer weights (at least one positive).
    fn pick_index(&mut self, weights: impl Iterator<Item = u32> + Clone) -> usize {
        let total: u64 = weights.clone().map(u64::from).sum();
        let mut draw = self.below(total);
        let mut last = 0;
        for (i, weight) in weights.enumerate() {
            if draw < u64::from(weight) {
                return i;
            }
            draw -= u64::from(weight);
            last = i;
        }
        last
    }
}

// ---------------------------------------------------------------------------------------------
// Reference tables
// ---------------------------------------------------------------------------------------------

/// The columns of the contributions import layout, in their documented order: the importer's
/// (`steadfast_ingest::HEADER`, held equal by a test), copied so that this crate needs only the
/// domain.
pub const HEADER: [&str; 18] = [
    "event_id",
    "contribution_id",
    "donor",
    "recipient",
    "stage",
    "effective_date",
    "amount",
    "currency",
    "category",
    "channel",
    "visibility",
    "quantity",
    "unit",
    "valuation_basis",
    "amends",
    "reason",
    "source_url",
    "description",
];

/// A currency: ISO code, minor units, and roughly how many units a euro buys, times 100 (only
/// to size amounts plausibly; nothing is converted with it).
struct CurrencyInfo {
    code: &'static str,
    minor_units: u32,
    per_eur_x100: u64,
}

const EUR: u8 = 0;
const USD: u8 = 1;
const GBP: u8 = 2;
const NOK: u8 = 3;
const SEK: u8 = 4;
const DKK: u8 = 5;
const CAD: u8 = 6;
const AUD: u8 = 7;
const JPY: u8 = 8;
const CZK: u8 = 9;
const PLN: u8 = 10;

const CURRENCIES: [CurrencyInfo; 11] = [
    CurrencyInfo {
        code: "EUR",
        minor_units: 2,
        per_eur_x100: 100,
    },
    CurrencyInfo {
        code: "USD",
        minor_units: 2,
        per_eur_x100: 108,
    },
    CurrencyInfo {
        code: "GBP",
        minor_units: 2,
        per_eur_x100: 85,
    },
    CurrencyInfo {
        code: "NOK",
        minor_units: 2,
        per_eur_x100: 1_150,
    },
    CurrencyInfo {
        code: "SEK",
        minor_units: 2,
        per_eur_x100: 1_130,
    },
    CurrencyInfo {
        code: "DKK",
        minor_units: 2,
        per_eur_x100: 746,
    },
    CurrencyInfo {
        code: "CAD",
        minor_units: 2,
        per_eur_x100: 147,
    },
    CurrencyInfo {
        code: "AUD",
        minor_units: 2,
        per_eur_x100: 163,
    },
    CurrencyInfo {
        code: "JPY",
        minor_units: 0,
        per_eur_x100: 16_000,
    },
    CurrencyInfo {
        code: "CZK",
        minor_units: 2,
        per_eur_x100: 2_480,
    },
    CurrencyInfo {
        code: "PLN",
        minor_units: 2,
        per_eur_x100: 430,
    },
];

/// A donor state: how often it appears, the size of its packages (tier 0 to 3: typical euro
/// value 10^(4+tier) to 10^(6+tier)), its currency, and whether it gives non-lethal aid only.
struct Donor {
    code: &'static str,
    weight: u32,
    tier: u32,
    currency: u8,
    non_lethal: bool,
}

const fn donor(code: &'static str, weight: u32, tier: u32, currency: u8) -> Donor {
    Donor {
        code,
        weight,
        tier,
        currency,
        non_lethal: false,
    }
}

const fn non_lethal(code: &'static str, weight: u32, tier: u32, currency: u8) -> Donor {
    Donor {
        code,
        weight,
        tier,
        currency,
        non_lethal: true,
    }
}

/// The 32 NATO Allies and four partners; states only, so no registration is needed.
const DONORS: [Donor; 36] = [
    donor("USA", 22, 3, USD),
    donor("DEU", 14, 3, EUR),
    donor("GBR", 10, 3, GBP),
    donor("FRA", 6, 2, EUR),
    donor("CAN", 6, 2, CAD),
    donor("NLD", 6, 2, EUR),
    donor("POL", 6, 2, PLN),
    donor("DNK", 6, 2, DKK),
    donor("NOR", 5, 2, NOK),
    donor("SWE", 5, 2, SEK),
    donor("ITA", 4, 2, EUR),
    donor("CZE", 4, 1, CZK),
    donor("FIN", 4, 2, EUR),
    donor("BEL", 3, 2, EUR),
    donor("ESP", 3, 2, EUR),
    donor("LTU", 3, 1, EUR),
    donor("EST", 3, 1, EUR),
    donor("LVA", 3, 1, EUR),
    donor("PRT", 2, 1, EUR),
    donor("ROU", 2, 1, EUR),
    donor("SVK", 2, 1, EUR),
    donor("BGR", 2, 1, EUR),
    donor("GRC", 1, 1, EUR),
    donor("SVN", 1, 1, EUR),
    donor("HRV", 1, 1, EUR),
    donor("LUX", 1, 1, EUR),
    donor("TUR", 1, 1, USD),
    donor("ISL", 1, 0, EUR),
    donor("ALB", 1, 0, EUR),
    donor("MNE", 1, 0, EUR),
    donor("MKD", 1, 0, EUR),
    non_lethal("HUN", 1, 0, EUR),
    donor("AUS", 3, 2, AUD),
    non_lethal("JPN", 3, 2, JPY),
    non_lethal("KOR", 1, 1, USD),
    non_lethal("IRL", 1, 1, EUR),
];

const RECIPIENTS: [&str; 2] = ["UKR", "MDA"];

const CATEGORIES: [(Category, u32); 9] = [
    (Category::EquipmentPurchase, 24),
    (Category::InKindDonation, 26),
    (Category::MaintenanceLogisticsTransport, 8),
    (Category::Training, 8),
    (Category::OperationalSupport, 6),
    (Category::DefenceIndustryInvestment, 8),
    (Category::NatoTrustFund, 5),
    (Category::FinancialAid, 8),
    (Category::HumanitarianAid, 7),
];

const NON_LETHAL_CATEGORIES: [(Category, u32); 4] = [
    (Category::HumanitarianAid, 40),
    (Category::FinancialAid, 30),
    (Category::NatoTrustFund, 20),
    (Category::Training, 10),
];

const MILITARY_CHANNELS: [(Channel, u32); 5] = [
    (Channel::Bilateral, 66),
    (Channel::JointProcurement, 12),
    (Channel::EuInstrument, 9),
    (Channel::MultilateralFund, 8),
    (Channel::NatoTrustFund, 5),
];

const CIVIL_CHANNELS: [(Channel, u32); 3] = [
    (Channel::Bilateral, 60),
    (Channel::MultilateralFund, 25),
    (Channel::EuInstrument, 15),
];

const VISIBILITIES: [(Visibility, u32); 3] = [
    (Visibility::Public, 80),
    (Visibility::Coalition, 15),
    (Visibility::Restricted, 5),
];

const BASES: [(ValuationBasis, u32); 5] = [
    (ValuationBasis::Declared, 35),
    (ValuationBasis::ReplacementCost, 20),
    (ValuationBasis::BookValue, 20),
    (ValuationBasis::MarketPrice, 15),
    (ValuationBasis::ContractPrice, 10),
];

/// Counted items: the unit, a plausible range of a package's count, and whether it is a weapon
/// (humanitarian packages count only the others).
const ITEMS: [(&str, u64, u64, bool); 14] = [
    ("155 mm artillery shells", 2_000, 150_000, true),
    ("armoured personnel carriers", 5, 120, true),
    ("main battle tanks", 3, 40, true),
    ("self-propelled howitzers", 2, 36, true),
    ("air defence systems", 1, 6, true),
    ("air defence interceptors", 10, 300, true),
    ("reconnaissance drones", 50, 5_000, true),
    ("FPV drones", 500, 50_000, true),
    ("rifles", 500, 40_000, true),
    ("military trucks", 10, 400, true),
    ("demining kits", 10, 500, false),
    ("medical evacuation vehicles", 5, 80, false),
    ("power generators", 20, 2_000, false),
    ("sets of winter clothing", 1_000, 100_000, false),
];

const AMEND_REASONS: [&str; 5] = [
    "figure revised in the donor's later statement",
    "contract price adjustment",
    "package re-scoped after consultations",
    "correction of a reporting error",
    "exchange of items within the package",
];

const WITHDRAW_REASONS: [&str; 4] = [
    "package cancelled before delivery",
    "superseded by a later package",
    "funding not approved by parliament",
    "items no longer available from stocks",
];

/// What a contribution is about, for its descriptions (some with a comma, as real ones have).
fn purpose(category: Category) -> &'static str {
    match category {
        Category::EquipmentPurchase => "procurement from industry",
        Category::InKindDonation => "transfer from national stocks",
        Category::MaintenanceLogisticsTransport => "maintenance, spare parts and transport",
        Category::Training => "training of personnel",
        Category::OperationalSupport => "operational support costs",
        Category::DefenceIndustryInvestment => "investment in local defence production",
        Category::NatoTrustFund => "contribution to a NATO trust fund",
        Category::FinancialAid => "budget support",
        Category::HumanitarianAid => "humanitarian assistance, winter supplies",
        Category::MilitaryUnspecified => "military support, items not itemised",
    }
}

/// The first and last effective dates a synthetic file uses.
pub const FIRST_DATE: Date = Date::constant(2022, 2, 24);
pub const LAST_DATE: Date = Date::constant(2025, 12, 31);

/// Rough rates (per mille of contributions) of what the generator plants; the resulting rates
/// are reported in the summary, counted from the rows actually written.
const SKIP_PER_MILLE: u64 = 170; // of contributions reaching committed or beyond: ~15 % overall
const LATE_PER_MILLE: u64 = 50; // of those with a commitment and a delivery: ~3 %
const ABOVE_PER_MILLE: u64 = 35; // of those with a commitment and a delivery: ~2 %
const DIFFERS_PER_MILLE: u64 = 85; // of those with a confirmed receipt: ~2 %
const AMEND_PER_MILLE: u64 = 60;
const WITHDRAW_PER_MILLE: u64 = 55; // of those not yet confirmed: ~3 %

// ---------------------------------------------------------------------------------------------
// Options and summary
// ---------------------------------------------------------------------------------------------

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthOptions {
    /// Stage-event rows to write (at least 1).
    pub events: u64,
    pub seed: u64,
}

/// Contributions showing each kind of anomaly the ledger flags, counted on the rows written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct AnomalyCounts {
    pub skipped_stage: u64,
    pub out_of_order_dates: u64,
    pub delivered_above_committed: u64,
    pub confirmed_differs_from_delivered: u64,
}

impl AnomalyCounts {
    pub fn by_kind(&self) -> [(AnomalyKind, u64); 4] {
        [
            (AnomalyKind::SkippedStage, self.skipped_stage),
            (AnomalyKind::OutOfOrderDates, self.out_of_order_dates),
            (
                AnomalyKind::DeliveredAboveCommitted,
                self.delivered_above_committed,
            ),
            (
                AnomalyKind::ConfirmedDiffersFromDelivered,
                self.confirmed_differs_from_delivered,
            ),
        ]
    }
}

/// What a generated file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SynthSummary {
    pub seed: u64,
    pub rows: u64,
    pub contributions: u64,
    pub donors: u64,
    /// ISO codes of the currencies used, in code order.
    pub currencies: Vec<String>,
    /// The earliest and latest effective dates of the rows (`None` only for an empty file).
    pub first_date: Option<Date>,
    pub last_date: Option<Date>,
    pub amendments: u64,
    pub withdrawals: u64,
    /// Delivery rows listed where they were disclosed, after their effective date.
    pub late_disclosures: u64,
    /// Contributions with each kind of anomaly.
    pub anomalies: AnomalyCounts,
}

/// A written CSV file: what it holds and how many bytes it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrittenCsv {
    pub summary: SynthSummary,
    pub bytes: u64,
}

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

/// The attributes every row of a contribution shares.
#[derive(Debug, Clone, Copy)]
struct Attributes {
    donor: u8,
    recipient: u8,
    category: Category,
    channel: Channel,
    visibility: Visibility,
    currency: u8,
    item: Option<u8>,
    basis: Option<ValuationBasis>,
}

/// What a row's reason and description say beyond its stage.
#[derive(Debug, Clone, Copy)]
enum Note {
    Plain,
    Delivery { part: u8, of: u8 },
    Receipt { part: u8, condition: Condition },
    Amendment { reason: u8, of: Stage },
    Withdrawal { reason: u8 },
}

/// One planned stage event, compact until it is written. Days count from [`FIRST_DATE`].
#[derive(Debug, Clone, Copy)]
struct Row {
    /// Where the row sits in the file: its effective date, or for a late disclosure the day it
    /// was disclosed.
    placed: u16,
    number: u64,
    /// The event's number within its contribution (1-based, in effective-date order).
    k: u8,
    effective: u16,
    stage: Stage,
    /// Minor units of the contribution's currency (signed for an amendment).
    amount: Option<i64>,
    quantity: Option<u64>,
    /// `k` of the event an amendment corrects.
    amends: Option<u8>,
    note: Note,
    attributes: Attributes,
}

impl Row {
    fn key(&self) -> (u16, u64, u8) {
        (self.placed, self.number, self.k)
    }

    fn late(&self) -> bool {
        self.placed != self.effective
    }
}

/// Heap order: placement day, then event id (ids are zero-padded, so number order is text
/// order).
#[derive(Debug)]
struct Queued(Row);

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.0.key() == other.0.key()
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.key().cmp(&other.0.key())
    }
}

// ---------------------------------------------------------------------------------------------
// Planning one contribution
// ---------------------------------------------------------------------------------------------

/// A row being planned: `seq` is its creation order, `target` the `seq` of what it amends.
struct Planned {
    row: Row,
    seq: u8,
    target: Option<u8>,
}

/// Rounds down to `digits` significant digits, as announced figures are.
fn round_significant(value: u64, digits: u32) -> u64 {
    let mut scale = 1;
    while value / scale >= 10u64.pow(digits) {
        scale *= 10;
    }
    value / scale * scale
}

/// `total` split into `parts` positive parts (`parts <= total`) in the proportions `weights`.
fn split(total: u64, weights: &[u64]) -> Vec<u64> {
    let parts = weights.len() as u64;
    debug_assert!(parts >= 1 && parts <= total);
    let spare = total - parts;
    let sum: u64 = weights.iter().sum();
    let mut out: Vec<u64> = weights
        .iter()
        .map(|w| 1 + (u128::from(spare) * u128::from(*w) / u128::from(sum)) as u64)
        .collect();
    let given: u64 = out.iter().sum();
    if let Some(last) = out.last_mut() {
        *last += total - given;
    }
    out
}

/// `value * percent / 100`, at least 1.
fn percent_of(value: u64, percent: u64) -> u64 {
    ((u128::from(value) * u128::from(percent) / 100) as u64).max(1)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

struct Planner<'a> {
    rng: &'a mut Draws,
    rows: Vec<Planned>,
    attributes: Attributes,
    number: u64,
}

impl Planner<'_> {
    fn push(
        &mut self,
        stage: Stage,
        day: u64,
        amount: Option<u64>,
        quantity: Option<u64>,
        note: Note,
    ) -> u8 {
        let seq = self.rows.len() as u8;
        let day = u16::try_from(day).unwrap_or(u16::MAX);
        self.rows.push(Planned {
            row: Row {
                placed: day,
                number: self.number,
                k: 0,
                effective: day,
                stage,
                amount: amount.map(to_i64),
                quantity,
                amends: None,
                note,
                attributes: self.attributes,
            },
            seq,
            target: None,
        });
        seq
    }
}

/// Who gives what, through which channel, in which currency, and how much: a contribution's
/// attributes, its pledge in minor units and its item count (for counted items).
fn draw_profile(rng: &mut Draws) -> (Attributes, u64, Option<u64>) {
    let donor_index = rng.pick_index(DONORS.iter().map(|d| d.weight));
    let donor = &DONORS[donor_index];
    let category = if donor.non_lethal {
        rng.pick(&NON_LETHAL_CATEGORIES)
    } else {
        rng.pick(&CATEGORIES)
    };
    let channel = match category {
        Category::NatoTrustFund => Channel::NatoTrustFund,
        Category::FinancialAid | Category::HumanitarianAid => rng.pick(&CIVIL_CHANNELS),
        _ => rng.pick(&MILITARY_CHANNELS),
    };
    let counted = match category {
        Category::InKindDonation => true,
        Category::EquipmentPurchase => rng.chance(600),
        Category::HumanitarianAid => rng.chance(300),
        _ => false,
    };
    let item = counted.then(|| {
        let weapons = !matches!(category, Category::HumanitarianAid);
        rng.pick_index(ITEMS.iter().map(|item| u32::from(weapons || !item.3))) as u8
    });
    let currency = if rng.chance(880) {
        donor.currency
    } else if donor.currency == EUR {
        USD
    } else {
        EUR
    };
    let attributes = Attributes {
        donor: donor_index as u8,
        recipient: u8::from(rng.chance(20)),
        category,
        channel,
        visibility: rng.pick(&VISIBILITIES),
        currency,
        item,
        basis: (category == Category::InKindDonation).then(|| rng.pick(&BASES)),
    };

    // The pledge: a value in euros sized by the donor, in its currency, three significant digits.
    let exponent = 4 + donor.tier + rng.skewed(2) as u32;
    let euros = rng.between(10, 99) * 10u64.pow(exponent - 1);
    let info = &CURRENCIES[usize::from(currency)];
    let major = round_significant(euros * info.per_eur_x100 / 100, 3);
    let pledge = major * 10u64.pow(info.minor_units);
    let items = item.map(|i| {
        let (_, lo, hi, _) = ITEMS[usize::from(i)];
        lo + rng.skewed(hi - lo)
    });
    (attributes, pledge, items)
}

/// How far a contribution got and what happens to it on the way.
#[derive(Debug, Clone, Copy)]
struct Shape {
    furthest: Stage,
    /// Whether announced, committed and allocated are recorded (when reached); a delivery is
    /// never skipped, or the receipts would differ from it.
    present: [bool; 3],
    withdraws: bool,
    late: bool,
    above: bool,
    differs: bool,
    amends: bool,
}

impl Shape {
    fn reaches(&self, stage: Stage) -> bool {
        stage <= self.furthest
    }

    /// Whether announced (0), committed (1) or allocated (2) is recorded.
    fn has(&self, i: usize) -> bool {
        self.present[i] && self.reaches(Stage::FLOW[i])
    }
}

fn draw_shape(rng: &mut Draws) -> Shape {
    let furthest = rng.pick(&[
        (Stage::Announced, 12),
        (Stage::Committed, 14),
        (Stage::Allocated, 10),
        (Stage::Delivered, 30),
        (Stage::Confirmed, 34),
    ]);
    let mut present = [true; 3];
    if furthest >= Stage::Committed && rng.chance(SKIP_PER_MILLE) {
        let candidates: Vec<(usize, u32)> = [(0, 5), (1, 2), (2, 3)]
            .into_iter()
            .filter(|(i, _)| Stage::FLOW[*i] < furthest)
            .collect();
        present[rng.pick(&candidates)] = false;
        if rng.chance(100) {
            present[rng.pick(&candidates)] = false;
        }
    }
    let mut shape = Shape {
        furthest,
        present,
        withdraws: false,
        late: false,
        above: false,
        differs: false,
        amends: false,
    };
    let delivers = shape.reaches(Stage::Delivered);
    let confirms = shape.reaches(Stage::Confirmed);
    shape.withdraws = !confirms && rng.chance(WITHDRAW_PER_MILLE);
    shape.late = shape.has(1) && delivers && rng.chance(LATE_PER_MILLE);
    shape.above = shape.has(1) && delivers && rng.chance(ABOVE_PER_MILLE);
    shape.differs = confirms && rng.chance(DIFFERS_PER_MILLE);
    shape.amends = (shape.has(0) || shape.has(1)) && rng.chance(AMEND_PER_MILLE);
    shape
}

/// Plans contribution `number`, opening on day `open`, into `out` (sorted, numbered, and cut
/// at `last_day` and at `budget` rows).
fn plan_contribution(
    rng: &mut Draws,
    number: u64,
    open: u64,
    last_day: u64,
    budget: u64,
    out: &mut Vec<Row>,
) {
    let (attributes, pledge, items) = draw_profile(rng);
    let item = attributes.item;
    let shape = draw_shape(rng);
    let Shape {
        withdraws,
        late,
        above,
        differs,
        amends,
        ..
    } = shape;
    let has = |i: usize| shape.has(i);
    let delivers = shape.reaches(Stage::Delivered);
    let confirms = shape.reaches(Stage::Confirmed);

    let mut planner = Planner {
        rng,
        rows: Vec::with_capacity(20),
        attributes,
        number,
    };
    let mut day = open;
    let announced_amount = if planner.rng.chance(500) {
        pledge
    } else {
        round_significant(percent_of(pledge, planner.rng.between(100, 125)), 3)
    };
    // An amendment corrects the commitment (else the announcement) by a signed delta; the first
    // figure is what the delta corrects, so the corrected figure is the one the plan is sized on.
    let delta: i64 = if amends {
        let size = round_significant(percent_of(pledge, planner.rng.between(5, 30)), 2);
        if planner.rng.chance(500) {
            to_i64(size)
        } else {
            -to_i64(size)
        }
    } else {
        0
    };
    let first_figure = |figure: u64| (to_i64(figure) - delta).max(1) as u64;
    let amend_target_is_commitment = has(1);
    let mut amend_target = None;
    if has(0) {
        let amount = if amend_target_is_commitment {
            announced_amount
        } else {
            first_figure(announced_amount)
        };
        let seq = planner.push(Stage::Announced, day, Some(amount), items, Note::Plain);
        amend_target = Some((seq, day));
    }
    let mut commitment_day = None;
    if has(1) {
        day += if late {
            10 + planner.rng.skewed(60)
        } else {
            planner.rng.skewed(60)
        };
        let seq = planner.push(
            Stage::Committed,
            day,
            Some(first_figure(pledge)),
            items,
            Note::Plain,
        );
        amend_target = Some((seq, day));
        commitment_day = Some(day);
    }
    let pledged = if has(1) || !has(0) {
        pledge
    } else {
        announced_amount
    };
    if has(2) {
        day += planner.rng.skewed(90);
        planner.push(Stage::Allocated, day, Some(pledged), items, Note::Plain);
    }
    let mut delivery_days = Vec::new();
    if delivers {
        let percent = if above {
            planner.rng.between(101, 130)
        } else if withdraws {
            planner.rng.between(20, 80)
        } else if planner.rng.chance(550) {
            100
        } else {
            planner.rng.between(60, 99)
        };
        let delivered = percent_of(pledged, percent);
        let delivered_items = items.map(|q| (q * percent.min(100) / 100).max(1));
        let mut parts = planner
            .rng
            .pick(&[(1u64, 35), (2, 25), (3, 20), (4, 10), (5, 6), (6, 4)]);
        parts = parts
            .min(delivered)
            .min(delivered_items.unwrap_or(u64::MAX));
        let weights: Vec<u64> = (0..parts).map(|_| planner.rng.between(1, 100)).collect();
        let amounts = split(delivered, &weights);
        let counts = delivered_items.map(|q| split(q, &weights));
        let mut receipts = Vec::new();
        for part in 0..parts as usize {
            day += if part == 0 {
                7 + planner.rng.skewed(180)
            } else {
                5 + planner.rng.skewed(120)
            };
            let mut effective = day;
            let mut placed = day;
            if part == 0
                && let (true, Some(committed)) = (late, commitment_day)
            {
                // Delivered before the commitment, disclosed only after it.
                effective = open + planner.rng.below(committed - open);
                placed = (committed + planner.rng.skewed(60)).min(last_day);
            }
            let quantity = counts.as_ref().map(|c| c[part]);
            let note = Note::Delivery {
                part: part as u8 + 1,
                of: parts as u8,
            };
            let seq = planner.push(
                Stage::Delivered,
                effective,
                Some(amounts[part]),
                quantity,
                note,
            );
            planner.rows[usize::from(seq)].row.placed = u16::try_from(placed).unwrap_or(u16::MAX);
            delivery_days.push(effective);
            receipts.push((placed, amounts[part], quantity));
        }
        if confirms {
            let short = differs.then(|| planner.rng.below(parts) as usize);
            for (part, (after, amount, quantity)) in receipts.into_iter().enumerate() {
                let on = after + 1 + planner.rng.skewed(45);
                // A counted contribution's receipt states the items; a financial one the amount.
                let (mut amount, mut quantity) = match quantity {
                    Some(q) => (None, Some(q)),
                    None => (Some(amount), None),
                };
                let mut condition = if item.is_some() && planner.rng.chance(150) {
                    Condition::NeedsRepair
                } else {
                    Condition::AsDescribed
                };
                if short == Some(part) {
                    let less = |v: u64, rng: &mut Draws| {
                        if v >= 2 {
                            (v * rng.between(50, 95) / 100).max(1)
                        } else {
                            v + 1
                        }
                    };
                    amount = amount.map(|v| less(v, planner.rng));
                    quantity = quantity.map(|v| less(v, planner.rng));
                    condition = Condition::NeedsRepair;
                }
                let note = Note::Receipt {
                    part: part as u8 + 1,
                    condition,
                };
                planner.push(Stage::Confirmed, on, amount, quantity, note);
            }
        }
    }
    if let Some((target, target_day)) = amend_target.filter(|_| amends) {
        let mut on = target_day + planner.rng.skewed(120);
        // Before the first delivery, so a plan cut at the end of the range keeps both or neither.
        if let Some(first) = delivery_days
            .iter()
            .copied()
            .filter(|d| *d >= target_day)
            .min()
        {
            on = on.min(first);
        }
        let of = planner.rows[usize::from(target)].row.stage;
        let reason = planner.rng.below(AMEND_REASONS.len() as u64) as u8;
        let seq = planner.push(
            Stage::Amended,
            on,
            None,
            None,
            Note::Amendment { reason, of },
        );
        let amended = &mut planner.rows[usize::from(seq)];
        amended.row.amount = Some(delta);
        amended.target = Some(target);
    }
    if withdraws {
        let latest = planner
            .rows
            .iter()
            .map(|p| u64::from(p.row.effective))
            .max()
            .unwrap_or(open);
        let on = latest + planner.rng.skewed(150);
        let reason = planner.rng.below(WITHDRAW_REASONS.len() as u64) as u8;
        planner.push(
            Stage::Withdrawn,
            on,
            None,
            None,
            Note::Withdrawal { reason },
        );
    }

    finish(planner.rows, last_day, budget, out);
}

/// Leaves out what has not happened by `last_day`, sorts the rest in effective-date order (as
/// the importer decides them), keeps the first `budget`, numbers them and links amendments.
fn finish(mut rows: Vec<Planned>, last_day: u64, budget: u64, out: &mut Vec<Row>) {
    // Receipts are all in or all out, so a cut alone never makes them differ from the deliveries.
    let receipts = |rows: &[Planned]| {
        rows.iter()
            .filter(|p| p.row.stage == Stage::Confirmed)
            .count()
    };
    let planned_receipts = receipts(&rows);
    rows.retain(|p| u64::from(p.row.effective) <= last_day);
    if receipts(&rows) < planned_receipts {
        rows.retain(|p| p.row.stage != Stage::Confirmed);
    }
    rows.sort_by_key(|p| (p.row.effective, stage_rank(p.row.stage), p.seq));
    rows.truncate(usize::try_from(budget).unwrap_or(usize::MAX));
    let mut k_of_seq = [0u8; 32];
    for (i, p) in rows.iter().enumerate() {
        k_of_seq[usize::from(p.seq)] = i as u8 + 1;
    }
    out.clear();
    out.extend(rows.iter().map(|p| Row {
        k: k_of_seq[usize::from(p.seq)],
        amends: p.target.map(|t| k_of_seq[usize::from(t)]),
        ..p.row
    }));
}

/// Same-day events in the natural order of a pledge's life, as the importer decides them.
fn stage_rank(stage: Stage) -> usize {
    Stage::ALL
        .iter()
        .position(|s| *s == stage)
        .unwrap_or(usize::MAX)
}

// ---------------------------------------------------------------------------------------------
// What the ledger will flag
// ---------------------------------------------------------------------------------------------

/// The kinds of anomaly the ledger will flag on a contribution with these rows, by the
/// definitions of `ContributionState::anomalies` (one currency and one unit per contribution):
/// skipped stage, out-of-order dates, delivered above committed, confirmed differs.
fn anomalies_of(rows: &[Row]) -> [bool; 4] {
    let mut amount: [Option<i128>; 5] = [None; 5];
    let mut quantity: [Option<i128>; 5] = [None; 5];
    let mut first: [Option<u16>; 5] = [None; 5];
    let mut withdrawn = false;
    for row in rows {
        let counts_as = match (row.stage, row.note) {
            (Stage::Withdrawn, _) => {
                withdrawn = true;
                continue;
            }
            (Stage::Amended, Note::Amendment { of, .. }) => of,
            (Stage::Amended, _) => continue,
            (stage, _) => {
                let i = flow_index(stage);
                first[i] = Some(first[i].map_or(row.effective, |d| d.min(row.effective)));
                stage
            }
        };
        let i = flow_index(counts_as);
        if let Some(a) = row.amount {
            *amount[i].get_or_insert(0) += i128::from(a);
        }
        if let Some(q) = row.quantity {
            *quantity[i].get_or_insert(0) += i128::from(q);
        }
    }
    let reached: Vec<bool> = (0..5)
        .map(|i| amount[i].is_some_and(|a| a != 0) || quantity[i].is_some_and(|q| q != 0))
        .collect();
    let skipped = match (0..5).rev().find(|i| reached[*i]) {
        None => withdrawn,
        Some(furthest) => (0..furthest).any(|i| !reached[i]),
    };
    let out_of_order = (0..5).any(|i| {
        first[i]
            .is_some_and(|later| (0..i).any(|j| first[j].is_some_and(|earlier| earlier > later)))
    });
    let above = |totals: &[Option<i128>; 5]| matches!((totals[1], totals[3]), (Some(c), Some(d)) if c != 0 && d > c);
    let differs = |totals: &[Option<i128>; 5]| {
        totals[4].is_some_and(|confirmed| confirmed != totals[3].unwrap_or(0))
    };
    [
        skipped,
        out_of_order,
        above(&amount) || above(&quantity),
        reached[4] && (differs(&amount) || differs(&quantity)),
    ]
}

fn flow_index(stage: Stage) -> usize {
    Stage::FLOW.iter().position(|s| *s == stage).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Generating and writing
// ---------------------------------------------------------------------------------------------

/// Running totals for the summary.
#[derive(Debug, Default)]
struct Tally {
    rows: u64,
    contributions: u64,
    donors: u64,
    currencies: u16,
    first: Option<u16>,
    last: Option<u16>,
    amendments: u64,
    withdrawals: u64,
    late: u64,
    anomalies: AnomalyCounts,
}

impl Tally {
    fn add(&mut self, rows: &[Row]) {
        let Some(head) = rows.first() else {
            return;
        };
        self.contributions += 1;
        self.rows += rows.len() as u64;
        self.donors |= 1 << head.attributes.donor;
        for row in rows {
            if row.amount.is_some() {
                self.currencies |= 1 << row.attributes.currency;
            }
            self.first = Some(self.first.map_or(row.effective, |d| d.min(row.effective)));
            self.last = Some(self.last.map_or(row.effective, |d| d.max(row.effective)));
            match row.stage {
                Stage::Amended => self.amendments += 1,
                Stage::Withdrawn => self.withdrawals += 1,
                _ => {}
            }
            self.late += u64::from(row.late());
        }
        let [skipped, out_of_order, above, differs] = anomalies_of(rows);
        let a = &mut self.anomalies;
        a.skipped_stage += u64::from(skipped);
        a.out_of_order_dates += u64::from(out_of_order);
        a.delivered_above_committed += u64::from(above);
        a.confirmed_differs_from_delivered += u64::from(differs);
    }

    fn summary(&self, seed: u64, days: &[Date]) -> SynthSummary {
        let mut currencies: Vec<String> = CURRENCIES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.currencies & (1 << i) != 0)
            .map(|(_, c)| c.code.to_owned())
            .collect();
        currencies.sort();
        SynthSummary {
            seed,
            rows: self.rows,
            contributions: self.contributions,
            donors: u64::from(self.donors.count_ones()),
            currencies,
            first_date: self.first.map(|d| days[usize::from(d)]),
            last_date: self.last.map(|d| days[usize::from(d)]),
            amendments: self.amendments,
            withdrawals: self.withdrawals,
            late_disclosures: self.late,
            anomalies: self.anomalies,
        }
    }
}

/// Turns rows into the 18 cells of the import layout, reusing one buffer.
struct Cells {
    /// `S{seed}-C`, the start of every id.
    prefix: String,
    /// Digits of a contribution number.
    width: usize,
    dates: Vec<String>,
    text: String,
    ends: [usize; 18],
}

impl Cells {
    fn id(&mut self, number: u64, k: Option<u8>) {
        let width = self.width;
        let _ = write!(self.text, "{}{number:0width$}", self.prefix);
        if let Some(k) = k {
            let _ = write!(self.text, "-{k:02}");
        }
    }

    fn fill(&mut self, row: &Row) {
        let a = &row.attributes;
        let currency = &CURRENCIES[usize::from(a.currency)];
        let item = a.item.map(|i| ITEMS[usize::from(i)].0);
        self.text.clear();
        let mut cell = 0;
        let mut end = |cells: &mut Cells| {
            cells.ends[cell] = cells.text.len();
            cell += 1;
        };
        self.id(row.number, Some(row.k));
        end(self);
        self.id(row.number, None);
        end(self);
        self.text.push_str(DONORS[usize::from(a.donor)].code);
        end(self);
        self.text.push_str(RECIPIENTS[usize::from(a.recipient)]);
        end(self);
        self.text.push_str(row.stage.as_str());
        end(self);
        let effective = usize::from(row.effective);
        self.text.push_str(&self.dates[effective]);
        end(self);
        if let Some(minor) = row.amount {
            write_amount(&mut self.text, minor, currency.minor_units);
        }
        end(self);
        if row.amount.is_some() {
            self.text.push_str(currency.code);
        }
        end(self);
        self.text.push_str(a.category.as_str());
        end(self);
        self.text.push_str(a.channel.as_str());
        end(self);
        self.text.push_str(a.visibility.as_str());
        end(self);
        if let Some(q) = row.quantity {
            let _ = write!(self.text, "{q}");
        }
        end(self);
        if let (Some(_), Some(unit)) = (row.quantity, item) {
            self.text.push_str(unit);
        }
        end(self);
        if let (Some(basis), Some(_), true) = (a.basis, row.amount, row.stage.is_flow()) {
            self.text.push_str(basis.as_str());
        }
        end(self);
        if let Some(k) = row.amends {
            self.id(row.number, Some(k));
        }
        end(self);
        match row.note {
            Note::Receipt { condition, .. } => self.text.push_str(condition.as_str()),
            Note::Amendment { reason, .. } => {
                self.text.push_str(AMEND_REASONS[usize::from(reason)]);
            }
            Note::Withdrawal { reason } => {
                self.text.push_str(WITHDRAW_REASONS[usize::from(reason)]);
            }
            Note::Plain | Note::Delivery { .. } => {}
        }
        end(self);
        self.text.push_str("https://example.org/synth/");
        self.id(row.number, Some(row.k));
        end(self);
        let purpose = purpose(a.category);
        let _ = match row.note {
            Note::Plain => {
                let done = match row.stage {
                    Stage::Announced => "Announced",
                    Stage::Committed => "Committed",
                    _ => "Allocated",
                };
                write!(self.text, "{done}: {purpose}")
            }
            Note::Delivery { part: 1, of: 1 } => write!(self.text, "Delivered: {purpose}"),
            Note::Delivery { part, of } => write!(self.text, "Delivery {part} of {of}: {purpose}"),
            Note::Receipt { part, .. } => {
                write!(
                    self.text,
                    "Receipt confirmed for delivery {part}: {purpose}"
                )
            }
            Note::Amendment { of, .. } => write!(self.text, "Revised {of} figure: {purpose}"),
            Note::Withdrawal { .. } => write!(self.text, "Withdrawn: {purpose}"),
        };
        if let Some(unit) = item {
            let _ = write!(self.text, " ({unit})");
        }
        if row.late() {
            let _ = write!(
                self.text,
                "; disclosed {}",
                self.dates[usize::from(row.placed)]
            );
        }
        end(self);
    }

    fn cells(&self) -> [&str; 18] {
        let mut start = 0;
        self.ends.map(|end| {
            let cell = &self.text[start..end];
            start = end;
            cell
        })
    }
}

/// Minor units as a decimal at the currency's scale (`-1250000.50`, `300000000` for JPY).
fn write_amount(text: &mut String, minor: i64, minor_units: u32) {
    if minor < 0 {
        text.push('-');
    }
    let abs = minor.unsigned_abs();
    let _ = if minor_units == 0 {
        write!(text, "{abs}")
    } else {
        let scale = 10u64.pow(minor_units);
        let width = minor_units as usize;
        write!(text, "{}.{:0width$}", abs / scale, abs % scale)
    };
}

/// Every day from [`FIRST_DATE`] to [`LAST_DATE`].
fn all_days() -> Vec<Date> {
    let mut days = vec![FIRST_DATE];
    let mut day = FIRST_DATE;
    while day < LAST_DATE {
        day = day.tomorrow().unwrap_or(LAST_DATE);
        days.push(day);
    }
    days
}

/// Generates the rows of a synthetic ledger, in file order, handing each to `sink` as the 18
/// cells of the import layout ([`HEADER`] order). Returns what was generated,
/// or the sink's first error.
///
/// Contribution `n` opens on the day that `n`'s first row takes in the file's even spread of
/// `events` rows over the date range, so dates run through the whole range whatever the count.
pub fn generate(
    options: &SynthOptions,
    sink: &mut dyn FnMut(&[&str; 18]) -> io::Result<()>,
) -> io::Result<SynthSummary> {
    let days = all_days();
    let last_day = days.len() as u64 - 1;
    let mut cells = Cells {
        prefix: format!("S{}-C", options.seed),
        width: options.events.max(1_000).to_string().len(),
        dates: days.iter().map(Date::to_string).collect(),
        text: String::with_capacity(512),
        ends: [0; 18],
    };
    let mut emit = |row: &Row| {
        cells.fill(row);
        sink(&cells.cells())
    };
    let mut rng = Draws::seed_from_u64(options.seed);
    let mut waiting: BinaryHeap<Reverse<Queued>> = BinaryHeap::new();
    let mut tally = Tally::default();
    let mut rows = Vec::with_capacity(32);
    let mut number = 0;
    while tally.rows < options.events {
        number += 1;
        let open =
            (u128::from(tally.rows) * u128::from(last_day + 1) / u128::from(options.events)) as u64;
        // Every row still to come is placed on or after `open`: what is before is final.
        while waiting
            .peek()
            .is_some_and(|Reverse(Queued(row))| u64::from(row.placed) < open)
        {
            if let Some(Reverse(Queued(row))) = waiting.pop() {
                emit(&row)?;
            }
        }
        let budget = options.events - tally.rows;
        plan_contribution(&mut rng, number, open, last_day, budget, &mut rows);
        tally.add(&rows);
        waiting.extend(rows.drain(..).map(|row| Reverse(Queued(row))));
    }
    while let Some(Reverse(Queued(row))) = waiting.pop() {
        emit(&row)?;
    }
    Ok(tally.summary(options.seed, &days))
}

/// Writes a synthetic ledger as CSV with `csv::Writer` (header first, `\n` line ends, a cell
/// quoted only when it holds a comma, a quote or a line break, as the importer reads it).
/// `progress` is told the rows written every 16,384 rows and at the end.
pub fn write_csv(
    options: &SynthOptions,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> io::Result<WrittenCsv> {
    let mut counted = Counted { out, bytes: 0 };
    let mut csv = csv::Writer::from_writer(&mut counted);
    csv.write_record(HEADER)?;
    let mut rows = 0u64;
    let summary = generate(options, &mut |cells| {
        csv.write_record(cells)?;
        rows += 1;
        if rows.is_multiple_of(16_384) {
            progress(rows);
        }
        Ok(())
    })?;
    csv.flush()?;
    drop(csv);
    progress(rows);
    Ok(WrittenCsv {
        summary,
        bytes: counted.bytes,
    })
}

/// A writer that counts the bytes it passes on (the summary's file size).
struct Counted<'a> {
    out: &'a mut dyn Write,
    bytes: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.out.write(buf)?;
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_tables_are_what_the_domain_knows() {
        for c in &CURRENCIES {
            let known = steadfast_domain::Currency::parse(c.code).expect(c.code);
            assert_eq!(u32::from(known.minor_units()), c.minor_units, "{}", c.code);
        }
        for d in &DONORS {
            let party = steadfast_domain::PartyId::parse(d.code).expect(d.code);
            assert_eq!(
                party.kind(),
                steadfast_domain::PartyKind::State,
                "{}",
                d.code
            );
        }
        for r in RECIPIENTS {
            steadfast_domain::PartyId::parse(r).expect(r);
        }
        assert!(DONORS.len() <= 64, "donors are tallied in a u64 bit set");
    }

    #[test]
    fn the_date_range_has_every_day() {
        let days = all_days();
        assert_eq!(days.len(), 1_407);
        assert_eq!(days[0].to_string(), "2022-02-24");
        assert_eq!(days[days.len() - 1].to_string(), "2025-12-31");
        assert!(days.len() <= usize::from(u16::MAX));
    }

    #[test]
    fn splits_are_positive_and_exact() {
        let mut rng = Draws::seed_from_u64(7);
        for total in [1u64, 2, 3, 10, 999, 1_000_000_007] {
            for parts in 1..=6u64.min(total) {
                let weights: Vec<u64> = (0..parts).map(|_| rng.between(1, 100)).collect();
                let split = split(total, &weights);
                assert_eq!(split.iter().sum::<u64>(), total);
                assert!(split.iter().all(|p| *p >= 1));
            }
        }
    }

    #[test]
    fn amounts_are_written_at_the_currency_scale() {
        let mut text = String::new();
        write_amount(&mut text, 125_000_050, 2);
        text.push(' ');
        write_amount(&mut text, -7, 2);
        text.push(' ');
        write_amount(&mut text, 300_000_000, 0);
        assert_eq!(text, "1250000.50 -0.07 300000000");
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = Draws::seed_from_u64(1);
        for n in [1u64, 2, 3, 7, 1_000, u64::MAX] {
            for _ in 0..1_000 {
                assert!(rng.below(n) < n);
            }
        }
        assert_eq!(round_significant(123_456, 3), 123_000);
        assert_eq!(round_significant(99, 3), 99);
    }
}
