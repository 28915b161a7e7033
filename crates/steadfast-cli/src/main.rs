//! `steadfast`: the ledger of a coalition's promises, on the command line.
//!
//! Parsing (clap) is kept apart from the use cases (steadfast-app); this file maps commands to
//! use cases and results to output. Exit codes: 0 success, 1 a refused input or a broken chain,
//! 2 a usage error, 130 an import interrupted (Ctrl-C) before it recorded anything.

mod output;
mod progress;

/// `println!` that returns an error instead of panicking when stdout is closed (a pipe into
/// `head`), so the caller can stop quietly.
macro_rules! outln {
    () => {
        writeln!(std::io::stdout())
    };
    ($($arg:tt)*) => {
        writeln!(std::io::stdout(), $($arg)*)
    };
}

mod reports;
mod serve_cmd;
mod synth_cmd;
mod token_cmd;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use jiff::civil::Date;
use steadfast_app::views::{
    ContributionFilter, FairShareView, LogHead, ReconcileView, SCENARIO_DATASET, ScenarioLoad,
    TRACKER_DATASET,
};
use steadfast_app::{
    Cancel, ChainHead, Database, FairShareQuery, Identity, ImportContributions, ImportTracker,
    PartiesQuery, Problem, Progress, ReconcileQuery, Service, ServiceError, ShowContribution,
    parse_date,
};
use steadfast_domain::scoreboard::reconcile::Granularity;
use steadfast_domain::{
    Category, Channel, ContributionId, DatasetId, FxPolicy, PartyId, ReportQuery, Stage,
};

use output::{Format, Grid, amount_cell, emit, grouped};

/// Steadfast keeps a coalition's promises honest: every pledge followed from announcement to
/// the recipient's confirmed receipt, in a hash-chained ledger.
#[derive(Debug, Parser)]
#[command(name = "steadfast", version)]
struct Cli {
    /// The ledger: a SQLite file path (created by `demo` and `import` if missing).
    #[arg(
        long,
        visible_alias = "db",
        env = "STEADFAST_DATABASE",
        default_value = "steadfast.sqlite",
        global = true
    )]
    database: String,

    /// Print every column of a table. On a terminal, tables otherwise leave out their least
    /// important columns to fit its width (or `COLUMNS`) and say which; piped output always has
    /// every column.
    #[arg(long, global = true)]
    wide: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load the founding scenario (once) and print the fair-share scoreboard and the gaps.
    Demo(FormatArg),
    /// Import records from a file.
    #[command(subcommand)]
    Import(ImportCommand),
    /// List and inspect contributions.
    #[command(subcommand)]
    Contributions(ContributionsCommand),
    /// List the registered parties and their dated memberships.
    #[command(subcommand)]
    Parties(PartiesCommand),
    /// The accountability reports: fair shares, gaps between stages, anomalies.
    #[command(subcommand)]
    Report(reports::ReportCommand),
    /// Exchange rates.
    #[command(subcommand)]
    Fx(reports::FxCommand),
    /// Inspect the event log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Serve the ledger's HTTP API (JSON) until Ctrl-C or SIGTERM.
    Serve(serve_cmd::ServeArgs),
    /// The server's settings.
    #[command(subcommand)]
    Config(serve_cmd::ConfigCommand),
    /// The API's tokens: create, list, revoke.
    #[command(subcommand)]
    Token(token_cmd::TokenCommand),
    /// Write a synthetic ledger: a reproducible, realistic contributions CSV (opens no ledger).
    Synth(synth_cmd::SynthArgs),
    /// Print a shell completion script, e.g. `steadfast completions bash >
    /// ~/.local/share/bash-completion/completions/steadfast` (opens no ledger).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), e.g. `steadfast man > steadfast.1; man ./steadfast.1`
    /// (opens no ledger).
    Man,
}

impl Command {
    /// The name of a command that opens no ledger; `None` for those that do.
    fn opens_no_ledger(&self) -> Option<&'static str> {
        match self {
            Command::Synth(_) => Some("synth"),
            Command::Config(_) => Some("config"),
            Command::Completions(_) => Some("completions"),
            Command::Man => Some("man"),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, Subcommand)]
