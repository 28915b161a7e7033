//! The commands and queries the service takes and the results it gives that are its own (the
//! report and query views are in [`crate::views`]), and the parsers of what a front end reads
//! from its caller (a date, a moment, a chain head).

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;
use steadfast_domain::scoreboard::reconcile::Granularity;
use steadfast_domain::{
    ContributionId, ContributionRegistered, Counting, DatasetId, FrameworkId, FxPolicy, PartyId,
    RecordStage, ReportQuery, Role, Stage, Visibility,
};
use steadfast_store::{ChainHash, VerifyReport};

use super::error::ServiceError;
use crate::Cancel;
use crate::queries::LogHead;

/// Who asks: the actor recorded with every event a use case appends, and what it may do (a
/// server has authenticated its token; the command line is the local administrator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub actor: String,
    /// `None`: an anonymous caller.
    pub role: Option<Role>,
    /// The party a donor's or the recipient's liaison acts for.
    pub party: Option<PartyId>,
}

impl Identity {
    /// A caller without credentials.
    pub fn anonymous() -> Self {
        Identity {
            actor: "anonymous".to_owned(),
            role: None,
            party: None,
        }
    }

    /// Whoever runs the command line on the ledger's machine: its administrator, named so in
    /// the log (`local-administrator:<user>`).
    pub fn local_administrator(user: &str) -> Self {
        Identity {
            actor: format!("local-administrator:{user}"),
            role: Some(Role::Administrator),
            party: None,
        }
    }

    /// Whether the caller may see every record, restricted ones included: a coordinator, or an
    /// administrator (who holds the ledger's file anyway). A report over the whole ledger
    /// needs it until reports are computed over what each caller may see.
    pub fn sees_everything(&self) -> bool {
        matches!(self.role, Some(Role::Administrator | Role::Coordinator))
    }

    /// Whether the caller may see a contribution: a public one anybody; a coalition one any
    /// signed-in caller; a restricted one its donor's and its recipient's liaisons and whoever
    /// sees everything.
    pub fn sees(&self, contribution: &ContributionRegistered) -> bool {
        match contribution.visibility {
            Visibility::Public => true,
            Visibility::Coalition => self.role.is_some(),
            Visibility::Restricted => {
                self.sees_everything()
                    || (self.role.is_some_and(Role::acts_for_a_party)
                        && self.party.as_ref().is_some_and(|p| {
                            *p == contribution.donor || *p == contribution.recipient
                        }))
            }
        }
    }

    /// `Ok` when the caller sees everything; else `Unauthenticated` (anonymous) or
    /// `Forbidden`, saying what `doing` needs.
    pub(crate) fn must_see_everything(&self, doing: &str) -> Result<(), ServiceError> {
        if self.sees_everything() {
            return Ok(());
        }
        let why = format!(
            "{doing} counts every record, restricted ones included, so it needs a coordinator's or an administrator's token"
        );
        Err(match self.role {
            None => ServiceError::Unauthenticated(why),
            Some(_) => ServiceError::Forbidden(crate::AppError::Forbidden(why)),
        })
    }

    /// `Ok` when the caller holds `role`; else `Unauthenticated` for an anonymous caller and
    /// `Forbidden` for another role, saying what `doing` needs.
    pub(crate) fn must_be(&self, role: Role, doing: &str) -> Result<(), ServiceError> {
        match self.role {
            Some(held) if held == role => Ok(()),
            None => Err(ServiceError::Unauthenticated(format!(
                "{doing} needs a token of the {role} role"
            ))),
            Some(held) => Err(ServiceError::Forbidden(crate::AppError::Forbidden(
                format!("{doing} needs the {role} role; this token's role is {held}"),
            ))),
        }
    }
}

/// Import a contributions file's bytes.
#[derive(Debug)]
pub struct ImportContributions {
    /// How the file is named in messages.
    pub file: String,
    pub bytes: Vec<u8>,
    /// The dataset its rows belong to (`ledger` when `None`).
    pub dataset: Option<DatasetId>,
    /// Ignore columns the layout does not know instead of refusing them.
    pub ignore_extra: bool,
    pub dry_run: bool,
    pub cancel: Cancel,
}

/// Import a tracker release's bytes as a dataset.
#[derive(Debug)]
pub struct ImportTracker {
    pub file: String,
    pub bytes: Vec<u8>,
    pub dataset: DatasetId,
    /// The release label, when the caller names it.
    pub release: Option<String>,
    /// The publisher's `release_info.csv` found beside the file: its name and bytes.
    pub release_info: Option<(String, Vec<u8>)>,
    /// The day the release is recorded on.
    pub today: Date,
    pub dry_run: bool,
}

