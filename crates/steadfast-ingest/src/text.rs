//! Text-level checks shared by the importers: encoding, dates and plain decimals.

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::location::ImportError;

/// Decodes a file as UTF-8, dropping a leading byte-order mark. A file that is not UTF-8 is
/// refused at the first bad byte, with its line and column and a hint to convert it.
pub fn decode_utf8<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, ImportError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(ImportError::new(
            file,
            1,
            Some(1),
            None,
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8, e.g. `iconv -f UTF-16 -t UTF-8 in.csv > out.csv`",
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let line_start = valid
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        let column = std::str::from_utf8(&valid[line_start..])
            .map_or(1, |s| s.chars().count() + 1);
        let byte = bytes.get(e.valid_up_to()).copied().unwrap_or(0);
        ImportError::new(
            file,
            line,
            Some(column),
            None,
            format!(
                "the file is not UTF-8 (byte 0x{byte:02X}); save it as UTF-8, e.g. `iconv -f WINDOWS-1252 -t UTF-8 in.csv > out.csv`"
            ),
        )
    })
}

/// Parses a calendar date written `YYYY-MM-DD`, telling malformed text from impossible dates.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err(format!(
            "`{text}` is not a date; write YYYY-MM-DD, e.g. 2024-07-10"
        ));
    }
    let num = |r: std::ops::Range<usize>| text[r].parse::<i16>().unwrap_or(0);
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    if !(1..=12).contains(&m) {
        return Err(format!(
            "`{text}` is not a real date: there is no month {m}"
        ));
    }
    if !(1900..=2199).contains(&y) {
        return Err(format!(
            "`{text}` is outside the years Steadfast accepts (1900 to 2199)"
        ));
    }
    let month = i8::try_from(m).unwrap_or(1);
    let day = i8::try_from(d).unwrap_or(0);
    Date::new(y, month, day).map_err(|_| {
        let days = Date::new(y, month, 1).map_or(31, |first| first.days_in_month());
        format!("`{text}` is not a real date: month {m} of {y} has {days} days")
    })
}

/// Why a text is not a plain (positive) decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalProblem {
    /// Not digits with an optional `.` and fraction (a sign, an exponent, a separator, a comma).
    Malformed,
    /// More fraction digits than allowed (how many were written).
    TooManyDecimals(usize),
    /// Zero (for a positive decimal).
    NotPositive,
    /// At or above the limit.
    TooLarge,
}

/// Parses a plain positive decimal as published tables write them: digits with an optional `.`
/// and fraction (digits on both sides), no sign, exponent or thousands separator, at most
/// `max_decimals` fraction digits and below 10^`max_integer_digits`. The value keeps the scale
/// it was written with (`1.0825` has 4 decimals).
pub(crate) fn parse_positive_decimal(
    text: &str,
    max_decimals: usize,
    max_integer_digits: usize,
) -> Result<Decimal, DecimalProblem> {
    if text.starts_with('-') {
        return Err(DecimalProblem::Malformed);
    }
    let value = parse_plain_decimal(text, max_decimals, max_integer_digits)?;
    if value.is_zero() {
        return Err(DecimalProblem::NotPositive);
    }
    Ok(value)
}

