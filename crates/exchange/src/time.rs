//! Durations and times as the store and the timeline keep them.

use std::time::Duration;

pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn when_ru(at_ms: i64) -> String {
    domain::format::date_time_ru(store::to_datetime(at_ms))
}
