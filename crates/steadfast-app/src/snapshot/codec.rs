//! How a snapshot encodes the ledger's records (MessagePack, fields by position): the
//! snapshot's own structs, each mirroring a domain record with a plain conversion both ways,
//! and the compact forms of the values it holds millions of.
//!
//! The domain's types have one serde form, the log's JSON. A snapshot holds about six million
//! dates, moments and amounts for a million events, and a text form costs a parse of each on
//! every open, so here a date is an `i32` (`year << 9 | month << 5 | day`), a moment its
//! microseconds, an amount its 16 bytes and a vocabulary word its position in `ALL` (so
//! reordering a vocabulary changes the snapshot format). The small books (parties, frameworks,
//! datasets) are written in their own serde form.
//!
//! Only records are written: a contribution is its registration and its stage events, and
//! everything folded from them (totals, the report index, the event-owner map) is rebuilt by
//! [`Ledger::from_records`]. Each conversion from a domain struct takes it apart field by
//! field, so a field added to one does not compile until its mirror has it too.

use std::borrow::Cow;
use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use steadfast_domain::{
    AdoptedFramework, Book, Category, Channel, Condition, ContributionId, ContributionRecord,
    ContributionRegistered, ContributionState, Credential, Currency, DatasetId, DatasetState,
    EventId, EventMeta, Fixing, HistoryEntry, Money, Party, PartyId, Publication, Quantity,
    RateRecords, RateTable, Records, SourceKind, Stage, StageRecorded, ValuationBasis, Visibility,
};

/// A date in binary form: `year << 9 | month << 5 | day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Day(pub(super) Date);

impl Day {
    fn pack(d: Date) -> i32 {
        (i32::from(d.year()) << 9) | (i32::from(d.month()) << 5) | i32::from(d.day())
    }

    fn unpack(n: i32) -> Option<Date> {
        let year = i16::try_from(n >> 9).ok()?;
        let month = i8::try_from((n >> 5) & 0xF).ok()?;
        let day = i8::try_from(n & 0x1F).ok()?;
        Date::new(year, month, day).ok()
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(Day::pack(self.0))
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i32::deserialize(d)?;
        Day::unpack(n)
            .map(Day)
            .ok_or_else(|| D::Error::custom(format!("{n} is not a packed date")))
    }
}

/// A moment as microseconds since the Unix epoch (what the log records); a finer one is
/// refused rather than rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Micros(pub(super) Timestamp);

impl Serialize for Micros {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.subsec_nanosecond() % 1000 != 0 {
            return Err(S::Error::custom(format!(
                "{} is finer than a microsecond",
                self.0
            )));
        }
        s.serialize_i64(self.0.as_microsecond())
    }
}

impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let us = i64::deserialize(d)?;
        Timestamp::from_microsecond(us)
            .map(Micros)
            .map_err(D::Error::custom)
    }
}

/// A decimal as its 16-byte representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Dec(pub(super) Decimal);

impl Serialize for Dec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0.serialize())
    }
}

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Bytes;
        impl serde::de::Visitor<'_> for Bytes {
            type Value = [u8; 16];
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("16 bytes of a decimal")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                v.try_into().map_err(|_| E::invalid_length(v.len(), &self))
            }
        }
        let bytes = d.deserialize_bytes(Bytes)?;
        // The flags' unused bits must be clear, and the scale at most 28.
        let flags = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if flags & 0x7F00_FFFF != 0 || (flags >> 16) & 0xFF > 28 {
            return Err(D::Error::custom("not the bytes of a decimal"));
        }
        Ok(Dec(Decimal::deserialize(bytes)))
    }
}

/// A vocabulary whose words a snapshot stores as their position.
pub(super) trait Vocabulary: Copy + PartialEq + 'static {
    const ALL: &'static [Self];
    const WHAT: &'static str;
}

macro_rules! vocabularies {
    ($($name:ident: $what:literal),+ $(,)?) => {
        $(impl Vocabulary for $name {
            const ALL: &'static [Self] = $name::ALL;
            const WHAT: &'static str = $what;
        })+
    };
}

