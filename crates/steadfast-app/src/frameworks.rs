//! Adopting frameworks from their data file: each `[[framework]]` becomes one
//! `framework.adopted` event carrying its rules and the share-basis figures of its participants,
//! read from the basis dataset at adoption, so a later revision of the dataset never moves a
//! published fair share.

use steadfast_domain::Draft;
use steadfast_domain::framework::{FrameworkAdopted, ShareBasis};
use steadfast_ingest::{BasisTable, ErrorList, FrameworkSpec, ImportError};

/// The framework a spec describes, with its basis figures taken from `basis`.
pub fn adopted_from(spec: &FrameworkSpec, basis: &BasisTable) -> FrameworkAdopted {
    let year = spec.share_basis.year;
    FrameworkAdopted {
        framework: spec.id.clone(),
        name: spec.name.clone(),
        adopted_on: spec.adopted_on,
        target: spec.target,
        period_start: spec.period_start,
        period_end: spec.period_end,
        recipients: spec.recipients.clone(),
        participants: spec.participants.clone(),
        exemptions: spec.exemptions.clone(),
        eligible_categories: spec.eligible_categories.clone(),
        counting_stage: spec.counting_stage,
        share_basis: ShareBasis {
            indicator: spec.share_basis.indicator.clone(),
            source: spec.share_basis.source.clone(),
            dataset: spec.share_basis.dataset.clone(),
            year,
            values: spec
                .participants
                .iter()
                .filter_map(|p| basis.value(p, year).map(|v| (p.clone(), v)))
                .collect(),
        },
        valuation_preference: spec.valuation_preference.clone(),
        reporting_periods: spec.reporting_periods.clone(),
        counting: steadfast_domain::Counting::Literal,
    }
}

/// Decides the adoption of every framework of a file into `draft`; returns every problem,
/// located at the framework's line. Counts how many were new.
pub(crate) fn decide_frameworks(
    draft: &mut Draft<'_>,
    file: &str,
    specs: &[FrameworkSpec],
    basis: &BasisTable,
    adopted: &mut u64,
) -> ErrorList {
    let mut errors = Vec::new();
    for spec in specs {
        match draft.adopt_framework(adopted_from(spec, basis)) {
            Ok(new) => *adopted += u64::from(new),
            Err(problems) => errors.extend(problems.into_iter().map(|p| {
                ImportError::new(
                    file,
                    spec.line,
                    None,
                    Some(&format!("framework {}", spec.id)),
                    p,
                )
            })),
        }
    }
    ErrorList(errors)
}
