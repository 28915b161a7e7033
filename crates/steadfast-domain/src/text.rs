//! Reading a value from its text as a deserializer holds it: ids, currency codes and
//! vocabulary identifiers are parsed from the borrowed text, with no intermediate `String`.

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