/// Parses a plain decimal of any sign as published tables write them: an optional leading `-`,
/// then what `parse_positive_decimal` reads; zero is accepted (and never negative, even when
/// written `-0`). The caller decides which signs a column allows.
pub(crate) fn parse_plain_decimal(
    text: &str,
    max_decimals: usize,
    max_integer_digits: usize,
) -> Result<Decimal, DecimalProblem> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int_part) || !frac.is_none_or(digits) {
        return Err(DecimalProblem::Malformed);
    }
    let frac = frac.unwrap_or("");
    if frac.len() > max_decimals {
        return Err(DecimalProblem::TooManyDecimals(frac.len()));
    }
    let significant = int_part.trim_start_matches('0');
    if significant.len() > max_integer_digits {
        return Err(DecimalProblem::TooLarge);
    }
    // Leading zeros dropped, so the digit count stays within what a `Decimal` holds.
    let canonical = match (significant.is_empty(), frac.is_empty()) {
        (true, true) => "0".to_owned(),
        (true, false) => format!("0.{frac}"),
        (false, true) => significant.to_owned(),
        (false, false) => format!("{significant}.{frac}"),
    };
    let mut value = canonical
        .parse::<Decimal>()
        .map_err(|_| DecimalProblem::Malformed)?;
    value.set_sign_negative(negative && !value.is_zero());
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict_and_explain_impossibility() {
        assert_eq!(parse_date("2024-02-29").map(|d| d.day()), Ok(29));
        let e = parse_date("2023-02-29").expect_err("not leap");
        assert!(e.contains("has 28 days"), "{e}");
        assert!(
            parse_date("2024-13-01")
                .expect_err("month")
                .contains("no month 13")
        );
        for bad in [
            "10/07/2024",
            "2024-7-10",
            "2024-07-10T00:00",
            "",
            "２０２４-07-10",
        ] {
            assert!(
                parse_date(bad).expect_err(bad).contains("YYYY-MM-DD"),
                "{bad}"
            );
        }
    }

    #[test]
    fn positive_decimals_are_plain() {
        let ok = |t: &str| parse_positive_decimal(t, 4, 9);
        assert_eq!(ok("1.0825").map(|d| d.to_string()), Ok("1.0825".to_owned()));
        assert_eq!(ok("000136").map(|d| d.to_string()), Ok("136".to_owned()));
        assert_eq!(ok("0.5").map(|d| d.to_string()), Ok("0.5".to_owned()));
        for bad in [
            "", ".5", "5.", "1,0825", "-1", "+1", "1e3", "1 000", "1.2.3", " 1", "١",
        ] {
            assert_eq!(ok(bad), Err(DecimalProblem::Malformed), "{bad:?}");
        }
        assert_eq!(ok("1.00001"), Err(DecimalProblem::TooManyDecimals(5)));
        assert_eq!(ok("0.0000"), Err(DecimalProblem::NotPositive));
        assert_eq!(ok("999999999.9999").map(|_| ()), Ok(()));
        assert_eq!(ok("1000000000"), Err(DecimalProblem::TooLarge));
        let zeros = format!("{}1.5", "0".repeat(100));
        assert_eq!(ok(&zeros).map(|d| d.to_string()), Ok("1.5".to_owned()));
    }

    #[test]
    fn plain_decimals_take_a_minus_sign_and_zero() {
        let plain = |t: &str| parse_plain_decimal(t, 4, 4).map(|d| d.to_string());
        assert_eq!(plain("-0.25"), Ok("-0.25".to_owned()));
        assert_eq!(plain("0.000"), Ok("0.000".to_owned()));
        assert_eq!(plain("-0"), Ok("0".to_owned()), "zero is never negative");
        assert_eq!(plain("-0012.5"), Ok("-12.5".to_owned()));
        for bad in ["", "-", "--1", "+1", "- 1", "-.5", "1e-3", "1,5", "NA"] {
            assert_eq!(
                parse_plain_decimal(bad, 4, 4),
                Err(DecimalProblem::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_plain_decimal("-1.00001", 4, 4),
            Err(DecimalProblem::TooManyDecimals(5))
        );
        assert_eq!(
            parse_plain_decimal("-10000", 4, 4),
            Err(DecimalProblem::TooLarge)
        );
    }

    #[test]
    fn non_utf8_is_located() {
        let e = decode_utf8("f.csv", b"a,b\nxy\xE9z\n").expect_err("latin-1");
        assert_eq!((e.location.line, e.location.column), (2, Some(3)));
        assert!(e.message.contains("iconv"));
        assert_eq!(decode_utf8("f.csv", b"\xEF\xBB\xBFa,b"), Ok("a,b"));
        let utf16 = decode_utf8("f.csv", b"\xFF\xFEa\0,\0").expect_err("utf-16");
        assert!(utf16.message.contains("UTF-16"), "{}", utf16.message);
    }
}

/// Turns byte offsets of records into physical line numbers (1-based). The `csv` crate's own
/// line numbers are off after blank lines and with CRLF endings, so lines are counted here from
/// the byte offset of each record, skipping the line breaks a record cannot start with.
/// Offsets are expected in increasing order; counting is incremental, linear in the file.
#[derive(Debug)]
pub(crate) struct LineCounter<'a> {
    text: &'a [u8],
    byte: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        LineCounter {
            text: text.as_bytes(),
            byte: 0,
            line: 1,
        }
    }

    pub(crate) fn line_at(&mut self, byte: u64) -> u64 {
        let len = self.text.len();
        let mut target = usize::try_from(byte).unwrap_or(len).min(len);
        while target < len && matches!(self.text[target], b'\n' | b'\r') {
            target += 1;
        }
        if target < self.byte {
            self.byte = 0;
            self.line = 1;
        }
        // A line ends with LF, CRLF, or a lone CR (old Mac files; the CSV reader splits on it).
        let text = self.text;
        self.line += (self.byte..target)
            .filter(|&i| match text[i] {
                b'\n' => true,
                b'\r' => text.get(i + 1) != Some(&b'\n'),
                _ => false,
            })
            .count() as u64;
        self.byte = target;
        self.line
    }
}

#[cfg(test)]
mod line_tests {
    use super::LineCounter;

    #[test]
    fn lines_are_physical_with_crlf_and_blank_lines() {
        let text = "h\r\na\r\n\r\n\nb\n";
        let mut lines = LineCounter::new(text);
        assert_eq!(lines.line_at(0), 1);
        assert_eq!(lines.line_at(3), 2);
        assert_eq!(lines.line_at(6), 5, "blank lines are skipped to the record");
        assert_eq!(lines.line_at(3), 2, "going back recounts");
        let mut lines = LineCounter::new("h\ra\rb");
        assert_eq!(lines.line_at(2), 2, "a lone CR ends a line too");
        assert_eq!(lines.line_at(4), 3);
    }
}
