//! The registry of every kind of record, and the ledger folded from their events.
//!
//! Each kind is a module implementing [`Aggregate`] (`party`, `contribution`, `framework`,
//! `dataset`, `fx`, `credential`); registering one here is a variant of [`DomainEvent`] for
//! each of its events (with the name and version it is stored under, [`DomainEvent::schema`]
//! and [`DomainEvent::read`]), a book in [`Ledger`] (and in its [`Records`]) and its line in
//! [`Draft`]. Outside this file and the kind's own module, only the application's snapshot
//! codec changes: the frame gains the new book, and the format's name its next number. `Ledger::apply` is infallible and is
//! the only way state changes, both when replaying the log and when adding freshly appended
//! events, so replay equals the incremental state by construction. `Draft` decides commands
//! against the ledger plus what the same batch has already decided, through each kind's
//! [`Aggregate::decide`], and yields the events to append — all of them or none.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::aggregate::{Aggregate, Book, Field, Reason, Rejection, evolve};
use crate::contribution::{
    ContributionRegistered, ContributionState, Lookup, RecordStage, StageRecorded, Staged,
    decide_stage,
};
use crate::credential::{
    Credential, CredentialCommand, CredentialEvent, TokenIssued, TokenRevoked,
};
use crate::dataset::{DatasetReleaseRecorded, DatasetState};
use crate::events::EventMeta;
use crate::framework::{
    AdoptedFramework, FrameworkAdopted, FrameworkCommand, FrameworkEvent, FrameworkRevised,
};
use crate::fx::{FxFixingsPublished, RateRecords, RateTable};
use crate::ids::{ContributionId, DatasetId, EventId, FrameworkId, PartyId, PartyKind, TokenId};
use crate::index::ReportIndex;
use crate::party::{
    Directory, MembershipRecorded, Party, PartyCommand, PartyEvent, PartyRegistered,
};

/// The whole projected state: a book of records per kind.
///
/// What it holds that is not derived from the rest is its [`Records`]; the slots, the
/// event-owner map, the report index and the first moment of each dataset are caches, which
/// [`Ledger::from_records`] rebuilds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    parties: Book<Party>,
    /// In registration order; a contribution's position is its slot in the report index.
    contributions: Vec<ContributionState>,
    /// The slot of each contribution, in id order.
    slots: BTreeMap<ContributionId, u32>,
    /// Which contribution (slot) each stage event id belongs to.
    event_owner: HashMap<EventId, u32>,
    /// What the fair-share scoreboard reads (see [`crate::index`]).
    pub(crate) index: ReportIndex,
    frameworks: Book<AdoptedFramework>,
    credentials: Book<Credential>,
    datasets: Book<DatasetState>,
    /// When each dataset's first contribution was recorded.
    datasets_since: BTreeMap<DatasetId, jiff::Timestamp>,
    rates: RateTable,
    events_applied: u64,
}

/// What a [`Ledger`] holds that is not derived from the rest, borrowed: its books, its rates,
/// its contributions in slot order (each its registration and its stage events; the rest of a
/// [`ContributionState`] is folded from them) and the count of events folded.
#[derive(Debug, Clone, Copy)]
pub struct Records<'a> {
    pub parties: &'a Book<Party>,
    pub frameworks: &'a Book<AdoptedFramework>,
    pub credentials: &'a Book<Credential>,
    pub datasets: &'a Book<DatasetState>,
    pub rates: &'a RateTable,
    /// In slot order; of each, only `info`, `registered_at` and the history's `meta` and
    /// `event` are records.
    pub contributions: &'a [ContributionState],
    pub events_applied: u64,
}

