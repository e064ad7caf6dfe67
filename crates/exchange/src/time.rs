//! Durations and times as the store and the timeline keep them.

use std::time::Duration;
use store::Time;

/// A duration in whole milliseconds, the store's unit for leases.
pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The time `d` after `t`; the end of time when that is beyond chrono's range.
pub(crate) fn after(t: Time, d: Duration) -> Time {
    chrono::TimeDelta::from_std(d).ok().and_then(|d| t.checked_add_signed(d)).unwrap_or(Time::MAX_UTC)
}

pub(crate) fn when_ru(at: Time) -> String {
    domain::format::date_time_ru(at)
}