enum PartiesCommand {
    /// List registered parties (states and organisations) with their memberships.
    List(PartiesArgs),
}

#[derive(Debug, Args)]
struct PartiesArgs {
    /// Only members of this organisation (e.g. NATO).
    #[arg(long, value_parser = |s: &str| PartyId::parse(s).map_err(|e| e.to_string()))]
    member_of: Option<PartyId>,
    /// With --member-of: members on this date (YYYY-MM-DD), else at any time.
    #[arg(long, value_parser = parse_date, requires = "member_of")]
    on: Option<Date>,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Debug, Args)]
struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Import stage events from a CSV file (one row per event; layout in the README).
    Contributions(ImportArgs),
    /// Import a release of the Kiel Ukraine Support Tracker (its per-country monthly file,
    /// `data_explorer.csv`) as a dataset: each donor-month's military allocations become one
    /// `allocated` record in EUR; a later release into the same dataset records only the
    /// differences, as amendments.
    Tracker(TrackerArgs),
}

#[derive(Debug, Args)]
struct TrackerArgs {
    /// The tracker's `data_explorer.csv` (`-` for standard input).
    file: PathBuf,
    /// The dataset the release goes into (e.g. kiel-ust; at most 32 characters).
    #[arg(long, value_parser = reports::dataset_id)]
    dataset: DatasetId,
    /// The release's label; by default read from `release_info.csv` beside the file, else the
    /// file's SHA-256.
    #[arg(long)]
    release: Option<String>,
    /// Validate and report without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// Print at most this many errors, then a count of the rest.
    #[arg(long, default_value_t = 100)]
    max_errors: usize,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The CSV file (`-` for standard input).
    file: PathBuf,
    /// Validate and report without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// Ignore columns outside the layout instead of refusing the file.
    #[arg(long)]
    ignore_extra: bool,
    /// Print at most this many errors, then a count of the rest.
    #[arg(long, default_value_t = 100)]
    max_errors: usize,
    /// The dataset the file's contributions belong to (default: ledger, the coalition's own).
    #[arg(long, value_parser = reports::dataset_id)]
    dataset: Option<DatasetId>,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Debug, Subcommand)]
enum ContributionsCommand {
    /// List contributions (one row per contribution and currency).
    List(ListArgs),
    /// Show one contribution: its stage history with running totals, sources and anomalies.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Only this donor (ISO 3166-1 alpha-3 or organisation code).
    #[arg(long, value_parser = |s: &str| PartyId::parse(s).map_err(|e| e.to_string()))]
    donor: Option<PartyId>,
    /// Only this recipient.
    #[arg(long, value_parser = |s: &str| PartyId::parse(s).map_err(|e| e.to_string()))]
    recipient: Option<PartyId>,
    /// Only this category.
    #[arg(long, value_parser = choices(Category::ALL, |c| c.as_str(), Category::parse))]
    category: Option<Category>,
    /// Only this channel.
    #[arg(long, value_parser = choices(Channel::ALL, |c| c.as_str(), Channel::parse))]
    channel: Option<Channel>,
    /// Only contributions with an event at this stage (within --from/--to when given).
    #[arg(long, value_parser = choices(Stage::ALL, |c| c.as_str(), Stage::parse))]
    stage: Option<Stage>,
    /// Only contributions with an event (of --stage) effective on or after this date (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    from: Option<Date>,
    /// Only contributions with an event (of --stage) effective on or before this date (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    to: Option<Date>,
    /// Only contributions of this dataset (repeatable; default: every dataset).
    #[arg(long = "dataset", value_name = "ID", value_parser = reports::dataset_id)]
    datasets: Vec<DatasetId>,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// The contribution id.
    id: String,
    /// How amounts are shown in euros.
    #[arg(long, default_value = "event-date", value_parser = reports::fx_policy())]
    fx_policy: FxPolicy,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Recompute the hash chain and name the first broken event.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Fail unless the log's head hash is this one (e.g. a head published earlier).
    #[arg(long)]
    expect_head: Option<ChainHead>,
    #[command(flatten)]
    format: FormatArg,
}

