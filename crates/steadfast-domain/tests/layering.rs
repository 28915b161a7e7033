//! The layers of ARCHITECTURE.md, enforced: each crate's normal dependencies stay within what
//! its layer may know. A new dependency that breaks a layer fails here, not in review.

use std::path::Path;

/// The `[dependencies]` keys of a crate manifest (dev-dependencies are free).
fn dependencies(krate: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&path).expect("manifest");
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.']).next().unwrap_or("").trim();
            out.push(name.to_owned());
        }
    }
    out
}

fn assert_only(krate: &str, allowed: &[&str]) {
    for dep in dependencies(krate) {
        assert!(
            allowed.contains(&dep.as_str()),
            "{krate} must not depend on `{dep}` (allowed: {allowed:?}); see ARCHITECTURE.md"
        );
    }
}

#[test]
fn the_domain_has_no_io_async_sql_or_http_dependency() {
    assert_only(
        "steadfast-domain",
        &["compact_str", "jiff", "rust_decimal", "serde", "thiserror"],
    );
}

#[test]
fn the_stores_do_not_know_the_domain() {
    assert_only("steadfast-store", &["hex", "jiff", "sha2", "thiserror"]);
    assert_only(
        "steadfast-store-sqlite",
        &["jiff", "rusqlite", "steadfast-store"],
    );
}

#[test]
fn ingest_does_not_know_the_store() {
    assert_only(
        "steadfast-ingest",
        &[
            "csv",
            "jiff",
            "rust_decimal",
            "steadfast-domain",
            "strsim",
            "toml",
        ],
    );
}

#[test]
fn the_application_layer_has_no_terminal_or_http_dependency() {
    for dep in dependencies("steadfast-app") {
        for forbidden in [
            "clap",
            "indicatif",
            "comfy-table",
            "axum",
            "hyper",
            "tokio",
            "rusqlite",
        ] {
            assert_ne!(
                dep, forbidden,
                "steadfast-app must not depend on {forbidden}"
            );
        }
    }
}
