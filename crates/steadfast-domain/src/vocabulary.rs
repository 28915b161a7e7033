//! The controlled vocabularies: stages, categories, channels, visibility, valuation bases and
//! conditions. Each is a closed enum whose kebab-case identifier is what files, the CLI and
//! stored events use; `ALL` lists them for help texts and error messages.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A value that is not in a vocabulary; the message lists the accepted identifiers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a {what}; expected one of: {expected}")]
pub struct VocabularyError {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

macro_rules! vocabulary {
    (
        $(#[$doc:meta])*
        $name:ident, $what:literal {
            $( $(#[$vdoc:meta])* $variant:ident = $id:literal ),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vdoc])* $variant ),+
        }

        /// The identifier, in every serde form (the events' JSON, the reports).
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(crate::text::ParsedText(
                    concat!("a ", $what, " identifier"),
                    $name::parse,
                ))
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The kebab-case identifier used in files, on the command line and in events.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $id),+ }
            }

            pub fn parse(text: &str) -> Result<Self, VocabularyError> {
                match text {
                    $($id => Ok($name::$variant),)+
                    _ => Err(VocabularyError {
                        what: $what,
                        value: text.to_owned(),
                        expected: Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = VocabularyError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }
    };
}

vocabulary!(
    /// The stage a stage event records. The first five carry increments that add up per stage;
    /// `amended` corrects one earlier event by a signed delta; `withdrawn` cancels the
    /// undelivered part. Declaration order is the natural order of a pledge's life.
    Stage, "stage" {
        Announced = "announced",
        Committed = "committed",
        Allocated = "allocated",
        Delivered = "delivered",
        Confirmed = "confirmed",
        Amended = "amended",
        Withdrawn = "withdrawn",
    }
);

impl Stage {
    /// The five stages that accumulate increments, in order.
    pub const FLOW: [Stage; 5] = [
        Stage::Announced,
        Stage::Committed,
        Stage::Allocated,
        Stage::Delivered,
        Stage::Confirmed,
    ];

    pub fn is_flow(self) -> bool {
        Stage::FLOW.contains(&self)
    }
}

vocabulary!(
    /// What the money or equipment is for. The first seven are the eligible cost categories of
    /// the NATO pledge (DESIGN.md); `financial-aid` and `humanitarian-aid` let the same ledger
    /// carry support that a framework does not count.
    Category, "category" {
        /// Purchases of equipment and ammunition for the recipient.
        EquipmentPurchase = "equipment-purchase",
        /// Equipment donated from the donor's own stocks.
        InKindDonation = "in-kind-donation",
        /// Maintenance, logistics and transport.
        MaintenanceLogisticsTransport = "maintenance-logistics-transport",
        Training = "training",
        /// Operational costs of providing the support.
        OperationalSupport = "operational-support",
        /// Investment in the recipient's defence infrastructure and industry.
        DefenceIndustryInvestment = "defence-industry-investment",
        /// Contributions to NATO trust funds (non-lethal aid included).
        NatoTrustFund = "nato-trust-fund",
        FinancialAid = "financial-aid",
        HumanitarianAid = "humanitarian-aid",
        /// Military support whose cost category the source does not break down (a tracker's
        /// monthly military allocations). Last, so the snapshot positions of the others stay.
        MilitaryUnspecified = "military-unspecified",
    }
);

impl Category {
    /// The seven cost categories eligible under the Washington pledge.
    pub fn is_pledge_eligible(self) -> bool {
        !matches!(
            self,
            Category::FinancialAid | Category::HumanitarianAid | Category::MilitaryUnspecified
        )
    }
}

vocabulary!(
    /// The route the support takes.
    Channel, "channel" {
        Bilateral = "bilateral",
        NatoTrustFund = "nato-trust-fund",
        EuInstrument = "eu-instrument",
        JointProcurement = "joint-procurement",
        MultilateralFund = "multilateral-fund",
    }
);

vocabulary!(
    /// What a token's holder may do (see DESIGN.md, the security model): administer tokens and
    /// parties, coordinate (frameworks, datasets, every record but confirmations), act as one
    /// donor's liaison or as the recipient's liaison (the only one who confirms receipt), or
    /// observe the coalition's records.
    Role, "role" {
        Administrator = "administrator",
        Coordinator = "coordinator",
        Donor = "donor",
        Recipient = "recipient",
        Observer = "observer",
    }
);

impl Role {
    /// Whether a token of this role acts for one party (a donor's or the recipient's liaison).
    pub fn acts_for_a_party(self) -> bool {
        matches!(self, Role::Donor | Role::Recipient)
    }
}

vocabulary!(
    /// Who may see a record: everyone, the coalition's members, or named parties only.
    Visibility, "visibility" {
        Public = "public",
        Coalition = "coalition",
        Restricted = "restricted",
    }
);

vocabulary!(
    /// How an amount was valued. In-kind items must say; `declared` means the donor's announced
    /// figure with no basis disclosed (the founding document's "undocumented valuation").
    ValuationBasis, "valuation basis" {
        ReplacementCost = "replacement-cost",
        BookValue = "book-value",
        MarketPrice = "market-price",
        ContractPrice = "contract-price",
        Declared = "declared",
    }
);

vocabulary!(
    /// The condition in which the recipient reports having received items.
    Condition, "condition" {
        AsDescribed = "as-described",
        NeedsRepair = "needs-repair",
        Unserviceable = "unserviceable",
    }
);

vocabulary!(
    /// Who published the source a record cites, from most to least authoritative.
    SourceKind, "source kind" {
        /// The donor's or the recipient's government (a ministry, a head of state or
        /// government, an official gazette).
        Government = "government",
        /// NATO or the EU institutions.
        NatoEu = "nato-eu",
        /// A wire service (Reuters, AP, AFP) or a major outlet.
        WireOrMajorOutlet = "wire-or-major-outlet",
        /// Anything else: aggregators, other outlets, compiled datasets.
        Other = "other",
    }
);

vocabulary!(
    /// How a framework counts a contribution's value at its counting stage.
    Counting, "counting rule" {
        /// Value counts once it has reached at least the counting stage: per contribution, the
        /// running maximum of the cumulative values at that stage and every later one, dated
        /// when reached (a delivery without a recorded commitment counts as committed).
        Reached = "reached",
        /// Only increments recorded at the counting stage itself.
        Literal = "literal",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip_and_errors_list_choices() {
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Ok(*s));
        }
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Ok(*c));
        }
        let err = Channel::parse("Bilateral").expect_err("case matters");
        assert!(err.to_string().contains("bilateral, nato-trust-fund"));
        assert_eq!(
            Category::ALL
                .iter()
                .filter(|c| c.is_pledge_eligible())
                .count(),
            7
        );
    }
}
