//! Timestamps on the wire: nanoseconds since the Unix epoch, UTC.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A point in time as nanoseconds since 1970-01-01T00:00:00Z.
///
/// On the wire (MessagePack) it is an integer; in JSON it is an RFC 3339 string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            Timestamp::parse_rfc3339(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s:?}")))
        } else {
            i64::deserialize(d).map(Timestamp)
        }
    }
}

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }

    /// Builds a timestamp from seconds and nanoseconds, saturating at the representable range.
    pub fn from_secs_nanos(secs: i64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(i64::from(nanos)),
        )
    }

    /// Parses an RFC 3339 time such as `2012-11-12T13:22:09.252792Z` or `2024-01-01T10:00:00+01:00`.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
        i64::try_from(t.unix_timestamp_nanos()).ok().map(Timestamp)
    }

    /// Whole seconds since the epoch (rounded down).
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// Sub-second part in nanoseconds.
    pub fn subsec_nanos(self) -> u32 {
        // rem_euclid of a positive divisor is always in 0..1e9, which fits u32.
        self.0.rem_euclid(1_000_000_000) as u32
    }
}

impl fmt::Display for Timestamp {
    /// Formats as RFC 3339 with microseconds, e.g. `2012-11-12T13:22:09.252792Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.secs();
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60,
            self.subsec_nanos() / 1000
        )
    }
}

/// Converts days since the epoch to a proleptic Gregorian (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(
            Timestamp::from_secs_nanos(1_352_726_529, 252_792_000).to_string(),
            "2012-11-12T13:22:09.252792Z"
        );
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999999Z");
        let t = Timestamp::from_secs_nanos(1_352_726_529, 252_792_000);
        assert_eq!(Timestamp::parse_rfc3339(&t.to_string()), Some(t));
        assert_eq!(
            Timestamp::parse_rfc3339("2012-11-12T14:22:09.252792+01:00"),
            Some(t)
        );
    }
}
