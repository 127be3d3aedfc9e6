//! UCS2 user data, read as UTF-16BE as every phone writes it (TS 23.038 6.2.3; surrogate
//! pairs carry characters outside the BMP such as emoji).

/// Decodes big-endian UTF-16 octets into `out`. An unpaired surrogate or a dangling odd
/// octet becomes U+FFFD; returns true when that happened, so the caller can keep the raw
/// octets for joining with the neighbouring part of a concatenated message.
pub fn decode_into(octets: &[u8], out: &mut String) -> bool {
    let mut lossy = octets.len() % 2 != 0;
    let units = octets
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]));
    for r in char::decode_utf16(units) {
        match r {
            Ok(c) => out.push(c),
            Err(_) => {
                lossy = true;
                out.push(char::REPLACEMENT_CHARACTER);
            }
        }
    }
    if octets.len() % 2 != 0 {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    lossy
}

/// Upper bound of the UTF-8 length of decoded UCS2 octets (a unit is at most 3 UTF-8 bytes;
/// a surrogate pair is 4 bytes for 2 units).
pub fn utf8_capacity(octets: usize) -> usize {
    octets.div_ceil(2) * 3
}

/// Appends `text` as UTF-16BE.
pub fn encode_into(text: &str, out: &mut Vec<u8>) {
    for u in text.encode_utf16() {
        out.extend_from_slice(&u.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_emoji_round_trip() {
        let text = "诉求：路灯坏了😀";
        let mut raw = Vec::new();
        encode_into(text, &mut raw);
        assert_eq!(raw.len(), 2 * text.encode_utf16().count());
        let mut back = String::new();
        assert!(!decode_into(&raw, &mut back));
        assert_eq!(back, text);
    }

    #[test]
    fn split_surrogate_pair_is_flagged_and_replaced() {
        let mut raw = Vec::new();
        encode_into("a😀", &mut raw);
        let mut first = String::new();
        assert!(decode_into(&raw[..4], &mut first));
        assert_eq!(first, "a\u{FFFD}");
        let mut odd = String::new();
        assert!(decode_into(&[0x00, 0x41, 0x00], &mut odd));
        assert_eq!(odd, "A\u{FFFD}");
    }

    #[test]
    fn capacity_bound_holds() {
        let text = "中😀a";
        let mut raw = Vec::new();
        encode_into(text, &mut raw);
        assert!(utf8_capacity(raw.len()) >= text.len());
    }
}
