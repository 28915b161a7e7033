//! `steadfast synth`: writes a synthetic ledger (a contributions CSV) for load tests and demos.
//! It opens no ledger: generation is `steadfast_synth`; this file handles the output file,
//! the progress bar and the summary.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use steadfast_synth::{SynthOptions, SynthSummary};

use crate::FormatArg;
use crate::output::{Format, Grid, emit};

/// The most rows one run writes (a file of some 20 GB); far more than an import can take.
const MAX_EVENTS: u64 = 100_000_000;

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// How many stage-event rows to write (1 to 100,000,000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_EVENTS))]
    events: u64,
    /// The seed: the same seed and row count always give the same bytes.
    #[arg(long)]
    seed: u64,
    /// The CSV file to write; an existing file is refused unless --force.
    #[arg(long)]
    out: PathBuf,
    /// Overwrite --out if it exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    format: FormatArg,
}

pub fn run(args: &SynthArgs) -> Result<()> {
    let name = args.out.display().to_string();
    let file = create(args)?;
    let bar = indicatif::ProgressBar::new(args.events);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "writing {msg} {wide_bar} {human_pos}/{human_len} rows ({eta} left)",
    ) {
        bar.set_style(style);
    }
    bar.set_message(name.clone());
    let options = SynthOptions {
        events: args.events,
        seed: args.seed,
    };
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let written =
        steadfast_synth::write_csv(&options, &mut writer, &mut |rows| bar.set_position(rows))
            .and_then(|written| writer.flush().map(|()| written));
    bar.finish_and_clear();
    let written = match written {
        Ok(w) => w,
        Err(e) => {
            drop(writer);
            // Half a file is worse than none.
            let _ = std::fs::remove_file(&args.out);
            return Err(e).with_context(|| format!("cannot write {name}"));
        }
    };
    print_summary(&name, &written.summary, written.bytes, args.format.format)
}

/// Opens the output file, refusing to replace one unless `--force`.
fn create(args: &SynthArgs) -> Result<File> {
    let name = args.out.display();
    let mut options = OpenOptions::new();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    match options.open(&args.out) {
        Ok(file) => Ok(file),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{name} already exists; pass --force to overwrite it")
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {name}")),
    }
}

fn print_summary(name: &str, summary: &SynthSummary, bytes: u64, format: Format) -> Result<()> {
    #[derive(serde::Serialize)]
    struct SynthJson<'a> {
        file: &'a str,
        bytes: u64,
        #[serde(flatten)]
        summary: &'a SynthSummary,
    }
    let date = |d: Option<jiff::civil::Date>| d.map_or_else(String::new, |d| d.to_string());
    let mut grid = Grid::new(&[("measure", false), ("value", true)]);
    let mut row = |k: &str, v: String| grid.push(vec![k.to_owned(), v]);
    row("seed", summary.seed.to_string());
    row("rows", summary.rows.to_string());
    row("contributions", summary.contributions.to_string());
    row("donors", summary.donors.to_string());
    row("currencies", summary.currencies.join(" "));
    row("first date", date(summary.first_date));
    row("last date", date(summary.last_date));
    row("amendments", summary.amendments.to_string());
    row("withdrawals", summary.withdrawals.to_string());
    row("late disclosures", summary.late_disclosures.to_string());
    for (kind, count) in summary.anomalies.by_kind() {
        row(
            &format!("contributions with {}", kind.as_str()),
            count.to_string(),
        );
    }
    row("file", name.to_owned());
    row("bytes", bytes.to_string());
    let footer = [
        format!(
            "wrote {name}: synthetic data (not real pledges), ids S{}-C...",
            summary.seed
        ),
        format!("import it with: steadfast import contributions {name}"),
    ];
    let json = SynthJson {
        file: name,
        bytes,
        summary,
    };
    emit(format, &json, &grid, &footer)
}
