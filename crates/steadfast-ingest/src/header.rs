//! Header checks shared by every CSV importer: the columns a layout needs, each once, with a
//! suggestion for a misspelt name and a clear word about `;`-separated files.

use std::collections::HashMap;

use crate::location::ImportError;

/// Checks a header against the expected columns; returns each expected column's index.
pub(crate) fn check_header(
    file: &str,
    header: &csv::StringRecord,
    expected: &[&'static str],
    ignore_extra: bool,
) -> Result<HashMap<&'static str, usize>, Vec<ImportError>> {
    check_header_with(file, header, expected, &[], ignore_extra)
}

/// [`check_header`] for a layout with `optional` columns too: each may be present once or
/// not at all.
pub(crate) fn check_header_with(
    file: &str,
    header: &csv::StringRecord,
    expected: &[&'static str],
    optional: &[&'static str],
    ignore_extra: bool,
) -> Result<HashMap<&'static str, usize>, Vec<ImportError>> {
    let mut errors = Vec::new();
    let names: Vec<&str> = header.iter().map(str::trim).collect();
    if names.len() == 1 && names[0].contains(';') {
        return Err(vec![ImportError::new(
            file,
            1,
            None,
            None,
            "the file is separated by `;`; Steadfast reads comma-separated files (export as CSV with `,` as the delimiter and `.` as the decimal point)",
        )]);
    }
    let mut columns = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        match expected.iter().chain(optional).find(|e| *e == name) {
            Some(known) => {
                if columns.insert(*known, i + 1).is_some() {
                    errors.push(ImportError::new(
                        file,
                        1,
                        Some(i + 1),
                        Some(name),
                        format!("column `{name}` appears twice"),
                    ));
                }
            }
            None if ignore_extra => {}
            None => {
                let closest = expected
                    .iter()
                    .chain(optional)
                    .filter(|e| !names.contains(e))
                    .map(|e| (strsim::levenshtein(e, name), *e))
                    .min()
                    .filter(|(d, _)| *d <= 3);
                let hint = closest.map_or_else(
                    || " (pass --ignore-extra to skip columns outside the layout)".to_owned(),
                    |(_, e)| format!("; did you mean `{e}`?"),
                );
                errors.push(ImportError::new(
                    file,
                    1,
                    Some(i + 1),
                    Some(name),
                    format!("unexpected column `{name}`{hint}"),
                ));
            }
        }
    }
    let missing: Vec<&str> = expected
        .iter()
        .filter(|e| !columns.contains_key(*e))
        .copied()
        .collect();
    if !missing.is_empty() {
        errors.push(ImportError::new(
            file,
            1,
            None,
            None,
            format!(
                "missing column(s): {}; the header must name: {}",
                missing.join(", "),
                expected.join(",")
            ),
        ));
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}
