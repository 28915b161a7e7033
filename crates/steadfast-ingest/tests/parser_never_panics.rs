//! The importers never panic, whatever the bytes, and every problem they report is located on a
//! real line (lines count from 1).
//!
//! Inputs: arbitrary bytes; arbitrary text over a CSV-heavy alphabet behind a valid header; and
//! valid files (a generated one and the shipped scenario files) mutated at random positions by
//! inserting, deleting or replacing bytes (`,` `"` `\n` `\r` `;` spaces, non-ASCII and arbitrary
//! bytes). The published tables (ECB rates, GDP, the Kiel tracker's files) and the frameworks
//! TOML get the same treatment.

use proptest::prelude::*;
use steadfast_ingest::{
    CsvOptions, ErrorList, HEADER, ImportError, ParsedContributions, parse_contributions,
    parse_ecb_rates, parse_frameworks, parse_gdp, parse_memberships, parse_parties, parse_tracker,
    parse_tracker_release, parse_tracker_weapons,
};

const PARTIES: &[u8] = include_bytes!("../../../data/parties.csv");
const MEMBERSHIPS: &[u8] = include_bytes!("../../../data/memberships.csv");
const CONTRIBUTIONS: &[u8] = include_bytes!("../../../data/contributions-2024.csv");
const GDP: &[u8] = include_bytes!("../../../data/gdp-worldbank.csv");
const FRAMEWORKS: &[u8] = include_bytes!("../../../data/frameworks.toml");
/// The head of the ECB history (the whole file is too slow to mutate hundreds of times).
const ECB_HEAD: &str = "Date,USD,JPY,BGN,CYP,CZK,DKK,EEK,GBP,HUF,ISK,\n\
    2024-07-12,1.089,172.87,1.9558,N/A,25.341,7.461,N/A,0.84,395.08,149.3,\n\
    2024-07-11,1.0855,175.39,1.9558,N/A,25.361,7.4606,N/A,0.84405,394.85,149.5,\n\
    2024-07-10,1.0825,174.79,1.9558,N/A,25.379,7.4603,N/A,0.84475,395.4,149.7,\n\
    1999-01-04,1.1789,133.73,N/A,0.58231,35.107,7.4501,15.6466,0.7111,251.48,81.48,\n";

/// A small valid contributions file exercising most columns.
fn valid_contributions() -> String {
    let mut text = HEADER.join(",");
    text.push('\n');
    for row in [
        "DEU-1-a,DEU-1,DEU,UKR,announced,2024-02-01,1000000.50,EUR,equipment-purchase,bilateral,public,,,,,,https://example.org/a,\"Howitzers, 155mm\"",
        "DEU-1-b,DEU-1,DEU,UKR,committed,2024-03-01,1000000.50,EUR,equipment-purchase,bilateral,public,12,howitzers,,,,,",
        "DEU-1-c,DEU-1,DEU,UKR,amended,2024-03-02,-0.50,EUR,equipment-purchase,bilateral,public,,,,DEU-1-b,rounding,,",
        "JPN-1-a,JPN-1,JPN,UKR,delivered,2024-04-01,150000000,JPY,in-kind-donation,bilateral,coalition,,,declared,,,,\"Trucks \"\"Type 73\"\"\"",
        "JPN-1-b,JPN-1,JPN,UKR,confirmed,2024-05-01,150000000,JPY,in-kind-donation,bilateral,coalition,,,declared,,as-described,,",
        "GBR-1-a,GBR-1,GBR,UKR,withdrawn,2024-06-01,,,training,nato-trust-fund,restricted,,,,,,,Ukrainian: Навчання",
    ] {
        text.push_str(row);
        text.push('\n');
    }
    text
}

