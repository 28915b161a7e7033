//! The ledger projection (parties and contributions, folded from the log) and the `Draft` that
//! decides new events against it.
//!
//! `Ledger::apply` is infallible and is the only way state changes, both when replaying the log
//! and when adding freshly appended events, so replay equals the incremental state by
//! construction. `Draft` holds the rules: it validates commands against the ledger plus what the
//! same batch has already decided, and yields the events to append — all of them or none.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::civil::{Date, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::contribution::ContributionState;
use crate::dataset::{DatasetReleaseRecorded, DatasetState};
use crate::events::{
    ContributionRegistered, DomainEvent, EventMeta, MembershipRecorded, PartyRegistered, Quantity,
    StageRecorded,
};
use crate::framework::{FrameworkAdopted, FrameworkRevised};
use crate::fx::{ECB, FxFixingsPublished, MIN_RATE, RateTable, euro_changeover};
use crate::ids::{ContributionId, DatasetId, EventId, FrameworkId, PartyId, PartyKind};
use crate::index::{ReportIndex, text_hash};
use crate::money::{Currency, Money};
use crate::vocabulary::{
    Category, Channel, Condition, SourceKind, Stage, ValuationBasis, Visibility,
};

/// A registered party with its memberships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: PartyId,
    pub name: String,
    pub kind: PartyKind,
    pub memberships: Vec<MembershipRecorded>,
}

impl Party {
    /// Whether the party was a member of `organisation` on `date`.
    pub fn member_of_on(&self, organisation: &PartyId, date: Date) -> bool {
        self.memberships.iter().any(|m| {
            &m.organisation == organisation && m.joined <= date && m.left.is_none_or(|l| date < l)
        })
    }
}

/// The whole projected state.
///
/// Its serde form leaves out the contributions: a snapshot stores them apart, in chunks that
/// are decoded in parallel, and gives them back with [`Ledger::with_contributions`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    parties: BTreeMap<PartyId, Party>,
    /// In registration order; a contribution's position is its slot in the report index.
    #[serde(skip)]
    contributions: Vec<ContributionState>,
    /// The slot of each contribution, in id order.
    slots: BTreeMap<ContributionId, u32>,
    /// Which contribution (slot) each stage event id belongs to, by a hash of the id (the first
    /// id with that hash); ids whose hash another id took are in `owner_collisions`. No copy of
    /// an id is kept here.
    #[serde(with = "crate::compact::hash_slots")]
    event_owner: HashMap<u64, u32>,
    owner_collisions: BTreeMap<EventId, u32>,
    /// What the fair-share scoreboard reads (see [`crate::index`]).
    pub(crate) index: ReportIndex,
    frameworks: BTreeMap<FrameworkId, AdoptedFramework>,
    datasets: BTreeMap<DatasetId, DatasetState>,
    /// When each dataset's first contribution was recorded.
    datasets_since: BTreeMap<DatasetId, jiff::Timestamp>,
    rates: RateTable,
    events_applied: u64,
}

/// A framework as adopted, with where it sits in the log (for "as known on").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptedFramework {
    /// The rules as adopted (revisions are kept apart: the adoption is never edited).
    pub rules: FrameworkAdopted,
    pub meta: EventMeta,
    /// Its revisions, in log order.
    pub revisions: Vec<(EventMeta, FrameworkRevised)>,
}

impl AdoptedFramework {
    /// The rules as known on a moment (every revision when `None`): the adoption with the
    /// revisions recorded by then applied in log order.
    pub fn rules_known_on(&self, known_on: Option<jiff::Timestamp>) -> FrameworkAdopted {
        self.revisions
            .iter()
            .filter(|(meta, _)| known_on.is_none_or(|t| meta.recorded_at <= t))
            .fold(self.rules.clone(), |rules, (_, r)| rules.revised(r))
    }
}

impl Ledger {
    pub fn new() -> Self {
        Ledger::default()
    }

    /// Folds one stored event into the state.
    pub fn apply(&mut self, meta: EventMeta, event: &DomainEvent) {
        self.apply_owned(meta, event.clone());
    }

    /// [`apply`](Self::apply), taking the event: replay and appends fold events they own, so
    /// no copy of each is made.
    pub fn apply_owned(&mut self, meta: EventMeta, event: DomainEvent) {
        self.events_applied += 1;
        match event {
            DomainEvent::PartyRegistered(e) => {
                let party = self
                    .parties
                    .entry(e.party.clone())
                    .or_insert_with(|| Party {
                        id: e.party.clone(),
                        name: e.name.clone(),
                        kind: e.kind,
                        memberships: Vec::new(),
                    });
                party.name = e.name;
                party.kind = e.kind;
            }
            DomainEvent::MembershipRecorded(e) => {
                if let Some(party) = self.parties.get_mut(&e.party) {
                    party.memberships.push(e);
                }
            }
            DomainEvent::ContributionRegistered(e) => {
                if !self.slots.contains_key(&e.contribution) {
                    let slot = self.contributions.len() as u32;
                    self.slots.insert(e.contribution.clone(), slot);
                    if !self.datasets_since.contains_key(&e.dataset) {
                        self.datasets_since
                            .insert(e.dataset.clone(), meta.recorded_at);
                    }
                    let state = ContributionState::new(e, meta);
                    self.index.add_contribution(&state);
                    self.contributions.push(state);
                }
            }
            DomainEvent::StageRecorded(e) => {
                if let Some(slot) = self.slots.get(&e.contribution).copied() {
                    match self.event_owner.entry(text_hash(e.event.as_str())) {
                        Entry::Vacant(v) => {
                            v.insert(slot);
                        }
                        Entry::Occupied(_) => {
                            self.owner_collisions.insert(e.event.clone(), slot);
                        }
                    }
                    let state = &mut self.contributions[slot as usize];
                    state.apply_owned(meta, e);
                    self.index.add_entry(slot, state);
                }
            }
            DomainEvent::FrameworkAdopted(e) => {
                let key = e.framework.clone();
                self.frameworks.entry(key).or_insert(AdoptedFramework {
                    rules: *e,
                    meta,
                    revisions: Vec::new(),
                });
            }
            DomainEvent::FrameworkRevised(e) => {
                if let Some(f) = self.frameworks.get_mut(&e.framework) {
                    f.revisions.push((meta, e));
                }
            }
            DomainEvent::DatasetReleaseRecorded(e) => {
                self.datasets
                    .entry(e.dataset.clone())
                    .or_insert_with(|| DatasetState {
                        id: e.dataset.clone(),
                        releases: Vec::new(),
                    })
                    .releases
                    .push((meta, e));
            }
            DomainEvent::FxFixingsPublished(e) => {
                self.rates.apply(meta, &e);
                self.index.rates_changed(e.date, meta, self.rates.events());
            }
        }
    }