/// [`Records`], owned: what [`Ledger::from_records`] rebuilds a ledger from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerRecords {
    pub parties: Book<Party>,
    pub frameworks: Book<AdoptedFramework>,
    pub credentials: Book<Credential>,
    pub datasets: Book<DatasetState>,
    pub rates: RateRecords,
    /// In slot order, each folded from its record ([`ContributionState::from_record`], which
    /// needs no other record, so a snapshot reader folds them as it decodes them).
    pub contributions: Vec<ContributionState>,
    pub events_applied: u64,
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
                self.parties.apply(meta, PartyEvent::Registered(e));
            }
            DomainEvent::MembershipRecorded(e) => {
                self.parties.apply(meta, PartyEvent::MembershipRecorded(e));
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
                    self.event_owner.insert(e.event.clone(), slot);
                    let state = &mut self.contributions[slot as usize];
                    state.apply_owned(meta, e);
                    self.index.add_entry(slot, state);
                }
            }
            DomainEvent::FrameworkAdopted(e) => {
                self.frameworks.apply(meta, FrameworkEvent::Adopted(e));
            }
            DomainEvent::TokenIssued(e) => {
                self.credentials.apply(meta, CredentialEvent::Issued(e));
            }
            DomainEvent::TokenRevoked(e) => {
                self.credentials.apply(meta, CredentialEvent::Revoked(e));
            }
            DomainEvent::FrameworkRevised(e) => {
                self.frameworks.apply(meta, FrameworkEvent::Revised(e));
            }
            DomainEvent::DatasetReleaseRecorded(e) => self.datasets.apply(meta, e),
            DomainEvent::FxFixingsPublished(e) => {
                self.rates.apply(meta, &e);
                self.index
                    .rates_changed(e.date, meta.recorded_at, self.rates.events());
            }
        }
    }

    /// How many events the stream of `event` holds as this ledger has it (`None`: no such
    /// stream yet): what an append expects it to be at.
    pub fn version_of(&self, event: &DomainEvent) -> Option<u64> {
        match event {
            // A registration always opens its stream.
            DomainEvent::ContributionRegistered(_) => None,
            DomainEvent::StageRecorded(e) => {
                self.contribution(&e.contribution).map(Aggregate::version)
            }
            DomainEvent::PartyRegistered(e) => self.parties.get(&e.party).map(Aggregate::version),
            DomainEvent::MembershipRecorded(e) => {
                self.parties.get(&e.party).map(Aggregate::version)
            }
            DomainEvent::FrameworkAdopted(e) => {
                self.frameworks.get(&e.framework).map(Aggregate::version)
            }
            DomainEvent::TokenIssued(e) => self.credentials.get(&e.token).map(Aggregate::version),
            DomainEvent::TokenRevoked(e) => self.credentials.get(&e.token).map(Aggregate::version),
            DomainEvent::FrameworkRevised(e) => {
                self.frameworks.get(&e.framework).map(Aggregate::version)
            }
            DomainEvent::DatasetReleaseRecorded(e) => {
                self.datasets.get(&e.dataset).map(Aggregate::version)
            }
            // Every rate event is on the publisher's one stream.
            DomainEvent::FxFixingsPublished(_) => Some(self.rates.version()).filter(|v| *v > 0),
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
        self.frameworks.iter()
    }

    /// Every token issued, in id order.
    pub fn credentials(&self) -> impl Iterator<Item = &Credential> {
        self.credentials.iter()
    }

    /// The token issued under `id`, if one was.
    pub fn credential(&self, id: &TokenId) -> Option<&Credential> {
        self.credentials.get(id)
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
        self.datasets.iter()
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
        self.parties.iter()
    }

    /// A state is known by its ISO 3166-1 code; an organisation only once registered.
    pub fn knows_party(&self, id: &PartyId) -> bool {
        id.kind() == PartyKind::State || self.parties.get(id).is_some()
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

    /// What the ledger holds that is not derived, borrowed (see [`LedgerRecords`]).
    pub fn records(&self) -> Records<'_> {
        Records {
            parties: &self.parties,
            frameworks: &self.frameworks,
            credentials: &self.credentials,
            datasets: &self.datasets,
            rates: &self.rates,
            contributions: &self.contributions,
            events_applied: self.events_applied,
        }
    }

    /// The ledger's records, taken apart (see [`LedgerRecords`]).
    pub fn into_records(self) -> LedgerRecords {
        LedgerRecords {
            parties: self.parties,
            frameworks: self.frameworks,
            credentials: self.credentials,
            datasets: self.datasets,
            rates: self.rates.into_records(),
            contributions: self.contributions,
            events_applied: self.events_applied,
        }
    }

    /// The ledger of these records, its caches rebuilt: the contributions take their slots,
    /// the report index sees their stage events in log order (by position) as
    /// [`apply`](Self::apply) shows them to it, then the rate events, and is valued. The ledger
    /// [`revalue`](Self::revalue)d after its last fold whose records these are is rebuilt
    /// exactly. Refused when a contribution id is in two slots or the rates do not hold
    /// together.
    pub fn from_records(records: LedgerRecords) -> Result<Ledger, String> {
        let LedgerRecords {
            parties,
            frameworks,
            credentials,
            datasets,
            rates,
            contributions,
            events_applied,
        } = records;
        let mut ledger = Ledger {
            parties,
            frameworks,
            credentials,
            datasets,
            rates: RateTable::from_records(rates)?,
            contributions,
            events_applied,
            ..Ledger::default()
        };
        let mut order = Vec::new();
        for (slot, state) in ledger.contributions.iter_mut().enumerate() {
            let slot = u32::try_from(slot).map_err(|_| "too many contributions".to_owned())?;
            let id = &state.info.contribution;
            if ledger.slots.insert(id.clone(), slot).is_some() {
                return Err(format!("contribution {id} is in two slots"));
            }
            ledger
                .datasets_since
                .entry(state.info.dataset.clone())
                .or_insert(state.registered_at.recorded_at);
            for (at, entry) in state.history.iter_mut().enumerate() {
                entry.row = u32::MAX;
                order.push((entry.meta.position, slot, at as u32));
            }
            ledger.index.add_contribution(state);
        }
        // By position; a contribution's events keep their order.
        order.sort_unstable();
        for (_, slot, at) in order {
            let state = &mut ledger.contributions[slot as usize];
            ledger.index.add_entry_at(slot, state, at as usize);
        }
        for (i, p) in ledger.rates.publications().iter().enumerate() {
            ledger
                .index
                .rates_changed(p.date, p.recorded_at, i as u64 + 1);
        }
        // The event-owner map and the index's values read the contributions and write apart:
        // both at once (the values on two threads themselves), as an open has a snapshot's
        // whole rebuild waiting on them.
        let Ledger {
            contributions,
            slots,
            event_owner,
            index,
            rates,
            ..
        } = &mut ledger;
        std::thread::scope(|scope| {
            let owners = scope.spawn(|| {
                let mut owners =
                    HashMap::with_capacity(contributions.iter().map(|c| c.history.len()).sum());
                for (slot, state) in (0u32..).zip(contributions.iter()) {
                    for entry in &state.history {
                        owners.insert(entry.event.event.clone(), slot);
                    }
                }
                owners
            });
            index.rank(slots.values().copied());
            index.value_all(contributions, rates);
            *event_owner = owners
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        });
        Ok(ledger)
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
        self.event_owner.get(id).map(|slot| self.at_slot(*slot))
    }
}

