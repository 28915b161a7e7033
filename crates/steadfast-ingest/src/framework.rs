//! The frameworks file (`frameworks.toml`): the collective pledges contributions are counted
//! against, one `[[framework]]` table each. `data/frameworks.toml` documents every key.
//!
//! The file is read into toml's spanned document and walked by hand rather than deserialized
//! with serde: serde stops at the first problem, while an importer reports all of them, each at
//! the line and column of the offending value (or key) and named by its path, such as
//! `framework[0].participants[3]`. Unknown keys are refused (with a suggestion for a misspelt
//! one); `exemptions`, `valuation_preference` and `reporting_periods` may be left out (empty),
//! every other key is required. A TOML syntax error stops the reading after every syntax error
//! is reported (one per line: what follows a broken line is mostly noise).

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Range;

use jiff::civil::Date;
use steadfast_domain::{
    Category, Counting, Currency, Exemption, FrameworkId, HalfYear, Money, PartyId, Stage,
    ValuationBasis,
};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::location::{ErrorList, ImportError};
use crate::text::{decode_utf8, parse_date};

/// A framework as the file defines it; no business rule beyond the file's own consistency has
/// been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameworkSpec {
    /// The line of the framework's `[[framework]]` header.
    pub line: u64,
    pub id: FrameworkId,
    pub name: String,
    pub adopted_on: Date,
    pub target: Money,
    pub period_start: Date,
    pub period_end: Date,
    pub recipients: Vec<PartyId>,
    pub participants: Vec<PartyId>,
    pub exemptions: Vec<Exemption>,
    pub eligible_categories: Vec<Category>,
    pub counting_stage: Stage,
    pub share_basis: ShareBasisSpec,
    /// Most preferred first.
    pub valuation_preference: Vec<ValuationBasis>,
    pub reporting_periods: Vec<HalfYear>,
    /// How value at the counting stage is counted (`literal` when left out).
    pub counting: Counting,
}

/// A dated revision of a framework's counting rules, as the file defines it (`[[revision]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionSpec {
    /// The line of the revision's `[[revision]]` header.
    pub line: u64,
    pub framework: FrameworkId,
    /// Its label, unique within the framework.
    pub revision: String,
    pub revised_on: Date,
    pub counting: Option<Counting>,
    pub add_eligible_categories: Vec<Category>,
    pub reason: String,
}

/// Everything a frameworks file defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameworksFile {
    pub frameworks: Vec<FrameworkSpec>,
    pub revisions: Vec<RevisionSpec>,
}

/// What fair shares are proportional to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareBasisSpec {
    /// The indicator; only `gdp-current-usd` is supported.
    pub indicator: String,
    /// The publisher and series, for the record.
    pub source: String,
    /// The file holding the figures (a GDP table, see `parse_gdp`).
    pub dataset: String,
    pub year: i16,
}

/// The share-basis indicators Steadfast can compute with.
const INDICATORS: [&str; 1] = ["gdp-current-usd"];

const REVISION_KEYS: [&str; 6] = [
    "framework",
    "revision",
    "revised_on",
    "counting",
    "add_eligible_categories",
    "reason",
];

const FRAMEWORK_KEYS: [&str; 14] = [
    "counting",
    "id",
    "name",
    "adopted_on",
    "target",
    "period",
    "recipients",
    "participants",
    "exemptions",
    "counting_stage",
    "eligible_categories",
    "valuation_preference",
    "reporting_periods",
    "share_basis",
];

const MAX_TEXT: usize = 2_000;

type Value<'i> = Spanned<DeValue<'i>>;
type Span = Range<usize>;

/// Parses a frameworks file's frameworks, collecting every problem of the file.
pub fn parse_frameworks(file: &str, bytes: &[u8]) -> Result<Vec<FrameworkSpec>, ErrorList> {
    parse_frameworks_file(file, bytes).map(|f| f.frameworks)
}

/// Parses a frameworks file: its frameworks and their dated revisions, collecting every
/// problem.
pub fn parse_frameworks_file(file: &str, bytes: &[u8]) -> Result<FrameworksFile, ErrorList> {
    let text = decode_utf8(file, bytes).map_err(|e| ErrorList(vec![e]))?;
    let mut checker = Checker::new(file, text);
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        let mut lines_reported = Vec::new();
        for e in &syntax_errors {
            let span = e.span().unwrap_or(0..0);
            let (line, _) = checker.position(span.start);
            if !lines_reported.contains(&line) {
                lines_reported.push(line);
                let message = e.message().replace('\n', "; ");
                checker.fail(&span, "", format!("TOML syntax: {message}"));
            }
        }
        return Err(checker.finish());
    }
    let root = Spanned::new(document.span(), DeValue::Table(document.into_inner()));
    let frameworks = checker.frameworks(&root);
    let revisions = checker.revisions(&root, &frameworks);
    if checker.errors.is_empty() {
        Ok(FrameworksFile {
            frameworks,
            revisions,
        })
    } else {
        Err(checker.finish())
    }
}

/// Walks the document, turning spans into lines and columns and collecting errors.
struct Checker<'t> {
    file: &'t str,
    text: &'t str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    errors: Vec<ImportError>,
}

/// A table being read, with where it is and its path.
struct Fields<'a, 'i> {
    table: &'a DeTable<'i>,
    span: Span,
    path: String,
}

impl<'a, 'i> Fields<'a, 'i> {
    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

fn a_or_an(kind: &str) -> String {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {kind}")
    } else {
        format!("a {kind}")
    }
}

impl<'t> Checker<'t> {
    fn new(file: &'t str, text: &'t str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Checker {
            file,
            text,
            line_starts,
            errors: Vec::new(),
        }
    }

