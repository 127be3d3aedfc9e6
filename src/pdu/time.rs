//! TP-SCTS / TP-DT / absolute TP-VP (TS 23.040 9.2.3.11: seven swapped-BCD octets with a
//! signed time zone in quarter hours) and TP-VP in its three formats (9.2.3.12).

use super::{PduError, Reader};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};

/// Swapped BCD: the low nibble is the tens digit. Nibbles above 9 are taken at face value
/// rather than rejected; chrono then rejects impossible dates.
fn bcd(b: u8) -> u32 {
    u32::from(b & 0x0F) * 10 + u32::from(b >> 4)
}

fn to_bcd(v: u32) -> u8 {
    let v = v % 100;
    (((v % 10) as u8) << 4) | (v / 10) as u8
}

/// Decodes 7 timestamp octets. Year = 2000 + YY (SMS postdates 1999 on every modem we meet).
pub fn decode_scts(o: &[u8; 7]) -> Result<DateTime<FixedOffset>, PduError> {
    let tz = o[6];
    let quarters = i32::from(tz & 0x07) * 10 + i32::from(tz >> 4);
    let secs = quarters * 15 * 60;
    let secs = if tz & 0x08 != 0 { -secs } else { secs };
    // At most 85 quarters = 21h15m, always inside FixedOffset's range.
    let offset = FixedOffset::east_opt(secs).ok_or(PduError::Invalid("time zone"))?;
    let date = NaiveDate::from_ymd_opt(2000 + bcd(o[0]) as i32, bcd(o[1]), bcd(o[2]))
        .ok_or(PduError::Invalid("timestamp date"))?;
    let naive = date
        .and_hms_opt(bcd(o[3]), bcd(o[4]), bcd(o[5]))
        .ok_or(PduError::Invalid("timestamp time"))?;
    naive
        .and_local_timezone(offset)
        .single()
        .ok_or(PduError::Invalid("timestamp"))
}

/// Reads 7 timestamp octets.
pub fn read_scts(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<DateTime<FixedOffset>, PduError> {
    decode_scts(&r.array::<7>(what)?)
}

/// Encodes a timestamp; the offset is rounded toward zero to whole quarter hours and the
/// year is taken modulo 100 (the field has two digits).
pub fn encode_scts(t: &DateTime<FixedOffset>) -> [u8; 7] {
    let secs = t.offset().local_minus_utc();
    let quarters = (secs.unsigned_abs() / 900).min(79);
    let sign = if secs < 0 { 0x08 } else { 0x00 };
    let tz = (((quarters % 10) as u8) << 4) | (quarters / 10) as u8 | sign;
    [
        to_bcd(t.year().rem_euclid(100) as u32),
        to_bcd(t.month()),
        to_bcd(t.day()),
        to_bcd(t.hour()),
        to_bcd(t.minute()),
        to_bcd(t.second()),
        tz,
    ]
}

/// TP-VP of an SMS-SUBMIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// TP-VPF 00: no TP-VP field (the SMSC default applies).
    None,
    /// TP-VPF 10: the raw one-octet relative period; see [`Validity::relative_minutes`].
    Relative(u8),
    /// TP-VPF 11: an absolute expiry time.
    Absolute(DateTime<FixedOffset>),
    /// TP-VPF 01: seven raw octets, the first selecting the format (TS 23.040 9.2.3.12.3).
    Enhanced([u8; 7]),
}

impl Validity {
    /// Minutes a relative TP-VP octet stands for (TS 23.040 9.2.3.12.1).
    pub fn relative_minutes(vp: u8) -> u32 {
        let vp = u32::from(vp);
        match vp {
            0..=143 => (vp + 1) * 5,
            144..=167 => 12 * 60 + (vp - 143) * 30,
            168..=196 => (vp - 166) * 24 * 60,
            _ => (vp - 192) * 7 * 24 * 60,
        }
    }

    /// A relative period in words: "N weeks", "N days", "N hours" or "N minutes",
    /// the largest unit that divides it (so 0xA9 is "3 days", 0xF4 "52 weeks").
    pub fn describe_relative(vp: u8) -> String {
        let m = Self::relative_minutes(vp);
        let (n, unit) = if m % (7 * 24 * 60) == 0 {
            (m / (7 * 24 * 60), "week")
        } else if m % (24 * 60) == 0 {
            (m / (24 * 60), "day")
        } else if m % 60 == 0 {
            (m / 60, "hour")
        } else {
            (m, "minute")
        };
        format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scts(hex_str: &str) -> DateTime<FixedOffset> {
        let v: [u8; 7] = hex::decode(hex_str).unwrap().try_into().unwrap();
        decode_scts(&v).unwrap()
    }

    #[test]
    fn positive_negative_and_half_hour_zones() {
        assert_eq!(
            scts("11101171955140").to_rfc3339(),
            "2011-01-11T17:59:15+01:00"
        );
        assert_eq!(
            scts("8111700212222B").to_rfc3339(),
            "2018-11-07T20:21:22-08:00"
        );
        assert_eq!(
            scts("1120821105050A").to_rfc3339(),
            "2011-02-28T11:50:50-05:00"
        );
        assert_eq!(
            scts("51109071830322").to_rfc3339(),
            "2015-01-09T17:38:30+05:30"
        );
        assert_eq!(
            scts("20806291731408").to_rfc3339(),
            "2002-08-26T19:37:41+00:00"
        );
        assert_eq!(
            scts("20806291731448").to_rfc3339(),
            "2002-08-26T19:37:41-01:00"
        );
    }

    #[test]
    fn encode_round_trips_with_sign() {
        for s in [
            "2026-03-05T09:30:00+08:00",
            "2018-11-07T20:21:22-08:00",
            "2015-01-09T17:38:30+05:30",
            "2011-02-28T11:50:50-05:00",
            "2002-08-26T19:37:41+00:00",
        ] {
            let t = DateTime::parse_from_rfc3339(s).unwrap();
            assert_eq!(decode_scts(&encode_scts(&t)).unwrap(), t, "{s}");
        }
        let china = DateTime::parse_from_rfc3339("2026-03-05T09:30:00+08:00").unwrap();
        assert_eq!(encode_scts(&china)[6], 0x23);
        let west = DateTime::parse_from_rfc3339("2018-11-07T20:21:22-08:00").unwrap();
        assert_eq!(encode_scts(&west)[6], 0x2B);
    }

    #[test]
    fn impossible_dates_are_errors() {
        let bad: [u8; 7] = [0x11, 0x31, 0x11, 0x00, 0x00, 0x00, 0x00]; // month 13
        assert!(decode_scts(&bad).is_err());
        let bad_hour: [u8; 7] = [0x11, 0x10, 0x11, 0x52, 0x00, 0x00, 0x00]; // hour 25
        assert!(decode_scts(&bad_hour).is_err());
    }

    #[test]
    fn relative_validity_in_words() {
        assert_eq!(Validity::describe_relative(0x00), "5 minutes");
        assert_eq!(Validity::describe_relative(0x0B), "1 hour");
        assert_eq!(Validity::describe_relative(0x90), "750 minutes");
        assert_eq!(Validity::describe_relative(0xA7), "1 day");
        assert_eq!(Validity::describe_relative(0xA9), "3 days");
        assert_eq!(Validity::describe_relative(0xAA), "4 days");
        assert_eq!(Validity::describe_relative(0xAD), "1 week");
        assert_eq!(Validity::describe_relative(0xF4), "52 weeks");
        assert_eq!(Validity::describe_relative(0xFF), "63 weeks");
    }
}
