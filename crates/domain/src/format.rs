//! Russian display conventions: `1 234 567,89` and `28.03.2019 15:11`.

use chrono::{DateTime, FixedOffset, Utc};

/// Moscow time: ЕИС and its users reason in it.
pub fn moscow() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).expect("constant offset is valid")
}

/// Groups the integer part of a canonical decimal (`1234567.89`) with no-break spaces and
/// uses a decimal comma.
pub fn group_digits_ru(canonical: &str) -> String {
    let (sign, unsigned) = match canonical.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", canonical),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('\u{a0}');
        }
        grouped.push(ch);
    }
    if frac.is_empty() { format!("{sign}{grouped}") } else { format!("{sign}{grouped},{frac}") }
}

/// `28.03.2019 15:11` in Moscow time.
pub fn date_time_ru(t: DateTime<Utc>) -> String {
    t.with_timezone(&moscow()).format("%d.%m.%Y %H:%M").to_string()
}

/// `28.03.2019 15:11:07` in Moscow time, for timelines where seconds matter.
pub fn date_time_seconds_ru(t: DateTime<Utc>) -> String {
    t.with_timezone(&moscow()).format("%d.%m.%Y %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn groups() {
        assert_eq!(group_digits_ru("1234567.89"), "1\u{a0}234\u{a0}567,89");
        assert_eq!(group_digits_ru("123.00"), "123,00");
        assert_eq!(group_digits_ru("-1000.00"), "-1\u{a0}000,00");
    }

    #[test]
    fn dates_in_moscow_time() {
        let t = Utc.with_ymd_and_hms(2019, 3, 28, 12, 11, 0).unwrap();
        assert_eq!(date_time_ru(t), "28.03.2019 15:11");
    }
}