/// Every event the domain knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    PartyRegistered(PartyRegistered),
    MembershipRecorded(MembershipRecorded),
    ContributionRegistered(ContributionRegistered),
    StageRecorded(StageRecorded),
    /// Boxed: a framework is large and rare, and every event in a batch would otherwise take
    /// its size.
    FrameworkAdopted(Box<FrameworkAdopted>),
    FxFixingsPublished(FxFixingsPublished),
    /// A dated change of a framework's counting rules.
    FrameworkRevised(FrameworkRevised),
    /// A dataset's release was recorded (its coverage, its citation).
    DatasetReleaseRecorded(DatasetReleaseRecorded),
    /// An API token was issued (its SHA-256, role and party; never the token).
    TokenIssued(TokenIssued),
    TokenRevoked(TokenRevoked),
}

impl DomainEvent {
    /// The stream the event belongs to: one per party, one per contribution.
    pub fn stream(&self) -> String {
        let (kind, id): (&str, &dyn std::fmt::Display) = match self {
            DomainEvent::PartyRegistered(e) => (Party::KIND, &e.party),
            DomainEvent::MembershipRecorded(e) => (Party::KIND, &e.party),
            DomainEvent::ContributionRegistered(e) => (ContributionState::KIND, &e.contribution),
            DomainEvent::StageRecorded(e) => (ContributionState::KIND, &e.contribution),
            DomainEvent::FrameworkAdopted(e) => (AdoptedFramework::KIND, &e.framework),
            DomainEvent::FxFixingsPublished(e) => (RateTable::KIND, &e.source),
            DomainEvent::FrameworkRevised(e) => (AdoptedFramework::KIND, &e.framework),
            DomainEvent::DatasetReleaseRecorded(e) => (DatasetState::KIND, &e.dataset),
            DomainEvent::TokenIssued(e) => (Credential::KIND, &e.token),
            DomainEvent::TokenRevoked(e) => (Credential::KIND, &e.token),
        };
        format!("{kind}:{id}")
    }

