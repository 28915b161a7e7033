//! Importers: foreign formats in, domain commands out.
//!
//! The formats: the contributions CSV (`parse_contributions`), the scenario's registry files
//! (`parse_parties`, `parse_memberships`), the ECB euro reference-rate history as published
//! (`parse_ecb_rates`), the GDP share-basis table (`parse_gdp`), the frameworks file in TOML
//! (`parse_frameworks`), and the Kiel Institute's Ukraine Support Tracker files as published
//! (`parse_tracker`, `parse_tracker_release`, `parse_tracker_weapons`).
//!
//! Every problem is reported with its location (file, line, column, field) and a reason, and a
//! parser collects all of a file's problems rather than stopping at the first. Parsers never
//! panic on input (property-tested on arbitrary bytes); they do not decide business rules — the
//! domain's `Draft` does — and they never touch the store.

mod basis;
mod contributions;
mod csv_rows;
mod ecb;
mod framework;
mod header;
mod location;
mod registry;
mod text;
mod tracker;

pub use basis::{BasisRow, BasisTable, parse_gdp};
pub use contributions::{
    ContributionRow, CsvOptions, HEADER, ParsedContributions, parse_contributions,
};
pub use ecb::{EcbFixingRow, EcbRates, parse_ecb_rates};
pub use framework::{
    FrameworkSpec, FrameworksFile, RevisionSpec, ShareBasisSpec, parse_frameworks,
    parse_frameworks_file,
};
pub use location::{ErrorList, ImportError, Location};
pub use registry::{MembershipRow, PartyRow, parse_memberships, parse_parties};
pub use text::{decode_utf8, parse_date};
pub use tracker::{
    TrackerFile, TrackerRelease, TrackerRow, WeaponsRow, parse_tracker, parse_tracker_release,
    parse_tracker_weapons,
};
