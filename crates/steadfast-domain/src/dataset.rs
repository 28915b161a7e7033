//! Datasets: the provenance of contributions. Every contribution belongs to exactly one
//! (`ledger` for records written without one); a dataset's releases are recorded as events, so
//! what it covered, and which release a figure came from, is known as of any moment.
//!
//! Coverage matters because a party a dataset does not cover has no figure in it, which is not
//! a zero: a report says "not covered", never "no records".

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, Field, Reason, Rejection};
use crate::events::EventMeta;
use crate::ids::{DatasetId, PartyId};
use crate::vocabulary::Stage;

/// Which parties a release has figures for, and over which dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetCoverage {
    pub parties: Vec<PartyId>,
    /// The first and last day of the span the release covers.
    pub from: Date,
    pub to: Date,
}

/// A dataset's release was recorded: the release's identity, its citation, and its coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetReleaseRecorded {
    pub dataset: DatasetId,
    /// The release's label within the dataset (`29`, a scenario version, a file's SHA-256).
    pub release: String,
    /// Its title, as its publisher names it.
    pub title: String,
    pub published_on: Option<Date>,
    /// The day it was recorded (the event's effective date).
    pub recorded_on: Date,
    /// How to cite it.
    pub citation: String,
    /// The SHA-256 of the file it was read from, in hex.
    pub file_sha256: Option<String>,
    /// `None`: the release declares no coverage (a hand-compiled sample), so a party without
    /// records in it has simply none recorded.
    pub coverage: Option<DatasetCoverage>,
    /// The stages the release records (empty: any stage). A tracker that publishes allocations
    /// only has no announcements to skip: its records are not flagged for skipped stages.
    #[serde(default)]
    pub stages: Vec<Stage>,
}

impl DatasetReleaseRecorded {
    /// The problems of a release; empty when it may be recorded.
    pub fn problems(&self) -> Vec<Reason> {
        let mut out = Vec::new();
        if self.release.trim().is_empty() || self.release.len() > 128 {
            out.push(Reason::at(
                Field::Key("release"),
                "a label of 1 to 128 characters is required",
            ));
        }
        if self.citation.trim().is_empty() {
            out.push(Reason::at(
                Field::Key("citation"),
                "say how to cite the release",
            ));
        }
        if let Some(c) = &self.coverage
            && c.from > c.to
        {
            out.push(Reason::at(
                Field::Key("coverage"),
                format!("starts on {} after it ends on {}", c.from, c.to),
            ));
        }
        out
    }
}

/// Whether a dataset has figures for a party over a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Covered {
    /// The dataset's latest known release covers the party over (part of) the span.
    Yes,
    /// It declares its coverage and the party, or the span, is outside it.
    No,
    /// No coverage declared: a party without records simply has none recorded.
    Undeclared,
}

/// A dataset and its recorded releases, in log order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetState {
    pub id: DatasetId,
    pub releases: Vec<(EventMeta, DatasetReleaseRecorded)>,
}

impl DatasetState {
    /// Whether the dataset, as known on a moment, records only some stages by design.
    pub fn records_some_stages_only(&self, known_on: Option<Timestamp>) -> bool {
        self.latest(known_on).is_some_and(|r| !r.stages.is_empty())
    }

    /// The latest release recorded at or before `known_on` (all of them when `None`).
    pub fn latest(&self, known_on: Option<Timestamp>) -> Option<&DatasetReleaseRecorded> {
        self.releases
            .iter()
            .rev()
            .find(|(meta, _)| known_on.is_none_or(|t| meta.recorded_at <= t))
            .map(|(_, r)| r)
    }

    /// Whether the dataset, as known on a moment, covers `party` over `from..=to`.
    pub fn covers(
        &self,
        party: &PartyId,
        from: Date,
        to: Date,
        known_on: Option<Timestamp>,
    ) -> Covered {
        match self.latest(known_on).and_then(|r| r.coverage.as_ref()) {
            None => Covered::Undeclared,
            Some(c) if c.parties.contains(party) && c.from <= to && from <= c.to => Covered::Yes,
            Some(_) => Covered::No,
        }
    }
}

impl Aggregate for DatasetState {
    const KIND: &'static str = "dataset";
    type Id = DatasetId;
    type Command = DatasetReleaseRecorded;
    type Event = DatasetReleaseRecorded;
    type Context<'c> = ();

    fn target(command: &DatasetReleaseRecorded) -> DatasetId {
        command.dataset.clone()
    }

    fn id_of(event: &DatasetReleaseRecorded) -> DatasetId {
        event.dataset.clone()
    }

    /// Records a dataset's release; the same release again (or the same file again on
    /// another day) is a no-op, a different one under the same label is refused.
    fn decide(
        record: Option<&DatasetState>,
        cmd: &DatasetReleaseRecorded,
        _: &(),
    ) -> Result<Vec<DatasetReleaseRecorded>, Rejection> {
        let recorded = record
            .into_iter()
            .flat_map(|d| d.releases.iter().map(|(_, r)| r))
            .find(|r| r.release == cmd.release);
        if let Some(r) = recorded {
            return if r == cmd || r.file_sha256 == cmd.file_sha256 {
                Ok(Vec::new())
            } else {
                Err(Rejection::one(Reason::at(
                    Field::Key("release"),
                    format!(
                        "{} of dataset {} is already recorded from another file ({}); give this one another release label",
                        cmd.release,
                        cmd.dataset,
                        r.file_sha256.as_deref().unwrap_or("no file")
                    ),
                )))
            };
        }
        Rejection::unless_none(cmd.problems())?;
        Ok(vec![cmd.clone()])
    }

    fn open(_: EventMeta, event: &DatasetReleaseRecorded) -> Option<DatasetState> {
        Some(DatasetState {
            id: event.dataset.clone(),
            releases: Vec::new(),
        })
    }

    fn apply(&mut self, meta: EventMeta, event: DatasetReleaseRecorded) {
        self.releases.push((meta, event));
    }

    fn version(&self) -> u64 {
        self.releases.len() as u64
    }
}