vocabularies!(
    Category: "category",
    Channel: "channel",
    Condition: "condition",
    SourceKind: "source kind",
    Stage: "stage",
    ValuationBasis: "valuation basis",
    Visibility: "visibility",
);

/// A vocabulary word as its position in `ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pos<T>(pub(super) T);

impl<T: Vocabulary> Serialize for Pos<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let at = T::ALL.iter().position(|v| *v == self.0).unwrap_or(0);
        s.serialize_u8(u8::try_from(at).map_err(S::Error::custom)?)
    }
}

impl<'de, T: Vocabulary> Deserialize<'de> for Pos<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u8::deserialize(d)?;
        T::ALL
            .get(usize::from(n))
            .map(|v| Pos(*v))
            .ok_or_else(|| D::Error::custom(format!("{n} is not the position of a {}", T::WHAT)))
    }
}

/// An [`EventMeta`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct MetaDto(u64, Micros);

impl From<EventMeta> for MetaDto {
    fn from(meta: EventMeta) -> Self {
        let EventMeta {
            position,
            recorded_at,
        } = meta;
        MetaDto(position, Micros(recorded_at))
    }
}

impl From<MetaDto> for EventMeta {
    fn from(MetaDto(position, Micros(recorded_at)): MetaDto) -> Self {
        EventMeta {
            position,
            recorded_at,
        }
    }
}

/// A [`Money`]: its amount and currency, checked by [`Money::new`] on the way in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct MoneyDto(Dec, Currency);

impl From<&Money> for MoneyDto {
    fn from(m: &Money) -> Self {
        MoneyDto(Dec(m.amount()), m.currency())
    }
}

impl TryFrom<MoneyDto> for Money {
    type Error = String;
    fn try_from(MoneyDto(Dec(amount), currency): MoneyDto) -> Result<Self, String> {
        Money::new(amount, currency).map_err(|e| e.to_string())
    }
}

/// A [`Quantity`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct QuantityDto<'a>(Dec, Cow<'a, str>);

impl<'a> From<&'a Quantity> for QuantityDto<'a> {
    fn from(q: &'a Quantity) -> Self {
        let Quantity { value, unit } = q;
        QuantityDto(Dec(*value), Cow::Borrowed(unit))
    }
}

impl From<QuantityDto<'_>> for Quantity {
    fn from(QuantityDto(Dec(value), unit): QuantityDto<'_>) -> Self {
        Quantity {
            value,
            unit: unit.into_owned(),
        }
    }
}

/// A [`ContributionRegistered`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RegisteredDto<'a> {
    contribution: Cow<'a, ContributionId>,
    donor: Cow<'a, PartyId>,
    recipient: Cow<'a, PartyId>,
    category: Pos<Category>,
    channel: Pos<Channel>,
    visibility: Pos<Visibility>,
    description: Cow<'a, str>,
    opened_on: Day,
    dataset: Cow<'a, DatasetId>,
}

impl<'a> From<&'a ContributionRegistered> for RegisteredDto<'a> {
    fn from(e: &'a ContributionRegistered) -> Self {
        let ContributionRegistered {
            contribution,
            donor,
            recipient,
            category,
            channel,
            visibility,
            description,
            opened_on,
            dataset,
        } = e;
        RegisteredDto {
            contribution: Cow::Borrowed(contribution),
            donor: Cow::Borrowed(donor),
            recipient: Cow::Borrowed(recipient),
            category: Pos(*category),
            channel: Pos(*channel),
            visibility: Pos(*visibility),
            description: Cow::Borrowed(description),
            opened_on: Day(*opened_on),
            dataset: Cow::Borrowed(dataset),
        }
    }
}

impl From<RegisteredDto<'_>> for ContributionRegistered {
    fn from(e: RegisteredDto<'_>) -> Self {
        ContributionRegistered {
            contribution: e.contribution.into_owned(),
            donor: e.donor.into_owned(),
            recipient: e.recipient.into_owned(),
            category: e.category.0,
            channel: e.channel.0,
            visibility: e.visibility.0,
            description: e.description.into_owned(),
            opened_on: e.opened_on.0,
            dataset: e.dataset.into_owned(),
        }
    }
}