    /// The date from which the fact holds.
    pub fn effective_date(&self) -> Date {
        match self {
            DomainEvent::PartyRegistered(e) => e.registered_on,
            DomainEvent::MembershipRecorded(e) => e.joined,
            DomainEvent::ContributionRegistered(e) => e.opened_on,
            DomainEvent::StageRecorded(e) => e.effective_date,
            DomainEvent::FrameworkAdopted(e) => e.adopted_on,
            DomainEvent::FxFixingsPublished(e) => e.date,
            DomainEvent::FrameworkRevised(e) => e.revised_on,
            DomainEvent::DatasetReleaseRecorded(e) => e.recorded_on,
            DomainEvent::TokenIssued(e) => e.issued_on,
            DomainEvent::TokenRevoked(e) => e.revoked_on,
        }
    }

    /// The author's key that makes a retry harmless, where the event has one.
    pub fn idempotency_key(&self) -> Option<String> {
        match self {
            // Each kind of key has its own prefix, so no event id can take a registry key.
            DomainEvent::StageRecorded(e) => Some(format!("event:{}", e.event)),
            DomainEvent::MembershipRecorded(e) => Some(format!(
                "membership:{}:{}:{}",
                e.party, e.organisation, e.joined
            )),
            DomainEvent::PartyRegistered(e) => Some(format!("party:{}", e.party)),
            DomainEvent::FrameworkAdopted(e) => Some(format!("framework:{}", e.framework)),
            // A day's currencies may come in more than one event, each adding new ones.
            DomainEvent::FxFixingsPublished(e) => Some(format!(
                "fx:{}:{}:{}",
                e.source,
                e.date,
                e.rates
                    .keys()
                    .map(|c| c.code())
                    .collect::<Vec<_>>()
                    .join("-")
            )),
            DomainEvent::FrameworkRevised(e) => {
                Some(format!("framework:{}:revision:{}", e.framework, e.revision))
            }
            DomainEvent::DatasetReleaseRecorded(e) => {
                Some(format!("dataset:{}:release:{}", e.dataset, e.release))
            }
            DomainEvent::TokenIssued(e) => Some(format!("token:{}", e.token)),
            DomainEvent::TokenRevoked(e) => Some(format!("token:{}:revoked", e.token)),
            DomainEvent::ContributionRegistered(_) => None,
        }
    }

    /// The name the event is stored under and the version of its form this build writes. With
    /// the event's serde form (its payload) it is the log's schema; [`DomainEvent::read`] reads
    /// it back, older versions too.
    pub fn schema(&self) -> (&'static str, u32) {
        use event_types::*;
        match self {
            DomainEvent::PartyRegistered(_) => (PARTY_REGISTERED, 1),
            DomainEvent::MembershipRecorded(_) => (MEMBERSHIP_RECORDED, 1),
            // Version 2 adds the dataset.
            DomainEvent::ContributionRegistered(_) => (CONTRIBUTION_REGISTERED, 2),
            // Version 2 adds the source kind and the citation.
            DomainEvent::StageRecorded(_) => (STAGE_RECORDED, 2),
            DomainEvent::FrameworkAdopted(_) => (FRAMEWORK_ADOPTED, 1),
            DomainEvent::FxFixingsPublished(_) => (FX_FIXINGS_PUBLISHED, 1),
            DomainEvent::FrameworkRevised(_) => (FRAMEWORK_REVISED, 1),
            DomainEvent::DatasetReleaseRecorded(_) => (DATASET_RELEASE_RECORDED, 1),
            DomainEvent::TokenIssued(_) => (TOKEN_ISSUED, 1),
            DomainEvent::TokenRevoked(_) => (TOKEN_REVOKED, 1),
        }
    }

