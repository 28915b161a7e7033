//! Compact binary forms of dates, moments and decimals for serializers that are not human
//! readable (the projection snapshots' MessagePack), used as `#[serde(with = ...)]` on the
//! fields a snapshot holds millions of. A human-readable serializer (JSON: events, reports)
//! gets exactly the text it always got, so nothing a user or the log sees changes.
//!
//! Text forms cost a parse per value when a snapshot is read: about six million dates,
//! moments and amounts for a ledger of a million events.

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A date as `year << 9 | month << 5 | day` in binary form.
pub mod date {
    use super::*;

    pub(crate) fn pack(d: Date) -> i32 {
        (i32::from(d.year()) << 9) | (i32::from(d.month()) << 5) | i32::from(d.day())
    }

    pub(crate) fn unpack(n: i32) -> Option<Date> {
        let year = i16::try_from(n >> 9).ok()?;
        let month = i8::try_from((n >> 5) & 0xF).ok()?;
        let day = i8::try_from(n & 0x1F).ok()?;
        Date::new(year, month, day).ok()
    }

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            d.serialize(s)
        } else {
            s.serialize_i32(pack(*d))
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        if d.is_human_readable() {
            Date::deserialize(d)
        } else {
            let n = i32::deserialize(d)?;
            unpack(n).ok_or_else(|| D::Error::custom(format!("{n} is not a packed date")))
        }
    }
}

/// An optional date, each as [`date`].
pub mod option_date {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Packed(#[serde(with = "super::date")] Date);

    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        d.map(Packed).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        Ok(Option::<Packed>::deserialize(d)?.map(|p| p.0))
    }
}

/// A moment as seconds and nanoseconds since the Unix epoch in binary form.
pub mod timestamp {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            t.serialize(s)
        } else {
            (t.as_second(), t.subsec_nanosecond()).serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        if d.is_human_readable() {
            Timestamp::deserialize(d)
        } else {
            let (seconds, nanos) = <(i64, i32)>::deserialize(d)?;
            Timestamp::new(seconds, nanos).map_err(D::Error::custom)
        }
    }
}

/// A decimal as its 16-byte representation in binary form.
pub mod decimal {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            Serialize::serialize(v, s)
        } else {
            s.serialize_bytes(&v.serialize())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        if d.is_human_readable() {
            <Decimal as Deserialize>::deserialize(d)
        } else {
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
            Ok(Decimal::deserialize(bytes))
        }
    }
}

/// A map whose values are decimals, each as [`decimal`].
pub mod decimal_values {
    use super::*;
    use crate::small_map::SmallMap;

    #[derive(Serialize, Deserialize)]
    struct Packed(#[serde(with = "super::decimal")] Decimal);

    pub fn serialize<K: Serialize + Ord, S: Serializer>(
        map: &SmallMap<K, Decimal>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(map.iter().map(|(k, v)| (k, Packed(*v))))
    }

    pub fn deserialize<'de, K, D>(d: D) -> Result<SmallMap<K, Decimal>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        D: Deserializer<'de>,
    {
        let packed = SmallMap::<K, Packed>::deserialize(d)?;
        Ok(packed.into_entries().map(|(k, v)| (k, v.0)).collect())
    }
}

/// Reads a value from its text as the deserializer holds it (no intermediate `String`),
/// refused as `parse` refuses it: ids, currency codes and vocabulary identifiers.
pub(crate) struct ParsedText<T, E>(pub(crate) &'static str, pub(crate) fn(&str) -> Result<T, E>);

impl<T, E: std::fmt::Display> serde::de::Visitor<'_> for ParsedText<T, E> {
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.0)
    }
    fn visit_str<Er: serde::de::Error>(self, v: &str) -> Result<T, Er> {
        (self.1)(v).map_err(Er::custom)
    }
}

/// Reads a run of bytes (binary form only) and hands it to `decode` straight from the
/// deserializer's buffer: how a table of fixed-width records is read without a call per field.
pub(crate) fn deserialize_bytes_with<'de, D, T>(
    d: D,
    what: &'static str,
    decode: impl FnOnce(&[u8]) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct Visit<F> {
        what: &'static str,
        decode: F,
    }
    impl<T, F: FnOnce(&[u8]) -> Result<T, String>> serde::de::Visitor<'_> for Visit<F> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(self.what)
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<T, E> {
            (self.decode)(v).map_err(E::custom)
        }
    }
    d.deserialize_bytes(Visit { what, decode })
}

/// Bytes serialized as one run (not a sequence of numbers).
pub(crate) struct Bytes<'a>(pub(crate) &'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// Fixed-width little-endian fields read one after another from a record.
pub(crate) struct Fields<'a>(pub(crate) &'a [u8]);

impl Fields<'_> {
    /// The next `N` bytes; callers size each record to its fields, so it is never short (and
    /// a short one would read as zeros rather than panic).
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let (head, rest) = self.0.split_at_checked(N).unwrap_or((&[], &[]));
        self.0 = rest;
        head.try_into().unwrap_or([0; N])
    }
    pub(crate) fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    pub(crate) fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.take())
    }
    pub(crate) fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
    pub(crate) fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_pack_and_unpack_over_the_accepted_range() {
        for d in [
            Date::constant(1900, 1, 1),
            Date::constant(2024, 2, 29),
            Date::constant(2199, 12, 31),
        ] {
            assert_eq!(date::unpack(date::pack(d)), Some(d));
        }
        assert_eq!(
            date::unpack(date::pack(Date::constant(2024, 2, 29)) + 2),
            None
        );
    }
}