/// A [`StageRecorded`] without its contribution id (its record's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StageDto<'a> {
    event: Cow<'a, EventId>,
    stage: Pos<Stage>,
    effective_date: Day,
    money: Option<MoneyDto>,
    quantity: Option<QuantityDto<'a>>,
    valuation_basis: Option<Pos<ValuationBasis>>,
    amends: Option<Cow<'a, EventId>>,
    reason: Option<Cow<'a, str>>,
    condition: Option<Pos<Condition>>,
    source_url: Option<Cow<'a, str>>,
    description: Option<Cow<'a, str>>,
    source_kind: Option<Pos<SourceKind>>,
    citation: Option<Cow<'a, str>>,
}

impl<'a> From<&'a StageRecorded> for StageDto<'a> {
    fn from(e: &'a StageRecorded) -> Self {
        let StageRecorded {
            event,
            contribution: _,
            stage,
            effective_date,
            money,
            quantity,
            valuation_basis,
            amends,
            reason,
            condition,
            source_url,
            description,
            source_kind,
            citation,
        } = e;
        StageDto {
            event: Cow::Borrowed(event),
            stage: Pos(*stage),
            effective_date: Day(*effective_date),
            money: money.as_ref().map(MoneyDto::from),
            quantity: quantity.as_ref().map(QuantityDto::from),
            valuation_basis: valuation_basis.map(Pos),
            amends: amends.as_ref().map(Cow::Borrowed),
            reason: reason.as_deref().map(Cow::Borrowed),
            condition: condition.map(Pos),
            source_url: source_url.as_deref().map(Cow::Borrowed),
            description: description.as_deref().map(Cow::Borrowed),
            source_kind: source_kind.map(Pos),
            citation: citation.as_deref().map(Cow::Borrowed),
        }
    }
}

impl StageDto<'_> {
    fn into_event(self, contribution: &ContributionId) -> Result<StageRecorded, String> {
        let owned = |s: Option<Cow<'_, str>>| s.map(Cow::into_owned);
        Ok(StageRecorded {
            event: self.event.into_owned(),
            contribution: contribution.clone(),
            stage: self.stage.0,
            effective_date: self.effective_date.0,
            money: self.money.map(Money::try_from).transpose()?,
            quantity: self.quantity.map(Quantity::from),
            valuation_basis: self.valuation_basis.map(|p| p.0),
            amends: self.amends.map(Cow::into_owned),
            reason: owned(self.reason),
            condition: self.condition.map(|p| p.0),
            source_url: owned(self.source_url),
            description: owned(self.description),
            source_kind: self.source_kind.map(|p| p.0),
            citation: owned(self.citation),
        })
    }
}

/// A contribution's record, borrowed from its state: its registration and its stage events.
pub(super) struct ContributionOut<'a>(pub(super) &'a ContributionState);

impl Serialize for ContributionOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// The history's events with their metas, written as they are walked.
        struct Events<'a>(&'a [HistoryEntry]);
        impl Serialize for Events<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(
                    self.0
                        .iter()
                        .map(|h| (MetaDto::from(h.meta), StageDto::from(&h.event))),
                )
            }
        }
        let c = self.0;
        (
            RegisteredDto::from(&c.info),
            MetaDto::from(c.registered_at),
            Events(&c.history),
        )
            .serialize(s)
    }
}