    /// Brings the report index's cached euro values up to date with the rates recorded, after
    /// folding; returns how many events were valued. Reports are right without it (they
    /// convert what the cache cannot serve) but faster with it.
    pub fn revalue(&mut self) -> u64 {
        if self.index.ranks.len() != self.contributions.len() {
            self.index.rank(self.slots.values().copied());
        }
        self.index.revalue(&self.contributions, &self.rates)
    }

    /// The contribution at a report-index slot.
    pub(crate) fn at_slot(&self, slot: u32) -> &ContributionState {
        &self.contributions[slot as usize]
    }

    pub fn framework(&self, id: &FrameworkId) -> Option<&AdoptedFramework> {
        self.frameworks.get(id)
    }

    pub fn frameworks(&self) -> impl Iterator<Item = &AdoptedFramework> {
        self.frameworks.values()
    }

    /// The exchange rates recorded.
    pub fn dataset(&self, id: &DatasetId) -> Option<&DatasetState> {
        self.datasets.get(id)
    }

    /// A contribution's anomalies as a report reads them: a dataset that records only some
    /// stages by design (a tracker's allocations) skips the others by design too, which is not
    /// an irregularity of its records.
    pub fn anomalies_of(
        &self,
        state: &ContributionState,
        known_on: Option<jiff::Timestamp>,
    ) -> Vec<crate::contribution::Anomaly> {
        let by_design = self
            .dataset(&state.info.dataset)
            .is_some_and(|d| d.records_some_stages_only(known_on));
        let mut anomalies = state.anomalies();
        if by_design {
            anomalies.retain(|a| a.kind != crate::contribution::AnomalyKind::SkippedStage);
        }
        anomalies
    }

    /// The datasets that held a contribution at a moment (now when `None`), in id order.
    pub fn datasets_known_on(
        &self,
        known_on: Option<jiff::Timestamp>,
    ) -> impl Iterator<Item = &DatasetId> {
        self.datasets_since
            .iter()
            .filter(move |(_, first)| known_on.is_none_or(|t| **first <= t))
            .map(|(d, _)| d)
    }

    /// The datasets with a recorded release, in id order.
    pub fn datasets(&self) -> impl Iterator<Item = &DatasetState> {
        self.datasets.values()
    }

    pub fn rates(&self) -> &RateTable {
        &self.rates
    }

    pub fn events_applied(&self) -> u64 {
        self.events_applied
    }

    pub fn party(&self, id: &PartyId) -> Option<&Party> {
        self.parties.get(id)
    }

    pub fn parties(&self) -> impl Iterator<Item = &Party> {
        self.parties.values()
    }

    /// A state is known by its ISO 3166-1 code; an organisation only once registered.
    pub fn knows_party(&self, id: &PartyId) -> bool {
        id.kind() == PartyKind::State || self.parties.contains_key(id)
    }

    /// A display name: the registered name, else the ISO short name.
    pub fn party_name(&self, id: &PartyId) -> String {
        self.parties
            .get(id)
            .map(|p| p.name.clone())
            .or_else(|| id.country_name().map(str::to_owned))
            .unwrap_or_else(|| id.to_string())
    }

    pub fn contribution(&self, id: &ContributionId) -> Option<&ContributionState> {
        self.slots.get(id).map(|slot| self.at_slot(*slot))
    }

    /// Every contribution in slot (registration) order: what a snapshot stores apart from the
    /// rest of the ledger's serde form.
    pub fn contributions_by_slot(&self) -> &[ContributionState] {
        &self.contributions
    }

    /// A ledger decoded from its serde form (which has no contributions), given back its
    /// contributions in slot order. Refused unless they are exactly the ones the rest of the
    /// ledger indexes, slot by slot.
    pub fn with_contributions(
        mut self,
        contributions: Vec<ContributionState>,
    ) -> Result<Ledger, String> {
        if !self.contributions.is_empty() || contributions.len() != self.slots.len() {
            return Err(format!(
                "{} contributions for a ledger that indexes {}",
                contributions.len() + self.contributions.len(),
                self.slots.len()
            ));
        }
        for (id, slot) in &self.slots {
            let at = contributions.get(*slot as usize);
            if at.map(|c| &c.info.contribution) != Some(id) {
                return Err(format!("contribution {id} is not at its slot {slot}"));
            }
        }
        self.contributions = contributions;
        Ok(self)
    }

    /// Every contribution, in id order.
    pub fn contributions(&self) -> impl Iterator<Item = &ContributionState> {
        self.slots.values().map(|slot| self.at_slot(*slot))
    }

    /// The stored stage event with this id, wherever it is.
    pub fn stage_event(&self, id: &EventId) -> Option<(&ContributionState, &StageRecorded)> {
        let state = self.owner(id)?;
        state.entry(id).map(|e| (state, &e.event))
    }

