//! Money: a decimal amount in an ISO 4217 currency that knows its minor units.
//!
//! Amounts are `rust_decimal::Decimal`, never floating point. A `Money` is always stored at the
//! currency's scale (EUR 1000 is kept as 1000.00), so two equal amounts serialize identically and
//! content comparisons (re-imports) are exact.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::reference;

/// The largest absolute amount accepted for a single increment: just under 10^15 units of any
/// currency. Far above any real package (USD 10^15 is ten times world GDP), and small enough that
/// summing millions of increments can never overflow a `Decimal` (about 7.9 × 10^28).
pub const MAX_AMOUNT_UNITS: i64 = 1_000_000_000_000_000;

/// Why a currency code or an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an ISO 4217 currency code (three capital letters, e.g. EUR, USD, JPY)")]
    MalformedCurrency(String),
    #[error("`{0}` is not a known ISO 4217 currency")]
    UnknownCurrency(String),
    #[error(
        "`{0}` uses a decimal comma; write amounts with a decimal point and no thousands separators, e.g. 1250000.50"
    )]
    DecimalComma(String),
    #[error(
        "`{0}` is not a decimal amount; write digits with an optional sign and decimal point, e.g. 1250000.50"
    )]
    MalformedAmount(String),
    #[error("`{amount}` has {decimals} decimal place(s) but {currency} has {minor_units}")]
    TooManyDecimals {
        amount: String,
        currency: Currency,
        decimals: u32,
        minor_units: u8,
    },
    #[error("`{0}` is too large: an increment must be below 1,000,000,000,000,000 units")]
    TooLarge(String),
}

/// An ISO 4217 currency code that exists in the reference table.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    code: [u8; 3],
    minor_units: u8,
}

impl Currency {
    /// The euro, the reporting currency of the founding framework.
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        minor_units: 2,
    };

    /// Parses a code such as `EUR`; lower case and unknown codes are refused.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(MoneyError::MalformedCurrency(code.to_owned()));
        }
        let (_, minor_units, _) = reference::currency(code)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))?;
        Ok(Currency {
            code: [bytes[0], bytes[1], bytes[2]],
            minor_units,
        })
    }

    pub fn code(&self) -> &str {
        // The constructor only admits ASCII upper-case letters.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Decimal places of the currency's minor unit (EUR 2, JPY 0, ISK 0, KWD 3).
    pub fn minor_units(&self) -> u8 {
        self.minor_units
    }

    pub fn name(&self) -> &'static str {
        reference::currency(self.code()).map_or("", |c| c.2)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Over the text as the deserializer holds it: no copy of the code.
        d.deserialize_str(crate::text::ParsedText(
            "an ISO 4217 currency code",
            Currency::parse,
        ))
    }
}

/// An amount of money in one currency, kept at the currency's scale. May be negative only where a
/// rule allows it (an amendment's delta); that rule lives with the stage, not here.
/// Deserializing goes through [`Money::new`], so a stored amount is held to the same limits as
/// a typed one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawMoney")]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

/// The serialized shape of `Money`, checked on the way in.
#[derive(Deserialize)]
struct RawMoney {
    amount: Decimal,
    currency: Currency,
}

impl TryFrom<RawMoney> for Money {
    type Error = MoneyError;
    fn try_from(raw: RawMoney) -> Result<Self, Self::Error> {
        Money::new(raw.amount, raw.currency)
    }
}

