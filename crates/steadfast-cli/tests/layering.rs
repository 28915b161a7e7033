//! The CLI is a thin adapter over the application service: it depends on neither the store
//! crates nor the ingest crate, and no source file of it names them. Files are parsed and
//! stores opened behind `steadfast_app::Service`.

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
