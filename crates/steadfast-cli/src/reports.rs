//! `steadfast report ...` and `steadfast fx import`: the accountability reports rendered as
//! tables (with their method and coverage caveat underneath), JSON or CSV.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::{Decimal, RoundingStrategy};
use steadfast_app::views::{
    AnomaliesView, FairShareView, GapsFigures, GapsView, ReconcileView, percent,
};
use steadfast_app::{
    Database, FairShareQuery, ImportRates, Progress, ReconcileQuery, Service, ServiceError,
    parse_date, parse_moment,
};
use steadfast_domain::scoreboard::reconcile::Granularity;
use steadfast_domain::{Counting, DatasetId, FrameworkId, FxPolicy, HalfYear, ReportQuery, Stage};

use crate::output::{Format, Grid, amount_cell, emit, grouped};
use crate::{
    FormatArg, Reported, asking, choices, input_name, is_broken_pipe, read_input, report_errors,
};

/// How many detail lines (unconverted values, earlier fixings) a table lists before pointing
/// to the JSON output.
const DETAIL_LINES: usize = 10;

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Each participant's fair share of a framework's target against what it has counted.
    FairShare(FairShareArgs),
    /// Per donor: euros at each stage and the median days to delivery and to confirmation.
    Gaps(ViewArgs),
    /// Skipped stages, out-of-order dates, delivered above committed, confirmed different from
    /// delivered, and values with no exchange rate — each with its contribution and reason.
    Anomalies(ViewArgs),
    /// What a framework counts in one dataset against another, per donor and period, with
    /// differences beyond a tolerance flagged.
    Reconcile(ReconcileArgs),
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The dataset to compare (A); give --dataset once.
    #[command(flatten)]
    view: ViewArgs,
    /// The dataset to compare it against (B).
    #[arg(long, value_name = "ID", value_parser = dataset_id)]
    against: DatasetId,
    /// The framework whose rules say what counts (default: the only one, or washington-2024).
    #[arg(long, value_parser = |s: &str| FrameworkId::parse(s).map_err(|e| e.to_string()))]
    framework: Option<FrameworkId>,
    /// The periods compared.
    #[arg(long, default_value = "year", value_parser = choices(&Granularity::ALL, |g| g.as_str(), |s| Granularity::parse(s).ok_or_else(|| steadfast_domain::VocabularyError { what: "period", value: s.to_owned(), expected: "month, half-year, year".to_owned() })))]
    by: Granularity,
    /// The relative difference tolerated, of the larger figure: `10%` or `0.1`.
    #[arg(long, default_value = "10%", value_parser = tolerance)]
    tolerance: Decimal,
    /// How to count (default: the framework's rule).
    #[arg(long, value_parser = choices(Counting::ALL, |c| c.as_str(), Counting::parse))]
    counting: Option<Counting>,
}

/// Reads a tolerance: a percentage (`10%`) or a fraction (`0.1`), from 0 to 100 %.
pub fn tolerance(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(pct) => pct
            .trim()
            .parse::<Decimal>()
            .map(|p| p / Decimal::ONE_HUNDRED),
        None => t.parse::<Decimal>(),
    }
    .map_err(|_| {
        format!(
            "`{text}` is not a tolerance; write a percentage such as 10% or a fraction such as 0.1"
        )
    })?;
    if value.is_sign_negative() || value > Decimal::ONE {
        return Err(format!("`{text}` is not a tolerance between 0% and 100%"));
    }
    Ok(value.normalize())
}

/// The view every report takes of the ledger.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Only events effective on or before this date (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    as_of: Option<Date>,
    /// Only events recorded at or before this moment: an RFC 3339 time (2024-07-10T12:00:00Z)
    /// or a date (the end of that day, UTC). Reproduces the report as it stood then.
    #[arg(long, value_parser = |s: &str| parse_moment(s).map_err(|e| e.to_string()))]
    as_known_on: Option<Timestamp>,
    /// How amounts are converted to euros.
    #[arg(long, default_value = "event-date", value_parser = fx_policy())]
    fx_policy: FxPolicy,
    /// Only contributions of this dataset (repeatable; default: every dataset, and figures of
    /// one donor from several datasets are flagged as possible double counts).
    #[arg(long = "dataset", value_name = "ID", value_parser = dataset_id)]
    datasets: Vec<DatasetId>,
    #[command(flatten)]
    format: FormatArg,
}

