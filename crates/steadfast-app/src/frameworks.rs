//! Adopting frameworks from their data file: each `[[framework]]` becomes one
//! `framework.adopted` event carrying its rules and the share-basis figures of its participants,
//! read from the basis dataset at adoption, so a later revision of the dataset never moves a
//! published fair share; each `[[revision]]` becomes a `framework.revised` event, dated, so the
//! adoption is never edited.

use steadfast_domain::Draft;
use steadfast_domain::framework::{FrameworkAdopted, FrameworkRevised, ShareBasis};
use steadfast_ingest::{BasisTable, ErrorList, FrameworkSpec, ImportError, RevisionSpec};

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
        counting: spec.counting,
    }
}

/// The revision a spec describes.
pub fn revision_from(spec: &RevisionSpec) -> FrameworkRevised {
    FrameworkRevised {
        framework: spec.framework.clone(),
        revision: spec.revision.clone(),
        revised_on: spec.revised_on,
        counting: spec.counting,
        add_eligible_categories: spec.add_eligible_categories.clone(),
        reason: spec.reason.clone(),
    }
}

/// Decides every revision of a file into `draft` (after its frameworks); returns every problem,
/// located at the revision's line. Counts how many were new.
pub(crate) fn decide_revisions(
    draft: &mut Draft<'_>,
    file: &str,
    specs: &[RevisionSpec],
    revised: &mut u64,
) -> ErrorList {
    let mut errors = Vec::new();
    for spec in specs {
        match draft.revise_framework(revision_from(spec)) {
            Ok(new) => *revised += u64::from(new),
            Err(problems) => errors.extend(problems.into_iter().map(|p| {
                ImportError::new(
                    file,
                    spec.line,
                    None,
                    Some(&format!("revision {} of {}", spec.revision, spec.framework)),
                    p.message,
                )
            })),
        }
    }
    ErrorList(errors)
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
                    p.message,
                )
            })),
        }
    }
    ErrorList(errors)
}
