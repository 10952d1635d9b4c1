//! The time and the randomness records are stamped with: UTC from the system clock,
//! written and read as RFC 3339 by the SDK's `DateTime`, and random ids from
//! `fastrand`. NOTE: `fastrand` is not cryptographic, and nothing here is a secret: a
//! nonce only has to differ between runs writing in the same millisecond (the store
//! refuses a clash, and the writer retries), and a heredoc delimiter is checked
//! against the value it fences.

use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

/// The first and last millisecond RFC 3339 can write (years 1 to 9999).
const FIRST_MILLIS: i64 = -62_135_596_800_000;
const LAST_MILLIS: i64 = 253_402_300_799_999;

/// A moment in UTC, to the millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Utc {
    /// Milliseconds since the Unix epoch.
    pub millis: i64,
}

impl Utc {
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    pub fn from_millis(millis: i64) -> Self {
        Self { millis }
    }

    /// `2026-12-02T01:08:11.123Z` (RFC 3339), always with three digits of
    /// milliseconds so that times sort as text; a moment outside the years 1 to 9999
    /// is written as the nearest one inside.
    pub fn rfc3339(self) -> String {
        let millis = self.millis.clamp(FIRST_MILLIS, LAST_MILLIS);
        // `DateTime` writes no fraction for a whole second and trims trailing zeros:
        // it writes the second, the milliseconds are added at a fixed width.
        let second = DateTime::from_secs(millis.div_euclid(1_000));
        let Ok(text) = second.fmt(Format::DateTime) else {
            unreachable!("a second of the years 1 to 9999 is written")
        };
        let ms = millis.rem_euclid(1_000);
        format!("{}.{ms:03}Z", text.trim_end_matches('Z'))
    }

    /// `20261202T010811.123Z`: sorts like the time, fits in a key.
    pub fn compact(self) -> String {
        // NOTE: `DateTime` writes no compact form; this is its RFC 3339 without the
        // separators, which parse_compact puts back.
        self.rfc3339().replace(['-', ':'], "")
    }

    /// Parses what [`Utc::compact`] writes.
    pub fn parse_compact(text: &str) -> Option<Self> {
        let digits = |r: std::ops::Range<usize>| text.get(r);
        let rfc = format!(
            "{}-{}-{}T{}:{}:{}{}",
            digits(0..4)?,
            digits(4..6)?,
            digits(6..8)?,
            digits(9..11)?,
            digits(11..13)?,
            digits(13..15)?,
            text.get(15..)?
        );
        (text.get(8..9)? == "T").then_some(())?;
        Self::parse_rfc3339(&rfc)
    }

    /// Parses an RFC 3339 time in UTC (`Z`), such as [`Utc::rfc3339`] writes, to
    /// the millisecond.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let time = DateTime::from_str(text, Format::DateTime).ok()?;
        time.to_millis().ok().map(Self::from_millis)
    }
}

impl From<SystemTime> for Utc {
    fn from(time: SystemTime) -> Self {
        let time = DateTime::from(time);
        let beyond = if time.secs() < 0 { i64::MIN } else { i64::MAX };
        Self::from_millis(time.to_millis().unwrap_or(beyond))
    }
}

impl std::ops::Sub for Utc {
    type Output = Duration;

    /// How long after `earlier` this is (zero if it is not after).
    fn sub(self, earlier: Self) -> Duration {
        Duration::from_millis(u64::try_from(self.millis - earlier.millis).unwrap_or(0))
    }
}

/// A random wait before attempt `attempt` + 1 of a write that lost a race: up to
/// 50 ms × 2^attempt (at most 3.2 s), so racing writers spread out.
pub fn jitter(attempt: u32) -> Duration {
    Duration::from_millis(fastrand::u64(..50u64 << attempt.min(6)))
}

