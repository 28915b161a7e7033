//! Importers: foreign formats in, domain commands out.
//!
//! Every problem is reported with its location (file, line, column, field) and a reason, and a
//! parser collects all of a file's problems rather than stopping at the first. Parsers never
//! panic on input (property-tested on arbitrary bytes); they do not decide business rules — the
//! domain's `Draft` does — and they never touch the store.

mod contributions;
mod header;
mod location;
mod registry;
mod text;

pub use contributions::{
    ContributionRow, CsvOptions, HEADER, ParsedContributions, parse_contributions,
};
pub use location::{ErrorList, ImportError, Location};
pub use registry::{MembershipRow, PartyRow, parse_memberships, parse_parties};
pub use text::{decode_utf8, parse_date};