/// A clap parser for a domain vocabulary: its identifiers become the listed possible values.
fn choices<T: Clone + Send + Sync + 'static>(
    all: &'static [T],
    name: fn(&T) -> &'static str,
    parse: fn(&str) -> Result<T, steadfast_domain::VocabularyError>,
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(all.iter().map(name)).try_map(move |s| parse(&s))
}

/// A failure already reported to the user; only the exit code remains.
#[derive(Debug)]
struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reported")
    }
}

impl std::error::Error for Reported {}

/// An import stopped by Ctrl-C before its batch was committed: nothing of `file` was recorded.
#[derive(Debug)]
struct Interrupted {
    file: String,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted: nothing from {} was recorded; the ledger is as it was",
            self.file
        )
    }
}

impl std::error::Error for Interrupted {}

/// The exit status of a command stopped by SIGINT, as shells report it (128 + 2).
const EXIT_INTERRUPTED: u8 = 130;

/// Makes Ctrl-C request `cancel` instead of killing the process, so an import stops before its
/// commit and says that nothing was recorded, or — once committed — finishes and prints what it
/// recorded. A process gets one handler; a second call keeps the first.
fn stop_on_ctrl_c(cancel: &Cancel) {
    let cancel = cancel.clone();
    let _ = ctrlc::set_handler(move || cancel.request());
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // `--database` is global so that it can go anywhere on the line, but a command that opens
    // no ledger must not seem to use one (`STEADFAST_DATABASE` in the environment is fine).
    if let Some(command) = cli.command.opens_no_ledger()
        && matches.value_source("database") == Some(clap::parser::ValueSource::CommandLine)
    {
        usage_error(format!(
            "`steadfast {command}` opens no ledger; leave out --database/--db"
        ));
    }
    output::set_table_width(cli.wide);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Reported>() => ExitCode::FAILURE,
        Err(e) if e.is::<Interrupted>() => {
            eprintln!("{e}");
            ExitCode::from(EXIT_INTERRUPTED)
        }
        // The reader of our output went away (`steadfast ... | head`): nothing to report.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Reports a usage error the way clap does (with the usage line) and exits with 2.
pub(crate) fn usage_error(message: String) -> ! {
    Cli::command()
        .error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let broken = Some(std::io::ErrorKind::BrokenPipe);
    e.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().map(|io| io.kind()) == broken
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == broken
    })
}

fn run(cli: Cli) -> Result<()> {
    let database = Database::parse(&cli.database)?;
    match cli.command {
        Command::Demo(args) => demo(&database, args.format),
        Command::Import(ImportCommand::Contributions(args)) => import(&database, &args),
        Command::Import(ImportCommand::Tracker(args)) => import_tracker(&database, &args),
        Command::Contributions(ContributionsCommand::List(args)) => list(&database, &args),
        Command::Contributions(ContributionsCommand::Show(args)) => show(&database, &args),
        Command::Parties(PartiesCommand::List(args)) => parties(&database, &args),
        Command::Report(command) => reports::run(&database, &command),
        Command::Fx(reports::FxCommand::Import(args)) => reports::fx_import(&database, &args),
        Command::Log(LogCommand::Verify(args)) => verify(&database, &args),
        Command::Serve(args) => serve_cmd::serve(database, &args),
        Command::Config(command) => serve_cmd::config(&command),
        Command::Token(command) => token_cmd::run(&database, &command),
        Command::Synth(args) => synth_cmd::run(&args),
        Command::Completions(args) => {
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "steadfast", &mut out);
            Ok(std::io::stdout().write_all(&out)?)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            Ok(std::io::stdout().write_all(&out)?)
        }
    }
}

/// Who the local user is to the ledger.
/// The command line acts as the ledger's local administrator, and says so in the log.
fn identity() -> Identity {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    Identity::local_administrator(&user)
}

