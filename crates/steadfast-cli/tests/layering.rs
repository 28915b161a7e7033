//! The CLI is a thin adapter over the application service: it depends on neither the store
//! crates nor the ingest crate, and no source file of it names them. Files are parsed and
//! stores opened behind `steadfast_app::Service`, and every question goes to it: of the
//! application crate the CLI names only what `steadfast_app` re-exports from its `service`
//! module (the service, its commands, queries, results and errors), the handles it passes in
//! (`Database`, `Cancel`, `Progress`, `Phase`) and the `views` module (what it prints) — never
//! the ledger itself, the modules that compute reports and queries, or the scenario.

use std::path::Path;

const BELOW_THE_SERVICE: [&str; 3] = [
    "steadfast-store",
    "steadfast-store-sqlite",
    "steadfast-ingest",
];

/// The dependency keys of one table (`[dependencies]`, `[dev-dependencies]`) of the manifest.
fn dependencies(table: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).expect("manifest");
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == table;
            continue;
        }
        if inside && !line.is_empty() && !line.starts_with('#') {
            out.push(
                line.split(['=', '.'])
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_owned(),
            );
        }
    }
    out
}

#[test]
fn the_cli_depends_on_neither_the_stores_nor_the_parsers() {
    let deps = dependencies("[dependencies]");
    assert!(deps.contains(&"steadfast-app".to_owned()), "{deps:?}");
    for below in BELOW_THE_SERVICE {
        assert!(
            !deps.iter().any(|d| d == below),
            "steadfast-cli must not depend on {below}: go through steadfast_app::Service"
        );
    }
}

#[test]
fn no_source_file_of_the_cli_names_the_stores_or_the_parsers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = 0;
    for entry in std::fs::read_dir(&src).expect("src") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            files += 1;
            let text = std::fs::read_to_string(&path).expect("source");
            for below in BELOW_THE_SERVICE {
                let krate = below.replace('-', "_");
                assert!(
                    !text.contains(&format!("{krate}::")),
                    "{} names {krate}",
                    path.display()
                );
            }
        }
    }
    assert!(files > 0, "no sources read in {}", src.display());
}

/// Everything the CLI's sources hold outside comments, string literals and character literals
/// (each replaced by a space), so only code is checked.
fn code_of(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == 'r'
            && (next == Some('#') || next == Some('"'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            let closing: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let rest: String = chars[j..].iter().collect();
            let end = rest
                .find(&closing)
                .map_or(rest.len(), |e| e + closing.len());
            i = j + rest[..end].chars().count();
            out.push(' ');
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n'); a lifetime stays code.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Identifiers and `::`, `{`, `}`, `,` of some code, in order.
fn tokens(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".to_owned());
            i += 2;
        } else {
            if matches!(c, '{' | '}' | ',') {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    out
}

/// The first segment of every path that starts with `steadfast_app::`, through `use` groups:
/// `steadfast_app::{Service, views::{A, B}}` names `Service` and `views`.
fn app_names(tokens: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if t != "steadfast_app" || tokens.get(i + 1).map(String::as_str) != Some("::") {
            continue;
        }
        match tokens.get(i + 2).map(String::as_str) {
            Some("{") => {
                // Each item at the group's top level: its first token.
                let mut depth = 0;
                let mut at_item = true;
                for t in &tokens[i + 2..] {
                    match t.as_str() {
                        "{" => {
                            depth += 1;
                            if depth > 1 {
                                at_item = false;
                            }
                        }
                        "}" => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        "," if depth == 1 => at_item = true,
                        name if at_item && depth == 1 && name != "::" => {
                            names.push(name.to_owned());
                            at_item = false;
                        }
                        _ => {}
                    }
                }
            }
            Some(name) => names.push(name.to_owned()),
            None => {}
        }
    }
    names
}

/// What `steadfast_app` re-exports from its `service` module (`pub use service::{...};` in
/// its lib.rs).
fn service_exports() -> Vec<String> {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../steadfast-app/src/lib.rs");
    let text = std::fs::read_to_string(&lib).expect("steadfast-app's lib.rs");
    let code = code_of(&text);
    let start = code
        .find("pub use service::{")
        .expect("lib.rs re-exports the service");
    let group = &code[start..];
    let group = &group[..group.find('}').expect("the group ends")];
    tokens(group)
        .into_iter()
        .skip_while(|t| t != "{")
        .filter(|t| !matches!(t.as_str(), "{" | "," | "::"))
        .collect()
}

/// The CLI's sources: (path, code without comments and literals).
fn cli_sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&src).expect("src") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("source");
            out.push((path.display().to_string(), code_of(&text)));
        }
    }
    assert!(!out.is_empty(), "no sources read in {}", src.display());
    out
}

/// The handles a front end builds and passes to the service, besides its commands.
const HANDLES: [&str; 4] = ["Database", "Cancel", "Progress", "Phase"];

/// Names that mean going around the service: the ledger and its projection, the app's error
/// below the service's, and the domain's report functions.
const AROUND_THE_SERVICE: [&str; 8] = [
    "Steadfast",
    "AppError",
    "Ledger",
    "Draft",
    "fair_share_report",
    "gaps_report",
    "anomalies_report",
    "reconcile_report",
];

#[test]
fn the_cli_names_only_the_service_its_handles_and_the_views_of_the_app() {
    let exports = service_exports();
    assert!(
        ["Service", "ServiceError", "FairShareQuery", "parse_date"]
            .iter()
            .all(|name| exports.iter().any(|e| e == name)),
        "{exports:?}"
    );
    for (path, code) in cli_sources() {
        for name in app_names(&tokens(&code)) {
            assert!(
                name == "views" || HANDLES.contains(&name.as_str()) || exports.contains(&name),
                "{path} names steadfast_app::{name}: ask steadfast_app::Service (and print \
                 steadfast_app::views)"
            );
        }
    }
}

#[test]
fn the_cli_names_neither_the_ledger_nor_the_report_functions() {
    for (path, code) in cli_sources() {
        let tokens = tokens(&code);
        for name in AROUND_THE_SERVICE {
            assert!(
                !tokens.iter().any(|t| t == name),
                "{path} names {name}: go through steadfast_app::Service"
            );
        }
    }
}

#[test]
fn the_checks_see_names_in_use_groups_and_not_in_comments_or_strings() {
    let code = code_of(
        "use steadfast_app::{Service, views::{A, B}, reports::{self, gaps}};\n\
         // steadfast_app::queries::list in a comment\n\
         let s = \"Steadfast in a string\"; let c = '\"'; fn f<'a>(x: &'a Steadfast) {}\n\
         steadfast_app::scenario::load(&mut app);",
    );
    let tokens = tokens(&code);
    assert_eq!(
        app_names(&tokens),
        ["Service", "views", "reports", "scenario"]
    );
    assert_eq!(
        tokens.iter().filter(|t| *t == "Steadfast").count(),
        1,
        "{code}"
    );
}