fn check_error(e: &ImportError, file: &str) -> Result<(), TestCaseError> {
    prop_assert!(e.location.line >= 1, "error on line 0: {}", e);
    prop_assert_eq!(&e.location.file, file);
    if let Some(column) = e.location.column {
        prop_assert!(column >= 1, "error in column 0: {}", e);
    }
    prop_assert!(!e.message.is_empty());
    // Display never panics either.
    prop_assert!(e.to_string().starts_with(file));
    Ok(())
}

fn check_contributions(bytes: &[u8]) -> Result<ParsedContributions, TestCaseError> {
    let mut last_progress = 0;
    let parsed = parse_contributions("f.csv", bytes, CsvOptions::default(), &mut |n| {
        last_progress = n;
    });
    for e in &parsed.errors.0 {
        check_error(e, "f.csv")?;
    }
    for row in &parsed.rows {
        prop_assert!(row.line >= 2, "a data row on line {}", row.line);
    }
    prop_assert!(parsed.rows.len() as u64 <= parsed.rows_read);
    // Every column found is a real column.
    prop_assert!(parsed.columns.values().all(|c| *c >= 1));
    // With ignore_extra, too.
    let lenient = parse_contributions(
        "f.csv",
        bytes,
        CsvOptions { ignore_extra: true },
        &mut |_| {},
    );
    for e in &lenient.errors.0 {
        check_error(e, "f.csv")?;
    }
    Ok(parsed)
}

fn check_list<T>(
    result: Result<Vec<T>, ErrorList>,
    file: &str,
    line_of: impl Fn(&T) -> u64,
) -> Result<(), TestCaseError> {
    match result {
        Ok(rows) => {
            for r in &rows {
                prop_assert!(line_of(r) >= 2);
            }
        }
        Err(errors) => {
            prop_assert!(!errors.0.is_empty(), "an Err with no errors");
            for e in &errors.0 {
                check_error(e, file)?;
            }
        }
    }
    Ok(())
}

fn check_registry(bytes: &[u8]) -> Result<(), TestCaseError> {
    check_list(parse_parties("p.csv", bytes), "p.csv", |r| r.line)?;
    check_list(parse_memberships("m.csv", bytes), "m.csv", |r| r.line)?;
    Ok(())
}

/// The ECB rates, the GDP table, the tracker's files and the frameworks file: never a panic, an `Err` always says
/// something, every error is on a real line, and what parses is consistent.
fn check_tables(bytes: &[u8]) -> Result<(), TestCaseError> {
    match parse_ecb_rates("r.csv", bytes) {
        Ok(rates) => {
            prop_assert!(!rates.rows.is_empty());
            prop_assert!(rates.rows.windows(2).all(|w| w[0].date < w[1].date));
            for row in &rates.rows {
                prop_assert!(row.line >= 2);
                prop_assert!(
                    row.rates
                        .iter()
                        .all(|(_, r)| r.is_sign_positive() && !r.is_zero())
                );
            }
        }
        Err(errors) => check_errors(&errors, "r.csv")?,
    }
    match parse_gdp("g.csv", bytes) {
        Ok(table) => {
            prop_assert!(!table.years.is_empty());
            for row in &table.rows {
                prop_assert!(row.line >= 2);
                prop_assert!(row.values.keys().all(|y| table.years.contains(y)));
            }
        }
        Err(errors) => check_errors(&errors, "g.csv")?,
    }
    match parse_tracker("t.csv", bytes) {
        Ok(file) => {
            prop_assert!(file.first_month <= file.last_month);
            for row in &file.rows {
                prop_assert!(row.line >= 2);
                prop_assert_eq!(row.total, row.financial + row.humanitarian + row.military);
            }
        }
        Err(errors) => check_errors(&errors, "t.csv")?,
    }
    if let Err(errors) = parse_tracker_release("ri.csv", bytes) {
        check_errors(&errors, "ri.csv")?;
    }
    check_list(parse_tracker_weapons("w.csv", bytes), "w.csv", |r| r.line)?;
    match parse_frameworks("f.toml", bytes) {
        Ok(specs) => {
            prop_assert!(!specs.is_empty());
            for f in &specs {
                prop_assert!(f.line >= 1);
                prop_assert!(f.period_start <= f.period_end);
                prop_assert!(f.target.is_positive());
                prop_assert!(!f.participants.is_empty());
            }
        }
        Err(errors) => check_errors(&errors, "f.toml")?,
    }
    Ok(())
}