/// A spinner on stderr, drawn only when stderr is a terminal.
fn spinner(message: impl Into<String>) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.into());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Asks the service a question (opening the ledger first if it must: the replay is drawn as a
/// bar on a terminal), then notes a saved snapshot that could not be used.
fn asking<T>(
    service: &mut Service,
    ask: impl FnOnce(&mut Service, &Identity, &Progress) -> Result<T, ServiceError>,
) -> Result<T> {
    let progress = Progress::new();
    let bars = progress::Bars::start(&progress);
    let answer = ask(service, &identity(), &progress);
    bars.clear();
    for discarded in service.take_discarded_snapshots() {
        eprintln!(
            "note: the saved snapshot of {} was not used: {}; the projection was rebuilt from the whole log",
            discarded.location, discarded.reason
        );
    }
    Ok(answer?)
}

fn head_line(head: &LogHead) -> String {
    format!("log head: position {}, hash {}", head.position, head.hash)
}

fn demo(database: &Database, format: Format) -> Result<()> {
    let mut service = Service::new(database.clone());
    let load = asking(&mut service, |s, who, p| s.load_demo(who, p))?;
    let tracker = DatasetId::parse(TRACKER_DATASET)?;
    let scenario_set = DatasetId::parse(SCENARIO_DATASET)?;
    // The headline: the tracker's figures alone, under the framework's own rules.
    let headline = FairShareQuery {
        framework: None,
        stage: None,
        counting: None,
        view: ReportQuery::new(FxPolicy::EventDate).in_datasets(vec![tracker.clone()]),
    };
    let scoreboard = asking(&mut service, |s, who, p| s.fair_share(who, headline, p))?;
    let against = ReconcileQuery {
        framework: Some(scoreboard.framework.clone()),
        counting: None,
        a: scenario_set,
        b: tracker,
        by: Granularity::Year,
        tolerance: DEMO_TOLERANCE,
        view: ReportQuery::new(FxPolicy::EventDate),
    };
    let reconcile = asking(&mut service, |s, who, p| s.reconcile(who, against, p))?;
    if format == Format::Json {
        #[derive(serde::Serialize)]
        struct DemoJson<'a> {
            scenario: &'a ScenarioLoad,
            fair_share: &'a FairShareView,
            reconcile: &'a ReconcileView,
        }
        let json = DemoJson {
            scenario: &load,
            fair_share: &scoreboard,
            reconcile: &reconcile,
        };
        outln!("{}", serde_json::to_string_pretty(&json)?)?;
        return Ok(());
    }
    if format == Format::Table {
        let loaded = if load.events_appended == 0 {
            format!(
                "Founding scenario {} already loaded in {}; nothing changed.",
                load.version,
                service.location()
            )
        } else {
            format!(
                "Loaded founding scenario {} into {}: {} parties, {} memberships, {} days of ECB rates, {} framework(s) and {} revision(s), {} stage events in {} contributions of dataset {}, and {} donor-months of {} (release {}) ({} log events).",
                load.version,
                service.location(),
                load.parties_registered,
                load.memberships_recorded,
                load.rate_days_recorded,
                load.frameworks_adopted,
                load.frameworks_revised,
                load.contributions.new_stage_events,
                load.contributions.new_contributions,
                SCENARIO_DATASET,
                load.tracker.new_records,
                load.tracker.dataset,
                load.tracker.release,
                load.events_appended
            )
        };
        outln!("{loaded}\n")?;
    }
    reports::print_fair_share(&scoreboard, format)?;
    if format == Format::Csv {
        // One CSV document per run: the reconciliation has its own command.
        eprintln!(
            "The scenario against the tracker: steadfast report reconcile --dataset {} --against {} --format csv",
            SCENARIO_DATASET, TRACKER_DATASET
        );
        return Ok(());
    }
    outln!()?;
    reports::print_reconcile(&reconcile, format)
}

/// The tolerance of the demo's reconciliation: a hand-compiled sample of announcements is
/// expected to differ from the tracker's allocations by much more than rounding.
const DEMO_TOLERANCE: rust_decimal::Decimal = rust_decimal::Decimal::from_parts(50, 0, 0, false, 2);

