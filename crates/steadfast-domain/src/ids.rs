//! Identifiers: parties, contributions and events. Each validates its syntax on construction, so
//! the rest of the domain never sees a malformed id.

use std::fmt;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::reference;
use crate::text::ParsedText;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error(
        "`{0}` is not a party id: use an ISO 3166-1 alpha-3 country code (DEU, UKR) or a registered organisation code (NATO, EU, NSATU) in capitals"
    )]
    MalformedParty(String),
    #[error("`{0}` is three letters but not an assigned ISO 3166-1 alpha-3 country code")]
    UnassignedCountry(String),
    #[error(
        "`{value}` is not a valid {what}: use 1 to 64 letters, digits, `-`, `_`, `.` or `:`, starting with a letter or digit"
    )]
    MalformedId { what: &'static str, value: String },
}

/// Whether a party id names a state or an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartyKind {
    State,
    Organisation,
}

/// A party: an ISO 3166-1 alpha-3 state code, or an organisation's registered code (2 to 16
/// capitals, digits or `-`, never three letters so it cannot shadow a country).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartyId(CompactString);

impl PartyId {
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let b = text.as_bytes();
        let is_alpha3 = b.len() == 3 && b.iter().all(u8::is_ascii_uppercase);
        if is_alpha3 {
            return match reference::country_name(text) {
                Some(_) => Ok(PartyId(text.into())),
                None => Err(IdError::UnassignedCountry(text.to_owned())),
            };
        }
        let well_formed = (2..=16).contains(&b.len())
            && b[0].is_ascii_uppercase()
            && b.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'-');
        if well_formed {
            Ok(PartyId(text.into()))
        } else {
            Err(IdError::MalformedParty(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> PartyKind {
        if self.0.len() == 3 && reference::country_name(&self.0).is_some() {
            PartyKind::State
        } else {
            PartyKind::Organisation
        }
    }

    /// The party a published table names, by a state's English short name or a common other
    /// spelling, or the EU institutions (see [`reference::code_by_name`]).
    pub fn by_name(name: &str) -> Option<PartyId> {
        PartyId::parse(reference::code_by_name(name)?).ok()
    }

    /// The ISO short name for a state; `None` for organisations (their names are registered).
    pub fn country_name(&self) -> Option<&'static str> {
        reference::country_name(&self.0)
    }
}

impl TryFrom<String> for PartyId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PartyId::parse(&s)
    }
}

impl From<PartyId> for String {
    fn from(id: PartyId) -> String {
        id.0.into_string()
    }
}

impl Serialize for PartyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PartyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ParsedText("a party id", PartyId::parse))
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartyId({})", self.0)
    }
}

fn valid_token(text: &str) -> bool {
    let b = text.as_bytes();
    (1..=64).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'))
}

macro_rules! token_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        ///
        /// Kept inline up to 24 bytes (no allocation for most ids).
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(CompactString);

        impl $name {
            pub fn parse(text: &str) -> Result<Self, IdError> {
                if valid_token(text) {
                    Ok($name(text.into()))
                } else {
                    Err(IdError::MalformedId { what: $what, value: text.to_owned() })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $name::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.into_string()
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(ParsedText(concat!("a ", $what), $name::parse))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }
    };
}

token_id!(
    /// A contribution (one donor's package or line item), chosen by whoever records it.
    ContributionId,
    "contribution id"
);
token_id!(
    /// A stage event's id, chosen by its author; it doubles as the idempotency key, so a
    /// re-import of the same event is recognised and skipped.
    EventId,
    "event id"
);
token_id!(
    /// A framework (a collective pledge such as `washington-2024`), chosen when it is adopted.
    FrameworkId,
    "framework id"
);
token_id!(
    /// A dataset: the provenance of contributions (`ledger`, `scenario-2024`, `kiel-ust-r29`).
    DatasetId,
    "dataset id"
);

impl DatasetId {
    /// Where records written or imported without a dataset go: the coalition's own ledger.
    pub const LEDGER: &'static str = "ledger";

    pub fn ledger() -> Self {
        DatasetId(CompactString::const_new(Self::LEDGER))
    }
}

impl Default for DatasetId {
    fn default() -> Self {
        DatasetId::ledger()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_name_leads_to_its_party() {
        assert_eq!(
            PartyId::by_name("EU (Commission and Council)").map(|p| p.kind()),
            Some(PartyKind::Organisation)
        );
        assert_eq!(
            PartyId::by_name("Czech Republic").map(|p| p.to_string()),
            Some("CZE".to_owned())
        );
        assert_eq!(PartyId::by_name("Atlantis"), None);
    }

    #[test]
    fn party_ids_are_countries_or_registered_codes() {
        assert_eq!(
            PartyId::parse("DEU").map(|p| p.kind()),
            Ok(PartyKind::State)
        );
        assert_eq!(
            PartyId::parse("NATO").map(|p| p.kind()),
            Ok(PartyKind::Organisation)
        );
        assert_eq!(
            PartyId::parse("EU").map(|p| p.kind()),
            Ok(PartyKind::Organisation)
        );
        assert!(matches!(
            PartyId::parse("XYZ"),
            Err(IdError::UnassignedCountry(_))
        ));
        for bad in ["", "deu", "D", "DE U", "ÄÖÜ", "TOO-LONG-ORGANISATION-CODE"] {
            assert!(
                matches!(PartyId::parse(bad), Err(IdError::MalformedParty(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn token_ids_are_bounded_and_plain() {
        assert!(EventId::parse("DEU-2024-01-a").is_ok());
        assert!(ContributionId::parse("x").is_ok());
        for bad in ["", " a", "a b", "-a", "é", &"a".repeat(65)] {
            assert!(EventId::parse(bad).is_err(), "{bad}");
        }
    }
}
token_id!(
    /// An API token's public name (`T-` and the first twelve hex digits of its SHA-256): what
    /// lists and revocations name it by. The token itself is never recorded.
    TokenId,
    "token id"
);