fn check_errors(errors: &ErrorList, file: &str) -> Result<(), TestCaseError> {
    prop_assert!(!errors.0.is_empty(), "an Err with no errors");
    for e in &errors.0 {
        check_error(e, file)?;
    }
    Ok(())
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index),
    Replace(prop::sample::Index, Vec<u8>),
}

fn interesting_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(b",".to_vec()),
        3 => Just(b"\"".to_vec()),
        3 => Just(b"\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => Just(b"\r\n".to_vec()),
        2 => Just(b";".to_vec()),
        1 => Just(b" ".to_vec()),
        1 => Just(b"-".to_vec()),
        1 => Just(b".".to_vec()),
        1 => Just(b"0".to_vec()),
        1 => Just(b"\t".to_vec()),
        1 => Just(b"\0".to_vec()),
        1 => Just("é".as_bytes().to_vec()),
        1 => Just("€".as_bytes().to_vec()),
        1 => Just("\u{feff}".as_bytes().to_vec()),
        1 => Just("𝄞".as_bytes().to_vec()),
        1 => Just(vec![0xC3]),
        1 => Just(vec![0xFF]),
        2 => any::<u8>().prop_map(|b| vec![b]),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), interesting_bytes())
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
        (any::<prop::sample::Index>(), interesting_bytes())
            .prop_map(|(i, b)| Mutation::Replace(i, b)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        match m {
            Mutation::Insert(i, b) => {
                let at = i.index(bytes.len() + 1);
                bytes.splice(at..at, b.iter().copied());
            }
            Mutation::Delete(i) if !bytes.is_empty() => {
                let at = i.index(bytes.len());
                bytes.remove(at);
            }
            Mutation::Replace(i, b) if !bytes.is_empty() => {
                let at = i.index(bytes.len());
                bytes.splice(at..=at, b.iter().copied());
            }
            Mutation::Delete(_) | Mutation::Replace(..) => {}
        }
    }
    bytes
}

/// Text over an alphabet rich in what CSV cares about, behind a valid header.
fn csvish_body() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => Just(','),
        2 => Just('"'),
        2 => Just('\n'),
        1 => Just('\r'),
        1 => Just(';'),
        1 => Just(' '),
        1 => Just('-'),
        1 => Just('.'),
        1 => Just('é'),
        4 => prop::char::range('0', '9'),
        4 => prop::char::range('a', 'z'),
        2 => prop::char::range('A', 'Z'),
        1 => any::<char>(),
    ];
    prop::collection::vec(ch, 0..600).prop_map(|cs| cs.into_iter().collect())
}

/// Text over an alphabet rich in what TOML cares about.
fn tomlish_body() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => Just("\n".to_owned()),
        2 => Just(" = ".to_owned()),
        2 => Just("\"".to_owned()),
        1 => Just("'".to_owned()),
        2 => Just("[".to_owned()),
        2 => Just("]".to_owned()),
        1 => Just("[[framework]]\n".to_owned()),
        1 => Just("[framework.share_basis]\n".to_owned()),
        1 => Just("[[framework.exemptions]]\n".to_owned()),
        1 => Just("{".to_owned()),
        1 => Just("}".to_owned()),
        2 => Just(",".to_owned()),
        1 => Just(".".to_owned()),
        1 => Just("#".to_owned()),
        1 => Just("2024-07-10".to_owned()),
        1 => Just("true".to_owned()),
        1 => Just("\"UKR\"".to_owned()),
        1 => Just("\"2024-H1\"".to_owned()),
        3 => prop::sample::select(vec![
            "id", "name", "adopted_on", "target", "amount", "currency", "period", "start", "end",
            "recipients", "participants", "counting_stage", "eligible_categories",
            "valuation_preference", "reporting_periods", "share_basis", "indicator", "year",
            "exemptions", "party", "in_denominator", "reason", "framework",
        ]).prop_map(str::to_owned),
        2 => prop::char::range('0', '9').prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..200).prop_map(|ps| ps.concat())
}