fn import(database: &Database, args: &ImportArgs) -> Result<()> {
    let name = input_name(&args.file);
    let cancel = Cancel::new();
    stop_on_ctrl_c(&cancel);
    let interrupted = || Interrupted { file: name.clone() };
    let bytes = read_input(&args.file, &name)?;
    let progress = Progress::new();
    let bars = progress::Bars::start(&progress);
    let mut service = Service::new(database.clone());
    let result = service.import_contributions(
        &identity(),
        ImportContributions {
            file: name.clone(),
            bytes,
            dataset: args.dataset.clone(),
            ignore_extra: args.ignore_extra,
            dry_run: args.dry_run,
            cancel,
        },
        &progress,
    );
    bars.finish(if args.dry_run { "checked" } else { "imported" });
    match result {
        Ok(outcome) => {
            let mut grid = Grid::new(&[("measure", false), ("value", true)]);
            for (k, v) in [
                ("rows", outcome.rows),
                ("already recorded (skipped)", outcome.already_recorded),
                ("new stage events", outcome.new_stage_events),
                ("new contributions", outcome.new_contributions),
                ("log events appended", outcome.events_appended),
                ("anomalies flagged", outcome.anomalies),
            ] {
                grid.push(vec![k.to_owned(), v.to_string()]);
            }
            let verdict = if outcome.dry_run {
                format!("dry run: {name} is valid; nothing was written")
            } else if outcome.events_appended == 0 {
                format!(
                    "nothing new in {name}: {} row(s) already recorded",
                    outcome.already_recorded
                )
            } else {
                format!("imported {name}")
            };
            let printed = emit(
                args.format.format,
                &outcome,
                &grid,
                &[verdict, head_line(&outcome.log_head)],
            )
            .and_then(|()| Ok(std::io::stdout().flush()?));
            // Closed only once the result is out: closing checkpoints the write-ahead log.
            drop(service);
            printed
        }
        Err(ServiceError::Invalid { problems, .. }) if !problems.is_empty() => {
            // The file was refused whatever happens to our output: the exit status says so.
            match report_errors(&name, &problems, args.max_errors, args.format.format) {
                Err(e) if !is_broken_pipe(&e) => Err(e),
                _ => Err(Reported.into()),
            }
        }
        Err(ServiceError::Interrupted) => Err(interrupted().into()),
        Err(e) => Err(e.into()),
    }
}

fn import_tracker(database: &Database, args: &TrackerArgs) -> Result<()> {
    let name = input_name(&args.file);
    let bytes = read_input(&args.file, &name)?;
    let refused = |problems: &[Problem]| -> Result<()> {
        match report_errors(&name, problems, args.max_errors, args.format.format) {
            Err(e) if !is_broken_pipe(&e) => Err(e),
            _ => Err(Reported.into()),
        }
    };
    // The publisher's description of its release, when it is beside the file.
    let beside = args
        .file
        .parent()
        .map(|dir| dir.join("release_info.csv"))
        .filter(|p| args.file.as_os_str() != "-" && p.is_file());
    let release_info = match &beside {
        Some(path) => {
            let info_name = path.display().to_string();
            let info_bytes = read_input(path, &info_name)?;
            Some((info_name, info_bytes))
        }
        None => None,
    };
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let progress = Progress::new();
    let bars = progress::Bars::start(&progress);
    let result = Service::new(database.clone()).import_tracker(
        &identity(),
        ImportTracker {
            file: name.clone(),
            bytes,
            dataset: args.dataset.clone(),
            release: args.release.clone(),
            release_info,
            today,
            dry_run: args.dry_run,
        },
        &progress,
    );
    bars.finish(if args.dry_run { "checked" } else { "imported" });
    match result {
        Ok(outcome) => {
            let mut grid = Grid::new(&[("measure", false), ("value", true)]);
            for (k, v) in [
                ("rows (donor-months)", outcome.rows.to_string()),
                ("donors", outcome.donors.to_string()),
                (
                    "months",
                    format!("{} to {}", outcome.first_month, outcome.last_month),
                ),
                ("new records", outcome.new_records.to_string()),
                ("revised (amendments)", outcome.revised.to_string()),
                (
                    "no longer in the release (amended to zero)",
                    outcome.removed.to_string(),
                ),
                ("unchanged", outcome.unchanged.to_string()),
                ("log events appended", outcome.events_appended.to_string()),
            ] {
                grid.push(vec![k.to_owned(), v]);
            }
            let verdict = if outcome.dry_run {
                format!(
                    "dry run: {name} is valid; nothing was written (it would record release {} of dataset {})",
                    outcome.release, outcome.dataset
                )
            } else if !outcome.changes_anything() {
                format!(
                    "nothing new: release {} of dataset {} is already recorded with these figures",
                    outcome.release, outcome.dataset
                )
            } else {
                format!(
                    "imported {name} as release {} of dataset {}",
                    outcome.release, outcome.dataset
                )
            };
            emit(
                args.format.format,
                &outcome,
                &grid,
                &[verdict, head_line(&outcome.log_head)],
            )
        }
        Err(ServiceError::Invalid { problems, .. }) if !problems.is_empty() => refused(&problems),
        Err(e) => Err(e.into()),
    }
}

