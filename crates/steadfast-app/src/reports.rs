//! The accountability reports — fair share, gaps, anomalies — as the CLI prints them and the
//! API will serve them: the domain's figures plus what makes them checkable: the method (rules,
//! stage, FX policy, basis, log head) and a coverage caveat. Every report is reproducible: the
//! same ledger and the same options give the same bytes, and a report "as known on" a past
//! moment is the report that moment would have given.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use steadfast_domain::scoreboard::reconcile::{Granularity, ReconcileRow, reconcile_report};
use steadfast_domain::scoreboard::{
    CountedLiterally, DatasetOverlap, EarlierFixing, NotCounted, ReportError, UnconvertedValue,
};
use steadfast_domain::{
    AnomaliesReport, ContributionId, Counting, Coverage, DatasetId, EventId, FairShareReport,
    FrameworkId, FxPolicy, GapsReport, HalfYear, Ledger, PartyId, ReportQuery, ShareStatus, Stage,
    anomalies_report, fair_share_report, gaps_report,
};

use crate::queries::LogHead;
use crate::{AppError, Steadfast};

/// Digits shown for a share of the basis (a fraction).
const SHARE_DIGITS: u32 = 10;
/// Digits shown for a ratio (a fraction).
const RATIO_DIGITS: u32 = 4;

/// Reads `--as-known-on`: an RFC 3339 moment (`2024-07-10T12:00:00Z`, any offset) or a bare
/// date, which means the end of that day in UTC.
pub fn parse_moment(text: &str) -> Result<Timestamp, AppError> {
    let text = text.trim();
    let out_of_range = || {
        AppError::Invalid(format!(
            "`{text}` is outside the range of moments Steadfast handles"
        ))
    };
    // A bare date, exactly YYYY-MM-DD: the end of that day in UTC.
    if text.len() == 10
        && let Ok(d) = text.parse::<Date>()
    {
        return d
            .at(23, 59, 59, 999_999_999)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| out_of_range());
    }
    // A moment with its offset (`Z` for UTC) or a time zone.
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    // A date and time without an offset is read as UTC, as the ledger records in UTC.
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| out_of_range());
    }
    // Well formed with an offset, yet no timestamp: beyond the range, not malformed.
    if without_offset(text)
        .parse::<jiff::civil::DateTime>()
        .is_ok()
    {
        return Err(out_of_range());
    }
    Err(AppError::Invalid(format!(
        "`{text}` is not a moment: write a date (2024-07-10, meaning the end of that day in UTC) or a time (2024-07-10T12:00:00Z; without an offset it is read as UTC)"
    )))
}

/// A date-time's text without its trailing `Z` or `±HH:MM` offset.
fn without_offset(text: &str) -> &str {
    if let Some(rest) = text.strip_suffix(['Z', 'z']) {
        return rest;
    }
    let bytes = text.as_bytes();
    match bytes.len().checked_sub(6) {
        Some(i) if matches!(bytes[i], b'+' | b'-') && bytes[i + 3] == b':' => &text[..i],
        _ => text,
    }
}

/// The head a report is computed at: the current one, or the one of its "as known on" moment.
fn head_for(app: &Steadfast, options: &ReportQuery) -> LogHead {
    LogHead::of(match options.as_known_on {
        Some(t) => app.head_known_on(t),
        None => app.head(),
    })
}

fn fraction(d: Decimal, digits: u32) -> Decimal {
    let mut r = d.round_dp_with_strategy(digits, RoundingStrategy::MidpointNearestEven);
    r.rescale(digits);
    r
}

/// The coverage of a report and the caveat printed under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageNote {
    #[serde(flatten)]
    pub counts: Coverage,
    pub caveat: String,
}