/// A contribution's record as read back.
#[derive(Debug, Deserialize)]
pub(super) struct ContributionIn(
    RegisteredDto<'static>,
    MetaDto,
    Vec<(MetaDto, StageDto<'static>)>,
);

impl TryFrom<ContributionIn> for ContributionRecord {
    type Error = String;
    fn try_from(
        ContributionIn(info, registered_at, events): ContributionIn,
    ) -> Result<Self, String> {
        let info = ContributionRegistered::from(info);
        let events = events
            .into_iter()
            .map(|(meta, e)| Ok((EventMeta::from(meta), e.into_event(&info.contribution)?)))
            .collect::<Result<_, String>>()?;
        Ok(ContributionRecord {
            info,
            registered_at: registered_at.into(),
            events,
        })
    }
}

/// A rate [`Fixing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FixingDto(Day, Dec, Micros);

impl From<&Fixing> for FixingDto {
    fn from(f: &Fixing) -> Self {
        let Fixing {
            date,
            rate,
            recorded_at,
        } = f;
        FixingDto(Day(*date), Dec(*rate), Micros(*recorded_at))
    }
}

impl From<FixingDto> for Fixing {
    fn from(FixingDto(Day(date), Dec(rate), Micros(recorded_at)): FixingDto) -> Self {
        Fixing {
            date,
            rate,
            recorded_at,
        }
    }
}

/// A rate event's [`Publication`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct PublicationDto(Day, Micros);

impl From<&Publication> for PublicationDto {
    fn from(p: &Publication) -> Self {
        let Publication { date, recorded_at } = p;
        PublicationDto(Day(*date), Micros(*recorded_at))
    }
}

/// A [`RateTable`]'s records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RatesDto {
    fixings: Vec<(Currency, Vec<FixingDto>)>,
    publications: Vec<PublicationDto>,
}

impl From<&RateTable> for RatesDto {
    fn from(rates: &RateTable) -> Self {
        RatesDto {
            fixings: rates
                .fixings()
                .into_iter()
                .map(|(c, series)| (c, series.iter().map(FixingDto::from).collect()))
                .collect(),
            publications: rates
                .publications()
                .iter()
                .map(PublicationDto::from)
                .collect(),
        }
    }
}

impl From<RatesDto> for RateRecords {
    fn from(rates: RatesDto) -> Self {
        RateRecords {
            fixings: rates
                .fixings
                .into_iter()
                .map(|(c, series)| (c, series.into_iter().map(Fixing::from).collect()))
                .collect(),
            publications: rates
                .publications
                .into_iter()
                .map(
                    |PublicationDto(Day(date), Micros(recorded_at))| Publication {
                        date,
                        recorded_at,
                    },
                )
                .collect(),
        }
    }
}

/// The first part of a snapshot to encode, borrowed: the ledger's records but its
/// contributions, the verifier's stream versions, the heads, and how many contributions follow.
#[derive(Debug, Serialize)]
pub(super) struct FrameOut<'a> {
    pub(super) parties: &'a Book<Party>,
    pub(super) frameworks: &'a Book<AdoptedFramework>,
    pub(super) credentials: &'a Book<Credential>,
    pub(super) datasets: &'a Book<DatasetState>,
    pub(super) rates: RatesDto,
    pub(super) events_applied: u64,
    pub(super) versions: &'a HashMap<String, u64>,
    /// `(position, hash, recorded_at in microseconds)` of each recording moment's last event.
    pub(super) known_heads: &'a [(u64, [u8; 32], i64)],
    pub(super) contributions: u64,
}

impl<'a> FrameOut<'a> {
    pub(super) fn new(
        records: Records<'a>,
        versions: &'a HashMap<String, u64>,
        known_heads: &'a [(u64, [u8; 32], i64)],
    ) -> Self {
        let Records {
            parties,
            frameworks,
            credentials,
            datasets,
            rates,
            contributions,
            events_applied,
        } = records;
        FrameOut {
            parties,
            frameworks,
            credentials,
            datasets,
            rates: RatesDto::from(rates),
            events_applied,
            versions,
            known_heads,
            contributions: contributions.len() as u64,
        }
    }
}

/// [`FrameOut`] as read back.
#[derive(Debug, Deserialize)]
pub(super) struct Frame {
    pub(super) parties: Book<Party>,
    pub(super) frameworks: Book<AdoptedFramework>,
    pub(super) credentials: Book<Credential>,
    pub(super) datasets: Book<DatasetState>,
    pub(super) rates: RatesDto,
    pub(super) events_applied: u64,
    pub(super) versions: HashMap<String, u64>,
    pub(super) known_heads: Vec<(u64, [u8; 32], i64)>,
    pub(super) contributions: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Date {
        s.parse().expect("date")
    }

    fn meta(position: u64) -> EventMeta {
        EventMeta {
            position,
            recorded_at: Timestamp::from_microsecond(1_733_000_000_123_456).expect("moment"),
        }
    }

