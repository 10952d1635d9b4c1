//! The time and the randomness records are stamped with, without a date crate: UTC
//! from the system clock, and 128 bits from the standard library's SipHash keys.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

    /// `2026-12-02T01:08:11.123Z` (RFC 3339).
    pub fn rfc3339(self) -> String {
        let (y, mo, d, h, mi, s, ms) = self.fields();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }

    /// `20261202T010811.123Z`: sorts like the time, fits in a key.
    pub fn compact(self) -> String {
        let (y, mo, d, h, mi, s, ms) = self.fields();
        format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}.{ms:03}Z")
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

    /// Parses what [`Utc::rfc3339`] writes (and the same without milliseconds).
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        // Digits only: `parse` alone would take a sign (`-1`, `+1`).
        let unsigned = |t: &str| -> Option<i64> {
            t.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| t.parse().ok())?
        };
        let num = |r: std::ops::Range<usize>| unsigned(text.get(r)?);
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !text.ends_with('Z') {
            return None;
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let ms = match text.get(19..text.len() - 1)? {
            "" => 0,
            frac => {
                let digits = frac.strip_prefix('.')?;
                let padded = format!("{digits:0<3}");
                unsigned(padded.get(..3)?)?
            }
        };
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        Some(Self {
            millis: ((days * 86_400 + h * 3_600 + mi * 60 + s) * 1_000) + ms,
        })
    }

    fn fields(self) -> (i64, i64, i64, i64, i64, i64, i64) {
        let secs = self.millis.div_euclid(1_000);
        let ms = self.millis.rem_euclid(1_000);
        let days = secs.div_euclid(86_400);
        let rest = secs.rem_euclid(86_400);
        let (y, mo, d) = civil_from_days(days);
        (y, mo, d, rest / 3_600, rest % 3_600 / 60, rest % 60, ms)
    }
}

impl From<SystemTime> for Utc {
    fn from(time: SystemTime) -> Self {
        let millis = match time.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        };
        Self { millis }
    }
}

impl std::ops::Sub for Utc {
    type Output = Duration;

    /// How long after `earlier` this is (zero if it is not after).
    fn sub(self, earlier: Self) -> Duration {
        Duration::from_millis(u64::try_from(self.millis - earlier.millis).unwrap_or(0))
    }
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The inverse: (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A random wait before attempt `attempt` + 1 of a write that lost a race: up to
/// 50 ms × 2^attempt (at most 3.2 s), so racing writers spread out.
pub fn jitter(attempt: u32) -> Duration {
    let ceiling = 50u64 << attempt.min(6);
    let random = u64::from_str_radix(&random_hex()[..8], 16).unwrap_or(0);
    Duration::from_millis(random % ceiling)
}

/// 128 random bits, hex.
pub fn random_hex() -> String {
    let word = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0);
        h.finish()
    };
    format!("{:016x}{:016x}", word(), word())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
