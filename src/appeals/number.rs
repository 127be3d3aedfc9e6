//! Appeal numbers: YYYYMMDD of the local date plus a daily sequence of at least three digits.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The local calendar day (YYYYMMDD) of an instant in the configured zone.
pub fn local_day(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y%m%d").to_string()
}

/// 20220713 + 2 -> 20220713002; the 1000th of a day widens to 202207131000.
pub fn format_number(day: &str, seq: i64) -> String {
    format!("{day}{seq:03}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn day_is_local() {
        // 2022-07-12 17:00 UTC is already 13 July in Sichuan.
        let t = Utc.with_ymd_and_hms(2022, 7, 12, 17, 0, 0).unwrap();
        assert_eq!(local_day(t, chrono_tz::Asia::Shanghai), "20220713");
        assert_eq!(format_number("20220713", 2), "20220713002");
        assert_eq!(format_number("20220713", 1234), "202207131234");
    }
}