    fn round_trip<T: Serialize, U: serde::de::DeserializeOwned>(value: &T) -> U {
        let bytes = rmp_serde::to_vec(value).expect("encode");
        rmp_serde::from_slice(&bytes).expect("decode")
    }

    #[test]
    fn dates_pack_and_unpack_over_the_accepted_range() {
        for d in ["1900-01-01", "2024-02-29", "2199-12-31"] {
            assert_eq!(Day::unpack(Day::pack(date(d))), Some(date(d)));
        }
        assert_eq!(Day::unpack(Day::pack(date("2024-02-29")) + 2), None);
    }

    #[test]
    fn a_decimal_reads_back_exactly_and_other_bytes_are_refused() {
        for d in [
            "0",
            "-12.345",
            "79228162514264337593543950335",
            "0.0000000000000000000000000001",
        ] {
            let d: Decimal = d.parse().expect("decimal");
            assert_eq!(round_trip::<_, Dec>(&Dec(d)), Dec(d));
        }
        let mut bytes = Decimal::ONE.serialize();
        bytes[2] = 29; // scale 29
        let encoded = rmp_serde::to_vec(&serde_bytes_of(&bytes)).expect("encode");
        assert!(rmp_serde::from_slice::<Dec>(&encoded).is_err());
    }

    fn serde_bytes_of(b: &[u8]) -> impl Serialize + '_ {
        struct B<'a>(&'a [u8]);
        impl Serialize for B<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        B(b)
    }

    #[test]
    fn a_moment_finer_than_a_microsecond_is_refused_rather_than_rounded() {
        let t = Timestamp::new(1_733_000_000, 1).expect("moment");
        assert!(rmp_serde::to_vec(&Micros(t)).is_err());
    }

    /// Every field of a contribution's record set, so a field the mirror drops or swaps shows.
    #[test]
    fn a_contribution_record_reads_back_exactly() {
        let id = ContributionId::parse("C-1").expect("id");
        let info = ContributionRegistered {
            contribution: id.clone(),
            donor: PartyId::parse("DEU").expect("party"),
            recipient: PartyId::parse("UKR").expect("party"),
            category: Category::ALL[1],
            channel: Channel::ALL[1],
            visibility: Visibility::ALL[1],
            description: "air defence".to_owned(),
            opened_on: date("2024-03-01"),
            dataset: DatasetId::parse("kiel-ust").expect("dataset"),
        };
        let mut state = ContributionState::new(info.clone(), meta(10));
        let full = StageRecorded {
            event: EventId::parse("C-1-a").expect("event"),
            contribution: id.clone(),
            stage: Stage::Committed,
            effective_date: date("2024-03-02"),
            money: Some(
                Money::new(
                    "1234.56".parse().expect("amount"),
                    Currency::parse("USD").expect("currency"),
                )
                .expect("money"),
            ),
            quantity: Some(Quantity {
                value: "6".parse().expect("quantity"),
                unit: "aircraft".to_owned(),
            }),
            valuation_basis: Some(ValuationBasis::ALL[2]),
            amends: Some(EventId::parse("C-1-0").expect("event")),
            reason: Some("revised".to_owned()),
            condition: Some(Condition::ALL[1]),
            source_url: Some("https://example.org/a".to_owned()),
            description: Some("first tranche".to_owned()),
            source_kind: Some(SourceKind::ALL[1]),
            citation: Some("Release 29".to_owned()),
        };
        let bare = StageRecorded {
            event: EventId::parse("C-1-b").expect("event"),
            stage: Stage::Delivered,
            money: None,
            quantity: None,
            valuation_basis: None,
            amends: None,
            reason: None,
            condition: None,
            source_url: None,
            description: None,
            source_kind: None,
            citation: None,
            ..full.clone()
        };
        state.apply(meta(11), &full);
        state.apply(meta(12), &bare);
        let back: ContributionIn = round_trip(&ContributionOut(&state));
        let record = ContributionRecord::try_from(back).expect("record");
        assert_eq!(
            record,
            ContributionRecord {
                info,
                registered_at: meta(10),
                events: vec![(meta(11), full), (meta(12), bare)],
            }
        );
    }
}