impl ViewArgs {
    pub fn options(&self) -> ReportQuery {
        ReportQuery {
            fx_policy: self.fx_policy,
            as_of: self.as_of,
            as_known_on: self.as_known_on,
            datasets: Vec::new(),
        }
        .in_datasets(self.datasets.clone())
    }
}

pub fn dataset_id(text: &str) -> Result<DatasetId, String> {
    DatasetId::parse(text).map_err(|e| e.to_string())
}

/// The `--fx-policy` parser: its values, each with what it means, are listed by `--help` and in
/// the error for any other value.
pub fn fx_policy() -> impl clap::builder::TypedValueParser<Value = FxPolicy> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        FxPolicy::ALL.map(|p| PossibleValue::new(p.as_str()).help(p.describe())),
    )
    .try_map(|text| FxPolicy::parse(&text).ok_or_else(|| format!("`{text}` is not an FX policy")))
}

#[derive(Debug, Args)]
pub struct FairShareArgs {
    /// The framework (e.g. washington-2024); may be left out when the ledger holds only one.
    #[arg(long, value_parser = |s: &str| FrameworkId::parse(s).map_err(|e| e.to_string()))]
    framework: Option<FrameworkId>,
    /// The stage to count (default: the framework's counting stage).
    #[arg(long, value_parser = choices(&Stage::FLOW, |c| c.as_str(), Stage::parse))]
    stage: Option<Stage>,
    /// How to count (default: the framework's rule): `reached` counts the value that has
    /// reached at least the stage, `literal` only increments recorded at the stage itself.
    #[arg(long, value_parser = choices(Counting::ALL, |c| c.as_str(), Counting::parse))]
    counting: Option<Counting>,
    #[command(flatten)]
    view: ViewArgs,
}

#[derive(Debug, Subcommand)]
pub enum FxCommand {
    /// Import exchange rates: the ECB's reference-rate history (eurofxref-hist.csv) or its
    /// daily file (eurofxref.csv).
    Import(FxImportArgs),
}

#[derive(Debug, Args)]
pub struct FxImportArgs {
    /// The CSV file, in the ECB's published layout (`-` for standard input).
    file: PathBuf,
    /// Validate and report without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// Print at most this many errors, then a count of the rest.
    #[arg(long, default_value_t = 100)]
    max_errors: usize,
    #[command(flatten)]
    format: FormatArg,
}

pub fn run(database: &Database, command: &ReportCommand) -> Result<()> {
    let mut service = Service::new(database.clone());
    match command {
        ReportCommand::FairShare(args) => {
            let query = FairShareQuery {
                framework: args.framework.clone(),
                stage: args.stage,
                counting: args.counting,
                view: args.view.options(),
            };
            let view = asking(&mut service, |s, who, p| s.fair_share(who, query, p))?;
            print_fair_share(&view, args.view.format.format)
        }
        ReportCommand::Gaps(args) => {
            let view = asking(&mut service, |s, who, p| s.gaps(who, args.options(), p))?;
            print_gaps(&view, args.format.format)
        }
        ReportCommand::Anomalies(args) => {
            let view = asking(&mut service, |s, who, p| {
                s.anomalies(who, args.options(), p)
            })?;
            print_anomalies(&view, args.format.format)
        }
        ReportCommand::Reconcile(args) => {
            let query = reconcile_query(args);
            let view = asking(&mut service, |s, who, p| s.reconcile(who, query, p))?;
            print_reconcile(&view, args.view.format.format)
        }
    }
}

