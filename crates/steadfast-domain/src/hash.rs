//! A stable hash of texts (ids, source addresses), for maps that keep no copy of the text.

/// FNV-1a, 64 bits: a stable hash of an id or a source URL (whoever relies on it checks the
/// text behind an equal hash).
pub(crate) fn text_hash(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::text_hash;

    #[test]
    fn the_hash_is_fnv1a() {
        // Known answers of FNV-1a 64.
        assert_eq!(text_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(text_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