    /// The event stored under `event_type` at `version`, read from its payload; `None` when
    /// this build does not know that type or version (never a silent skip: the caller says so).
    pub fn read<'de, D: Deserializer<'de>>(
        event_type: &str,
        version: u32,
        payload: D,
    ) -> Option<Result<DomainEvent, D::Error>> {
        use DomainEvent as E;
        use event_types::*;
        Some(match (event_type, version) {
            (PARTY_REGISTERED, 1) => Deserialize::deserialize(payload).map(E::PartyRegistered),
            (MEMBERSHIP_RECORDED, 1) => {
                Deserialize::deserialize(payload).map(E::MembershipRecorded)
            }
            // Upcasting version 1: the fields version 2 added take their defaults (the `ledger`
            // dataset; no source kind, no citation), which serde fills in when they are absent.
            (CONTRIBUTION_REGISTERED, 1 | 2) => {
                Deserialize::deserialize(payload).map(E::ContributionRegistered)
            }
            (STAGE_RECORDED, 1 | 2) => Deserialize::deserialize(payload).map(E::StageRecorded),
            (FRAMEWORK_ADOPTED, 1) => Deserialize::deserialize(payload).map(E::FrameworkAdopted),
            (FX_FIXINGS_PUBLISHED, 1) => {
                Deserialize::deserialize(payload).map(E::FxFixingsPublished)
            }
            (FRAMEWORK_REVISED, 1) => Deserialize::deserialize(payload).map(E::FrameworkRevised),
            (DATASET_RELEASE_RECORDED, 1) => {
                Deserialize::deserialize(payload).map(E::DatasetReleaseRecorded)
            }
            (TOKEN_ISSUED, 1) => Deserialize::deserialize(payload).map(E::TokenIssued),
            (TOKEN_REVOKED, 1) => Deserialize::deserialize(payload).map(E::TokenRevoked),
            _ => return None,
        })
    }
}

/// The names events are stored under (see [`DomainEvent::schema`]).
pub mod event_types {
    pub const PARTY_REGISTERED: &str = "party.registered";
    pub const MEMBERSHIP_RECORDED: &str = "party.membership-recorded";
    pub const CONTRIBUTION_REGISTERED: &str = "contribution.registered";
    pub const STAGE_RECORDED: &str = "contribution.stage-recorded";
    pub const FRAMEWORK_ADOPTED: &str = "framework.adopted";
    pub const FX_FIXINGS_PUBLISHED: &str = "fx.fixings-published";
    pub const FRAMEWORK_REVISED: &str = "framework.revised";
    pub const DATASET_RELEASE_RECORDED: &str = "dataset.release-recorded";
    pub const TOKEN_ISSUED: &str = "credential.token-issued";
    pub const TOKEN_REVOKED: &str = "credential.token-revoked";
}

/// An event's payload: the event itself, without its name (stored beside it, see
/// [`DomainEvent::schema`]).
impl Serialize for DomainEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DomainEvent::PartyRegistered(e) => e.serialize(s),
            DomainEvent::MembershipRecorded(e) => e.serialize(s),
            DomainEvent::ContributionRegistered(e) => e.serialize(s),
            DomainEvent::StageRecorded(e) => e.serialize(s),
            DomainEvent::FrameworkAdopted(e) => e.serialize(s),
            DomainEvent::FxFixingsPublished(e) => e.serialize(s),
            DomainEvent::FrameworkRevised(e) => e.serialize(s),
            DomainEvent::DatasetReleaseRecorded(e) => e.serialize(s),
            DomainEvent::TokenIssued(e) => e.serialize(s),
            DomainEvent::TokenRevoked(e) => e.serialize(s),
        }
    }
}

impl From<PartyEvent> for DomainEvent {
    fn from(event: PartyEvent) -> Self {
        match event {
            PartyEvent::Registered(e) => DomainEvent::PartyRegistered(e),
            PartyEvent::MembershipRecorded(e) => DomainEvent::MembershipRecorded(e),
        }
    }
}