/// The reconciliation asked for: exactly one dataset, compared with another.
fn reconcile_query(args: &ReconcileArgs) -> ReconcileQuery {
    let view = args.view.options();
    let [a] = view.datasets.as_slice() else {
        crate::usage_error(
            "name the dataset to compare with one --dataset ID (and the other with --against ID)"
                .to_owned(),
        );
    };
    if *a == args.against {
        crate::usage_error(format!(
            "--dataset and --against name the same dataset `{a}`"
        ));
    }
    ReconcileQuery {
        framework: args.framework.clone(),
        counting: args.counting,
        a: a.clone(),
        b: args.against.clone(),
        by: args.by,
        tolerance: args.tolerance,
        view,
    }
}

fn optional_amount(value: Option<Decimal>, format: Format, none: &str) -> String {
    match (value, format) {
        (Some(v), _) => amount_cell(Some(v), format),
        (None, Format::Table) => none.to_owned(),
        (None, _) => String::new(),
    }
}

pub fn print_reconcile(view: &ReconcileView, format: Format) -> Result<()> {
    let mut grid = Grid::new(&[
        ("donor", false),
        ("period", false),
        ("A EUR", true),
        ("B EUR", true),
        ("difference EUR", true),
        ("ratio", true),
        ("flag", false),
    ]);
    let cells = |r: &steadfast_domain::scoreboard::reconcile::ReconcileRow| {
        vec![
            r.donor.to_string(),
            r.period.clone(),
            optional_amount(r.a_eur, format, "not covered"),
            optional_amount(r.b_eur, format, "not covered"),
            optional_amount(r.difference_eur, format, "—"),
            match (r.ratio, format) {
                (Some(x), Format::Table) => format!("{}x", x.round_dp(2)),
                (Some(x), _) => x.to_string(),
                (None, Format::Table) => "—".to_owned(),
                (None, _) => String::new(),
            },
            r.flag.as_str().to_owned(),
        ]
    };
    for r in &view.rows {
        grid.push(cells(r));
    }
    if format == Format::Table {
        outln!(
            "Reconciliation of {} (A) against {} (B) under {}, by {}, tolerance {}:",
            view.a,
            view.b,
            view.framework,
            view.by.as_str(),
            percent(view.tolerance)
        )?;
    }
    let flagged = view
        .totals
        .iter()
        .filter(|r| r.flag != steadfast_domain::scoreboard::reconcile::Flag::Agree)
        .count();
    let mut footer = vec![format!(
        "{} donors over the whole period: {} agree within the tolerance, {flagged} flagged.",
        view.totals.len(),
        view.totals.len() - flagged,
    )];
    footer.extend(method_footer(
        &view.method,
        &format!(
            "Log head: position {}, hash {}.",
            view.log_head.position, view.log_head.hash
        ),
    ));
    emit(format, view, &grid, &footer)
}

/// A fraction as a percentage in a table, as the fraction itself in CSV.
fn fraction(value: Option<Decimal>, digits: u32, format: Format) -> String {
    match (value, format) {
        (Some(v), Format::Table) => {
            let mut pct = (v * Decimal::ONE_HUNDRED)
                .round_dp_with_strategy(digits, RoundingStrategy::MidpointNearestEven);
            pct.rescale(digits);
            format!("{pct} %")
        }
        (Some(v), _) => v.to_string(),
        (None, Format::Table) => "—".to_owned(),
        (None, _) => String::new(),
    }
}

/// Detail lines, at most [`DETAIL_LINES`], then a pointer to the JSON for the rest.
fn details(title: String, lines: Vec<String>) -> Vec<String> {
    if lines.is_empty() {
        return Vec::new();
    }
    let mut out = vec![title];
    let rest = lines.len().saturating_sub(DETAIL_LINES);
    out.extend(
        lines
            .into_iter()
            .take(DETAIL_LINES)
            .map(|l| format!("  {l}")),
    );
    if rest > 0 {
        out.push(format!("  ... and {rest} more (see --format json)"));
    }
    out
}