impl Money {
    /// Parses a textual amount strictly: digits, optional leading sign, optional decimal point,
    /// no thousands separators or exponent, at most the currency's minor units as decimals.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        let text = amount.trim();
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let well_formed = all_digits(int_part) && frac_part.is_none_or(all_digits);
        if !well_formed {
            if text.contains(',') {
                return Err(MoneyError::DecimalComma(amount.to_owned()));
            }
            return Err(MoneyError::MalformedAmount(amount.to_owned()));
        }
        let decimals = frac_part.map_or(0, str::len);
        if decimals > usize::from(currency.minor_units) {
            return Err(MoneyError::TooManyDecimals {
                amount: amount.to_owned(),
                currency,
                decimals: u32::try_from(decimals).unwrap_or(u32::MAX),
                minor_units: currency.minor_units,
            });
        }
        // 16 integer digits or more cannot be below the limit; avoids Decimal overflow on input.
        if int_part.trim_start_matches('0').len() > 16 {
            return Err(MoneyError::TooLarge(amount.to_owned()));
        }
        let value =
            Decimal::from_str(text).map_err(|_| MoneyError::MalformedAmount(amount.to_owned()))?;
        Money::new(value, currency).map_err(|e| match e {
            MoneyError::TooLarge(_) => MoneyError::TooLarge(amount.to_owned()),
            other => other,
        })
    }

    /// Builds money from a decimal, refusing values that are not whole minor units or too large.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        if amount.abs() >= Decimal::from(MAX_AMOUNT_UNITS) {
            return Err(MoneyError::TooLarge(amount.to_string()));
        }
        let scale = u32::from(currency.minor_units);
        let normalized = amount.normalize();
        if normalized.scale() > scale {
            return Err(MoneyError::TooManyDecimals {
                amount: amount.to_string(),
                currency,
                decimals: normalized.scale(),
                minor_units: currency.minor_units,
            });
        }
        let mut at_scale = normalized;
        at_scale.rescale(scale);
        Ok(Money {
            amount: at_scale,
            currency,
        })
    }

    /// The sum of two amounts of the same currency, used for running nets inside the domain:
    /// a sum of increments may exceed the single-increment limit. `None` if the currencies
    /// differ or the sum overflows.
    pub(crate) fn checked_sum(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        let amount = self.amount.checked_add(other.amount)?;
        Some(Money {
            amount,
            currency: self.currency,
        })
    }

    pub fn zero(currency: Currency) -> Self {
        let mut amount = Decimal::ZERO;
        amount.rescale(u32::from(currency.minor_units));
        Money { amount, currency }
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_positive(&self) -> bool {
        self.amount > Decimal::ZERO
    }

    pub fn is_negative(&self) -> bool {
        self.amount < Decimal::ZERO
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} {})", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).expect("known currency")
    }

    #[test]
    fn amounts_are_kept_at_currency_scale() {
        let m = Money::parse("1000", cur("EUR")).expect("valid");
        assert_eq!(m.amount().to_string(), "1000.00");
        let y = Money::parse("1000", cur("JPY")).expect("valid");
        assert_eq!(y.amount().to_string(), "1000");
        assert_eq!(
            Money::parse("1000.5", cur("EUR")),
            Money::parse("1000.50", cur("EUR"))
        );
    }

    #[test]
    fn currencies_without_minor_units_refuse_decimals() {
        for code in ["JPY", "ISK"] {
            let err = Money::parse("10.5", cur(code)).expect_err("no minor units");
            assert!(matches!(
                err,
                MoneyError::TooManyDecimals { minor_units: 0, .. }
            ));
        }
        assert!(matches!(
            Money::parse("10.000", cur("EUR")),
            Err(MoneyError::TooManyDecimals { decimals: 3, .. })
        ));
        assert!(Money::parse("10.125", cur("KWD")).is_ok());
    }

    #[test]
    fn malformed_amounts_are_named() {
        assert!(matches!(
            Money::parse("1000,50", cur("EUR")),
            Err(MoneyError::DecimalComma(_))
        ));
        assert!(matches!(
            Money::parse("1,000,000", cur("EUR")),
            Err(MoneyError::DecimalComma(_))
        ));
        for bad in [
            "", "abc", "1e6", "1.2.3", "--1", ".5", "5.", "€5", " 1 2", "NaN",
        ] {
            assert!(
                matches!(
                    Money::parse(bad, cur("EUR")),
                    Err(MoneyError::MalformedAmount(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn too_large_amounts_are_refused() {
        assert!(matches!(
            Money::parse("1000000000000000", cur("EUR")),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(matches!(
            Money::parse("99999999999999999999999999999999999", cur("EUR")),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(Money::parse("999999999999999.99", cur("EUR")).is_ok());
    }

    #[test]
    fn currency_codes_are_validated() {
        assert!(matches!(
            Currency::parse("eur"),
            Err(MoneyError::MalformedCurrency(_))
        ));
        assert!(matches!(
            Currency::parse("EURO"),
            Err(MoneyError::MalformedCurrency(_))
        ));
        assert!(matches!(
            Currency::parse("ABC"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert_eq!(cur("ISK").minor_units(), 0);
    }
}