    /// The line and column (both from 1, the column in characters) of a byte offset.
    fn position(&self, offset: usize) -> (u64, usize) {
        let offset = offset.min(self.text.len());
        let index = self
            .line_starts
            .partition_point(|start| *start <= offset)
            .saturating_sub(1);
        let start = self.line_starts.get(index).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (index as u64 + 1, column + 1)
    }

    fn fail(&mut self, span: &Span, path: &str, message: impl Into<String>) {
        let (line, column) = self.position(span.start);
        let field = (!path.is_empty()).then_some(path);
        self.errors.push(ImportError::new(
            self.file,
            line,
            Some(column),
            field,
            message,
        ));
    }

    fn finish(&mut self) -> ErrorList {
        let mut errors = ErrorList(std::mem::take(&mut self.errors));
        errors.sort();
        errors
    }

    fn wrong_type(&mut self, value: &Value<'_>, path: &str, expected: &str) {
        let found = a_or_an(value.get_ref().type_str());
        self.fail(
            &value.span(),
            path,
            format!("expected {expected}, found {found}"),
        );
    }

    /// A table whose keys are all among `known`.
    fn table<'a, 'i>(
        &mut self,
        value: &'a Value<'i>,
        path: &str,
        known: &[&str],
    ) -> Option<Fields<'a, 'i>> {
        let Some(table) = value.get_ref().as_table() else {
            self.wrong_type(value, path, "a table");
            return None;
        };
        let fields = Fields {
            table,
            span: value.span(),
            path: path.to_owned(),
        };
        for (key, _) in table.iter() {
            let key_text: &str = key.get_ref();
            if known.contains(&key_text) {
                continue;
            }
            let hint = known
                .iter()
                .map(|k| (strsim::levenshtein(k, key_text), *k))
                .min()
                .filter(|(d, _)| *d <= 3)
                .map_or_else(
                    || format!("; the keys here are: {}", known.join(", ")),
                    |(_, k)| format!("; did you mean `{k}`?"),
                );
            self.fail(
                &key.span(),
                &fields.key_path(key_text),
                format!("unknown key `{key_text}`{hint}"),
            );
        }
        Some(fields)
    }