    /// The contribution a stored stage event id belongs to.
    fn owner(&self, id: &EventId) -> Option<&ContributionState> {
        if let Some(slot) = self.event_owner.get(&text_hash(id.as_str())) {
            let state = self.at_slot(*slot);
            if state.entry(id).is_some() {
                return Some(state);
            }
        }
        self.owner_collisions
            .get(id)
            .map(|slot| self.at_slot(*slot))
    }
}

/// A field of a stage command, so a violation can be located in its source (a CSV column, a
/// JSON field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    EventId,
    ContributionId,
    Donor,
    Recipient,
    Stage,
    EffectiveDate,
    Amount,
    Currency,
    Category,
    Channel,
    Visibility,
    Quantity,
    Unit,
    ValuationBasis,
    Amends,
    Reason,
    SourceUrl,
    Description,
    SourceKind,
    Dataset,
}

impl Field {
    /// The field's name in the import layout.
    pub fn name(self) -> &'static str {
        match self {
            Field::EventId => "event_id",
            Field::ContributionId => "contribution_id",
            Field::Donor => "donor",
            Field::Recipient => "recipient",
            Field::Stage => "stage",
            Field::EffectiveDate => "effective_date",
            Field::Amount => "amount",
            Field::Currency => "currency",
            Field::Category => "category",
            Field::Channel => "channel",
            Field::Visibility => "visibility",
            Field::Quantity => "quantity",
            Field::Unit => "unit",
            Field::ValuationBasis => "valuation_basis",
            Field::Amends => "amends",
            Field::Reason => "reason",
            Field::SourceUrl => "source_url",
            Field::Description => "description",
            Field::SourceKind => "source_kind",
            Field::Dataset => "dataset",
        }
    }
}

/// Why a day of reference rates cannot be recorded, naming the currency at fault where one is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixingRefusal {
    pub currency: Option<Currency>,
    pub message: String,
}

impl std::fmt::Display for FixingRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.currency {
            Some(c) => write!(f, "{c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A rule a command broke, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub field: Field,
    pub message: String,
}

impl Violation {
    fn new(field: Field, message: impl Into<String>) -> Self {
        Violation {
            field,
            message: message.into(),
        }
    }
}

/// The command to record one stage event, already parsed into domain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordStage {
    pub event: EventId,
    pub contribution: ContributionId,
    pub donor: PartyId,
    pub recipient: PartyId,
    pub category: Category,
    pub channel: Channel,
    pub visibility: Visibility,
    pub stage: Stage,
    pub effective_date: Date,
    pub money: Option<Money>,
    pub quantity: Option<Quantity>,
    pub valuation_basis: Option<ValuationBasis>,
    pub amends: Option<EventId>,
    pub reason: Option<String>,
    pub condition: Option<Condition>,
    pub source_url: Option<String>,
    pub description: Option<String>,
    pub source_kind: Option<SourceKind>,
    pub citation: Option<String>,
    /// The contribution's dataset (its provenance). `None`: the dataset of the contribution
    /// when it is already recorded, else `ledger`; a dataset given must be the contribution's.
    pub dataset: Option<DatasetId>,
}

impl RecordStage {
    /// The stage event this command records (what [`Draft::record_stage`] decides).
    pub fn to_event(&self) -> StageRecorded {
        StageRecorded {
            event: self.event.clone(),
            contribution: self.contribution.clone(),
            stage: self.stage,
            effective_date: self.effective_date,
            money: self.money,
            quantity: self.quantity.clone(),
            valuation_basis: self.valuation_basis,
            amends: self.amends.clone(),
            reason: self.reason.clone(),
            condition: self.condition,
            source_url: self.source_url.clone(),
            description: self.description.clone(),
            source_kind: self.source_kind,
            citation: self.citation.clone(),
        }
    }

    /// [`RecordStage::to_event`] by value: the command's texts move into the event.
    pub fn into_event(self) -> StageRecorded {
        StageRecorded {
            event: self.event,
            contribution: self.contribution,
            stage: self.stage,
            effective_date: self.effective_date,
            money: self.money,
            quantity: self.quantity,
            valuation_basis: self.valuation_basis,
            amends: self.amends,
            reason: self.reason,
            condition: self.condition,
            source_url: self.source_url,
            description: self.description,
            source_kind: self.source_kind,
            citation: self.citation,
        }
    }

    /// The registration of the contribution this command opens when it is the contribution's
    /// first event (what [`Draft::record_stage`] decides before its stage event).
    pub fn registration(&self) -> ContributionRegistered {
        ContributionRegistered {
            contribution: self.contribution.clone(),
            donor: self.donor.clone(),
            recipient: self.recipient.clone(),
            category: self.category,
            channel: self.channel,
            visibility: self.visibility,
            description: self.description.clone().unwrap_or_default(),
            opened_on: self.effective_date,
            dataset: self.dataset.clone().unwrap_or_default(),
        }
    }

    fn attributes_differ(&self, info: &ContributionRegistered) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut check = |field: Field, ours: String, theirs: String| {
            if ours != theirs {
                out.push(Violation::new(
                    field,
                    format!(
                        "contribution {} is recorded with {} `{theirs}`, this row says `{ours}`",
                        self.contribution,
                        field.name()
                    ),
                ));
            }
        };
        check(Field::Donor, self.donor.to_string(), info.donor.to_string());
        check(
            Field::Recipient,
            self.recipient.to_string(),
            info.recipient.to_string(),
        );
        check(
            Field::Category,
            self.category.to_string(),
            info.category.to_string(),
        );
        check(
            Field::Channel,
            self.channel.to_string(),
            info.channel.to_string(),
        );
        check(
            Field::Visibility,
            self.visibility.to_string(),
            info.visibility.to_string(),
        );
        if let Some(dataset) = &self.dataset {
            check(
                Field::Dataset,
                dataset.to_string(),
                info.dataset.to_string(),
            );
        }
        out
    }
}

