//! The frameworks and datasets a ledger holds, as front ends list and show them. Both are
//! public by nature (a collective pledge's rules; where figures come from), so every caller
//! sees them.

use serde::Serialize;
use steadfast_domain::dataset::DatasetReleaseRecorded;
use steadfast_domain::framework::{AdoptedFramework, FrameworkAdopted, FrameworkRevised};
use steadfast_domain::{DatasetId, DatasetState, FrameworkId};

use super::{Identity, Service, ServiceError};
use crate::progress::Progress;
use crate::queries::LogHead;
use crate::storage::Access;

/// A framework: its rules as they stand (the adoption with every revision applied) and the
/// revisions that made them so, in log order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameworkView {
    pub rules: FrameworkAdopted,
    pub revisions: Vec<FrameworkRevised>,
}

impl From<&AdoptedFramework> for FrameworkView {
    fn from(f: &AdoptedFramework) -> Self {
        FrameworkView {
            rules: f.rules_known_on(None),
            revisions: f.revisions.iter().map(|(_, r)| r.clone()).collect(),
        }
    }
}

/// A dataset and its releases, in log order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetView {
    pub dataset: DatasetId,
    pub releases: Vec<DatasetReleaseRecorded>,
}

impl From<&DatasetState> for DatasetView {
    fn from(d: &DatasetState) -> Self {
        DatasetView {
            dataset: d.id.clone(),
            releases: d.releases.iter().map(|(_, r)| r.clone()).collect(),
        }
    }
}

/// Records of one kind, with the log head they were read at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed<T> {
    pub log_head: LogHead,
    pub rows: Vec<T>,
}

/// One record, with the log head it was read at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shown<T> {
    pub log_head: LogHead,
    #[serde(flatten)]
    pub record: T,
}

impl Service {
    /// Every framework adopted, in id order.
    pub fn frameworks(
        &mut self,
        _who: &Identity,
        progress: &Progress,
    ) -> Result<Listed<FrameworkView>, ServiceError> {
        let app = self.ledger(Access::Read, progress)?;
        Ok(Listed {
            log_head: LogHead::of(app.head()),
            rows: app.ledger().frameworks().map(FrameworkView::from).collect(),
        })
    }

    /// One framework, or `NotFound`.
    pub fn framework(
        &mut self,
        _who: &Identity,
        id: &FrameworkId,
        progress: &Progress,
    ) -> Result<Shown<FrameworkView>, ServiceError> {
        let app = self.ledger(Access::Read, progress)?;
        let framework = app
            .ledger()
            .framework(id)
            .ok_or_else(|| ServiceError::not_found(format!("no framework {id} is adopted")))?;
        Ok(Shown {
            log_head: LogHead::of(app.head()),
            record: framework.into(),
        })
    }

    /// Every dataset with a recorded release, in id order.
    pub fn datasets(
        &mut self,
        _who: &Identity,
        progress: &Progress,
    ) -> Result<Listed<DatasetView>, ServiceError> {
        let app = self.ledger(Access::Read, progress)?;
        Ok(Listed {
            log_head: LogHead::of(app.head()),
            rows: app.ledger().datasets().map(DatasetView::from).collect(),
        })
    }

    /// One dataset, or `NotFound`.
    pub fn dataset(
        &mut self,
        _who: &Identity,
        id: &DatasetId,
        progress: &Progress,
    ) -> Result<Shown<DatasetView>, ServiceError> {
        let app = self.ledger(Access::Read, progress)?;
        let dataset = app.ledger().dataset(id).ok_or_else(|| {
            ServiceError::not_found(format!("no release of dataset {id} is recorded"))
        })?;
        Ok(Shown {
            log_head: LogHead::of(app.head()),
            record: dataset.into(),
        })
    }
}