impl From<CredentialEvent> for DomainEvent {
    fn from(event: CredentialEvent) -> Self {
        match event {
            CredentialEvent::Issued(e) => DomainEvent::TokenIssued(e),
            CredentialEvent::Revoked(e) => DomainEvent::TokenRevoked(e),
        }
    }
}

impl From<FrameworkEvent> for DomainEvent {
    fn from(event: FrameworkEvent) -> Self {
        match event {
            FrameworkEvent::Adopted(e) => DomainEvent::FrameworkAdopted(e),
            FrameworkEvent::Revised(e) => DomainEvent::FrameworkRevised(e),
        }
    }
}

impl From<DatasetReleaseRecorded> for DomainEvent {
    fn from(event: DatasetReleaseRecorded) -> Self {
        DomainEvent::DatasetReleaseRecorded(event)
    }
}

impl From<FxFixingsPublished> for DomainEvent {
    fn from(event: FxFixingsPublished) -> Self {
        DomainEvent::FxFixingsPublished(event)
    }
}

impl From<crate::contribution::ContributionEvent> for DomainEvent {
    fn from(event: crate::contribution::ContributionEvent) -> Self {
        match event {
            crate::contribution::ContributionEvent::Registered(e) => {
                DomainEvent::ContributionRegistered(e)
            }
            crate::contribution::ContributionEvent::StageRecorded(e) => {
                DomainEvent::StageRecorded(e)
            }
        }
    }
}

/// What deciding a stage command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// New events to append (a registration first when the contribution is new).
    Record(Vec<DomainEvent>),
    /// The same event is already in the ledger with the same content: nothing to do.
    AlreadyRecorded,
}

/// A kind of record the [`Draft`] decides generically: where its records are in the ledger and
/// in the draft, what its decisions read, and how its events are listed.
trait Registered: Aggregate
where
    DomainEvent: From<Self::Event>,
{
    fn recorded<'l>(ledger: &'l Ledger, id: &Self::Id) -> Option<&'l Self>;
    fn drafted<'d>(draft: &'d mut Draft<'_>) -> &'d mut HashMap<Self::Id, Self>;
    fn drafted_ref<'d>(draft: &'d Draft<'_>) -> &'d HashMap<Self::Id, Self>;
    fn context<'d>(draft: &'d Draft<'_>) -> &'d Self::Context<'d>;
}

impl Registered for Party {
    fn recorded<'l>(ledger: &'l Ledger, id: &PartyId) -> Option<&'l Self> {
        ledger.parties.get(id)
    }
    fn drafted<'d>(draft: &'d mut Draft<'_>) -> &'d mut HashMap<PartyId, Self> {
        &mut draft.parties
    }
    fn drafted_ref<'d>(draft: &'d Draft<'_>) -> &'d HashMap<PartyId, Self> {
        &draft.parties
    }
    fn context<'d>(draft: &'d Draft<'_>) -> &'d (dyn Directory + 'd) {
        draft
    }
}

impl Registered for Credential {
    fn recorded<'l>(ledger: &'l Ledger, id: &TokenId) -> Option<&'l Self> {
        ledger.credentials.get(id)
    }
    fn drafted<'d>(draft: &'d mut Draft<'_>) -> &'d mut HashMap<TokenId, Self> {
        &mut draft.credentials
    }
    fn drafted_ref<'d>(draft: &'d Draft<'_>) -> &'d HashMap<TokenId, Self> {
        &draft.credentials
    }
    fn context<'d>(draft: &'d Draft<'_>) -> &'d (dyn Directory + 'd) {
        draft
    }
}

impl Registered for AdoptedFramework {
    fn recorded<'l>(ledger: &'l Ledger, id: &FrameworkId) -> Option<&'l Self> {
        ledger.frameworks.get(id)
    }
    fn drafted<'d>(draft: &'d mut Draft<'_>) -> &'d mut HashMap<FrameworkId, Self> {
        &mut draft.frameworks
    }
    fn drafted_ref<'d>(draft: &'d Draft<'_>) -> &'d HashMap<FrameworkId, Self> {
        &draft.frameworks
    }
    fn context<'d>(draft: &'d Draft<'_>) -> &'d (dyn Directory + 'd) {
        draft
    }
}