fn unconverted_lines(values: &[steadfast_domain::scoreboard::UnconvertedValue]) -> Vec<String> {
    details(
        format!(
            "{} value(s) could not be converted and are not counted:",
            values.len()
        ),
        values
            .iter()
            .map(|u| {
                format!(
                    "{} ({}, {} {}, effective {}): {}",
                    u.event, u.donor, u.amount, u.currency, u.effective_date, u.reason
                )
            })
            .collect(),
    )
}

fn earlier_fixing_lines(values: &[steadfast_domain::scoreboard::EarlierFixing]) -> Vec<String> {
    details(
        format!(
            "{} value(s) were converted with an earlier fixing (no ECB fixing on their date):",
            values.len()
        ),
        values
            .iter()
            .map(|e| {
                format!(
                    "{}: {} {} effective {} at the {} fixing ({}) = EUR {}",
                    e.event,
                    e.amount,
                    e.currency,
                    e.effective_date,
                    e.rate_date,
                    e.rate,
                    grouped(e.eur)
                )
            })
            .collect(),
    )
}

fn method_footer(method: &[String], caveat: &str) -> Vec<String> {
    let mut out = vec![String::new(), "Method:".to_owned()];
    out.extend(method.iter().map(|l| format!("  {l}")));
    out.push(caveat.to_owned());
    out
}

/// Events counted; in a table "1 of 2" when some records at the stage could not be counted.
fn events_cell(events: u64, records: u64, format: Format) -> String {
    if format == Format::Table && records > events {
        format!("{events} of {records}")
    } else {
        events.to_string()
    }
}

pub fn print_fair_share(view: &FairShareView, format: Format) -> Result<()> {
    let mut grid = Grid::new(&[
        ("party", false),
        ("name", false),
        ("share", true),
        ("fair share EUR", true),
        ("counted EUR", true),
        ("ratio", true),
        ("gap EUR", true),
        ("status", false),
        ("events", true),
    ]);
    let periods: Vec<HalfYear> = view.totals.counted_by_period.keys().copied().collect();
    for p in &periods {
        grid.add_column(format!("{p} EUR"), true);
    }
    // The split by half-year goes first (earliest first), then what the other columns imply.
    let mut optional: Vec<String> = periods.iter().map(|p| format!("{p} EUR")).collect();
    optional.extend(["events", "name", "share", "status"].map(String::from));
    let mut grid = grid.optional(&optional);
    let by_period = |values: &std::collections::BTreeMap<HalfYear, Decimal>| {
        periods
            .iter()
            .map(|p| amount_cell(values.get(p).copied(), format))
            .collect::<Vec<_>>()
    };
    for r in &view.rows {
        let mut row = vec![
            r.party.to_string(),
            r.name.clone(),
            fraction(Some(r.share), 2, format),
            amount_cell(Some(r.fair_share_eur), format),
            optional_amount(r.counted_eur, format, "no figure"),
            fraction(r.ratio, 1, format),
            optional_amount(r.gap_eur, format, "—"),
            r.status.to_owned(),
            events_cell(r.events, r.records, format),
        ];
        if r.counted_eur.is_some() {
            row.extend(by_period(&r.counted_by_period));
        } else {
            row.extend(periods.iter().map(|_| optional_amount(None, format, "—")));
        }
        grid.push(row);
    }
    let t = &view.totals;
    if format == Format::Table {
        let ratio = (!t.fair_share_eur.is_zero()).then(|| t.counted_eur / t.fair_share_eur);
        grid.push(vec![
            "all".to_owned(),
            format!("{} participants", t.participants),
            fraction(Some(Decimal::ONE), 2, format),
            amount_cell(Some(t.fair_share_eur), format),
            amount_cell(Some(t.counted_eur), format),
            fraction(ratio, 1, format),
            amount_cell(Some(t.gap_eur), format),
            String::new(),
            events_cell(
                view.rows.iter().map(|r| r.events).sum(),
                view.rows.iter().map(|r| r.records).sum(),
                format,
            ),
        ]);
        if let Some(last) = grid.rows.last_mut() {
            last.extend(by_period(&t.counted_by_period));
        }
        let as_of = view
            .as_of
            .map(|d| format!(", as of {d}"))
            .unwrap_or_default();
        let known = view
            .as_known_on
            .map(|t| format!(", as known on {t}"))
            .unwrap_or_default();
        outln!(
            "Fair shares of {} (target EUR {}) — {}; counting {} by stage {}, FX {}{as_of}{known}:",
            view.framework,
            grouped(view.target_eur),
            view.dataset_label,
            view.stage,
            view.counting,
            view.fx_policy
        )?;
    }
    double_count_warning(&view.possible_double_counts, format)?;
    let mut footer = vec![format!(
        "{} participants: {} met, {} short, {} with no records, {} not covered by the datasets read, {} exempt.",
        t.participants, t.met, t.short, t.no_records, t.not_covered, t.exempt
    )];
    if !t.unallocated_eur.is_zero() {
        footer.push(format!(
            "EUR {} is the share of parties exempted inside the denominator and is allocated to no one.",
            grouped(t.unallocated_eur)
        ));
    }
    footer.extend(unconverted_lines(&view.unconverted));
    footer.extend(earlier_fixing_lines(&view.earlier_fixings));
    footer.extend(details(
        format!(
            "{} value(s) at the stage are not counted by the framework's rules:",
            view.not_counted.len()
        ),
        view.not_counted
            .iter()
            .map(|n| format!("{} ({}): {}", n.event, n.donor, n.reason))
            .collect(),
    ));
    footer.extend(details(
        format!(
            "{} contribution(s) are counted literally (their stages are in more than one currency):",
            view.counted_literally.len()
        ),
        view.counted_literally
            .iter()
            .map(|c| format!("{} ({}): {}", c.contribution, c.donor, c.reason))
            .collect(),
    ));
    footer.extend(method_footer(&view.method, &view.coverage.caveat));
    emit(format, view, &grid, &footer)
}