/// Mutations that also insert TOML punctuation.
fn toml_mutation() -> impl Strategy<Value = Mutation> {
    let bytes = prop_oneof![
        4 => interesting_bytes(),
        1 => Just(b"[".to_vec()),
        1 => Just(b"]".to_vec()),
        1 => Just(b"=".to_vec()),
        1 => Just(b"{".to_vec()),
        1 => Just(b"#".to_vec()),
        1 => Just(b"'".to_vec()),
        1 => Just(b"N/A".to_vec()),
    ];
    prop_oneof![
        (any::<prop::sample::Index>(), bytes.clone()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
        (any::<prop::sample::Index>(), bytes).prop_map(|(i, b)| Mutation::Replace(i, b)),
    ]
}

#[test]
fn the_seed_files_are_valid() {
    let parsed = parse_contributions(
        "f.csv",
        valid_contributions().as_bytes(),
        CsvOptions::default(),
        &mut |_| {},
    );
    assert_eq!(parsed.errors, ErrorList::default());
    assert_eq!(parsed.rows.len(), 6);
    assert_eq!(
        parsed.rows.iter().map(|r| r.line).collect::<Vec<_>>(),
        [2, 3, 4, 5, 6, 7]
    );
    let shipped = parse_contributions("c.csv", CONTRIBUTIONS, CsvOptions::default(), &mut |_| {});
    assert!(shipped.errors.0.is_empty(), "{}", shipped.errors);
    assert!(parse_parties("p.csv", PARTIES).is_ok());
    assert!(parse_memberships("m.csv", MEMBERSHIPS).is_ok());
    assert!(parse_ecb_rates("r.csv", ECB_HEAD.as_bytes()).is_ok());
    assert!(parse_gdp("g.csv", GDP).is_ok());
    assert!(parse_frameworks("f.toml", FRAMEWORKS).is_ok());
}

#[test]
fn degenerate_inputs_are_located_on_line_one() {
    for bytes in [
        &b""[..],
        b"\xEF\xBB\xBF",
        b"\n\n\n",
        b"\"",
        b",",
        b"\xFF",
        b"a;b;c\n1;2;3\n",
        b"event_id,event_id\n",
        b"[[framework]]\n",
        b"framework = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        b"Date,USD,\n",
        b"iso3,gdp_2023_usd\n",
    ] {
        let parsed = parse_contributions("f.csv", bytes, CsvOptions::default(), &mut |_| {});
        assert!(!parsed.errors.0.is_empty(), "{bytes:?}");
        for e in &parsed.errors.0 {
            assert!(e.location.line >= 1, "{bytes:?}: {e}");
        }
        for result in [
            parse_parties("p.csv", bytes).map(|_| ()),
            parse_memberships("m.csv", bytes).map(|_| ()),
            parse_ecb_rates("r.csv", bytes).map(|_| ()),
            parse_gdp("g.csv", bytes).map(|_| ()),
            parse_frameworks("f.toml", bytes).map(|_| ()),
            parse_tracker("t.csv", bytes).map(|_| ()),
            parse_tracker_release("ri.csv", bytes).map(|_| ()),
            parse_tracker_weapons("w.csv", bytes).map(|_| ()),
        ] {
            if let Err(errors) = result {
                for e in &errors.0 {
                    assert!(e.location.line >= 1, "{bytes:?}: {e}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_contributions(&bytes)?;
        check_registry(&bytes)?;
        check_tables(&bytes)?;
    }

    #[test]
    fn arbitrary_csv_text_after_a_valid_header_never_panics(body in csvish_body()) {
        let text = format!("{}\n{body}", HEADER.join(","));
        check_contributions(text.as_bytes())?;
        check_registry(format!("party,name,kind\n{body}").as_bytes())?;
        check_registry(format!("party,organisation,joined,left\n{body}").as_bytes())?;
        check_tables(format!("Date,USD,JPY,ISK,\n{body}").as_bytes())?;
        check_tables(format!("iso3,name,nato_accession_year,gdp_2023_usd\n{body}").as_bytes())?;
        check_tables(format!("country,iso,year,month,total,financial,humanitarian,military,commitments,to_be_allocated\n{body}").as_bytes())?;
        check_tables(format!("donor,category,number_of_weapons,monetary_value_eur,weapons_list\n{body}").as_bytes())?;
    }

    #[test]
    fn arbitrary_toml_ish_text_never_panics(body in tomlish_body()) {
        check_tables(format!("[[framework]]\n{body}").as_bytes())?;
        check_tables(body.as_bytes())?;
    }

    #[test]
    fn a_mutated_valid_contributions_file_never_panics(
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let bytes = mutate(valid_contributions().into_bytes(), &mutations);
        check_contributions(&bytes)?;
    }
}

/// A valid file laid out with random line endings, blank and whitespace-only lines; returns the
/// text and the physical line each data row starts on.
fn laid_out(leading: usize, rows: &[(bool, usize, bool)], bom: bool) -> (String, Vec<u64>) {
    let valid = valid_contributions();
    let data: Vec<&str> = valid.lines().skip(1).collect();
    let mut text = String::new();
    if bom {
        text.push('\u{feff}');
    }
    let mut line = 1u64;
    for _ in 0..leading {
        text.push('\n');
        line += 1;
    }
    text.push_str(&HEADER.join(","));
    let mut expected = Vec::new();
    for (i, (crlf, blanks, spaces)) in rows.iter().enumerate() {
        let eol = if *crlf { "\r\n" } else { "\n" };
        text.push_str(eol);
        line += 1;
        for _ in 0..*blanks {
            if *spaces {
                text.push_str("   ");
            }
            text.push_str(eol);
            line += 1;
        }
        text.push_str(data[i % data.len()]);
        expected.push(line);
    }
    (text, expected)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn rows_are_located_on_their_physical_lines(
        leading in 0usize..3,
        rows in prop::collection::vec((any::<bool>(), 0usize..3, any::<bool>()), 1..20),
        bom in any::<bool>(),
    ) {
        let (text, expected) = laid_out(leading, &rows, bom);
        let parsed = parse_contributions("f.csv", text.as_bytes(), CsvOptions::default(), &mut |_| {});
        prop_assert!(parsed.errors.0.is_empty(), "{}\n{:?}", parsed.errors, text);
        let lines: Vec<u64> = parsed.rows.iter().map(|r| r.line).collect();
        prop_assert_eq!(lines, expected, "{:?}", text);
        prop_assert_eq!(parsed.rows_read, rows.len() as u64);
    }

    #[test]
    fn the_mutated_scenario_files_never_panic(
        mutations in prop::collection::vec(mutation(), 1..12),
    ) {
        check_contributions(&mutate(CONTRIBUTIONS.to_vec(), &mutations))?;
        check_registry(&mutate(PARTIES.to_vec(), &mutations))?;
        check_registry(&mutate(MEMBERSHIPS.to_vec(), &mutations))?;
    }

    #[test]
    fn the_mutated_tables_and_frameworks_never_panic(
        mutations in prop::collection::vec(toml_mutation(), 1..12),
    ) {
        check_tables(&mutate(ECB_HEAD.as_bytes().to_vec(), &mutations))?;
        check_tables(&mutate(GDP.to_vec(), &mutations))?;
        check_tables(&mutate(FRAMEWORKS.to_vec(), &mutations))?;
    }
}