impl CoverageNote {
    fn of(counts: Coverage, what: &str) -> Self {
        const SHOWN: usize = 5;
        let top: Vec<String> = counts
            .sites
            .iter()
            .take(SHOWN)
            .map(|(site, n)| format!("{site} ({n})"))
            .collect();
        let sites = match counts.sites.len() {
            0 => String::new(),
            n if n > SHOWN => format!(" on {n} sites, most cited {}", top.join(", ")),
            n => format!(" on {n} site(s): {}", top.join(", ")),
        };
        let caveat = format!(
            "Coverage: {} {what} in {} contributions by {} donors, citing {} distinct sources{sites} ({} events without a source). Compiled from public sources recorded in this ledger (announcements, or a tracker's published figures); not official figures.",
            counts.events,
            counts.contributions,
            counts.donors,
            counts.sources,
            counts.unsourced_events
        );
        CoverageNote { counts, caveat }
    }
}

/// The datasets a report reads, briefly: `dataset kiel-ust-r29 (release 29)`.
pub fn dataset_label(ledger: &Ledger, options: &ReportQuery) -> String {
    let one = |d: &DatasetId| match ledger
        .dataset(d)
        .and_then(|s| s.latest(options.as_known_on))
    {
        Some(r) => format!("{d} (release {})", r.release),
        None => d.to_string(),
    };
    let known: Vec<&DatasetId> = ledger.datasets_known_on(options.as_known_on).collect();
    match options.datasets.as_slice() {
        [] => match known.as_slice() {
            [] => "no dataset".to_owned(),
            [d] => format!("dataset {}", one(d)),
            _ => "every dataset".to_owned(),
        },
        [d] => format!("dataset {}", one(d)),
        many => format!(
            "datasets {}",
            many.iter().map(one).collect::<Vec<_>>().join(" + ")
        ),
    }
}

/// The datasets a report reads, in words, with the release of each as the query knows it.
pub fn datasets_line(ledger: &Ledger, options: &ReportQuery) -> String {
    let describe = |d: &DatasetId| describe_dataset(ledger, d, options);
    if options.datasets.is_empty() {
        let all: Vec<String> = ledger
            .datasets_known_on(options.as_known_on)
            .map(describe)
            .collect();
        match all.len() {
            0 => "Datasets: every dataset (none holds a contribution yet).".to_owned(),
            1 => format!("Datasets: every dataset: {}.", all[0]),
            _ => format!(
                "Datasets: every dataset, added together: {} (name one with --dataset to read it alone).",
                all.join("; ")
            ),
        }
    } else {
        let named: Vec<String> = options.datasets.iter().map(describe).collect();
        format!("Datasets: {}.", named.join("; "))
    }
}

fn view_lines(options: &ReportQuery, head: &LogHead) -> Vec<String> {
    let published_by = match (options.fx_policy, options.as_of) {
        (FxPolicy::PeriodAverage, Some(d)) => format!(" (published by {d})"),
        _ => String::new(),
    };
    vec![
        format!(
            "FX: {} — {}{published_by}; each value is converted and rounded half-to-even to the cent on its own, and totals are sums of the rounded values.",
            options.fx_policy,
            options.fx_policy.describe()
        ),
        format!(
            "View: {}; {}.",
            options.as_of.map_or_else(
                || "events of every effective date".to_owned(),
                |d| format!("events effective on or before {d}")
            ),
            options.as_known_on.map_or_else(
                || "everything recorded so far".to_owned(),
                |t| format!("as known on {t} (events recorded at or before that moment)")
            ),
        ),
        format!("Log head: position {}, hash {}.", head.position, head.hash),
    ]
}

