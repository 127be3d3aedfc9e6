//! Address fields (TS 23.040 9.1.2.5): the SMSC field (length in octets) and TP-OA/DA/RA
//! (length in semi-octets), numeric BCD with F padding or alphanumeric 7-bit packed.
//! Decoding writes into [`Address`], an inline buffer, so it never touches the heap.

use super::{gsm7, PduError, Reader};
use std::fmt;
use std::ops::Deref;

/// Longest address value TS 23.040 allows: 10 octets = 20 semi-octets.
pub const MAX_DIGITS: usize = 20;
/// 20 semi-octets hold 11 septets; a GSM character is at most 3 UTF-8 bytes ('€'),
/// plus one for '+'.
const CAP: usize = 11 * 3 + 1;

/// A decoded address held inline (no heap); derefs to `&str`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Address {
    len: u8,
    /// Type of number (TON, TS 23.040 9.1.2.5): who may be trusted as a person depends on it.
    ton: u8,
    buf: [u8; CAP],
}

impl Address {
    pub const fn empty() -> Self {
        Address {
            len: 0,
            ton: 0,
            buf: [0; CAP],
        }
    }

    /// The type of number: 0 unknown, 1 international, 2 national, 3 network specific,
    /// 4 subscriber, 5 alphanumeric, 6 abbreviated.
    pub fn ton(&self) -> u8 {
        self.ton
    }

