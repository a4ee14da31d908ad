//! BarSpec (the twin of `ash.bars.spec.BarSpec`) and local-day arithmetic in the exchange zone.

use chrono::{Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

const NS_PER_SECOND: f64 = 1e9;
const HOUR_NS: i64 = 3600 * 1_000_000_000;

/// What the bar builder does across a gap (docs/bars.md): `reset` windows never straddle a
/// segment start (the ring restarts), `mask` windows may straddle one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapPolicy {
    Reset,
    Mask,
}

/// How events become bars.
#[derive(Debug, Clone, PartialEq)]
pub struct BarSpec {
    pub bar_ns: i64,
    pub gap_ns: i64,
    pub tz: Tz,
    /// Local trading window in minutes after midnight `[open, close)`; `None` keeps every event.
    pub session: Option<(u32, u32)>,
    pub gap_policy: GapPolicy,
}

impl BarSpec {
    /// Validate like the Python BarSpec: bar length in whole ns dividing one hour, known zone.
    pub fn new(
        seconds: f64,
        timezone: &str,
        gap_seconds: f64,
        session: Option<&str>,
        gap_policy: &str,
    ) -> Result<Self, String> {
        let ns = (seconds * NS_PER_SECOND).round();
        if seconds.is_nan()
            || seconds <= 0.0
            || ns <= 0.0
            || (ns - seconds * NS_PER_SECOND).abs() > 1e-3
            || HOUR_NS % (ns as i64) != 0
        {
            return Err(format!(
                "bar seconds={seconds} must be a whole number of nanoseconds that divides one hour exactly (e.g. 0.1, 0.25, 1, 5, 60)"
            ));
        }
        if gap_seconds.is_nan() || gap_seconds <= 0.0 || !gap_seconds.is_finite() {
            return Err(format!("gap_seconds={gap_seconds} must be a number > 0"));
        }
        let tz: Tz = timezone
            .parse()
            .map_err(|_| format!("unknown time zone {timezone:?}; use an IANA name such as 'America/New_York'"))?;
        let session = session.map(parse_session).transpose()?;
        let gap_policy = match gap_policy {
            "reset" => GapPolicy::Reset,
            "mask" => GapPolicy::Mask,
            other => return Err(format!("unknown gap_policy {other:?}; docs/bars.md defines \"reset\" and \"mask\"")),
        };
        Ok(BarSpec { bar_ns: ns as i64, gap_ns: (gap_seconds * NS_PER_SECOND).round() as i64, tz, session, gap_policy })
    }
}

fn parse_session(value: &str) -> Result<(u32, u32), String> {
    let bad = || format!("session {value:?} must look like \"09:30-16:00\"");
    let v = value.trim();
    let b = v.as_bytes();
    if b.len() != 11 || b[2] != b':' || b[5] != b'-' || b[8] != b':' {
        return Err(bad());
    }
    let num = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let (h0, m0, h1, m1) = (num(&v[0..2])?, num(&v[3..5])?, num(&v[6..8])?, num(&v[9..11])?);
    if h0 > 23 || h1 > 23 || m0 > 59 || m1 > 59 {
        return Err(format!("session {value:?}: hour must be in 0..23 and minute in 0..59"));
    }
    let (open, close) = (h0 * 60 + m0, h1 * 60 + m1);
    if open >= close {
        return Err(format!("session {value:?} must end after it starts (same local day)"));
    }
    Ok((open, close))
}

/// One local calendar day as UTC nanoseconds: `[start, end)` and its session window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDay {
    pub start: i64,
    pub end: i64,
    pub open: i64,
    pub close: i64,
}

impl LocalDay {
    pub fn contains(&self, ts: i64) -> bool {
        self.start <= ts && ts < self.end
    }

    /// The bar containing `ts` (which must lie in this day).
    pub fn bar_start(&self, ts: i64, bar_ns: i64) -> i64 {
        self.start + (ts - self.start).div_euclid(bar_ns) * bar_ns
    }
}

/// UTC ns of a local wall time: a skipped wall time moves forward to the end of the jump, a
/// repeated one takes its first occurrence (as `ash.bars.calendar._localize`).
fn localize(tz: Tz, wall: NaiveDateTime) -> Option<i64> {
    let mut t = wall;
    for _ in 0..=24 * 60 {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(d) => return d.timestamp_nanos_opt(),
            LocalResult::Ambiguous(first, _) => return first.timestamp_nanos_opt(),
            LocalResult::None => t += Duration::minutes(1),
        }
    }
    None
}

/// The local day containing `ts` (UTC ns), or `None` if `ts` is out of chrono's range.
pub fn local_day(spec: &BarSpec, ts: i64) -> Option<LocalDay> {
    let date: NaiveDate = spec.tz.timestamp_nanos(ts).date_naive();
    let midnight = |d: NaiveDate| localize(spec.tz, d.and_time(NaiveTime::MIN));
    let (mut start, mut end) = (midnight(date)?, midnight(date.succ_opt()?)?);
    if ts < start {
        // Only when midnight itself was skipped: the day began at the end of the jump.
        end = start;
        start = midnight(date.pred_opt()?)?;
    }
    let (open, close) = match spec.session {
        None => (i64::MIN, i64::MAX),
        Some((o, c)) => {
            let at = |m: u32| localize(spec.tz, date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(m)));
            (at(o)?, at(c)?)
        }
    };
    Some(LocalDay { start, end, open, close })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_york_days_follow_dst() {
        let spec = BarSpec::new(1.0, "America/New_York", 300.0, Some("09:30-16:00"), "reset").unwrap();
        // 2013-10-07 13:30:00 UTC = 09:30 EDT
        let day = local_day(&spec, 1_381_152_600_000_000_000).unwrap();
        assert_eq!(day.open, 1_381_152_600_000_000_000);
        assert_eq!(day.end - day.start, 86_400 * 1_000_000_000);
        // 2013-11-03 is 25 hours long in New York.
        let fall = local_day(&spec, 1_383_480_000_000_000_000).unwrap();
        assert_eq!(fall.end - fall.start, 25 * 3600 * 1_000_000_000);
    }

    #[test]
    fn bad_specs_are_refused_with_a_reason() {
        assert!(BarSpec::new(0.7, "America/New_York", 300.0, None, "reset").unwrap_err().contains("divides one hour"));
        assert!(BarSpec::new(1.0, "Mars/Olympus", 300.0, None, "reset").unwrap_err().contains("unknown time zone"));
        assert!(BarSpec::new(1.0, "UTC", 300.0, Some("16:00-09:30"), "reset").unwrap_err().contains("end after"));
        assert!(BarSpec::new(1.0, "UTC", 300.0, None, "straddle").unwrap_err().contains("gap_policy"));
    }
}