/// How an input is named in messages: its path, or `<stdin>` for `-`.
fn input_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    }
}

/// Reads an input file, or standard input when the path is `-` (`curl ... | steadfast fx import
/// -`), refusing an unreadable one with a clear message.
fn read_input(path: &Path, name: &str) -> Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        return Ok(bytes);
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
    Ok(bytes)
}

fn report_errors(name: &str, errors: &[Problem], max: usize, format: Format) -> Result<()> {
    let shown = &errors[..errors.len().min(max)];
    let rest = errors.len() - shown.len();
    // Errors go to stderr first, so they are reported even if stdout is already closed.
    let mut err = std::io::stderr().lock();
    for e in shown {
        writeln!(err, "{e}")?;
    }
    if rest > 0 {
        writeln!(
            err,
            "... and {rest} more error(s) (raise --max-errors to see them)"
        )?;
    }
    writeln!(
        err,
        "{name}: {} error(s); nothing from this file was recorded",
        errors.len()
    )?;
    if format == Format::Json {
        let list: Vec<serde_json::Value> = shown
            .iter()
            .map(|e| {
                serde_json::json!({
                    "file": e.file,
                    "line": e.line,
                    "column": e.column,
                    "field": e.field,
                    "message": e.message,
                })
            })
            .collect();
        let body = serde_json::json!({
            "file": name,
            "recorded": false,
            "errors": list,
            "more_errors": rest,
        });
        outln!("{}", serde_json::to_string_pretty(&body)?)?;
    }
    Ok(())
}