impl Registered for DatasetState {
    fn recorded<'l>(ledger: &'l Ledger, id: &DatasetId) -> Option<&'l Self> {
        ledger.datasets.get(id)
    }
    fn drafted<'d>(draft: &'d mut Draft<'_>) -> &'d mut HashMap<DatasetId, Self> {
        &mut draft.datasets
    }
    fn drafted_ref<'d>(draft: &'d Draft<'_>) -> &'d HashMap<DatasetId, Self> {
        &draft.datasets
    }
    fn context<'d>(_: &'d Draft<'_>) -> &'d () {
        &()
    }
}

impl Registered for RateTable {
    fn recorded<'l>(ledger: &'l Ledger, _: &String) -> Option<&'l Self> {
        Some(&ledger.rates)
    }
    fn drafted<'d>(draft: &'d mut Draft<'_>) -> &'d mut HashMap<String, Self> {
        &mut draft.rates
    }
    fn drafted_ref<'d>(draft: &'d Draft<'_>) -> &'d HashMap<String, Self> {
        &draft.rates
    }
    fn context<'d>(_: &'d Draft<'_>) -> &'d () {
        &()
    }
}

/// Decides commands against a ledger plus the events already decided in the same batch.
///
/// Each record a batch touches is copied into the draft and evolved with the events decided
/// for it, so a later command of the same batch is decided against it as it will stand.
#[derive(Debug)]
pub struct Draft<'a> {
    base: &'a Ledger,
    parties: HashMap<PartyId, Party>,
    frameworks: HashMap<FrameworkId, AdoptedFramework>,
    credentials: HashMap<TokenId, Credential>,
    datasets: HashMap<DatasetId, DatasetState>,
    /// The reference rates by publisher.
    rates: HashMap<String, RateTable>,
    /// Contributions this batch records events for (each without the texts of its events:
    /// those travel once, in the decided event).
    touched: HashMap<ContributionId, ContributionState>,
    /// Contributions this batch is done with (see [`Draft::settle`]).
    settled: HashSet<ContributionId>,
    new_event_owner: HashMap<EventId, ContributionId>,
    events: Vec<DomainEvent>,
}

impl Directory for Draft<'_> {
    fn party(&self, id: &PartyId) -> Option<&Party> {
        self.parties.get(id).or_else(|| self.base.party(id))
    }
}

impl Lookup for Draft<'_> {
    fn owner_of(&self, id: &EventId) -> Option<&ContributionId> {
        self.new_event_owner
            .get(id)
            .or_else(|| self.base.owner(id).map(|s| &s.info.contribution))
    }

    fn contribution(&self, id: &ContributionId) -> Option<&ContributionState> {
        Draft::contribution(self, id)
    }
}