/// What deciding a stage command did, without the events: they are the command's
/// [`registration`](RecordStage::registration) (when it opens its contribution) and its
/// [`to_event`](RecordStage::to_event), so a caller that keeps the commands can build them when
/// it needs them instead of holding a second copy of every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staged {
    /// Its stage event is decided; `opens`: a registration of its contribution goes first.
    Record { opens: bool },
    /// The same event is already in the ledger with the same content: nothing to do.
    AlreadyRecorded,
}

/// What deciding a stage command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// New events to append (a registration first when the contribution is new).
    Record(Vec<DomainEvent>),
    /// The same event is already in the ledger with the same content: nothing to do.
    AlreadyRecorded,
}

/// Decides commands against a ledger plus the events already decided in the same batch.
#[derive(Debug)]
pub struct Draft<'a> {
    base: &'a Ledger,
    touched: HashMap<ContributionId, ContributionState>,
    /// Contributions this batch is done with (see [`Draft::settle`]).
    settled: HashSet<ContributionId>,
    new_parties: BTreeMap<PartyId, Party>,
    new_event_owner: HashMap<EventId, ContributionId>,
    /// Rates decided in this batch, per publication day (added to what the ledger holds).
    new_fixings: HashMap<Date, BTreeMap<Currency, Decimal>>,
    /// Frameworks adopted in this batch, by position in `events`.
    new_frameworks: HashMap<FrameworkId, usize>,
    events: Vec<DomainEvent>,
}

impl<'a> Draft<'a> {
    pub fn new(base: &'a Ledger) -> Self {
        Draft {
            base,
            touched: HashMap::new(),
            settled: HashSet::new(),
            new_parties: BTreeMap::new(),
            new_event_owner: HashMap::new(),
            new_fixings: HashMap::new(),
            new_frameworks: HashMap::new(),
            events: Vec::new(),
        }
    }

    /// The events decided so far, in the order to append them.
    pub fn into_events(self) -> Vec<DomainEvent> {
        self.events
    }

    pub fn events(&self) -> &[DomainEvent] {
        &self.events
    }

    fn knows_party(&self, id: &PartyId) -> bool {
        self.base.knows_party(id) || self.new_parties.contains_key(id)
    }

    fn party(&self, id: &PartyId) -> Option<&Party> {
        self.new_parties.get(id).or_else(|| self.base.party(id))
    }