/// A scoreboard row as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FairShareRowView {
    pub party: PartyId,
    pub name: String,
    /// Fraction of the share basis.
    pub share: Decimal,
    pub fair_share_eur: Decimal,
    /// `null` when the datasets read do not cover the party (no figure, which is not zero).
    pub counted_eur: Option<Decimal>,
    /// `counted / fair share` as a fraction; `null` when there is no fair share or no figure.
    pub ratio: Option<Decimal>,
    /// `null` when the datasets read do not cover the party.
    pub gap_eur: Option<Decimal>,
    pub status: &'static str,
    /// Stage events counted.
    pub events: u64,
    /// Records at the stage in the period, counted or not (see `not_counted`, `unconverted`).
    pub records: u64,
    /// Counted in each of the framework's reporting half-years.
    pub counted_by_period: BTreeMap<HalfYear, Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FairShareTotalsView {
    pub fair_share_eur: Decimal,
    pub counted_eur: Decimal,
    pub counted_by_period: BTreeMap<HalfYear, Decimal>,
    pub gap_eur: Decimal,
    pub unallocated_eur: Decimal,
    pub participants: u64,
    pub met: u64,
    pub short: u64,
    pub no_records: u64,
    pub not_covered: u64,
    pub exempt: u64,
}

/// The fair-share scoreboard as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FairShareView {
    pub framework: FrameworkId,
    pub framework_name: String,
    pub stage: Stage,
    /// The counting rule used (`reached` or `literal`).
    pub counting: Counting,
    /// The datasets read (every dataset when empty).
    pub datasets: Vec<DatasetId>,
    /// The datasets read in a few words, with their releases (for a title).
    pub dataset_label: String,
    /// Donors whose figures come from more than one of the datasets read: possible double
    /// counts, said above the table.
    pub possible_double_counts: Vec<DatasetOverlap>,
    pub fx_policy: FxPolicy,
    pub as_of: Option<Date>,
    pub as_known_on: Option<Timestamp>,
    pub log_head: LogHead,
    pub method: Vec<String>,
    pub target_eur: Decimal,
    pub rows: Vec<FairShareRowView>,
    pub totals: FairShareTotalsView,
    pub unconverted: Vec<UnconvertedValue>,
    /// Values converted with the fixing of an earlier day (weekends, holidays).
    pub earlier_fixings: Vec<EarlierFixing>,
    pub not_counted: Vec<NotCounted>,
    /// Contributions counted literally under `reached` (stages in several currencies).
    pub counted_literally: Vec<CountedLiterally>,
    pub coverage: CoverageNote,
}

fn fair_share_method(
    ledger: &Ledger,
    report: &FairShareReport,
    options: &ReportQuery,
    head: &LogHead,
) -> Vec<String> {
    let f = &report.framework;
    let list = |items: Vec<String>| items.join(", ");
    let basis = &f.share_basis;
    let exemptions = if f.exemptions.is_empty() {
        "no exemptions".to_owned()
    } else {
        list(
            f.exemptions
                .iter()
                .map(|e| {
                    format!(
                        "{} exempt ({} the denominator)",
                        e.party,
                        if e.in_denominator {
                            "kept in"
                        } else {
                            "left out of"
                        }
                    )
                })
                .collect(),
        )
    };
    let mut lines = vec![
        format!(
            "Framework {} ({}), adopted {}: target {} {} for {} to {}, recipients {}.",
            f.framework,
            f.name,
            f.adopted_on,
            f.target.currency(),
            f.target.amount(),
            f.period_start,
            f.period_end,
            list(f.recipients.iter().map(ToString::to_string).collect()),
        ),
        format!(
            "Fair shares: the target split among {} participants in proportion to {} {} ({}; {}), {exemptions}; floored to the cent, leftover cents by largest remainder, ties by party id, so they add up exactly to the target.",
            f.participants.len(),
            basis.indicator,
            basis.year,
            basis.source,
            basis.dataset,
        ),
        format!(
            "Counted: {} at stage {}{}, in the period, in categories {}, for recipients in the framework; in-kind values only on an accepted valuation basis ({}); a withdrawn contribution counts no more than it delivered.",
            match report.counting {
                Counting::Reached => "by stage reached (the framework's rule counts the value that has reached at least the stage: per contribution, the running maximum of the cumulative values at the stage and every later one, each change dated when reached and converted at its date, so a delivery without a recorded commitment counts as committed from its date and nothing counts twice; amendments apply at the date of the event they correct)".to_owned(),
                Counting::Literal => "literally (only increments recorded at the stage itself, each corrected by its amendments at its own date and rate)".to_owned(),
            },
            report.stage,
            if report.stage == f.counting_stage {
                " (the framework's counting stage)".to_owned()
            } else {
                format!(" (the framework counts {})", f.counting_stage)
            },
            list(
                f.eligible_categories
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            ),
            if f.valuation_preference.is_empty() {
                "any".to_owned()
            } else {
                list(
                    f.valuation_preference
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                )
            },
        ),
        format!(
            "Counting rule: {}{}.",
            report.counting,
            if report.counting == f.counting {
                " (the framework's rule)".to_owned()
            } else {
                format!(" (asked for; the framework's rule is {})", f.counting)
            }
        ),
        datasets_line(ledger, options),
        format!(
            "Status: met when counted ≥ fair share; short when less; no-records when the participant has no record at the stage in the period in an eligible category (records that cannot be counted are listed below the table); not-covered when none of the datasets read has figures for the participant (no figure, which is not zero); ratio = counted / fair share; gap = what is missing to the fair share."
        ),
    ];
    lines.extend(view_lines(options, head));
    lines
}