/// Import a file of ECB reference rates.
#[derive(Debug)]
pub struct ImportRates {
    pub file: String,
    pub bytes: Vec<u8>,
    pub dry_run: bool,
}

/// Record one stage event of a contribution (a pledge announced, a delivery, a receipt...).
#[derive(Debug, Clone)]
pub struct RecordStageEvent {
    pub command: RecordStage,
    /// The version of the contribution's stream the caller decided on (what it last read),
    /// refused as a [`ServiceError::Conflict`] if the ledger has moved on; `None` decides
    /// against the ledger as it stands.
    pub expected_version: Option<u64>,
}

/// What a write recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// Whether the command was new (`false`: the same thing was already recorded, and nothing
    /// was appended).
    pub new: bool,
    pub events_appended: u64,
    /// The version of the written record's stream after the write.
    pub stream_version: u64,
    pub log_head: LogHead,
}

impl crate::write::Recorded for Recorded {
    fn recorded(&mut self, events_appended: u64, head: LogHead) {
        self.events_appended = events_appended;
        self.log_head = head;
    }
}

/// The fair-share scoreboard of a framework.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FairShareQuery {
    /// The framework; may be left out when the ledger holds only one.
    pub framework: Option<FrameworkId>,
    /// The stage counted (default: the framework's).
    pub stage: Option<Stage>,
    /// How to count (default: the framework's rule).
    pub counting: Option<Counting>,
    pub view: ReportQuery,
}

/// One dataset's figures against another's under a framework's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileQuery {
    /// The framework; by default the only one, or the headline one (washington-2024).
    pub framework: Option<FrameworkId>,
    pub counting: Option<Counting>,
    pub a: DatasetId,
    pub b: DatasetId,
    pub by: Granularity,
    /// The relative difference tolerated, a fraction of the larger figure (0 to 1).
    pub tolerance: Decimal,
    pub view: ReportQuery,
}

/// One contribution's story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowContribution {
    pub id: ContributionId,
    /// How its amounts are shown in euros.
    pub fx_policy: FxPolicy,
}

/// The registered parties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartiesQuery {
    /// Only members of this organisation.
    pub member_of: Option<PartyId>,
    /// With `member_of`: members on this date, else at any time.
    pub on: Option<Date>,
}

/// A head of the hash chain (the hash of an event), as published and as given back to be
/// checked.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHead(pub(crate) ChainHash);

impl ChainHead {
    /// 64 lowercase hexadecimal digits.
    pub fn to_hex(&self) -> String {
        self.0.to_hex()
    }
}

impl fmt::Debug for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHead({})", self.0)
    }
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ChainHead {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse().map(ChainHead)
    }
}

/// Where the chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    pub position: u64,
    pub reason: String,
}

/// What verifying the log found, and where the log is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub location: String,
    /// Whether the chain is intact and holds the expected head (when one was given).
    pub ok: bool,
    pub events: u64,
    pub log_head: LogHead,
    pub first_break: Option<ChainBreak>,
    /// The head the caller expected, if any.
    pub expected_head: Option<ChainHead>,
    /// Where the expected head sits in the chain; `None` when it is not in it.
    pub expected_head_position: Option<u64>,
    /// Events appended after the expected head, when it was found.
    pub appended_since_expected: Option<u64>,
}

impl Verified {
    pub(crate) fn of(location: String, report: &VerifyReport) -> Self {
        Verified {
            location,
            ok: report.is_ok(),
            events: report.events,
            log_head: LogHead::of(report.head),
            first_break: report.first_break.as_ref().map(|b| ChainBreak {
                position: b.position,
                reason: b.reason.clone(),
            }),
            expected_head: report.expected_head.map(ChainHead),
            expected_head_position: report.expected_head_position,
            appended_since_expected: report.appended_since_expected(),
        }
    }
}

/// A snapshot found beside the log but not trusted when the ledger was opened: the projection
/// was rebuilt from the whole log (slower, never wrong).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotDiscarded {
    pub location: String,
    pub reason: String,
}

/// Reads a date, YYYY-MM-DD.
pub fn parse_date(text: &str) -> Result<Date, String> {
    steadfast_ingest::parse_date(text)
}

/// Reads an "as known on" moment: an RFC 3339 moment (`2024-07-10T12:00:00Z`, any offset) or a
/// bare date, which means the end of that day in UTC. Refused as invalid (field
/// `as_known_on`).
pub fn parse_moment(text: &str) -> Result<Timestamp, ServiceError> {
    crate::reports::parse_moment(text)
        .map_err(|e| ServiceError::invalid_field("as_known_on", e.to_string()))
}