/// 32 random hex digits.
pub fn random_hex() -> String {
    format!("{:032x}", fastrand::u128(..))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn formats_known_moments() {
        let t = Utc::from_millis(1_764_637_691_123); // 2025-12-02T01:08:11.123Z
        assert_eq!(t.rfc3339(), "2025-12-02T01:08:11.123Z");
        assert_eq!(t.compact(), "20251202T010811.123Z");
        assert_eq!(Utc::from_millis(0).rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Utc::from_millis(951_782_400_000).rfc3339(),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn parses_what_it_writes() {
        for millis in [0, 951_782_400_000, 1_764_637_691_123, 4_102_444_799_999] {
            let t = Utc::from_millis(millis);
            assert_eq!(Utc::parse_rfc3339(&t.rfc3339()), Some(t));
        }
        assert_eq!(
            Utc::parse_rfc3339("2025-12-02T01:08:11Z"),
            Some(Utc::from_millis(1_764_637_691_000))
        );
        assert_eq!(Utc::parse_rfc3339("yesterday"), None);
        assert_eq!(Utc::parse_rfc3339("2025-+2-02T01:08:11Z"), None);
        assert_eq!(Utc::parse_rfc3339("2025-12-02T01:08:-1Z"), None);
        assert_eq!(Utc::parse_rfc3339("2025-12-02T01:08:11.+1Z"), None);
        assert_eq!(Utc::parse_compact("20251202T0108-1Z"), None);
    }

    #[test]
    fn compact_times_parse_back() {
        let t = Utc::from_millis(1_764_637_691_123);
        assert_eq!(Utc::parse_compact(&t.compact()), Some(t));
        assert_eq!(Utc::parse_compact("2025"), None);
    }

    #[test]
    fn compact_times_sort_like_the_times() {
        let a = Utc::from_millis(1_764_637_691_999).compact();
        let b = Utc::from_millis(1_764_637_692_000).compact();
        assert!(a < b, "{a} {b}");
    }

    #[test]
    fn times_beyond_the_years_rfc_3339_writes_are_written_at_its_edge() {
        assert_eq!(
            Utc::from_millis(FIRST_MILLIS).rfc3339(),
            "0001-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Utc::from_millis(LAST_MILLIS).rfc3339(),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(
            Utc::from_millis(i64::MIN).rfc3339(),
            "0001-01-01T00:00:00.000Z"
        );
        assert_eq!(Utc::from_millis(i64::MAX).compact(), "99991231T235959.999Z");
    }

    #[test]
    fn system_times_before_the_epoch_count_back() {
        let before = UNIX_EPOCH - Duration::from_micros(1_500);
        assert_eq!(Utc::from(before), Utc::from_millis(-2));
        assert_eq!(Utc::from(UNIX_EPOCH + Duration::from_millis(7)).millis, 7);
    }

    #[test]
    fn random_ids_keep_their_shape() {
        let id = random_hex();
        assert_eq!(id.len(), 32);
        assert!(
            id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
            "{id}"
        );
        assert_ne!(random_hex(), random_hex());
        for attempt in 0..10 {
            assert!(jitter(attempt) < Duration::from_millis(50 << attempt.min(6)));
        }
    }

    proptest! {
        #[test]
        fn every_written_time_parses_back(millis in FIRST_MILLIS..=LAST_MILLIS) {
            let t = Utc::from_millis(millis);
            prop_assert_eq!(Utc::parse_rfc3339(&t.rfc3339()), Some(t));
            prop_assert_eq!(Utc::parse_compact(&t.compact()), Some(t));
            prop_assert_eq!(t.rfc3339().len(), 24);
        }

        #[test]
        fn written_times_sort_like_the_times(
            a in FIRST_MILLIS..=LAST_MILLIS,
            b in FIRST_MILLIS..=LAST_MILLIS,
        ) {
            let (ta, tb) = (Utc::from_millis(a), Utc::from_millis(b));
            prop_assert_eq!(ta.rfc3339().cmp(&tb.rfc3339()), a.cmp(&b));
            prop_assert_eq!(ta.compact().cmp(&tb.compact()), a.cmp(&b));
        }
    }
}