/// A framework not recorded (as known on the moment asked about) is not found; a stage that
/// accumulates no value is a wrong request.
fn report_error(e: ReportError) -> AppError {
    match e {
        ReportError::UnknownFramework(..) => AppError::NotFound(e.to_string()),
        ReportError::NotAFlowStage(_) => AppError::Invalid(e.to_string()),
    }
}

/// Computes the fair-share scoreboard of a framework.
pub fn fair_share(
    app: &Steadfast,
    framework: &FrameworkId,
    stage: Option<Stage>,
    counting: Option<Counting>,
    options: &ReportQuery,
) -> Result<FairShareView, AppError> {
    let ledger = app.ledger();
    let report = fair_share_report(ledger, framework, stage, counting, options.clone())
        .map_err(report_error)?;
    let head = head_for(app, options);
    let method = fair_share_method(ledger, &report, options, &head);
    let t = &report.totals;
    Ok(FairShareView {
        framework: report.framework.framework.clone(),
        framework_name: report.framework.name.clone(),
        stage: report.stage,
        counting: report.counting,
        datasets: options.datasets.clone(),
        dataset_label: dataset_label(ledger, options),
        possible_double_counts: report.overlaps.clone(),
        fx_policy: options.fx_policy,
        as_of: options.as_of,
        as_known_on: options.as_known_on,
        method,
        target_eur: report.framework.target.amount(),
        rows: report
            .rows
            .iter()
            .map(|r| FairShareRowView {
                party: r.party.clone(),
                name: ledger.party_name(&r.party),
                share: fraction(r.share, SHARE_DIGITS),
                fair_share_eur: r.fair_share,
                counted_eur: (r.status != ShareStatus::NotCovered).then_some(r.counted),
                ratio: r.ratio.map(|x| fraction(x, RATIO_DIGITS)),
                gap_eur: (r.status != ShareStatus::NotCovered).then_some(r.gap),
                status: r.status.as_str(),
                events: r.events,
                records: r.records,
                counted_by_period: r.by_period.clone(),
            })
            .collect(),
        totals: FairShareTotalsView {
            fair_share_eur: t.fair_share,
            counted_eur: t.counted,
            counted_by_period: report
                .framework
                .reporting_periods
                .iter()
                .map(|p| {
                    let sum: Decimal = report.rows.iter().filter_map(|r| r.by_period.get(p)).sum();
                    (*p, sum)
                })
                .collect(),
            gap_eur: t.gap,
            unallocated_eur: t.unallocated,
            participants: t.participants,
            met: t.met,
            short: t.short,
            no_records: t.no_records,
            not_covered: t.not_covered,
            exempt: t.exempt,
        },
        coverage: CoverageNote::of(report.coverage.clone(), "counted stage events"),
        unconverted: report.unconverted,
        earlier_fixings: report.earlier_fixings,
        not_counted: report.not_counted,
        counted_literally: report.counted_literally,
        log_head: head,
    })
}