    /// The value of a key; a missing required key is reported at its table.
    fn get<'a, 'i>(
        &mut self,
        fields: &Fields<'a, 'i>,
        key: &str,
        required: bool,
    ) -> Option<&'a Value<'i>> {
        let found = fields
            .table
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, v)| v);
        if found.is_none() && required {
            self.fail(&fields.span, &fields.key_path(key), "is required");
        }
        found
    }

    fn string<'a>(&mut self, value: &'a Value<'_>, path: &str) -> Option<&'a str> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                self.wrong_type(value, path, "a string in quotes");
                None
            }
        }
    }

    /// Non-empty one-line text, trimmed.
    fn text(&mut self, value: &Value<'_>, path: &str) -> Option<String> {
        let text = self.string(value, path)?.trim();
        let problem = if text.is_empty() {
            Some("is empty".to_owned())
        } else if text.chars().count() > MAX_TEXT {
            Some(format!("is longer than {MAX_TEXT} characters"))
        } else if text.chars().any(char::is_control) {
            Some(
                "contains a control character (a line break or tab?); write it on one line"
                    .to_owned(),
            )
        } else {
            None
        };
        match problem {
            Some(p) => {
                self.fail(&value.span(), path, p);
                None
            }
            None => Some(text.to_owned()),
        }
    }

    /// A TOML local date (`2024-07-10`) or a string holding one (`"2024-07-10"`).
    fn date(&mut self, value: &Value<'_>, path: &str) -> Option<Date> {
        let parsed = match value.get_ref() {
            DeValue::String(s) => parse_date(s),
            DeValue::Datetime(dt) => match (&dt.date, &dt.time, &dt.offset) {
                (Some(date), None, None) => parse_date(&date.to_string()),
                _ => Err(format!(
                    "`{dt}` is not a date alone; write YYYY-MM-DD with no time of day, e.g. 2024-07-10"
                )),
            },
            _ => {
                self.wrong_type(value, path, "a date such as 2024-07-10");
                return None;
            }
        };
        parsed.map_err(|e| self.fail(&value.span(), path, e)).ok()
    }

    fn boolean(&mut self, value: &Value<'_>, path: &str) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(value, path, "true or false");
                None
            }
        }
    }

    fn year(&mut self, value: &Value<'_>, path: &str) -> Option<i16> {
        let DeValue::Integer(n) = value.get_ref() else {
            self.wrong_type(value, path, "a year such as 2023");
            return None;
        };
        let year = i64::from_str_radix(n.as_str(), n.radix())
            .ok()
            .filter(|y| (1900..=2199).contains(y))
            .and_then(|y| i16::try_from(y).ok());
        if year.is_none() {
            self.fail(
                &value.span(),
                path,
                format!("`{}` is not a year between 1900 and 2199", n.as_str()),
            );
        }
        year
    }

    fn array<'a, 'i>(&mut self, value: &'a Value<'i>, path: &str) -> Option<&'a [Value<'i>]> {
        match value.get_ref() {
            DeValue::Array(items) => Some(items),
            _ => {
                self.wrong_type(value, path, "an array `[...]`");
                None
            }
        }
    }

    /// An array of strings each parsed by `parse`, none twice. `None` if any is wrong.
    fn list<T: Clone + Eq + Hash + std::fmt::Display, E: std::fmt::Display>(
        &mut self,
        value: &Value<'_>,
        path: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Option<Vec<(T, Span)>> {
        let items = self.array(value, path)?;
        let mut out = Vec::with_capacity(items.len());
        let mut first: HashMap<T, usize> = HashMap::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let Some(text) = self.string(item, &item_path) else {
                ok = false;
                continue;
            };
            match parse(text) {
                Ok(v) => {
                    if let Some(j) = first.get(&v) {
                        self.fail(
                            &item.span(),
                            &item_path,
                            format!("`{v}` is listed twice: first as {path}[{j}]"),
                        );
                        ok = false;
                    } else {
                        first.insert(v.clone(), i);
                        out.push((v, item.span()));
                    }
                }
                Err(e) => {
                    self.fail(&item.span(), &item_path, e.to_string());
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// A list that must name at least one value.
    fn non_empty_list<T: Clone + Eq + Hash + std::fmt::Display, E: std::fmt::Display>(
        &mut self,
        value: &Value<'_>,
        path: &str,
        what: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Option<Vec<(T, Span)>> {
        let list = self.list(value, path, parse)?;
        if list.is_empty() {
            self.fail(
                &value.span(),
                path,
                format!("is empty: name at least one {what}"),
            );
            return None;
        }
        Some(list)
    }

    fn revisions(&mut self, root: &Value<'_>, frameworks: &[FrameworkSpec]) -> Vec<RevisionSpec> {
        let Some(top) = root.get_ref().as_table() else {
            return Vec::new();
        };
        let Some(list) = top
            .iter()
            .find(|(k, _)| k.get_ref() == "revision")
            .map(|(_, v)| v)
        else {
            return Vec::new();
        };
        if list.get_ref().is_table() {
            self.fail(
                &list.span(),
                "revision",
                "write each revision as an array table, `[[revision]]` (two brackets), not `[revision]`",
            );
            return Vec::new();
        }
        let Some(items) = self.array(list, "revision") else {
            return Vec::new();
        };
        let mut out: Vec<RevisionSpec> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("revision[{i}]");
            let before = self.errors.len();
            let Some(r) = self.table(item, &path, &REVISION_KEYS) else {
                continue;
            };
            let line = self.position(r.span.start).0;
            let framework = self.get(&r, "framework", true).and_then(|v| {
                let p = r.key_path("framework");
                let id = self.string(v, &p).and_then(|s| {
                    FrameworkId::parse(s)
                        .map_err(|e| self.fail(&v.span(), &p, e.to_string()))
                        .ok()
                })?;
                if !frameworks.iter().any(|f| f.id == id) {
                    self.fail(
                        &v.span(),
                        &p,
                        format!(
                            "`{id}` is not a framework of this file; a revision revises one of them"
                        ),
                    );
                    return None;
                }
                Some(id)
            });
            let revision = self
                .get(&r, "revision", true)
                .and_then(|v| self.text(v, &r.key_path("revision")));
            if let (Some(f), Some(label)) = (&framework, &revision)
                && let Some(other) = out
                    .iter()
                    .find(|o| &o.framework == f && &o.revision == label)
            {
                let v = self.get(&r, "revision", true);
                let span = v.map_or(r.span.clone(), |v| v.span());
                self.fail(
                    &span,
                    &r.key_path("revision"),
                    format!("`{label}` already revises {f} (line {})", other.line),
                );
            }
            let revised_on = self
                .get(&r, "revised_on", true)
                .and_then(|v| self.date(v, &r.key_path("revised_on")));
            let counting = match self.get(&r, "counting", false) {
                None => Some(None),
                Some(v) => self.counting(v, &r.key_path("counting")).map(Some),
            };
            let add = match self.get(&r, "add_eligible_categories", false) {
                None => Some(Vec::new()),
                Some(v) => self.list(v, &r.key_path("add_eligible_categories"), Category::parse),
            };
            let reason = self
                .get(&r, "reason", true)
                .and_then(|v| self.text(v, &r.key_path("reason")));
            if let (
                Some(framework),
                Some(revision),
                Some(revised_on),
                Some(counting),
                Some(add),
                Some(reason),
            ) = (framework, revision, revised_on, counting, add, reason)
                && self.errors.len() == before
            {
                out.push(RevisionSpec {
                    line,
                    framework,
                    revision,
                    revised_on,
                    counting,
                    add_eligible_categories: add.into_iter().map(|(c, _)| c).collect(),
                    reason,
                });
            }
        }
        out
    }

    fn counting(&mut self, value: &Value<'_>, path: &str) -> Option<Counting> {
        let text = self.string(value, path)?;
        Counting::parse(text)
            .map_err(|e| self.fail(&value.span(), path, e.to_string()))
            .ok()
    }

    fn frameworks(&mut self, root: &Value<'_>) -> Vec<FrameworkSpec> {
        let Some(top) = self.table(root, "", &["framework", "revision"]) else {
            return Vec::new();
        };
        let none = "the file defines no framework: add a `[[framework]]` table (data/frameworks.toml shows one)";
        let Some(list) = self.get(&top, "framework", false) else {
            if self.errors.is_empty() {
                self.fail(&(0..0), "", none);
            }
            return Vec::new();
        };
        if list.get_ref().is_table() {
            self.fail(
                &list.span(),
                "framework",
                "write each framework as an array table, `[[framework]]` (two brackets), not `[framework]`",
            );
            return Vec::new();
        }
        let Some(items) = self.array(list, "framework") else {
            return Vec::new();
        };
        if items.is_empty() {
            self.fail(&list.span(), "framework", none);
        }
        let mut ids: HashMap<FrameworkId, (String, u64)> = HashMap::new();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("framework[{i}]");
            let before = self.errors.len();
            let spec = self.framework(item, &path, &mut ids);
            if let (Some(spec), true) = (spec, self.errors.len() == before) {
                out.push(spec);
            }
        }
        out
    }

    fn framework(
        &mut self,
        value: &Value<'_>,
        path: &str,
        ids: &mut HashMap<FrameworkId, (String, u64)>,
    ) -> Option<FrameworkSpec> {
        let f = self.table(value, path, &FRAMEWORK_KEYS)?;
        let line = self.position(f.span.start).0;
        let id = self.get(&f, "id", true).and_then(|v| {
            let p = f.key_path("id");
            let id = self.string(v, &p).and_then(|s| {
                FrameworkId::parse(s)
                    .map_err(|e| self.fail(&v.span(), &p, e.to_string()))
                    .ok()
            })?;
            match ids.get(&id) {
                Some((other, other_line)) => {
                    let message =
                        format!("`{id}` is already the id of {other} (line {other_line})");
                    self.fail(&v.span(), &p, message);
                    None
                }
                None => {
                    ids.insert(id.clone(), (path.to_owned(), line));
                    Some(id)
                }
            }
        });
        let name = self
            .get(&f, "name", true)
            .and_then(|v| self.text(v, &f.key_path("name")));
        let adopted_on = self
            .get(&f, "adopted_on", true)
            .and_then(|v| self.date(v, &f.key_path("adopted_on")));
        let target = self
            .get(&f, "target", true)
            .and_then(|v| self.target(v, &f.key_path("target")));
        let period = self
            .get(&f, "period", true)
            .and_then(|v| self.period(v, &f.key_path("period")));
        let recipients = self.get(&f, "recipients", true).and_then(|v| {
            self.non_empty_list(v, &f.key_path("recipients"), "recipient", PartyId::parse)
        });
        let participants = self.get(&f, "participants", true).and_then(|v| {
            self.non_empty_list(
                v,
                &f.key_path("participants"),
                "participant",
                PartyId::parse,
            )
        });
        if let (Some(recipients), Some(participants)) = (&recipients, &participants) {
            for (i, (party, span)) in participants.iter().enumerate() {
                if recipients.iter().any(|(r, _)| r == party) {
                    self.fail(
                        span,
                        &format!("{}[{i}]", f.key_path("participants")),
                        format!(
                            "`{party}` is also a recipient; a party is either a recipient or a participant"
                        ),
                    );
                }
            }
        }
        let exemptions = match self.get(&f, "exemptions", false) {
            None => Some(Vec::new()),
            Some(v) => self.exemptions(v, &f.key_path("exemptions"), participants.as_deref()),
        };
        let counting_stage = self.get(&f, "counting_stage", true).and_then(|v| {
            let p = f.key_path("counting_stage");
            let text = self.string(v, &p)?;
            match Stage::parse(text) {
                Ok(stage) if stage.is_flow() => Some(stage),
                Ok(stage) => {
                    let flow: Vec<&str> = Stage::FLOW.iter().map(|s| s.as_str()).collect();
                    self.fail(
                        &v.span(),
                        &p,
                        format!(
                            "`{stage}` is not a stage contributions can be counted at; expected one of: {}",
                            flow.join(", ")
                        ),
                    );
                    None
                }
                Err(e) => {
                    self.fail(&v.span(), &p, e.to_string());
                    None
                }
            }
        });
        let eligible_categories = self.get(&f, "eligible_categories", true).and_then(|v| {
            self.non_empty_list(
                v,
                &f.key_path("eligible_categories"),
                "category",
                Category::parse,
            )
        });
        let valuation_preference = match self.get(&f, "valuation_preference", false) {
            None => Some(Vec::new()),
            Some(v) => self.list(
                v,
                &f.key_path("valuation_preference"),
                ValuationBasis::parse,
            ),
        };
        let reporting_periods = match self.get(&f, "reporting_periods", false) {
            None => Some(Vec::new()),
            Some(v) => self.list(v, &f.key_path("reporting_periods"), HalfYear::parse),
        };
        if let (Some(periods), Some((start, end))) = (&reporting_periods, period) {
            for (i, (half, span)) in periods.iter().enumerate() {
                if half.first_day() < start || half.last_day() > end {
                    self.fail(
                        span,
                        &format!("{}[{i}]", f.key_path("reporting_periods")),
                        format!(
                            "{half} ({} to {}) is not within the framework's period, {start} to {end}",
                            half.first_day(),
                            half.last_day()
                        ),
                    );
                }
            }
        }
        let share_basis = self
            .get(&f, "share_basis", true)
            .and_then(|v| self.share_basis(v, &f.key_path("share_basis")));
        let counting = match self.get(&f, "counting", false) {
            None => Some(Counting::Literal),
            Some(v) => self.counting(v, &f.key_path("counting")),
        };
        let (period_start, period_end) = period?;
        Some(FrameworkSpec {
            line,
            id: id?,
            name: name?,
            adopted_on: adopted_on?,
            target: target?,
            period_start,
            period_end,
            recipients: recipients?.into_iter().map(|(p, _)| p).collect(),
            participants: participants?.into_iter().map(|(p, _)| p).collect(),
            exemptions: exemptions?,
            eligible_categories: eligible_categories?.into_iter().map(|(c, _)| c).collect(),
            counting_stage: counting_stage?,
            share_basis: share_basis?,
            valuation_preference: valuation_preference?.into_iter().map(|(v, _)| v).collect(),
            reporting_periods: reporting_periods?.into_iter().map(|(h, _)| h).collect(),
            counting: counting?,
        })
    }

    fn target(&mut self, value: &Value<'_>, path: &str) -> Option<Money> {
        let t = self.table(value, path, &["amount", "currency"])?;
        let currency = self.get(&t, "currency", true).and_then(|v| {
            let p = t.key_path("currency");
            let code = self.string(v, &p)?;
            Currency::parse(code)
                .map_err(|e| self.fail(&v.span(), &p, e.to_string()))
                .ok()
        });
        let amount = self.get(&t, "amount", true)?;
        let p = t.key_path("amount");
        let text = match amount.get_ref() {
            DeValue::String(s) => s.as_ref(),
            DeValue::Integer(_) | DeValue::Float(_) => {
                self.fail(
                    &amount.span(),
                    &p,
                    "write the amount as a string, e.g. amount = \"40000000000.00\", so it is read exactly as written (a TOML number may be rounded)",
                );
                return None;
            }
            _ => {
                self.wrong_type(amount, &p, "an amount in quotes, e.g. \"40000000000.00\"");
                return None;
            }
        };
        match Money::parse(text, currency?) {
            Ok(money) if money.is_positive() => Some(money),
            Ok(_) => {
                self.fail(
                    &amount.span(),
                    &p,
                    format!("`{text}` is not a target: a target is above zero"),
                );
                None
            }
            Err(e) => {
                self.fail(&amount.span(), &p, e.to_string());
                None
            }
        }
    }

    fn period(&mut self, value: &Value<'_>, path: &str) -> Option<(Date, Date)> {
        let t = self.table(value, path, &["start", "end"])?;
        let start = self
            .get(&t, "start", true)
            .and_then(|v| self.date(v, &t.key_path("start")));
        let end_value = self.get(&t, "end", true);
        let end = end_value.and_then(|v| self.date(v, &t.key_path("end")));
        let (start, end) = (start?, end?);
        if end < start {
            let span = end_value.map_or(t.span.clone(), Spanned::span);
            self.fail(
                &span,
                &t.key_path("end"),
                format!("the period ends on {end}, before it starts on {start}"),
            );
            return None;
        }
        Some((start, end))
    }

    fn exemptions(
        &mut self,
        value: &Value<'_>,
        path: &str,
        participants: Option<&[(PartyId, Span)]>,
    ) -> Option<Vec<Exemption>> {
        let items = self.array(value, path)?;
        let mut out = Vec::with_capacity(items.len());
        let mut first: HashMap<PartyId, usize> = HashMap::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let before = self.errors.len();
            let Some(e) = self.table(item, &item_path, &["party", "in_denominator", "reason"])
            else {
                ok = false;
                continue;
            };
            let party = self.get(&e, "party", true).and_then(|v| {
                let p = e.key_path("party");
                let party = self.string(v, &p).and_then(|s| {
                    PartyId::parse(s)
                        .map_err(|err| self.fail(&v.span(), &p, err.to_string()))
                        .ok()
                })?;
                if let Some(j) = first.get(&party) {
                    self.fail(
                        &v.span(),
                        &p,
                        format!("`{party}` is already exempted by {path}[{j}]"),
                    );
                    return None;
                }
                first.insert(party.clone(), i);
                let participates = participants
                    .is_none_or(|list| list.iter().any(|(q, _)| *q == party));
                if !participates {
                    self.fail(
                        &v.span(),
                        &p,
                        format!("`{party}` is not among the participants; only a participant can be exempted"),
                    );
                    return None;
                }
                Some(party)
            });
            let in_denominator = self
                .get(&e, "in_denominator", true)
                .and_then(|v| self.boolean(v, &e.key_path("in_denominator")));
            let reason = self
                .get(&e, "reason", true)
                .and_then(|v| self.text(v, &e.key_path("reason")));
            match (party, in_denominator, reason) {
                (Some(party), Some(in_denominator), Some(reason))
                    if self.errors.len() == before =>
                {
                    out.push(Exemption {
                        party,
                        in_denominator,
                        reason,
                    });
                }
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn share_basis(&mut self, value: &Value<'_>, path: &str) -> Option<ShareBasisSpec> {
        let t = self.table(value, path, &["indicator", "source", "dataset", "year"])?;
        let indicator = self.get(&t, "indicator", true).and_then(|v| {
            let p = t.key_path("indicator");
            let text = self.string(v, &p)?;
            if INDICATORS.contains(&text) {
                Some(text.to_owned())
            } else {
                self.fail(
                    &v.span(),
                    &p,
                    format!(
                        "`{text}` is not a supported share basis; the only one supported for now is `gdp-current-usd` (GDP in current US dollars)"
                    ),
                );
                None
            }
        });
        let source = self
            .get(&t, "source", true)
            .and_then(|v| self.text(v, &t.key_path("source")));
        let dataset = self
            .get(&t, "dataset", true)
            .and_then(|v| self.text(v, &t.key_path("dataset")));
        let year = self
            .get(&t, "year", true)
            .and_then(|v| self.year(v, &t.key_path("year")));
        Some(ShareBasisSpec {
            indicator: indicator?,
            source: source?,
            dataset: dataset?,
            year: year?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &[u8] = include_bytes!("../../../data/frameworks.toml");

    /// A valid framework with every key, to break one piece at a time.
    const VALID: &str = r#"# A test framework.
[[framework]]
id = "washington-2024"
name = "Washington Summit pledge"
adopted_on = 2024-07-10
target = { amount = "40000000000.00", currency = "EUR" }
period = { start = 2024-01-01, end = "2024-12-31" }
recipients = ["UKR"]
participants = ["DEU", "FRA", "HUN"]
counting_stage = "committed"
eligible_categories = ["equipment-purchase", "training"]
valuation_preference = ["replacement-cost", "declared"]
reporting_periods = ["2024-H1", "2024-H2"]

[framework.share_basis]
indicator = "gdp-current-usd"
source = "World Bank"
dataset = "gdp-worldbank.csv"
year = 2023

[[framework.exemptions]]
party = "HUN"
in_denominator = false
reason = "Exempted."
"#;

    fn messages(text: &str) -> Vec<String> {
        parse_frameworks("f.toml", text.as_bytes())
            .expect_err("expected errors")
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// `VALID` with one line replaced.
    fn with(line_starting: &str, replacement: &str) -> String {
        let mut found = false;
        let text: Vec<&str> = VALID
            .lines()
            .map(|l| {
                if !found && l.starts_with(line_starting) {
                    found = true;
                    replacement
                } else {
                    l
                }
            })
            .collect();
        assert!(found, "{line_starting}");
        text.join("\n")
    }

    fn party(id: &str) -> PartyId {
        PartyId::parse(id).expect("party")
    }

    #[test]
    fn a_valid_framework_parses() {
        let specs = parse_frameworks("f.toml", VALID.as_bytes()).expect("valid");
        assert_eq!(specs.len(), 1);
        let f = &specs[0];
        assert_eq!(f.line, 2);
        assert_eq!(f.id.as_str(), "washington-2024");
        assert_eq!(f.adopted_on, Date::constant(2024, 7, 10));
        assert_eq!(f.target.to_string(), "40000000000.00 EUR");
        assert_eq!(
            (f.period_start, f.period_end),
            (Date::constant(2024, 1, 1), Date::constant(2024, 12, 31))
        );
        assert_eq!(f.recipients, [party("UKR")]);
        assert_eq!(f.participants, [party("DEU"), party("FRA"), party("HUN")]);
        assert_eq!(
            f.exemptions,
            [Exemption {
                party: party("HUN"),
                in_denominator: false,
                reason: "Exempted.".to_owned()
            }]
        );
        assert_eq!(f.counting_stage, Stage::Committed);
        assert_eq!(
            f.eligible_categories,
            [Category::EquipmentPurchase, Category::Training]
        );
        assert_eq!(
            f.valuation_preference,
            [ValuationBasis::ReplacementCost, ValuationBasis::Declared]
        );
        assert_eq!(
            f.reporting_periods
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["2024-H1", "2024-H2"]
        );
        assert_eq!(f.share_basis.year, 2023);
        assert_eq!(f.share_basis.indicator, "gdp-current-usd");
    }

    #[test]
    fn optional_lists_may_be_left_out_and_frameworks_repeat() {
        let mut text: String = VALID
            .lines()
            .filter(|l| {
                !l.starts_with("valuation_preference") && !l.starts_with("reporting_periods")
            })
            .take_while(|l| !l.starts_with("[[framework.exemptions]]"))
            .map(|l| format!("{l}\n"))
            .collect();
        text.push_str(&text.replace("washington-2024", "hague-2025"));
        let specs = parse_frameworks("f.toml", text.as_bytes()).expect("valid");
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[1].line, 20);
        assert!(specs[0].exemptions.is_empty() && specs[0].reporting_periods.is_empty());
    }

    #[test]
    fn the_shipped_frameworks_file_parses() {
        let specs = parse_frameworks("frameworks.toml", SHIPPED).expect("valid");
        assert_eq!(specs.len(), 1);
        let f = &specs[0];
        assert_eq!(f.id.as_str(), "washington-2024");
        assert_eq!(f.adopted_on, Date::constant(2024, 7, 10));
        assert_eq!(
            f.target,
            Money::parse("40000000000.00", Currency::EUR).expect("money")
        );
        assert_eq!(f.recipients, [party("UKR")]);
        assert_eq!(f.participants.len(), 32);
        assert_eq!(f.exemptions.len(), 1);
        assert_eq!(f.exemptions[0].party, party("HUN"));
        assert!(!f.exemptions[0].in_denominator);
        let eligible: Vec<Category> = Category::ALL
            .iter()
            .copied()
            .filter(|c| c.is_pledge_eligible())
            .collect();
        assert_eq!(f.eligible_categories, eligible);
        assert_eq!(f.counting_stage, Stage::Committed);
        assert_eq!(f.share_basis.dataset, "gdp-worldbank.csv");
        assert_eq!(f.share_basis.year, 2023);
        assert_eq!(f.valuation_preference.len(), 5);
        assert_eq!(f.reporting_periods.len(), 2);
        assert_eq!(f.counting, Counting::Literal, "as adopted");
        let file = parse_frameworks_file("frameworks.toml", SHIPPED).expect("valid");
        assert_eq!(file.revisions.len(), 1);
        let r = &file.revisions[0];
        assert_eq!(r.framework.as_str(), "washington-2024");
        assert_eq!(r.counting, Some(Counting::Reached));
        assert_eq!(r.add_eligible_categories, [Category::MilitaryUnspecified]);
        assert_eq!(r.revised_on, Date::constant(2026, 12, 3));
    }

    #[test]
    fn a_revision_is_dated_and_names_a_framework_of_the_file() {
        let revision = |body: &str| format!("{VALID}\n[[revision]]\n{body}\n");
        let good = revision(
            "framework = \"washington-2024\"\nrevision = \"r1\"\nrevised_on = 2025-01-01\ncounting = \"reached\"\nreason = \"why\"",
        );
        let header = good
            .lines()
            .position(|l| l == "[[revision]]")
            .expect("header") as u64
            + 1;
        let file = parse_frameworks_file("f.toml", good.as_bytes()).expect("valid");
        assert_eq!(file.revisions.len(), 1);
        // A table's line is where its first key is (as for [[framework]]).
        assert!((header..=header + 1).contains(&file.revisions[0].line));
        assert!(file.revisions[0].add_eligible_categories.is_empty());

        let bad = revision(
            "framework = \"other-pledge\"\nrevision = \"r1\"\nrevised_on = \"2025-13-01\"\ncounting = \"most\"\nadd_eligible_categories = [\"weapons\"]\ncolour = \"red\"",
        );
        let got = messages(&bad);
        let framework_line = format!(
            "f.toml:{}:13: revision[0].framework: `other-pledge` is not a framework of this file",
            header + 1
        );
        let counting_line = format!(
            "f.toml:{}:12: revision[0].counting: `most` is not a counting rule",
            header + 4
        );
        for needle in [
            framework_line.as_str(),
            "revision[0].revised_on:",
            counting_line.as_str(),
            "revision[0].add_eligible_categories[0]: `weapons` is not a category",
            "revision[0].colour: unknown key `colour`",
            "revision[0].reason: is required",
        ] {
            assert!(got.iter().any(|m| m.contains(needle)), "{needle}: {got:#?}");
        }

        let twice = format!(
            "{}\n[[revision]]\nframework = \"washington-2024\"\nrevision = \"r1\"\nrevised_on = 2025-02-01\nreason = \"again\"\ncounting = \"literal\"\n",
            good
        );
        let got = messages(&twice);
        assert!(
            got.iter()
                .any(|m| m.contains("`r1` already revises washington-2024 (line")),
            "{got:#?}"
        );
        let single = format!("{VALID}\n[revision]\nframework = \"washington-2024\"\n");
        assert!(
            messages(&single)
                .iter()
                .any(|m| m.contains("`[[revision]]` (two brackets)")),
        );
    }

    #[test]
    fn a_frameworks_counting_rule_is_read_and_checked() {
        let reached = with(
            "counting_stage",
            "counting_stage = \"committed\"\ncounting = \"reached\"",
        );
        let specs = parse_frameworks("f.toml", reached.as_bytes()).expect("valid");
        assert_eq!(specs[0].counting, Counting::Reached);
        let wrong = with(
            "counting_stage",
            "counting_stage = \"committed\"\ncounting = 3",
        );
        assert!(
            messages(&wrong)
                .iter()
                .any(|m| m.contains("framework[0].counting"))
        );
    }

    #[test]
    fn the_shipped_participants_are_natos_members() {
        let memberships =
            crate::parse_memberships("m.csv", include_bytes!("../../../data/memberships.csv"))
                .expect("memberships");
        let mut nato: Vec<PartyId> = memberships
            .into_iter()
            .filter(|m| m.organisation.as_str() == "NATO" && m.left.is_none())
            .map(|m| m.party)
            .collect();
        let specs = parse_frameworks("frameworks.toml", SHIPPED).expect("valid");
        let mut participants = specs[0].participants.clone();
        nato.sort();
        participants.sort();
        assert_eq!(participants, nato);
    }

    #[test]
    fn every_value_error_is_located_and_named() {
        let cases = [
            (
                "id =",
                "id = \"washington 2024\"",
                "f.toml:3:6: framework[0].id: `washington 2024` is not a valid framework id: use 1 to 64 letters, digits, `-`, `_`, `.` or `:`, starting with a letter or digit",
            ),
            (
                "name =",
                "name = \"  \"",
                "f.toml:4:8: framework[0].name: is empty",
            ),
            (
                "adopted_on",
                "adopted_on = 2024-07-10T12:00:00",
                "f.toml:5:14: framework[0].adopted_on: `2024-07-10T12:00:00` is not a date alone; write YYYY-MM-DD with no time of day, e.g. 2024-07-10",
            ),
            (
                "adopted_on",
                "adopted_on = \"10/07/2024\"",
                "f.toml:5:14: framework[0].adopted_on: `10/07/2024` is not a date; write YYYY-MM-DD, e.g. 2024-07-10",
            ),
            (
                "adopted_on",
                "adopted_on = 1899-12-31",
                "f.toml:5:14: framework[0].adopted_on: `1899-12-31` is outside the years Steadfast accepts (1900 to 2199)",
            ),
            (
                "target",
                "target = { amount = \"40000000000.005\", currency = \"EUR\" }",
                "f.toml:6:21: framework[0].target.amount: `40000000000.005` has 3 decimal place(s) but EUR has 2",
            ),
            (
                "target",
                "target = { amount = \"-1\", currency = \"EUR\" }",
                "f.toml:6:21: framework[0].target.amount: `-1` is not a target: a target is above zero",
            ),
            (
                "target",
                "target = { amount = 40000000000.0, currency = \"EUR\" }",
                "f.toml:6:21: framework[0].target.amount: write the amount as a string, e.g. amount = \"40000000000.00\", so it is read exactly as written (a TOML number may be rounded)",
            ),
            (
                "target",
                "target = { amount = \"1\", currency = \"EURO\" }",
                "f.toml:6:37: framework[0].target.currency: `EURO` is not an ISO 4217 currency code (three capital letters, e.g. EUR, USD, JPY)",
            ),
            (
                "period",
                "period = { start = 2024-01-01, end = 2023-12-31 }",
                "f.toml:7:38: framework[0].period.end: the period ends on 2023-12-31, before it starts on 2024-01-01",
            ),
            (
                "recipients",
                "recipients = []",
                "f.toml:8:14: framework[0].recipients: is empty: name at least one recipient",
            ),
            (
                "recipients",
                "recipients = \"UKR\"",
                "f.toml:8:14: framework[0].recipients: expected an array `[...]`, found a string",
            ),
            (
                "participants",
                "participants = [\"DEU\", \"FRA\", \"HUN\", \"DEU\"]",
                "f.toml:9:38: framework[0].participants[3]: `DEU` is listed twice: first as framework[0].participants[0]",
            ),
            (
                "participants",
                "participants = [\"DEU\", \"FRA\", \"HUN\", \"XXX\"]",
                "f.toml:9:38: framework[0].participants[3]: `XXX` is three letters but not an assigned ISO 3166-1 alpha-3 country code",
            ),
            (
                "counting_stage",
                "counting_stage = \"amended\"",
                "f.toml:10:18: framework[0].counting_stage: `amended` is not a stage contributions can be counted at; expected one of: announced, committed, allocated, delivered, confirmed",
            ),
            (
                "eligible_categories",
                "eligible_categories = [\"training\", \"training\"]",
                "f.toml:11:36: framework[0].eligible_categories[1]: `training` is listed twice: first as framework[0].eligible_categories[0]",
            ),
            (
                "valuation_preference",
                "valuation_preference = [\"declared\", \"guess\"]",
                "f.toml:12:37: framework[0].valuation_preference[1]: `guess` is not a valuation basis; expected one of: replacement-cost, book-value, market-price, contract-price, declared",
            ),
            (
                "reporting_periods",
                "reporting_periods = [\"2024-H1\", \"2025-H1\"]",
                "f.toml:13:33: framework[0].reporting_periods[1]: 2025-H1 (2025-01-01 to 2025-06-30) is not within the framework's period, 2024-01-01 to 2024-12-31",
            ),
            (
                "reporting_periods",
                "reporting_periods = [\"2024-H1\", \"2024-H1\"]",
                "f.toml:13:33: framework[0].reporting_periods[1]: `2024-H1` is listed twice: first as framework[0].reporting_periods[0]",
            ),
            (
                "reporting_periods",
                "reporting_periods = [\"2024-h1\"]",
                "f.toml:13:22: framework[0].reporting_periods[0]: `2024-h1` is not a half-year; write it as YYYY-H1 or YYYY-H2, e.g. 2024-H2",
            ),
            (
                "indicator",
                "indicator = \"gni-ppp\"",
                "f.toml:16:13: framework[0].share_basis.indicator: `gni-ppp` is not a supported share basis; the only one supported for now is `gdp-current-usd` (GDP in current US dollars)",
            ),
            (
                "year",
                "year = 23",
                "f.toml:19:8: framework[0].share_basis.year: `23` is not a year between 1900 and 2199",
            ),
            (
                "year",
                "year = \"2023\"",
                "f.toml:19:8: framework[0].share_basis.year: expected a year such as 2023, found a string",
            ),
            (
                "party",
                "party = \"JPN\"",
                "f.toml:22:9: framework[0].exemptions[0].party: `JPN` is not among the participants; only a participant can be exempted",
            ),
            (
                "in_denominator",
                "in_denominator = \"no\"",
                "f.toml:23:18: framework[0].exemptions[0].in_denominator: expected true or false, found a string",
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(line, replacement, expected)| {
                let found = messages(&with(line, replacement));
                (found != [*expected]).then(|| format!("{replacement}\n  found {found:?}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn structural_errors_are_located_and_named() {
        assert_eq!(
            messages(&with("participants", "participents = [\"DEU\"]")),
            [
                "f.toml:2:1: framework[0].participants: is required",
                "f.toml:9:1: framework[0].participents: unknown key `participents`; did you mean `participants`?",
            ]
        );
        assert_eq!(
            messages(&with("recipients", "recipients = [\"UKR\", \"DEU\"]")),
            [
                "f.toml:9:17: framework[0].participants[0]: `DEU` is also a recipient; a party is either a recipient or a participant"
            ]
        );
        assert_eq!(
            messages(&with(
                "target",
                "target = { amount = \"1\", currency = \"EUR\", note = 1 }"
            )),
            [
                "f.toml:6:44: framework[0].target.note: unknown key `note`; the keys here are: amount, currency"
            ]
        );
        let twice = format!("{VALID}\n{}", VALID.replace("# A test framework.\n", ""));
        assert_eq!(
            messages(&twice),
            [
                "f.toml:27:6: framework[1].id: `washington-2024` is already the id of framework[0] (line 2)"
            ]
        );
        let double_exemption = format!(
            "{VALID}\n[[framework.exemptions]]\nparty = \"HUN\"\nin_denominator = true\nreason = \"again\"\n"
        );
        assert_eq!(
            messages(&double_exemption),
            [
                "f.toml:27:9: framework[0].exemptions[1].party: `HUN` is already exempted by framework[0].exemptions[0]"
            ]
        );
    }

    #[test]
    fn files_without_frameworks_and_syntax_errors() {
        let none = "f.toml:1:1: the file defines no framework: add a `[[framework]]` table (data/frameworks.toml shows one)";
        assert_eq!(messages(""), [none]);
        assert_eq!(messages("# nothing\n"), [none]);
        assert_eq!(
            messages("framework = []"),
            [
                "f.toml:1:13: framework: the file defines no framework: add a `[[framework]]` table (data/frameworks.toml shows one)"
            ]
        );
        assert_eq!(
            messages("[framework]\nid = \"a\"\n"),
            [
                "f.toml:1:1: framework: write each framework as an array table, `[[framework]]` (two brackets), not `[framework]`"
            ]
        );
        assert_eq!(
            messages("frameworks = 1\n"),
            ["f.toml:1:1: frameworks: unknown key `frameworks`; did you mean `framework`?"]
        );
        assert_eq!(
            messages("framework = 1"),
            ["f.toml:1:13: framework: expected an array `[...]`, found an integer"]
        );
        assert_eq!(
            messages(&with("name =", "name = \"unclosed")),
            ["f.toml:4:17: TOML syntax: invalid basic string, expected `\"`"]
        );
        let duplicate = messages(&with("name =", "id = \"again\""));
        assert_eq!(duplicate, ["f.toml:4:1: TOML syntax: duplicate key"]);
        let utf16 = parse_frameworks("f.toml", b"\xFF\xFE[\0").expect_err("utf-16");
        assert!(utf16.0[0].message.contains("UTF-16"));
    }
}
