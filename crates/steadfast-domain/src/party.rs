//! Parties: the states and organisations of the registry, with their dated memberships. One
//! record (stream `party:<id>`) per party: its registration, then its memberships.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, Field, Reason, Rejection};
use crate::events::EventMeta;
use crate::ids::{PartyId, PartyKind};

/// A party entered the registry (states are also known from ISO 3166-1 without registering).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyRegistered {
    pub party: PartyId,
    pub name: String,
    pub kind: PartyKind,
    /// The date from which the registry entry holds.
    pub registered_on: Date,
}

/// A dated membership of a party in an organisation (Finland in NATO from 2023-04-04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipRecorded {
    pub party: PartyId,
    pub organisation: PartyId,
    pub joined: Date,
    pub left: Option<Date>,
}

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

/// What a party's record is asked: to register it, or to record one of its memberships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartyCommand {
    Register(PartyRegistered),
    RecordMembership(MembershipRecorded),
}

/// The facts of a party's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartyEvent {
    Registered(PartyRegistered),
    MembershipRecorded(MembershipRecorded),
}

/// The registry as a decision reads it: the parties registered before or earlier in the batch.
pub trait Directory {
    fn party(&self, id: &PartyId) -> Option<&Party>;

    /// A state is known by its ISO 3166-1 code; an organisation only once registered.
    fn knows_party(&self, id: &PartyId) -> bool {
        id.kind() == PartyKind::State || self.party(id).is_some()
    }
}

impl Aggregate for Party {
    const KIND: &'static str = "party";
    type Id = PartyId;
    type Command = PartyCommand;
    type Event = PartyEvent;
    type Context<'c> = dyn Directory + 'c;

    fn target(command: &PartyCommand) -> PartyId {
        match command {
            PartyCommand::Register(c) => c.party.clone(),
            PartyCommand::RecordMembership(c) => c.party.clone(),
        }
    }

    fn id_of(event: &PartyEvent) -> PartyId {
        match event {
            PartyEvent::Registered(e) => e.party.clone(),
            PartyEvent::MembershipRecorded(e) => e.party.clone(),
        }
    }

    fn decide(
        record: Option<&Party>,
        command: &PartyCommand,
        registry: &dyn Directory,
    ) -> Result<Vec<PartyEvent>, Rejection> {
        match command {
            PartyCommand::Register(cmd) => register(record, cmd),
            PartyCommand::RecordMembership(cmd) => record_membership(record, cmd, registry),
        }
    }

    fn open(_: EventMeta, event: &PartyEvent) -> Option<Party> {
        match event {
            PartyEvent::Registered(e) => Some(Party {
                id: e.party.clone(),
                name: e.name.clone(),
                kind: e.kind,
                memberships: Vec::new(),
            }),
            PartyEvent::MembershipRecorded(_) => None,
        }
    }

    fn apply(&mut self, _: EventMeta, event: PartyEvent) {
        match event {
            PartyEvent::Registered(e) => {
                self.name = e.name;
                self.kind = e.kind;
            }
            PartyEvent::MembershipRecorded(e) => self.memberships.push(e),
        }
    }

    fn version(&self) -> u64 {
        self.memberships.len() as u64 + 1
    }
}

/// Registers a party; re-registering the same name and kind is a no-op.
fn register(record: Option<&Party>, cmd: &PartyRegistered) -> Result<Vec<PartyEvent>, Rejection> {
    if cmd.party.kind() != cmd.kind {
        return Err(Rejection::one(Reason::at(
            Field::Donor,
            format!(
                "{} is registered as {:?} but its code says {:?}",
                cmd.party,
                cmd.kind,
                cmd.party.kind()
            ),
        )));
    }
    if let Some(existing) = record {
        if existing.name == cmd.name {
            return Ok(Vec::new());
        }
        return Err(Rejection::one(Reason::at(
            Field::Donor,
            format!(
                "{} is already registered as `{}`, not `{}`",
                cmd.party, existing.name, cmd.name
            ),
        )));
    }
    Ok(vec![PartyEvent::Registered(cmd.clone())])
}

/// Records a membership of a registered party in a registered organisation; the same
/// membership twice is a no-op.
fn record_membership(
    record: Option<&Party>,
    cmd: &MembershipRecorded,
    registry: &dyn Directory,
) -> Result<Vec<PartyEvent>, Rejection> {
    let organisation_known = registry
        .party(&cmd.organisation)
        .is_some_and(|p| p.kind == PartyKind::Organisation);
    if !organisation_known {
        return Err(Rejection::one(Reason::at(
            Field::Recipient,
            format!("organisation {} is not registered", cmd.organisation),
        )));
    }
    if cmd.left.is_some_and(|l| l <= cmd.joined) {
        return Err(Rejection::one(Reason::at(
            Field::EffectiveDate,
            format!(
                "membership of {} in {} ends before it starts",
                cmd.party, cmd.organisation
            ),
        )));
    }
    let Some(party) = record else {
        return Err(Rejection::one(Reason::at(
            Field::Donor,
            format!("party {} is not registered", cmd.party),
        )));
    };
    if let Some(existing) = party
        .memberships
        .iter()
        .find(|m| m.organisation == cmd.organisation && m.joined == cmd.joined)
    {
        if *existing == *cmd {
            return Ok(Vec::new());
        }
        return Err(Rejection::one(Reason::at(
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
        )));
    }
    Ok(vec![PartyEvent::MembershipRecorded(cmd.clone())])
}