impl<'a> Draft<'a> {
    pub fn new(base: &'a Ledger) -> Self {
        Draft {
            base,
            parties: HashMap::new(),
            frameworks: HashMap::new(),
            credentials: HashMap::new(),
            datasets: HashMap::new(),
            rates: HashMap::new(),
            touched: HashMap::new(),
            settled: HashSet::new(),
            new_event_owner: HashMap::new(),
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

    /// Decides a command of a registered kind against its record as this batch has it; the
    /// events decided are folded into the draft's copy of the record. Whether anything is new.
    fn decide<A: Registered>(&mut self, command: &A::Command) -> Result<bool, Rejection>
    where
        DomainEvent: From<A::Event>,
    {
        let id = A::target(command);
        let drafted = A::drafted_ref(self).get(&id);
        let record = drafted.or_else(|| A::recorded(self.base, &id));
        let events = A::decide(record, command, A::context(self))?;
        if events.is_empty() {
            return Ok(false);
        }
        // The draft's copy is made once per batch, at the record's first decided event.
        if let Some(drafted) = A::drafted(self).get_mut(&id) {
            for event in &events {
                drafted.apply(EventMeta::PENDING, event.clone());
            }
        } else {
            let mut record = A::recorded(self.base, &id).cloned();
            for event in &events {
                record = evolve(record, EventMeta::PENDING, event.clone());
            }
            if let Some(record) = record {
                A::drafted(self).insert(id, record);
            }
        }
        self.events
            .extend(events.into_iter().map(DomainEvent::from));
        Ok(true)
    }

    /// Registers a party; re-registering the same name and kind is a no-op.
    pub fn register_party(&mut self, cmd: PartyRegistered) -> Result<bool, Rejection> {
        self.decide::<Party>(&PartyCommand::Register(cmd))
    }

    /// Records a membership of a registered party in a registered organisation; the same
    /// membership twice is a no-op.
    pub fn record_membership(&mut self, cmd: MembershipRecorded) -> Result<bool, Rejection> {
        self.decide::<Party>(&PartyCommand::RecordMembership(cmd))
    }

    /// Adopts a framework; adopting the very same rules again is a no-op.
    pub fn adopt_framework(&mut self, cmd: FrameworkAdopted) -> Result<bool, Rejection> {
        self.decide::<AdoptedFramework>(&FrameworkCommand::Adopt(Box::new(cmd)))
    }

    /// Revises an adopted framework's counting rules; the same revision again is a no-op.
    pub fn revise_framework(&mut self, cmd: FrameworkRevised) -> Result<bool, Rejection> {
        self.decide::<AdoptedFramework>(&FrameworkCommand::Revise(cmd))
    }

    /// Issues a token; the same issue again is a no-op.
    pub fn issue_token(&mut self, cmd: TokenIssued) -> Result<bool, Rejection> {
        self.decide::<Credential>(&CredentialCommand::Issue(cmd))
    }

    /// Revokes a token; revoking it again is a no-op.
    pub fn revoke_token(&mut self, cmd: TokenRevoked) -> Result<bool, Rejection> {
        self.decide::<Credential>(&CredentialCommand::Revoke(cmd))
    }

    /// Records a dataset's release; the same release again is a no-op, a different one under
    /// the same label is refused.
    pub fn record_dataset_release(
        &mut self,
        cmd: DatasetReleaseRecorded,
    ) -> Result<bool, Rejection> {
        self.decide::<DatasetState>(&cmd)
    }

    /// Records the reference rates of one publication day (see [`RateTable`]'s decision).
    /// Returns whether anything is new.
    pub fn record_fixings(&mut self, cmd: FxFixingsPublished) -> Result<bool, Rejection> {
        self.decide::<RateTable>(&cmd)
    }

    /// A contribution as it stands with this draft's events applied.
    pub fn contribution(&self, id: &ContributionId) -> Option<&ContributionState> {
        self.touched.get(id).or_else(|| self.base.contribution(id))
    }

    /// Decides one stage command: every rule it breaks is returned, or the events it produces
    /// are added to the draft.
    pub fn record_stage(&mut self, cmd: &RecordStage) -> Result<Decision, Rejection> {
        Ok(match self.stage(cmd)? {
            Staged::AlreadyRecorded => Decision::AlreadyRecorded,
            Staged::Record { opens } => {
                let produced: Vec<DomainEvent> = cmd
                    .events(opens)
                    .into_iter()
                    .map(DomainEvent::from)
                    .collect();
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
    pub fn stage(&mut self, cmd: &RecordStage) -> Result<Staged, Rejection> {
        if self.new_event_owner.contains_key(&cmd.event) {
            return Err(Rejection::one(Reason::at(
                Field::EventId,
                format!("event id {} appears twice", cmd.event),
            )));
        }
        if self.settled.contains(&cmd.contribution) && self.owner_of(&cmd.event).is_none() {
            return Err(Rejection::one(Reason::at(
                Field::ContributionId,
                format!(
                    "contribution {} was settled earlier in this batch: its events are decided together",
                    cmd.contribution
                ),
            )));
        }
        let staged = decide_stage(self.contribution(&cmd.contribution), cmd, self)?;
        let Staged::Record { opens } = staged else {
            return Ok(staged);
        };
        let mut state = match self.touched.remove(&cmd.contribution) {
            Some(s) => s,
            None => match self.base.contribution(&cmd.contribution) {
                Some(s) => s.clone(),
                None => ContributionState::new(cmd.registration(), EventMeta::PENDING),
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
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::fx::ECB;
    use crate::money::Currency;
    use crate::vocabulary::{Category, Channel, Stage, Visibility};

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
}