/// The gaps figures of one donor or of all (euros; `null` where no value is recorded at a
/// stage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GapsFigures {
    pub contributions: u64,
    pub announced_eur: Option<Decimal>,
    pub committed_eur: Option<Decimal>,
    pub allocated_eur: Option<Decimal>,
    pub delivered_eur: Option<Decimal>,
    pub confirmed_eur: Option<Decimal>,
    /// What withdrawals cancelled: pledged (committed, else announced) minus delivered.
    pub withdrawn_eur: Option<Decimal>,
    /// Median days from announcement to first delivery; `null`: no recorded delivery.
    pub median_days_to_delivered: Option<Decimal>,
    pub median_days_to_confirmed: Option<Decimal>,
    /// Contributions the medians rest on.
    pub delivered_contributions: u64,
    pub confirmed_contributions: u64,
    /// Contributions with a delivery / a confirmation recorded, timed or not.
    pub with_delivery: u64,
    pub with_confirmation: u64,
    pub unconverted: u64,
}

impl GapsFigures {
    fn of(stages: &BTreeMap<Stage, Decimal>, contributions: u64) -> Self {
        let at = |s: Stage| stages.get(&s).copied();
        GapsFigures {
            contributions,
            announced_eur: at(Stage::Announced),
            committed_eur: at(Stage::Committed),
            allocated_eur: at(Stage::Allocated),
            delivered_eur: at(Stage::Delivered),
            confirmed_eur: at(Stage::Confirmed),
            withdrawn_eur: at(Stage::Withdrawn),
            median_days_to_delivered: None,
            median_days_to_confirmed: None,
            delivered_contributions: 0,
            confirmed_contributions: 0,
            with_delivery: 0,
            with_confirmation: 0,
            unconverted: 0,
        }
    }

    /// In flow order, then what was withdrawn, for rendering.
    pub fn stages(&self) -> [Option<Decimal>; 6] {
        [
            self.announced_eur,
            self.committed_eur,
            self.allocated_eur,
            self.delivered_eur,
            self.confirmed_eur,
            self.withdrawn_eur,
        ]
    }
}

/// One donor's row of the gaps report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GapsRowView {
    pub donor: PartyId,
    pub name: String,
    #[serde(flatten)]
    pub figures: GapsFigures,
}

/// The gaps report as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GapsView {
    pub fx_policy: FxPolicy,
    pub as_of: Option<Date>,
    pub as_known_on: Option<Timestamp>,
    pub log_head: LogHead,
    pub method: Vec<String>,
    pub rows: Vec<GapsRowView>,
    pub totals: GapsFigures,
    pub unconverted: Vec<UnconvertedValue>,
    /// Values converted with the fixing of an earlier day (weekends, holidays).
    pub earlier_fixings: Vec<EarlierFixing>,
    /// Donors whose figures come from more than one of the datasets read: possible double
    /// counts, said above the table.
    pub possible_double_counts: Vec<DatasetOverlap>,
    pub coverage: CoverageNote,
}