fn text(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn list(database: &Database, args: &ListArgs) -> Result<()> {
    // An empty range is a mistake, not a question whose answer is "nothing".
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from > to
    {
        usage_error(format!(
            "--from {from} is after --to {to}: no date is in that range (swap them?)"
        ));
    }
    let filter = ContributionFilter {
        donor: args.donor.clone(),
        recipient: args.recipient.clone(),
        category: args.category,
        channel: args.channel,
        stage: args.stage,
        from: args.from,
        to: args.to,
        datasets: args.datasets.clone(),
    };
    let mut service = Service::new(database.clone());
    let report = asking(&mut service, |s, who, p| s.contributions(who, filter, p))?;
    let mut grid = Grid::new(&[
        ("contribution", false),
        ("donor", false),
        ("recipient", false),
        ("category", false),
        ("channel", false),
        ("dataset", false),
        ("status", false),
        ("first", false),
        ("last", false),
        ("currency", false),
        ("announced", true),
        ("committed", true),
        ("allocated", true),
        ("delivered", true),
        ("confirmed", true),
        ("items", false),
        ("anomalies", true),
    ])
    .optional(&[
        "items",
        "channel",
        "category",
        "first",
        "allocated",
        "announced",
        "confirmed",
        "last",
        "status",
        "recipient",
        "dataset",
        "delivered",
        "committed",
    ]);
    for r in &report.rows {
        let mut row = vec![
            r.contribution.to_string(),
            r.donor.to_string(),
            r.recipient.to_string(),
            r.category.to_string(),
            r.channel.to_string(),
            r.dataset.to_string(),
            text(r.status),
            text(r.first_date),
            text(r.last_date),
            text(r.currency),
        ];
        row.extend(
            r.amounts
                .in_order()
                .map(|a| amount_cell(a, args.format.format)),
        );
        row.push(r.items.clone());
        row.push(r.anomalies.to_string());
        grid.push(row);
    }
    let footer = vec![
        format!(
            "{} row(s); — means nothing recorded at that stage (not zero)",
            report.rows.len()
        ),
        head_line(&report.log_head),
    ];
    emit(args.format.format, &report, &grid, &footer)
}

fn show(database: &Database, args: &ShowArgs) -> Result<()> {
    let id = ContributionId::parse(&args.id)?;
    let query = ShowContribution {
        id,
        fx_policy: args.fx_policy,
    };
    let mut service = Service::new(database.clone());
    let detail = asking(&mut service, |s, who, p| s.contribution(who, query, p))?;
    let csv = args.format.format == Format::Csv;
    let amount = |d: Option<rust_decimal::Decimal>| match d {
        Some(d) if csv => d.to_string(),
        Some(d) => grouped(d),
        None => String::new(),
    };
    let mut grid = Grid::new(&[
        ("position", true),
        ("effective", false),
        ("recorded at (UTC)", false),
        ("event", false),
        ("stage", false),
        ("increment", true),
        ("currency", false),
        ("running total", true),
        ("EUR", true),
        ("rate", false),
        ("quantity", true),
        ("unit", false),
        ("basis", false),
        ("condition / reason", false),
        ("source", true),
    ])
    .optional(&[
        "unit",
        "quantity",
        "basis",
        "recorded at (UTC)",
        "rate",
        "source",
        "condition / reason",
        "event",
        "running total",
    ]);
    let source_number = |url: &Option<String>| {
        url.as_ref()
            .and_then(|u| detail.sources.iter().position(|s| s == u))
            .map_or(String::new(), |i| {
                if csv {
                    detail.sources[i].clone()
                } else {
                    format!("[{}]", i + 1)
                }
            })
    };
    for h in &detail.history {
        let stage = match (&h.counts_as, &h.amends) {
            (Some(s), Some(t)) => format!("{} ({s}, amends {t})", h.stage),
            (None, Some(t)) => format!("{} (amends {t})", h.stage),
            _ => h.stage.to_string(),
        };
        grid.push(vec![
            h.position.to_string(),
            h.effective_date.to_string(),
            h.recorded_at.clone(),
            h.event.clone(),
            stage,
            amount(h.amount),
            text(h.currency),
            amount(h.running_total),
            amount(h.eur),
            text(h.fx.clone()),
            text(h.quantity),
            text(h.unit.clone()),
            text(h.valuation_basis.clone()),
            text(h.condition.clone().or(h.reason.clone())),
            source_number(&h.source),
        ]);
    }
    if args.format.format == Format::Table {
        outln!(
            "{}: {} ({}) -> {} ({})",
            detail.contribution,
            detail.donor_name,
            detail.donor,
            detail.recipient_name,
            detail.recipient
        )?;
        outln!(
            "category {}, channel {}, visibility {}, dataset {}, status {}",
            detail.category,
            detail.channel,
            detail.visibility,
            detail.dataset,
            detail.status.map_or("none".to_owned(), |s| s.to_string())
        )?;
        if !detail.description.is_empty() {
            outln!("{}", detail.description)?;
        }
        if let Some(on) = detail.withdrawn_on {
            let cancelled: Vec<String> = detail
                .cancelled
                .iter()
                .map(|(c, a)| format!("{} {c}", grouped(*a)))
                .collect();
            outln!(
                "withdrawn on {on}; undelivered part cancelled: {}",
                cancelled.join(", ")
            )?;
        }
        outln!()?;
    }
    let mut footer = vec![format!(
        "EUR: each increment converted under {} ({}), rounded half-to-even to the cent; an amendment at the date of the event it corrects.",
        args.fx_policy,
        args.fx_policy.describe()
    )];
    footer.push("sources:".to_owned());
    footer.extend(
        detail
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| format!("  [{}] {s}", i + 1)),
    );
    if detail.anomalies.is_empty() {
        footer.push("anomalies: none".to_owned());
    } else {
        footer.push("anomalies:".to_owned());
        footer.extend(
            detail
                .anomalies
                .iter()
                .map(|a| format!("  {}: {}", a.kind.as_str(), a.message)),
        );
    }
    footer.push(head_line(&detail.log_head));
    emit(args.format.format, &detail, &grid, &footer)
}

