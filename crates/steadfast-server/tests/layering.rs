//! The server is a front end like the CLI: it reaches the ledger through the application
//! service only, never the stores or the parsers.

#[test]
fn the_server_depends_on_neither_the_stores_nor_the_parsers() {
    let manifest = include_str!("../Cargo.toml");
    for forbidden in [
        "steadfast-store",
        "steadfast-store-sqlite",
        "steadfast-ingest",
    ] {
        assert!(
            !manifest
                .lines()
                .any(|l| l.trim_start().starts_with(forbidden)
                    && l.trim_start()[forbidden.len()..]
                        .trim_start()
                        .starts_with(['.', '='])),
            "the server's manifest names {forbidden}"
        );
    }
    let sources = [
        include_str!("../src/lib.rs"),
        include_str!("../src/routes.rs"),
        include_str!("../src/params.rs"),
        include_str!("../src/problem.rs"),
        include_str!("../src/settings.rs"),
    ];
    for source in sources {
        for forbidden in ["steadfast_store", "steadfast_ingest"] {
            assert!(
                !source.contains(forbidden),
                "a server source names {forbidden}"
            );
        }
    }
}