/// Computes the gaps report over every contribution.
pub fn gaps(app: &Steadfast, options: &ReportQuery) -> GapsView {
    let ledger = app.ledger();
    let report: GapsReport = gaps_report(ledger, options.clone());
    let head = head_for(app, options);
    let mut method = vec![
        "Per donor, every recipient and category: the euro value of the increments recorded at each stage, each corrected by its amendments; withdrawn = what withdrawals cancelled (pledged minus delivered); — means no value recorded, which is not zero.".to_owned(),
        "Days: median days from a contribution's first announced event (else its first committed one) to its first delivered and first confirmed event, over the contributions that have both (a delivery dated before its announcement is an anomaly and left out); \"no recorded delivery\" when none has a delivery, \"no start recorded\" when deliveries have no announcement or commitment to time them from.".to_owned(),
        datasets_line(ledger, options),
    ];
    method.extend(view_lines(options, &head));
    let rows = report
        .rows
        .iter()
        .map(|r| GapsRowView {
            donor: r.donor.clone(),
            name: ledger.party_name(&r.donor),
            figures: GapsFigures {
                median_days_to_delivered: r.median_days_to_delivered.map(|d| d.normalize()),
                median_days_to_confirmed: r.median_days_to_confirmed.map(|d| d.normalize()),
                delivered_contributions: r.delivered_contributions,
                confirmed_contributions: r.confirmed_contributions,
                with_delivery: r.with_delivery,
                with_confirmation: r.with_confirmation,
                unconverted: r.unconverted,
                ..GapsFigures::of(&r.stages, r.contributions)
            },
        })
        .collect::<Vec<_>>();
    let sum = |f: fn(&GapsFigures) -> u64| rows.iter().map(|r| f(&r.figures)).sum::<u64>();
    let totals = GapsFigures {
        median_days_to_delivered: report.median_days_to_delivered.map(|d| d.normalize()),
        median_days_to_confirmed: report.median_days_to_confirmed.map(|d| d.normalize()),
        delivered_contributions: sum(|f| f.delivered_contributions),
        confirmed_contributions: sum(|f| f.confirmed_contributions),
        with_delivery: report.with_delivery,
        with_confirmation: report.with_confirmation,
        unconverted: sum(|f| f.unconverted),
        ..GapsFigures::of(&report.totals, sum(|f| f.contributions))
    };
    GapsView {
        fx_policy: options.fx_policy,
        as_of: options.as_of,
        as_known_on: options.as_known_on,
        log_head: head,
        method,
        rows,
        totals,
        unconverted: report.unconverted,
        earlier_fixings: report.earlier_fixings,
        possible_double_counts: report.overlaps,
        coverage: CoverageNote::of(report.coverage, "stage events"),
    }
}

/// One anomaly as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnomalyView {
    pub contribution: ContributionId,
    pub donor: PartyId,
    pub kind: &'static str,
    pub event: Option<EventId>,
    pub reason: String,
}

/// The anomalies report as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnomaliesView {
    pub fx_policy: FxPolicy,
    pub as_of: Option<Date>,
    pub as_known_on: Option<Timestamp>,
    pub log_head: LogHead,
    pub method: Vec<String>,
    pub rows: Vec<AnomalyView>,
    pub coverage: CoverageNote,
}

/// Lists every anomaly, contribution by contribution.
pub fn anomalies(app: &Steadfast, options: &ReportQuery) -> AnomaliesView {
    let report: AnomaliesReport = anomalies_report(app.ledger(), options.clone());
    let head = head_for(app, options);
    let mut method = vec![
        "Flagged, never rejected: stages skipped, first dates out of stage order, delivered above committed, confirmed different from delivered, in-kind values without a valuation basis, receipts without a condition, and values with no exchange rate under the FX policy (unconverted).".to_owned(),
        "A dataset that records only some stages by design (a tracker's allocations) is not flagged for the stages it does not record.".to_owned(),
        datasets_line(app.ledger(), options),
    ];
    method.extend(view_lines(options, &head));
    AnomaliesView {
        fx_policy: options.fx_policy,
        as_of: options.as_of,
        as_known_on: options.as_known_on,
        log_head: head,
        method,
        rows: report
            .rows
            .into_iter()
            .map(|r| AnomalyView {
                contribution: r.contribution,
                donor: r.donor,
                kind: r.kind.as_str(),
                event: r.event,
                reason: r.reason,
            })
            .collect(),
        coverage: CoverageNote::of(report.coverage, "stage events"),
    }
}

