//! Reference tables that are facts, not configuration: ISO 3166-1 country codes and ISO 4217
//! currencies with their minor units, kept sorted by code; lookups go through an index by the
//! code's letters. Names lead back to codes too (`code_by_name`), for published tables that name
//! their donors rather than code them.

mod countries;
mod currencies;

use std::sync::OnceLock;

/// The English short name of an ISO 3166-1 alpha-3 country code, if the code is assigned.
pub fn country_name(alpha3: &str) -> Option<&'static str> {
    static INDEX: OnceLock<LetterIndex> = OnceLock::new();
    let index = INDEX.get_or_init(|| LetterIndex::new(countries::COUNTRIES.iter().map(|c| c.0)));
    index.find(alpha3).map(|i| countries::COUNTRIES[i].1)
}

/// Names that published tables use for a party but that are not its ISO short name: older or
/// unaccented spellings, and the Kiel tracker's name for the EU institutions.
const OTHER_NAMES: &[(&str, &str)] = &[
    ("Czech Republic", "CZE"),
    ("EU (Commission and Council)", "EU"),
    ("European Union", "EU"),
    ("Republic of Korea", "KOR"),
    ("Russia", "RUS"),
    ("Turkey", "TUR"),
    ("Turkiye", "TUR"),
    ("United States of America", "USA"),
];

/// The party code a published table names: a state by its ISO 3166-1 English short name
/// ("United States", "Czechia", "South Korea", "Türkiye") or a common other spelling
/// ("Czech Republic", "Turkiye"), and the EU institutions ("EU (Commission and Council)",
/// "European Union") as the organisation `EU`. Surrounding whitespace and ASCII case are ignored;
/// an unknown name is `None`. A scan of the table: for the few names of a file's donors, not for
/// a hot path. (`PartyId::by_name` gives the party.)
pub fn code_by_name(name: &str) -> Option<&'static str> {
    let name = name.trim();
    let code = countries::COUNTRIES
        .iter()
        .map(|(code, known)| (*known, *code))
        .chain(OTHER_NAMES.iter().copied())
        .find(|(known, _)| known.eq_ignore_ascii_case(name))?
        .1;
    Some(code)
}

/// Minor units and name of an ISO 4217 code, if the code is known.
pub(crate) fn currency(code: &str) -> Option<(&'static str, u8, &'static str)> {
    static INDEX: OnceLock<LetterIndex> = OnceLock::new();
    let index = INDEX.get_or_init(|| LetterIndex::new(currencies::CURRENCIES.iter().map(|c| c.0)));
    index.find(code).map(|i| currencies::CURRENCIES[i])
}

/// Where each three-capital code sits in a table, addressed by its letters: one read instead
/// of a search over strings, for the millions of codes a snapshot or a large file holds.
struct LetterIndex(Box<[u16]>);

impl LetterIndex {
    const SIZE: usize = 26 * 26 * 26;

    fn new<'a>(codes: impl Iterator<Item = &'a str>) -> Self {
        let mut slots = vec![0u16; Self::SIZE];
        for (i, code) in codes.enumerate() {
            if let (Some(at), Ok(i)) = (Self::address(code), u16::try_from(i + 1)) {
                slots[at] = i;
            }
        }
        LetterIndex(slots.into_boxed_slice())
    }

    fn address(code: &str) -> Option<usize> {
        match code.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Some(
                (usize::from(a - b'A') * 26 + usize::from(b - b'A')) * 26 + usize::from(c - b'A'),
            ),
            _ => None,
        }
    }

    /// The code's position in the table.
    fn find(&self, code: &str) -> Option<usize> {
        let slot = *self.0.get(Self::address(code)?)?;
        usize::from(slot).checked_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The letter index finds exactly what a search of the tables finds, for every code of
    /// three capitals, and nothing for anything else.
    #[test]
    fn the_letter_index_agrees_with_the_tables() {
        let letters = b'A'..=b'Z';
        for a in letters.clone() {
            for b in letters.clone() {
                for c in letters.clone() {
                    let code = String::from_utf8(vec![a, b, c]).expect("ascii");
                    let country = countries::COUNTRIES.iter().find(|e| e.0 == code);
                    assert_eq!(country_name(&code), country.map(|e| e.1), "{code}");
                    let known = currencies::CURRENCIES.iter().find(|e| e.0 == code);
                    assert_eq!(currency(&code), known.copied(), "{code}");
                }
            }
        }
        for odd in ["", "EU", "EURO", "eur", "Eur", "E1R", "ÉUR", "DE"] {
            assert_eq!(currency(odd), None, "{odd}");
            assert_eq!(country_name(odd), None, "{odd}");
        }
    }

    #[test]
    fn tables_are_sorted_so_binary_search_is_valid() {
        assert!(countries::COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(currencies::CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn every_short_name_leads_back_to_its_code() {
        for (code, name) in countries::COUNTRIES {
            assert_eq!(code_by_name(name), Some(*code), "{name}");
        }
        for (name, code) in OTHER_NAMES {
            assert_eq!(code_by_name(name), Some(*code), "{name}");
        }
    }

    #[test]
    fn given_the_kiel_trackers_spellings_when_looked_up_then_each_names_its_party() {
        let code = |name: &str| code_by_name(name).map(str::to_owned);
        for (name, expected) in [
            ("United States", "USA"),
            ("United Kingdom", "GBR"),
            ("South Korea", "KOR"),
            ("Czech Republic", "CZE"),
            ("Czechia", "CZE"),
            ("Turkiye", "TUR"),
            ("Türkiye", "TUR"),
            ("Taiwan", "TWN"),
            ("EU (Commission and Council)", "EU"),
            (" germany ", "DEU"),
        ] {
            assert_eq!(code(name).as_deref(), Some(expected), "{name}");
        }
        for unknown in ["", "Atlantis", "NATO", "DEU", "United"] {
            assert_eq!(code(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn known_codes_resolve() {
        assert_eq!(country_name("UKR"), Some("Ukraine"));
        assert_eq!(country_name("XYZ"), None);
        assert_eq!(currency("JPY").map(|c| c.1), Some(0));
        assert_eq!(currency("ISK").map(|c| c.1), Some(0));
        assert_eq!(currency("EUR").map(|c| c.1), Some(2));
        assert_eq!(currency("KWD").map(|c| c.1), Some(3));
        assert_eq!(currency("HRK").map(|c| c.1), Some(2));
        assert_eq!(currency("ABC"), None);
    }
}