fn parties(database: &Database, args: &PartiesArgs) -> Result<()> {
    let query = PartiesQuery {
        member_of: args.member_of.clone(),
        on: args.on,
    };
    let mut service = Service::new(database.clone());
    let report = asking(&mut service, |s, who, p| s.parties(who, query, p))?;
    let mut grid = Grid::new(&[
        ("party", false),
        ("name", false),
        ("kind", false),
        ("memberships", false),
    ])
    .optional(&["kind", "name"]);
    for p in &report.rows {
        let memberships: Vec<String> = p
            .memberships
            .iter()
            .map(|m| match m.left {
                Some(left) => format!("{} {}..{left}", m.organisation, m.joined),
                None => format!("{} since {}", m.organisation, m.joined),
            })
            .collect();
        grid.push(vec![
            p.party.to_string(),
            p.name.clone(),
            match p.kind {
                steadfast_domain::PartyKind::State => "state".to_owned(),
                steadfast_domain::PartyKind::Organisation => "organisation".to_owned(),
            },
            memberships.join("; "),
        ]);
    }
    let footer = vec![
        format!(
            "{} part(ies); any ISO 3166-1 alpha-3 state is known without registration",
            report.rows.len()
        ),
        head_line(&report.log_head),
    ];
    emit(args.format.format, &report, &grid, &footer)
}

fn verify(database: &Database, args: &VerifyArgs) -> Result<()> {
    let bar = spinner("verifying the chain");
    let verified = Service::new(database.clone()).verify(args.expect_head, &mut |n| {
        bar.set_message(format!("verifying the chain: {n} events"));
    })?;
    let report = verified;
    bar.finish_and_clear();
    let head = report.log_head.clone();
    #[derive(serde::Serialize)]
    struct VerifyJson<'a> {
        ok: bool,
        database: String,
        events_verified: u64,
        log_head: &'a LogHead,
        first_break: Option<serde_json::Value>,
        expected_head: Option<String>,
        /// Where the expected head sits in the chain; null when it is not in it.
        expected_head_position: Option<u64>,
        appended_since_expected: Option<u64>,
    }
    let json = VerifyJson {
        ok: report.ok,
        database: report.location.clone(),
        events_verified: report.events,
        log_head: &head,
        first_break: report
            .first_break
            .as_ref()
            .map(|b| serde_json::json!({"position": b.position, "reason": b.reason})),
        expected_head: args.expect_head.map(|h| h.to_hex()),
        expected_head_position: report.expected_head_position,
        appended_since_expected: report.appended_since_expected,
    };
    let mut grid = Grid::new(&[("check", false), ("result", false)]);
    grid.push(vec!["database".into(), report.location.clone()]);
    grid.push(vec!["events verified".into(), report.events.to_string()]);
    grid.push(vec![
        "chain".into(),
        match &report.first_break {
            None => "intact".to_owned(),
            Some(b) => format!("BROKEN at event {}: {}", b.position, b.reason),
        },
    ]);
    if let Some(expected) = args.expect_head {
        grid.push(vec![
            "expected head".into(),
            match (
                report.expected_head_position,
                report.appended_since_expected,
            ) {
                (Some(p), Some(0)) => format!("matches (position {p})"),
                (Some(p), Some(n)) => {
                    format!("found at position {p}; {n} event(s) appended since")
                }
                _ => format!("MISMATCH: {expected} is not in the verified chain"),
            },
        ]);
    }
    let verdict = if report.ok {
        "the log verifies".to_owned()
    } else {
        "the log does NOT verify".to_owned()
    };
    let emitted = emit(
        args.format.format,
        &json,
        &grid,
        &[verdict, head_line(&head)],
    );
    // A log that does not verify fails the command even if nobody reads the report.
    if report.ok {
        emitted
    } else {
        Err(Reported.into())
    }
}
