//! A route's query parameters: only those it lists, each parsed with its name in the error.

use crate::problem::ProblemDetails;

/// The parameters of one request, checked against the names a route takes.
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a query string, refusing a parameter `allowed` does not list (a misspelt
    /// filter must not silently widen an answer).
    pub fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Params, ProblemDetails> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|e| ProblemDetails::invalid_field("query", e.to_string()))?;
        if let Some((name, _)) = pairs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            return Err(ProblemDetails::invalid_field(
                name,
                format!(
                    "`{name}` is not a parameter here; the parameters are {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Params { pairs })
    }

    /// The one value of `name`, parsed; refused if given twice.
    pub fn one<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ProblemDetails> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == name);
        let Some((_, value)) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(ProblemDetails::invalid_field(
                name,
                format!("`{name}` is given more than once"),
            ));
        }
        parse(value)
            .map(Some)
            .map_err(|e| ProblemDetails::invalid_field(name, format!("`{value}`: {e}")))
    }

    /// Every value of `name`, in order, parsed.
    pub fn all<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Vec<T>, ProblemDetails> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, value)| {
                parse(value)
                    .map_err(|e| ProblemDetails::invalid_field(name, format!("`{value}`: {e}")))
            })
            .collect()
    }
}

/// A parse function for a type whose `parse` gives no reason, with the values it takes.
pub fn one_of<T>(
    parse: impl Fn(&str) -> Option<T>,
    choices: &'static str,
) -> impl Fn(&str) -> Result<T, String> {
    move |text| parse(text).ok_or_else(|| format!("is not one of {choices}"))
}