/// Says, above a table (on standard error for CSV, whose rows stay clean; in JSON the
/// `possible_double_counts` field says it), which donors' figures come from more than one
/// dataset.
fn double_count_warning(
    overlaps: &[steadfast_domain::scoreboard::DatasetOverlap],
    format: Format,
) -> Result<()> {
    if overlaps.is_empty() || format == Format::Json {
        return Ok(());
    }
    let list: Vec<String> = overlaps
        .iter()
        .map(|o| {
            format!(
                "{} ({})",
                o.donor,
                o.datasets
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" + ")
            )
        })
        .collect();
    let text = format!(
        "Warning: possible double counts: {} donor(s) have figures in more than one dataset, and this report adds them together: {}. Read one dataset with --dataset, or compare them with `steadfast report reconcile`.",
        list.len(),
        list.join(", ")
    );
    if format == Format::Table {
        outln!("{text}")?;
    } else {
        eprintln!("{text}");
    }
    Ok(())
}

fn median(value: Option<Decimal>, format: Format, none: &str) -> String {
    match (value, format) {
        (Some(v), _) => v.normalize().to_string(),
        (None, Format::Table) => none.to_owned(),
        (None, _) => String::new(),
    }
}

fn gaps_cells(f: &GapsFigures, format: Format) -> Vec<String> {
    let mut cells = vec![f.contributions.to_string()];
    cells.extend(f.stages().map(|v| amount_cell(v, format)));
    let untimed = |any: u64, none: &'static str| {
        if any > 0 { "no start recorded" } else { none }
    };
    cells.push(median(
        f.median_days_to_delivered,
        format,
        untimed(f.with_delivery, "no recorded delivery"),
    ));
    cells.push(median(
        f.median_days_to_confirmed,
        format,
        untimed(f.with_confirmation, "no recorded receipt"),
    ));
    cells
}