/// Frameworks recorded, for listings and error hints.
pub fn framework_ids(ledger: &Ledger) -> Vec<FrameworkId> {
    ledger
        .frameworks()
        .map(|f| f.rules.framework.clone())
        .collect()
}

/// The reconciliation of two datasets as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconcileView {
    pub framework: FrameworkId,
    pub stage: Stage,
    pub counting: Counting,
    pub a: DatasetId,
    pub b: DatasetId,
    pub by: Granularity,
    /// As a fraction (0.1 for 10 %).
    pub tolerance: Decimal,
    pub fx_policy: FxPolicy,
    pub as_of: Option<Date>,
    pub as_known_on: Option<Timestamp>,
    pub log_head: LogHead,
    pub method: Vec<String>,
    pub rows: Vec<ReconcileRow>,
    /// Per donor over the framework's whole period.
    pub totals: Vec<ReconcileRow>,
}

/// Reconciles dataset `a` against dataset `b` under a framework's rules.
#[allow(clippy::too_many_arguments)]
pub fn reconcile(
    app: &Steadfast,
    framework: &FrameworkId,
    counting: Option<Counting>,
    a: &DatasetId,
    b: &DatasetId,
    by: Granularity,
    tolerance: Decimal,
    options: &ReportQuery,
) -> Result<ReconcileView, AppError> {
    let ledger = app.ledger();
    for d in [a, b] {
        if ledger.dataset(d).is_none() && !ledger.datasets_known_on(None).any(|x| x == d) {
            let known: Vec<String> = ledger
                .datasets_known_on(None)
                .map(ToString::to_string)
                .collect();
            return Err(AppError::NotFound(format!(
                "no dataset `{d}` is recorded in this ledger; datasets: {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let report = reconcile_report(ledger, framework, counting, a, b, by, tolerance, options)
        .map_err(report_error)?;
    let head = head_for(app, options);
    let f = &report.framework;
    let mut method = vec![
        format!(
            "Framework {} ({}): what it counts in each dataset, at stage {} counted {}, in categories {}, effective {} to {}; per donor and {}.",
            f.framework,
            f.name,
            report.stage,
            match report.counting {
                Counting::Reached => "by stage reached",
                Counting::Literal => "literally",
            },
            f.eligible_categories
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            f.period_start,
            f.period_end,
            report.by.as_str(),
        ),
        format!(
            "A = {}; B = {}. Difference = A - B; ratio = A / B. Flagged where they differ by more than {} of the larger: a-below (likely missing records in A), a-above (likely double counting or overstatement in A); a-not-covered / b-not-covered where a dataset has no figures for the donor (no figure, which is not zero). Donor-periods with nothing in either are left out.",
            describe_dataset(ledger, a, options),
            describe_dataset(ledger, b, options),
            percent(report.tolerance),
        ),
    ];
    method.extend(view_lines(options, &head));
    Ok(ReconcileView {
        framework: f.framework.clone(),
        stage: report.stage,
        counting: report.counting,
        a: report.a,
        b: report.b,
        by: report.by,
        tolerance: report.tolerance,
        fx_policy: options.fx_policy,
        as_of: options.as_of,
        as_known_on: options.as_known_on,
        log_head: head,
        method,
        rows: report.rows,
        totals: report.totals,
    })
}

/// A dataset with the title and label of its release as the query knows it.
fn describe_dataset(ledger: &Ledger, d: &DatasetId, options: &ReportQuery) -> String {
    match ledger
        .dataset(d)
        .and_then(|s| s.latest(options.as_known_on))
    {
        Some(r) => format!("{d} ({}, release {})", r.title, r.release),
        None => d.to_string(),
    }
}

/// A fraction as a percentage (`0.1` → `10 %`).
pub fn percent(fraction: Decimal) -> String {
    format!("{} %", (fraction * Decimal::ONE_HUNDRED).normalize())
}
