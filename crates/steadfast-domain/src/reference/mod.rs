//! Reference tables that are facts, not configuration: ISO 3166-1 country codes and ISO 4217
//! currencies with their minor units. Kept sorted so lookups are binary searches.

mod countries;
mod currencies;

/// The English short name of an ISO 3166-1 alpha-3 country code, if the code is assigned.
pub fn country_name(alpha3: &str) -> Option<&'static str> {
    countries::COUNTRIES
        .binary_search_by(|(code, _)| (*code).cmp(alpha3))
        .ok()
        .map(|i| countries::COUNTRIES[i].1)
}

/// Minor units and name of an ISO 4217 code, if the code is known.
pub(crate) fn currency(code: &str) -> Option<(&'static str, u8, &'static str)> {
    currencies::CURRENCIES
        .binary_search_by(|(c, _, _)| (*c).cmp(code))
        .ok()
        .map(|i| currencies::CURRENCIES[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_so_binary_search_is_valid() {
        assert!(countries::COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(currencies::CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
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