pub fn print_gaps(view: &GapsView, format: Format) -> Result<()> {
    let mut grid = Grid::new(&[
        ("donor", false),
        ("name", false),
        ("contributions", true),
        ("announced EUR", true),
        ("committed EUR", true),
        ("allocated EUR", true),
        ("delivered EUR", true),
        ("confirmed EUR", true),
        ("withdrawn EUR", true),
        ("days to delivered", true),
        ("days to confirmed", true),
    ])
    .optional(&[
        "withdrawn EUR",
        "allocated EUR",
        "name",
        "days to confirmed",
        "announced EUR",
        "confirmed EUR",
        "days to delivered",
    ]);
    for r in &view.rows {
        let mut row = vec![r.donor.to_string(), r.name.clone()];
        row.extend(gaps_cells(&r.figures, format));
        grid.push(row);
    }
    if format == Format::Table {
        let mut row = vec!["all".to_owned(), "all donors".to_owned()];
        row.extend(gaps_cells(&view.totals, format));
        grid.push(row);
        outln!(
            "Gaps between stages, per donor (EUR, FX {}):",
            view.fx_policy
        )?;
    }
    double_count_warning(&view.possible_double_counts, format)?;
    let mut footer = unconverted_lines(&view.unconverted);
    footer.extend(earlier_fixing_lines(&view.earlier_fixings));
    footer.extend(method_footer(&view.method, &view.coverage.caveat));
    emit(format, view, &grid, &footer)
}

pub fn print_anomalies(view: &AnomaliesView, format: Format) -> Result<()> {
    let mut grid = Grid::new(&[
        ("contribution", false),
        ("donor", false),
        ("kind", false),
        ("event", false),
        ("reason", false),
    ])
    .optional(&["event", "donor"]);
    for r in &view.rows {
        grid.push(vec![
            r.contribution.to_string(),
            r.donor.to_string(),
            r.kind.to_owned(),
            r.event
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            r.reason.clone(),
        ]);
    }
    if format == Format::Table {
        outln!("{} anomalies (flagged, not rejected):", view.rows.len())?;
    }
    emit(
        format,
        view,
        &grid,
        &method_footer(&view.method, &view.coverage.caveat),
    )
}

pub fn fx_import(database: &Database, args: &FxImportArgs) -> Result<()> {
    let name = input_name(&args.file);
    let bytes = read_input(&args.file, &name)?;
    let progress = Progress::new();
    let bars = crate::progress::Bars::start(&progress);
    let result = Service::new(database.clone()).import_rates(
        &crate::identity(),
        ImportRates {
            file: name.clone(),
            bytes,
            dry_run: args.dry_run,
        },
        &progress,
    );
    bars.finish(if args.dry_run { "checked" } else { "imported" });
    match result {
        Ok(outcome) => {
            let mut grid = Grid::new(&[("measure", false), ("value", true)]);
            let span = match (outcome.first_date, outcome.last_date) {
                (Some(a), Some(b)) => format!("{a} to {b}"),
                _ => "—".to_owned(),
            };
            for (k, v) in [
                ("publication days", outcome.days.to_string()),
                ("dates", span),
                ("currencies", outcome.currencies.len().to_string()),
                (
                    "already recorded (skipped)",
                    outcome.already_recorded.to_string(),
                ),
                ("new days", outcome.new_days.to_string()),
                ("log events appended", outcome.events_appended.to_string()),
            ] {
                grid.push(vec![k.to_owned(), v]);
            }
            let verdict = if outcome.dry_run {
                format!("dry run: {name} is valid; nothing was written")
            } else if outcome.events_appended == 0 {
                format!(
                    "nothing new in {name}: {} day(s) already recorded",
                    outcome.already_recorded
                )
            } else {
                format!("imported {} reference rates from {name}", outcome.source)
            };
            emit(
                args.format.format,
                &outcome,
                &grid,
                &[verdict, crate::head_line(&outcome.log_head)],
            )
        }
        Err(ServiceError::Invalid { problems, .. }) if !problems.is_empty() => {
            match report_errors(&name, &problems, args.max_errors, args.format.format) {
                Err(e) if !is_broken_pipe(&e) => Err(e),
                _ => Err(Reported.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}