    /// Adopts a framework; adopting the very same rules again is a no-op. Returns the problems
    /// (each naming its field) when it cannot be adopted.
    pub fn adopt_framework(&mut self, cmd: FrameworkAdopted) -> Result<bool, Vec<String>> {
        let existing = self
            .base
            .framework(&cmd.framework)
            .map(|f| &f.rules)
            .or_else(
                || match self.events.get(*self.new_frameworks.get(&cmd.framework)?) {
                    Some(DomainEvent::FrameworkAdopted(f)) => Some(&**f),
                    _ => None,
                },
            );
        if let Some(existing) = existing {
            return if *existing == cmd {
                Ok(false)
            } else {
                Err(vec![format!(
                    "id: framework {} is already adopted with different rules; a change needs its own event",
                    cmd.framework
                )])
            };
        }
        let mut problems = cmd.problems();
        for party in cmd.participants.iter().chain(&cmd.recipients) {
            if !self.knows_party(party) {
                problems.push(format!("{party} is not a registered party"));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        self.new_frameworks
            .insert(cmd.framework.clone(), self.events.len());
        self.events
            .push(DomainEvent::FrameworkAdopted(Box::new(cmd)));
        Ok(true)
    }

    /// Revises an adopted framework's counting rules; the same revision again is a no-op.
    pub fn revise_framework(&mut self, cmd: FrameworkRevised) -> Result<bool, Vec<String>> {
        let adopted = self
            .base
            .framework(&cmd.framework)
            .map(|f| f.rules_known_on(None))
            .or_else(
                || match self.events.get(*self.new_frameworks.get(&cmd.framework)?) {
                    Some(DomainEvent::FrameworkAdopted(f)) => Some((**f).clone()),
                    _ => None,
                },
            );
        let Some(mut rules) = adopted else {
            return Err(vec![format!(
                "framework: {} is not adopted; a revision needs an adopted framework",
                cmd.framework
            )]);
        };
        let earlier = self
            .base
            .framework(&cmd.framework)
            .into_iter()
            .flat_map(|f| f.revisions.iter().map(|(_, r)| r))
            .chain(self.events.iter().filter_map(|e| match e {
                DomainEvent::FrameworkRevised(r) if r.framework == cmd.framework => Some(r),
                _ => None,
            }));
        for r in earlier {
            if r.revision == cmd.revision {
                return if *r == cmd {
                    Ok(false)
                } else {
                    Err(vec![format!(
                        "revision: {} of framework {} is already recorded with different content",
                        cmd.revision, cmd.framework
                    )])
                };
            }
        }
        for r in self.events.iter().filter_map(|e| match e {
            DomainEvent::FrameworkRevised(r) if r.framework == cmd.framework => Some(r),
            _ => None,
        }) {
            rules = rules.revised(r);
        }
        let problems = cmd.problems(&rules);
        if !problems.is_empty() {
            return Err(problems);
        }
        self.events.push(DomainEvent::FrameworkRevised(cmd));
        Ok(true)
    }

    /// Records a dataset's release; the same release again is a no-op, a different one under
    /// the same label is refused.
    pub fn record_dataset_release(
        &mut self,
        cmd: DatasetReleaseRecorded,
    ) -> Result<bool, Vec<String>> {
        let recorded = self
            .base
            .dataset(&cmd.dataset)
            .into_iter()
            .flat_map(|d| d.releases.iter().map(|(_, r)| r))
            .chain(self.events.iter().filter_map(|e| match e {
                DomainEvent::DatasetReleaseRecorded(r) if r.dataset == cmd.dataset => Some(r),
                _ => None,
            }))
            .find(|r| r.release == cmd.release);
        if let Some(r) = recorded {
            return if *r == cmd {
                Ok(false)
            } else if r.file_sha256 == cmd.file_sha256 {
                // The same file recorded again on another day: nothing new.
                Ok(false)
            } else {
                Err(vec![format!(
                    "release: {} of dataset {} is already recorded from another file ({}); name this one with --release",
                    cmd.release,
                    cmd.dataset,
                    r.file_sha256.as_deref().unwrap_or("no file")
                )])
            };
        }
        let problems = cmd.problems();
        if !problems.is_empty() {
            return Err(problems);
        }
        self.events.push(DomainEvent::DatasetReleaseRecorded(cmd));
        Ok(true)
    }

    /// Records the reference rates of one publication day. Rates already recorded for the
    /// day must match (a recorded fixing is never changed); currencies the day does not have
    /// yet are added, so a file with fewer currencies imported first never blocks the full
    /// history. Returns whether anything is new.
    pub fn record_fixings(&mut self, cmd: FxFixingsPublished) -> Result<bool, FixingRefusal> {
        let refuse =
            |currency: Option<Currency>, message: String| FixingRefusal { currency, message };
        if cmd.source != ECB {
            return Err(refuse(
                None,
                format!("only {ECB} reference rates are supported"),
            ));
        }
        if matches!(cmd.date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            return Err(refuse(
                None,
                format!(
                    "{} is a {:?}: the {ECB} publishes no reference rates at weekends",
                    cmd.date,
                    cmd.date.weekday()
                ),
            ));
        }
        if cmd.rates.is_empty() {
            return Err(refuse(
                None,
                format!("{} has no rate at all (every cell N/A)", cmd.date),
            ));
        }
        for (currency, rate) in &cmd.rates {
            if currency.code() == "EUR" {
                return Err(refuse(
                    Some(*currency),
                    "reference rates are quoted against the euro; EUR has none".to_owned(),
                ));
            }
            if *rate < MIN_RATE {
                return Err(refuse(
                    Some(*currency),
                    format!("the rate {rate} is implausibly small (below {MIN_RATE} per euro)"),
                ));
            }
            if let Some((joined, fixed)) = euro_changeover(*currency, cmd.date) {
                return Err(refuse(
                    Some(*currency),
                    format!(
                        "{currency} joined the euro on {joined} at {fixed} per euro; it has no reference rate on {}",
                        cmd.date
                    ),
                ));
            }
        }
        let recorded = self.base.rates().day(cmd.date);
        let drafted = self.new_fixings.get(&cmd.date);
        let known = |c: &Currency| {
            recorded
                .and_then(|d| d.get(c))
                .or_else(|| drafted.and_then(|d| d.get(c)))
        };
        let mut new = BTreeMap::new();
        for (currency, rate) in &cmd.rates {
            match known(currency) {
                Some(was) if was == rate => {}
                Some(was) => {
                    return Err(refuse(
                        Some(*currency),
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
            return Ok(false);
        }
        self.new_fixings
            .entry(cmd.date)
            .or_default()
            .extend(new.iter().map(|(c, r)| (*c, *r)));
        self.events
            .push(DomainEvent::FxFixingsPublished(FxFixingsPublished {
                rates: new,
                ..cmd
            }));
        Ok(true)
    }

    /// Registers a party; re-registering the same name and kind is a no-op.
    pub fn register_party(&mut self, cmd: PartyRegistered) -> Result<bool, Violation> {
        if cmd.party.kind() != cmd.kind {
            return Err(Violation::new(
                Field::Donor,
                format!(
                    "{} is registered as {:?} but its code says {:?}",
                    cmd.party,
                    cmd.kind,
                    cmd.party.kind()
                ),
            ));
        }
        if let Some(existing) = self.party(&cmd.party) {
            if existing.name == cmd.name {
                return Ok(false);
            }
            return Err(Violation::new(
                Field::Donor,
                format!(
                    "{} is already registered as `{}`, not `{}`",
                    cmd.party, existing.name, cmd.name
                ),
            ));
        }
        self.new_parties.insert(
            cmd.party.clone(),
            Party {
                id: cmd.party.clone(),
                name: cmd.name.clone(),
                kind: cmd.kind,
                memberships: Vec::new(),
            },
        );
        self.events.push(DomainEvent::PartyRegistered(cmd));
        Ok(true)
    }

    /// Records a membership of a registered party in a registered organisation; the same
    /// membership twice is a no-op.
    pub fn record_membership(&mut self, cmd: MembershipRecorded) -> Result<bool, Violation> {
        let organisation_known = self
            .party(&cmd.organisation)
            .is_some_and(|p| p.kind == PartyKind::Organisation);
        if !organisation_known {
            return Err(Violation::new(
                Field::Recipient,
                format!("organisation {} is not registered", cmd.organisation),
            ));
        }
        if cmd.left.is_some_and(|l| l <= cmd.joined) {
            return Err(Violation::new(
                Field::EffectiveDate,
                format!(
                    "membership of {} in {} ends before it starts",
                    cmd.party, cmd.organisation
                ),
            ));
        }
        let Some(party) = self.party(&cmd.party) else {
            return Err(Violation::new(
                Field::Donor,
                format!("party {} is not registered", cmd.party),
            ));
        };
        if let Some(existing) = party
            .memberships
            .iter()
            .find(|m| m.organisation == cmd.organisation && m.joined == cmd.joined)
        {
            if *existing == cmd {
                return Ok(false);
            }
            return Err(Violation::new(
                Field::EffectiveDate,
                format!(
                    "the membership of {} in {} from {} is already recorded{}; changing it (such as recording its end) is not supported yet",
                    cmd.party,
                    cmd.organisation,
                    cmd.joined,
                    existing
                        .left
                        .map_or(String::new(), |l| format!(" (until {l})"))
                ),
            ));
        }
        let mut party = party.clone();
        party.memberships.push(cmd.clone());
        self.new_parties.insert(cmd.party.clone(), party);
        self.events.push(DomainEvent::MembershipRecorded(cmd));
        Ok(true)
    }

    /// A contribution as it stands with this draft's events applied.
    pub fn contribution(&self, id: &ContributionId) -> Option<&ContributionState> {
        self.touched.get(id).or_else(|| self.base.contribution(id))
    }

    fn owner_of(&self, id: &EventId) -> Option<&ContributionId> {
        self.new_event_owner
            .get(id)
            .or_else(|| self.base.owner(id).map(|s| &s.info.contribution))
    }

    /// Decides one stage command: every rule it breaks is returned, or the events it produces
    /// are added to the draft.
    pub fn record_stage(&mut self, cmd: &RecordStage) -> Result<Decision, Vec<Violation>> {
        Ok(match self.stage(cmd)? {
            Staged::AlreadyRecorded => Decision::AlreadyRecorded,
            Staged::Record { opens } => {
                let mut produced = Vec::with_capacity(2);
                if opens {
                    produced.push(DomainEvent::ContributionRegistered(cmd.registration()));
                }
                produced.push(DomainEvent::StageRecorded(cmd.to_event()));
                self.events.extend(produced.iter().cloned());
                Decision::Record(produced)
            }
        })
    }

    /// Ends this batch's work on a contribution and hands back the draft's copy of it (`None`
    /// when the batch records nothing for it). A caller that decides a file contribution by
    /// contribution settles each one as it moves on, so the draft holds one contribution at a
    /// time rather than a copy of every contribution in the file. A later command for a
    /// settled contribution is refused: it would be decided without what the batch already
    /// decided for it.
    pub fn settle(&mut self, id: &ContributionId) -> Option<ContributionState> {
        let state = self.touched.remove(id)?;
        self.settled.insert(id.clone());
        Some(state)
    }

    /// Decides one stage command like [`Draft::record_stage`], but leaves its events out of the
    /// draft's [`events`](Draft::events): the caller builds them from the command (see
    /// [`Staged`]). The draft keeps only what later rules read (a copy of the touched
    /// contribution without the texts), so a whole file is decided without a second copy of it.
    pub fn stage(&mut self, cmd: &RecordStage) -> Result<Staged, Vec<Violation>> {
        // Idempotency first: an event id seen before is either the same fact or a conflict.
        if let Some(owner) = self.owner_of(&cmd.event) {
            let state = self.contribution(owner);
            let stored = state.and_then(|s| s.entry(&cmd.event));
            let in_this_batch = self.new_event_owner.contains_key(&cmd.event);
            if in_this_batch {
                return Err(vec![Violation::new(
                    Field::EventId,
                    format!("event id {} appears twice", cmd.event),
                )]);
            }
            let same = match (state, stored) {
                (Some(state), Some(stored)) => {
                    stored.event == cmd.to_event() && cmd.attributes_differ(&state.info).is_empty()
                }
                _ => false,
            };
            return if same {
                Ok(Staged::AlreadyRecorded)
            } else {
                Err(vec![Violation::new(
                    Field::EventId,
                    format!(
                        "event id {} is already recorded with different content (contribution {owner})",
                        cmd.event
                    ),
                )])
            };
        }

        if self.settled.contains(&cmd.contribution) {
            return Err(vec![Violation::new(
                Field::ContributionId,
                format!(
                    "contribution {} was settled earlier in this batch: its events are decided together",
                    cmd.contribution
                ),
            )]);
        }
        let mut violations = self.check(cmd);
        if !violations.is_empty() {
            violations.sort_by_key(|v| v.field);
            return Err(violations);
        }

        let mut opens = false;
        let mut state = match self.touched.remove(&cmd.contribution) {
            Some(s) => s,
            None => match self.base.contribution(&cmd.contribution) {
                Some(s) => s.clone(),
                None => {
                    opens = true;
                    ContributionState::new(cmd.registration(), EventMeta::PENDING)
                }
            },
        };
        // The draft's copy keeps what the rules and the anomalies read; the texts (source,
        // description, reason) travel once, in the decided event.
        state.apply_owned(
            EventMeta::PENDING,
            StageRecorded {
                event: cmd.event.clone(),
                contribution: cmd.contribution.clone(),
                stage: cmd.stage,
                effective_date: cmd.effective_date,
                money: cmd.money,
                quantity: cmd.quantity.clone(),
                valuation_basis: cmd.valuation_basis,
                amends: cmd.amends.clone(),
                reason: None,
                condition: cmd.condition,
                source_url: None,
                description: None,
                source_kind: None,
                citation: None,
            },
        );
        self.touched.insert(cmd.contribution.clone(), state);
        self.new_event_owner
            .insert(cmd.event.clone(), cmd.contribution.clone());
        Ok(Staged::Record { opens })
    }

    /// Every rule the command breaks against the current state; empty when it may be recorded.
    fn check(&self, cmd: &RecordStage) -> Vec<Violation> {
        let mut out = Vec::new();
        let state = self.contribution(&cmd.contribution);
        if let Some(state) = state {
            out.extend(cmd.attributes_differ(&state.info));
        }
        for (field, party) in [
            (Field::Donor, &cmd.donor),
            (Field::Recipient, &cmd.recipient),
        ] {
            if !self.knows_party(party) {
                out.push(Violation::new(
                    field,
                    format!(
                        "unknown party {party}: organisations must be registered first (the founding scenario registers NATO, EU and NSATU)"
                    ),
                ));
            }
        }
        if cmd.donor == cmd.recipient {
            out.push(Violation::new(
                Field::Recipient,
                format!("donor and recipient are both {}", cmd.donor),
            ));
        }
        if let Some(q) = cmd
            .quantity
            .as_ref()
            .filter(|q| q.value.abs() >= rust_decimal::Decimal::from(crate::MAX_AMOUNT_UNITS))
        {
            out.push(Violation::new(
                Field::Quantity,
                format!("quantity {} is too large: it must be below 10^15", q.value),
            ));
        }
        if cmd.quantity.as_ref().is_some_and(|q| q.unit.is_empty()) {
            out.push(Violation::new(Field::Unit, "a quantity needs its unit"));
        }
        if cmd.stage != Stage::Amended && cmd.amends.is_some() {
            out.push(Violation::new(
                Field::Amends,
                format!(
                    "only an amended event may reference another; this one is {}",
                    cmd.stage
                ),
            ));
        }
        if cmd.condition.is_some() && cmd.stage != Stage::Confirmed {
            out.push(Violation::new(
                Field::Reason,
                "a condition is reported only with a confirmed receipt",
            ));
        }

        match cmd.stage {
            Stage::Withdrawn => {
                if cmd.money.is_some() || cmd.quantity.is_some() {
                    out.push(Violation::new(
                        Field::Amount,
                        "withdrawn carries no amount: it cancels the undelivered part; use amended to reduce a figure",
                    ));
                }
                if let Some(state) = state {
                    if let Some(on) = state.withdrawn_on {
                        out.push(Violation::new(
                            Field::Stage,
                            format!(
                                "contribution {} is already withdrawn (on {on})",
                                cmd.contribution
                            ),
                        ));
                    } else if let Some(latest) =
                        state.latest_effective.filter(|d| *d > cmd.effective_date)
                    {
                        out.push(Violation::new(
                            Field::EffectiveDate,
                            format!(
                                "withdrawn on {} but contribution {} has an event effective {latest}; no event may be dated after a withdrawal",
                                cmd.effective_date, cmd.contribution
                            ),
                        ));
                    }
                }
            }
            Stage::Amended => out.extend(self.check_amendment(cmd, state)),
            _ => {
                match &cmd.money {
                    Some(m) if m.is_zero() => out.push(Violation::new(
                        Field::Amount,
                        format!("{} event needs a positive increment, not zero", a_or_an(cmd.stage)),
                    )),
                    Some(m) if m.is_negative() => out.push(Violation::new(
                        Field::Amount,
                        format!(
                            "negative increment {m} on {} event; to correct an earlier event record an amended event that references it",
                            a_or_an(cmd.stage)
                        ),
                    )),
                    _ => {}
                }
                if let Some(q) = cmd
                    .quantity
                    .as_ref()
                    .filter(|q| q.value <= rust_decimal::Decimal::ZERO)
                {
                    out.push(Violation::new(
                        Field::Quantity,
                        format!("quantity {} must be positive outside amended", q.value),
                    ));
                }
                if cmd.money.is_none() && cmd.quantity.is_none() {
                    out.push(Violation::new(
                        Field::Amount,
                        format!(
                            "{} event needs an increment: an amount, a quantity, or both",
                            a_or_an(cmd.stage)
                        ),
                    ));
                }
                // A confirmed receipt without its condition, or an in-kind valuation without its
                // basis, is incomplete rather than untrue: accepted and flagged as an anomaly.
                if let Some(on) = state
                    .and_then(|s| s.withdrawn_on)
                    .filter(|on| cmd.effective_date > *on)
                {
                    out.push(Violation::new(
                        Field::Stage,
                        format!(
                            "contribution {} was withdrawn on {on}; no event may be dated after a withdrawal",
                            cmd.contribution
                        ),
                    ));
                }
            }
        }
        out
    }

    fn check_amendment(
        &self,
        cmd: &RecordStage,
        state: Option<&ContributionState>,
    ) -> Vec<Violation> {
        let mut out = Vec::new();
        if cmd.reason.as_deref().is_none_or(str::is_empty) {
            out.push(Violation::new(
                Field::Reason,
                "an amendment states its reason",
            ));
        }
        if let Some(on) = state
            .and_then(|s| s.withdrawn_on)
            .filter(|on| cmd.effective_date > *on)
        {
            out.push(Violation::new(
                Field::Stage,
                format!(
                    "contribution {} was withdrawn on {on}; no event may be dated after a withdrawal",
                    cmd.contribution
                ),
            ));
        }
        if cmd.money.is_none() && cmd.quantity.is_none() {
            out.push(Violation::new(
                Field::Amount,
                "an amendment carries a signed delta: an amount, a quantity, or both",
            ));
        }
        if cmd.quantity.as_ref().is_some_and(|q| q.value.is_zero()) {
            out.push(Violation::new(
                Field::Quantity,
                "an amendment's quantity delta cannot be zero",
            ));
        }
        if cmd.money.is_some_and(|m| m.is_zero()) {
            out.push(Violation::new(
                Field::Amount,
                "an amendment's delta cannot be zero",
            ));
        }
        let Some(target_id) = &cmd.amends else {
            out.push(Violation::new(
                Field::Amends,
                "an amended event names the event it corrects",
            ));
            return out;
        };
        let target = state.and_then(|s| s.entry(target_id).map(|e| (s, e)));
        let Some((state, target)) = target else {
            let elsewhere = self.owner_of(target_id);
            out.push(Violation::new(
                Field::Amends,
                match elsewhere {
                    Some(other) => format!("amends {target_id}, which belongs to contribution {other}, not {}", cmd.contribution),
                    None => format!("amends {target_id}, which is not recorded (in the ledger or earlier in this batch)"),
                },
            ));
            return out;
        };
        if target.event.effective_date > cmd.effective_date {
            out.push(Violation::new(
                Field::Amends,
                format!(
                    "amends {target_id}, effective {}, later than this amendment ({})",
                    target.event.effective_date, cmd.effective_date
                ),
            ));
        }
        if target.event.stage == Stage::Withdrawn {
            out.push(Violation::new(
                Field::Amends,
                format!("{target_id} is a withdrawal; it has no amount to amend"),
            ));
            return out;
        }
        let Some(root) = state.root_of(target_id) else {
            return out;
        };
        let net = state.net_of(root);
        if let Some(delta) = &cmd.money {
            match net.money {
                None => out.push(Violation::new(
                    Field::Amount,
                    format!("{target_id} has no amount to amend"),
                )),
                Some(m) if m.currency() != delta.currency() => out.push(Violation::new(
                    Field::Currency,
                    format!(
                        "{target_id} is in {}, the delta in {}",
                        m.currency(),
                        delta.currency()
                    ),
                )),
                Some(m)
                    if m.amount()
                        .checked_add(delta.amount())
                        .is_some_and(|sum| sum < rust_decimal::Decimal::ZERO) =>
                {
                    out.push(Violation::new(
                        Field::Amount,
                        format!("delta {delta} would take {root} below zero (it stands at {m})"),
                    ))
                }
                Some(_) => {}
            }
        }
        if let Some(delta) = &cmd.quantity {
            match &net.quantity {
                None => out.push(Violation::new(
                    Field::Quantity,
                    format!("{target_id} has no quantity to amend"),
                )),
                Some(q) if q.unit != delta.unit => out.push(Violation::new(
                    Field::Unit,
                    format!(
                        "{target_id} counts `{}`, the delta `{}`",
                        q.unit, delta.unit
                    ),
                )),
                Some(q)
                    if q.value
                        .checked_add(delta.value)
                        .is_some_and(|sum| sum < rust_decimal::Decimal::ZERO) =>
                {
                    out.push(Violation::new(
                        Field::Quantity,
                        format!(
                            "delta {} would take {root} below zero (it stands at {})",
                            delta.value, q.value
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        out
    }
}

/// A stage with its indefinite article: "an announced", "a committed".
fn a_or_an(stage: Stage) -> String {
    let name = stage.as_str();
    if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {name}")
    } else {
        format!("a {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EventId;

    fn register(ledger: &mut Ledger, contribution: &str) {
        ledger.apply(
            EventMeta::PENDING,
            &DomainEvent::ContributionRegistered(ContributionRegistered {
                contribution: ContributionId::parse(contribution).expect("id"),
                donor: PartyId::parse("DEU").expect("party"),
                recipient: PartyId::parse("UKR").expect("party"),
                category: Category::Training,
                channel: Channel::Bilateral,
                visibility: Visibility::Public,
                description: String::new(),
                opened_on: Date::constant(2024, 3, 1),
                dataset: Default::default(),
            }),
        );
    }

    fn record(ledger: &mut Ledger, contribution: &str, event: &str) {
        record_as(ledger, contribution, event, Stage::Committed, None);
    }

    fn record_as(
        ledger: &mut Ledger,
        contribution: &str,
        event: &str,
        stage: Stage,
        amends: Option<&str>,
    ) {
        ledger.apply(
            EventMeta::PENDING,
            &DomainEvent::StageRecorded(StageRecorded {
                event: EventId::parse(event).expect("id"),
                contribution: ContributionId::parse(contribution).expect("id"),
                stage,
                effective_date: Date::constant(2024, 3, 1),
                money: None,
                quantity: None,
                valuation_basis: None,
                amends: amends.map(|a| EventId::parse(a).expect("id")),
                reason: None,
                condition: None,
                source_url: None,
                description: None,
                citation: None,
                source_kind: None,
            }),
        );
    }

    #[test]
    fn revaluing_values_only_rows_added_or_amended_since_unless_rates_came_in() {
        let mut ledger = Ledger::new();
        register(&mut ledger, "C-1");
        record(&mut ledger, "C-1", "E-1");
        record(&mut ledger, "C-1", "E-2");
        assert_eq!(ledger.revalue(), 2, "every new row");
        assert_eq!(ledger.revalue(), 0, "nothing changed since");
        record(&mut ledger, "C-1", "E-3");
        assert_eq!(ledger.revalue(), 1, "the one row added");
        record_as(&mut ledger, "C-1", "E-4", Stage::Amended, Some("E-1"));
        assert_eq!(ledger.revalue(), 1, "the row the amendment corrects");
        // A fixing in the rows' half-year: all three may have moved.
        ledger.apply(
            EventMeta::PENDING,
            &DomainEvent::FxFixingsPublished(FxFixingsPublished {
                source: ECB.to_owned(),
                date: Date::constant(2024, 3, 1),
                rates: BTreeMap::from([(Currency::parse("USD").expect("USD"), Decimal::ONE)]),
            }),
        );
        assert_eq!(ledger.revalue(), 3, "every row the fixing can reach");
        assert_eq!(ledger.revalue(), 0);
    }

    #[test]
    fn an_event_id_whose_hash_another_id_took_still_finds_its_contribution() {
        let mut ledger = Ledger::new();
        register(&mut ledger, "C-1");
        register(&mut ledger, "C-2");
        record(&mut ledger, "C-1", "E-1");
        // As if "E-2" hashed like "E-1": the hash already names C-1's slot.
        ledger.event_owner.insert(text_hash("E-2"), 0);
        record(&mut ledger, "C-2", "E-2");
        let (state, event) = ledger
            .stage_event(&EventId::parse("E-2").expect("id"))
            .expect("found");
        assert_eq!(state.info.contribution.as_str(), "C-2");
        assert_eq!(event.event.as_str(), "E-2");
        let (state, _) = ledger
            .stage_event(&EventId::parse("E-1").expect("id"))
            .expect("found");
        assert_eq!(state.info.contribution.as_str(), "C-1");
        assert!(
            ledger
                .stage_event(&EventId::parse("E-3").expect("id"))
                .is_none()
        );
    }
}
