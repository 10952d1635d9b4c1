//! Bounds on every AWS request, from the config's `requests:` section.
//!
//! A request that is accepted and never answered must end in a retry, and a stall
//! that persists must end the run, never hang it. The SDK enforces four limits:
//! connect, read (the connector's wait for an answer), one attempt, and the whole
//! operation over all its attempts. An attempt that sends a body gets more time per
//! MiB, so only the requests that carry bytes wait longer.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

use crate::scan::MULTIPART_THRESHOLD;

/// The SDK's standard retry waits at most this long between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(20);

const MIB: u64 = 1024 * 1024;

/// The limits of one request, derived from the config (whole seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    connect_timeout: u64,
    attempt_timeout: u64,
    timeout_per_mib: u64,
    max_attempts: u32,
}

impl Bounds {
    /// Connect and base attempt timeouts, the allowance per MiB sent, and attempts.
    pub fn new(connect: u64, attempt: u64, per_mib: u64, max_attempts: u32) -> Self {
        Self {
            connect_timeout: connect,
            attempt_timeout: attempt,
            timeout_per_mib: per_mib,
            max_attempts,
        }
    }

    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    pub fn connect(&self) -> Duration {
        Duration::from_secs(self.connect_timeout)
    }

    /// One attempt that sends `body` bytes.
    pub fn attempt(&self, body: u64) -> Duration {
        let mibs = body.div_ceil(MIB);
        Duration::from_secs(
            self.attempt_timeout
                .saturating_add(self.timeout_per_mib.saturating_mul(mibs)),
        )
    }

    /// Every attempt of a request that sends `body` bytes, and the waits between
    /// them: the longest such a request can take before the run gives up on it.
    pub fn operation(&self, body: u64) -> Duration {
        let attempts = self.max_attempts;
        self.attempt(body)
            .saturating_mul(attempts)
            .saturating_add(MAX_BACKOFF.saturating_mul(attempts.saturating_sub(1)))
    }

    /// The retry policy every client shares.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_max_backoff(MAX_BACKOFF)
    }

    /// The clients' timeouts: those of a request without a body. The connector's
    /// read timeout covers sending the body too, so it is set to the attempt bound
    /// of the largest single request mfe-deploy sends; the attempt bound of each
    /// request is the tighter one.
    pub fn client_timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect())
            .read_timeout(self.attempt(MULTIPART_THRESHOLD))
            .operation_attempt_timeout(self.attempt(0))
            .operation_timeout(self.operation(0))
            .build()
    }

    /// The per-request override for a request that sends `body` bytes (connect and
    /// read stay the clients', so the connection pool is shared).
    pub fn for_body(&self, body: u64) -> TimeoutConfig {
        TimeoutConfig::builder()
            .operation_attempt_timeout(self.attempt(body))
            .operation_timeout(self.operation(body))
            .build()
    }

    /// How long to wait between two attempts of a request the SDK does not retry
    /// itself (attempt numbered from 1): exponential, capped like the SDK's.
    pub fn backoff(&self, attempt: u32) -> Duration {
        Duration::from_millis(250u64.saturating_mul(1 << attempt.min(10))).min(MAX_BACKOFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> Bounds {
        Bounds::new(5, 30, 8, 5)
    }

    #[test]
    fn huge_bounds_saturate_instead_of_overflowing() {
        let huge = Bounds::new(u64::MAX, u64::MAX, u64::MAX, u32::MAX);
        assert_eq!(huge.operation(u64::MAX), Duration::MAX);
    }

    #[test]
    fn attempts_without_a_body_get_the_base_bound() {
        assert_eq!(bounds().attempt(0), Duration::from_secs(30));
    }

    #[test]
    fn every_started_mib_of_body_adds_its_allowance() {
        assert_eq!(bounds().attempt(1), Duration::from_secs(38));
        assert_eq!(bounds().attempt(MIB), Duration::from_secs(38));
        assert_eq!(bounds().attempt(MIB + 1), Duration::from_secs(46));
        assert_eq!(bounds().attempt(16 * MIB), Duration::from_secs(30 + 128));
    }

    #[test]
    fn the_operation_bound_is_every_attempt_and_every_wait_between_them() {
        // 5 attempts of 30 s and 4 waits of at most 20 s.
        assert_eq!(bounds().operation(0), Duration::from_secs(230));
        let once = Bounds::new(5, 30, 8, 1);
        assert_eq!(once.operation(0), Duration::from_secs(30));
    }

    #[test]
    fn client_timeouts_carry_all_four_limits() {
        let t = bounds().client_timeouts();
        assert_eq!(t.connect_timeout(), Some(Duration::from_secs(5)));
        assert_eq!(
            t.read_timeout(),
            Some(bounds().attempt(MULTIPART_THRESHOLD))
        );
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(30)));
        assert_eq!(t.operation_timeout(), Some(Duration::from_secs(230)));
    }

    #[test]
    fn body_overrides_leave_connect_and_read_to_the_client() {
        let t = bounds().for_body(8 * MIB);
        assert_eq!(t.connect_timeout(), None);
        assert_eq!(t.read_timeout(), None);
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_secs(94)));
    }

    #[test]
    fn own_backoff_grows_and_is_capped() {
        assert!(bounds().backoff(1) < bounds().backoff(2));
        assert_eq!(bounds().backoff(30), MAX_BACKOFF);
    }
}
