//! A scriptable CDN for unit tests: answers with queued errors first, records calls.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::{Cdn, CdnError, DistributionInfo, InvalidationInfo};

#[derive(Debug, Default)]
pub struct FakeCdn {
    pub distribution: DistributionInfo,
    /// Errors `create_invalidation` returns, in order, before succeeding.
    pub create_errors: Mutex<VecDeque<CdnError>>,
    /// Statuses `invalidation_status` returns, in order; the last one repeats.
    pub statuses: Mutex<VecDeque<String>>,
    pub created: Mutex<Vec<(String, Vec<String>)>>,
    pub polls: Mutex<usize>,
}

impl Cdn for FakeCdn {
    async fn distribution(&self, _id: &str) -> Result<DistributionInfo, CdnError> {
        Ok(self.distribution.clone())
    }

    async fn create_invalidation(
        &self,
        _id: &str,
        caller_reference: &str,
        paths: &[String],
    ) -> Result<InvalidationInfo, CdnError> {
        if let Some(e) = self
            .create_errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
        {
            return Err(e);
        }
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        created.push((caller_reference.to_owned(), paths.to_vec()));
        Ok(InvalidationInfo {
            id: format!("I{}", created.len()),
            status: "InProgress".to_owned(),
        })
    }

    async fn invalidation_status(
        &self,
        _id: &str,
        _invalidation_id: &str,
    ) -> Result<String, CdnError> {
        *self.polls.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let mut statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        Ok(if statuses.len() > 1 {
            statuses.pop_front().unwrap_or_default()
        } else {
            statuses
                .front()
                .cloned()
                .unwrap_or_else(|| "Completed".to_owned())
        })
    }
}