    pub fn as_str(&self) -> &str {
        // Only push() writes buf, and it copies whole UTF-8 sequences of a char, so the
        // prefix is always valid UTF-8; the fallback keeps this total without unsafe.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }

    /// Appends `c`; false (and no change) when it does not fit.
    fn push(&mut self, c: char) -> bool {
        let mut tmp = [0u8; 4];
        let s = c.encode_utf8(&mut tmp).as_bytes();
        let at = usize::from(self.len);
        match self.buf.get_mut(at..at + s.len()) {
            Some(dst) => {
                dst.copy_from_slice(s);
                self.len += s.len() as u8;
                true
            }
            None => false,
        }
    }
}

/// Compared as the text it prints, so a decoded number checks against `"+86..."` directly.
impl PartialEq<&str> for Address {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Default for Address {
    fn default() -> Self {
        Address::empty()
    }
}

impl Deref for Address {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// TON 5 = alphanumeric (TOA 0xD0).
fn is_alphanumeric(toa: u8) -> bool {
    (toa >> 4) & 0x07 == TON_ALPHANUMERIC
}

/// The TON of an alphanumeric address ("CMCC", or digits spelt as text by a spoofer).
pub const TON_ALPHANUMERIC: u8 = 5;

fn bcd_char(nibble: u8) -> char {
    // A-E per TS 23.040 9.1.2.3: '*', '#', then 'a', 'b', 'c' (Android's test "*#abc#*51").
    match nibble {
        0..=9 => char::from(b'0' + nibble),
        0x0A => '*',
        0x0B => '#',
        0x0C => 'a',
        0x0D => 'b',
        _ => 'c',
    }
}

/// Decodes an address value of `digits` semi-octets from `raw`.
fn decode_value(toa: u8, raw: &[u8], digits: usize) -> Result<Address, PduError> {
    let mut a = Address::empty();
    a.ton = (toa >> 4) & 0x07;
    if is_alphanumeric(toa) {
        // Characters = semi-octets * 4 / 7, rounded down (the rest is padding).
        let n = digits * 4 / 7;
        let mut escaped = false;
        for i in 0..n {
            let s = gsm7::septet_at(raw, i);
            let c = if escaped {
                escaped = false;
                gsm7::ext_char(s).unwrap_or_else(|| gsm7::basic_char(s))
            } else if s == gsm7::ESC {
                escaped = true;
                continue;
            } else {
                gsm7::basic_char(s)
            };
            if !a.push(c) {
                return Err(PduError::Invalid("alphanumeric address too long"));
            }
        }
        return Ok(a);
    }
    if (toa >> 4) & 0x07 == 1 {
        a.push('+');
    }
    for i in 0..digits {
        let octet = raw.get(i / 2).copied().unwrap_or(0xFF);
        let nibble = if i % 2 == 0 { octet & 0x0F } else { octet >> 4 };
        if nibble == 0x0F {
            // Filler: only legal as the last semi-octet, but some SMSC fields pad more.
            break;
        }
        if !a.push(bcd_char(nibble)) {
            return Err(PduError::Invalid("address too long"));
        }
    }
    Ok(a)
}

/// Reads TP-OA / TP-DA / TP-RA: length in semi-octets, TOA, value.
pub fn read_address(r: &mut Reader<'_>) -> Result<Address, PduError> {
    let digits = usize::from(r.u8("address length")?);
    let toa = r.u8("address type")?;
    if digits > MAX_DIGITS {
        return Err(PduError::Invalid("address longer than 20 semi-octets"));
    }
    let raw = r.take(digits.div_ceil(2), "address digits")?;
    decode_value(toa, raw, digits)
}

/// Reads the SMSC field: length in octets (TOA included), 0 = none.
pub fn read_smsc(r: &mut Reader<'_>) -> Result<Option<Address>, PduError> {
    let len = usize::from(r.u8("SMSC length")?);
    if len == 0 {
        return Ok(None);
    }
    if len > 1 + MAX_DIGITS / 2 {
        return Err(PduError::Invalid("SMSC field longer than 11 octets"));
    }
    let toa = r.u8("SMSC type")?;
    let raw = r.take(len - 1, "SMSC digits")?;
    let a = decode_value(toa, raw, raw.len() * 2)?;
    Ok(if a.is_empty() { None } else { Some(a) })
}

/// A number ready for encoding: TOA and BCD semi-octets.
struct Numeric<'a> {
    toa: u8,
    digits: &'a str,
}

fn parse_numeric(addr: &str) -> Option<Numeric<'_>> {
    let (toa, digits) = match addr.strip_prefix('+') {
        Some(rest) => (0x91, rest),
        // National numbers and short codes go out as "unknown" TON (smstools3
        // national_toa_unknown: some operators reject 0xA1).
        None => (0x81, addr),
    };
    let ok = !digits.is_empty()
        && digits.len() <= MAX_DIGITS
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
    ok.then_some(Numeric { toa, digits })
}

fn nibble_of(b: u8) -> u8 {
    match b {
        b'*' => 0x0A,
        b'#' => 0x0B,
        _ => b.wrapping_sub(b'0') & 0x0F,
    }
}

fn push_bcd(digits: &str, out: &mut Vec<u8>) {
    for pair in digits.as_bytes().chunks(2) {
        let lo = nibble_of(pair[0]);
        let hi = pair.get(1).map_or(0x0F, |&b| nibble_of(b));
        out.push(lo | (hi << 4));
    }
}

/// Appends a TP-DA/OA/RA field for a numeric address ('+' = international).
pub fn write_numeric(addr: &str, out: &mut Vec<u8>) -> Result<(), PduError> {
    let n = parse_numeric(addr).ok_or(PduError::Invalid(
        "address must be 1-20 digits, optionally with a leading +",
    ))?;
    out.push(n.digits.len() as u8);
    out.push(n.toa);
    push_bcd(n.digits, out);
    Ok(())
}

/// Appends an originator address: numeric when it is one, else alphanumeric (TOA 0xD0).
/// Alphanumeric senders are cut to 11 characters and characters outside the GSM alphabet
/// become '?', as a network would do; the result is always a valid field.
pub fn write_originator(addr: &str, out: &mut Vec<u8>) {
    if write_numeric(addr, out).is_ok() {
        return;
    }
    write_alphanumeric(addr, out);
}

/// Appends `addr` as an alphanumeric address (TOA 0xD0) even when it is all digits: what an
/// operator's gateway, or a spoofer, sends as "13900000001" in letters.
pub fn write_alphanumeric(addr: &str, out: &mut Vec<u8>) {
    let mut text = String::with_capacity(11);
    let mut septets = 0;
    for c in addr.chars() {
        let g = gsm7::encode_char(c).unwrap_or(gsm7::Gsm::Basic(b'?'));
        if septets + g.septets() > 11 {
            break;
        }
        septets += g.septets();
        text.push(if gsm7::encode_char(c).is_some() {
            c
        } else {
            '?'
        });
    }
    let mut packed = [0u8; 10];
    let n = gsm7::pack_into(&text, &mut packed, 0);
    let semi_octets = (n * 7).div_ceil(4);
    out.push(semi_octets as u8);
    out.push(0xD0);
    out.extend_from_slice(&packed[..gsm7::packed_len(n)]);
}

/// Appends the SMSC field ("00" = use the modem's +CSCA).
pub fn write_smsc(smsc: Option<&str>, out: &mut Vec<u8>) -> Result<(), PduError> {
    match smsc {
        None => out.push(0),
        Some(s) => {
            let n = parse_numeric(s).ok_or(PduError::Invalid(
                "SMSC must be 1-20 digits, optionally with a leading +",
            ))?;
            out.push(1 + n.digits.len().div_ceil(2) as u8);
            out.push(n.toa);
            push_bcd(n.digits, out);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(hex_str: &str) -> Result<Address, PduError> {
        let bytes = hex::decode(hex_str).unwrap();
        read_address(&mut Reader::new(&bytes))
    }

    #[test]
    fn numeric_addresses_read_and_write() {
        // International with odd length and F padding; national and short codes keep no plus.
        for (wire, text) in [
            ("0B917228214365F7", "+27821234567"),
            ("0A811032547698", "0123456789"),
            ("05852122F0", "12220"),
        ] {
            assert_eq!(&*read(wire).unwrap(), text, "{wire}");
        }
        for (text, wire) in [
            ("+27821234567", "0B917228214365F7"),
            ("10086", "05810180F6"),
        ] {
            let mut out = Vec::new();
            write_numeric(text, &mut out).unwrap();
            assert_eq!(hex::encode_upper(&out), wire, "{text}");
        }
    }

    #[test]
    fn bcd_extras_decode() {
        assert_eq!(&*read("09E1BADCBE5AF1").unwrap(), "*#abc#*51");
    }

    #[test]
    fn alphanumeric_sender_round_trips() {
        assert_eq!(&*read("0DD0F334FC1CA69701").unwrap(), "sipgate");
        assert_eq!(&*read("09D0C6A7333904").unwrap(), "FONIC");
        for name in ["sipgate", "FONIC", "www.tim.it", "InternetSMS", "[x]€"] {
            let mut out = Vec::new();
            write_originator(name, &mut out);
            assert_eq!(out[1], 0xD0);
            assert_eq!(&*read(&hex::encode(&out)).unwrap(), name);
        }
    }

    #[test]
    fn type_of_number_travels_with_the_address() {
        // Digits sent as an alphanumeric name read like a cadre's number: only the TON says
        // it is a name.
        let mut raw = Vec::new();
        write_alphanumeric("13900000001", &mut raw);
        assert_eq!(raw[1], 0xD0);
        let a = read(&hex::encode(&raw)).unwrap();
        assert_eq!(&*a, "13900000001");
        assert_eq!(a.ton(), TON_ALPHANUMERIC);
        assert_eq!(read("0B917228214365F7").unwrap().ton(), 1);
        assert_eq!(read("0A811032547698").unwrap().ton(), 0);
        assert_eq!(read("05A12122F0").unwrap().ton(), 2);
    }

    #[test]
    fn alphanumeric_originator_is_cut_to_eleven_septets() {
        let mut out = Vec::new();
        write_originator("村委会诉求平台-码上办-Sichuan", &mut out);
        let a = read(&hex::encode(&out)).unwrap();
        assert_eq!(a.chars().count(), 11);
        assert!(a.starts_with("???"));
    }

    #[test]
    fn smsc_field() {
        let bytes = hex::decode("0891683108200105F0").unwrap();
        let a = read_smsc(&mut Reader::new(&bytes)).unwrap().unwrap();
        assert_eq!(&*a, "+8613800210500");
        let mut out = Vec::new();
        write_smsc(Some("+8613800210500"), &mut out).unwrap();
        assert_eq!(out, bytes);
        assert_eq!(read_smsc(&mut Reader::new(&[0])).unwrap(), None);
    }

    #[test]
    fn bad_addresses_are_errors_not_panics() {
        assert!(matches!(read("0B9172"), Err(PduError::Truncated(_))));
        assert!(matches!(read("FF91"), Err(PduError::Invalid(_))));
        assert!(read_smsc(&mut Reader::new(&[0x20, 0x91])).is_err());
        let mut out = Vec::new();
        assert!(write_numeric("", &mut out).is_err());
        assert!(write_numeric("+86 138", &mut out).is_err());
        assert!(write_numeric("123456789012345678901", &mut out).is_err());
        assert!(write_smsc(Some("abc"), &mut out).is_err());
    }
}
