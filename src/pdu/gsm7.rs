//! GSM 7-bit default alphabet and extension table (TS 23.038 6.2.1) and septet packing
//! (TS 23.040 9.2.3.24: septet i starts at bit 7*i, least significant bit first).

/// The escape septet that introduces an extension-table character.
pub const ESC: u8 = 0x1B;

/// Default alphabet, indexed by septet. 0x1B is ESC and never looked up here.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', ' ', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// How a character is written in GSM 7-bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gsm {
    /// One septet of the default alphabet.
    Basic(u8),
    /// ESC followed by this septet (two septets).
    Ext(u8),
}

impl Gsm {
    /// Septets the character costs.
    pub fn septets(self) -> usize {
        match self {
            Gsm::Basic(_) => 1,
            Gsm::Ext(_) => 2,
        }
    }
}

/// Extension-table character for `code` (after ESC), if the table defines one.
pub fn ext_char(code: u8) -> Option<char> {
    Some(match code {
        0x0A => '\u{0C}',
        0x14 => '^',
        0x28 => '{',
        0x29 => '}',
        0x2F => '\\',
        0x3C => '[',
        0x3D => '~',
        0x3E => ']',
        0x40 => '|',
        0x65 => '€',
        _ => return None,
    })
}

/// Default-alphabet character for a septet (ESC maps to a space, as Android shows ESC ESC).
pub fn basic_char(code: u8) -> char {
    BASIC[usize::from(code & 0x7F)]
}

/// The GSM encoding of `c`, or None when it needs UCS2.
pub fn encode_char(c: char) -> Option<Gsm> {
    // ASCII letters and digits map to themselves; the match below covers the rest of the
    // tables, so the hot path is two comparisons.
    if c.is_ascii_alphanumeric() {
        return Some(Gsm::Basic(c as u8));
    }
    let basic = match c {
        '@' => 0x00,
        '£' => 0x01,
        '$' => 0x02,
        '¥' => 0x03,
        'è' => 0x04,
        'é' => 0x05,
        'ù' => 0x06,
        'ì' => 0x07,
        'ò' => 0x08,
        'Ç' => 0x09,
        '\n' => 0x0A,
        'Ø' => 0x0B,
        'ø' => 0x0C,
        '\r' => 0x0D,
        'Å' => 0x0E,
        'å' => 0x0F,
        'Δ' => 0x10,
        '_' => 0x11,
        'Φ' => 0x12,
        'Γ' => 0x13,
        'Λ' => 0x14,
        'Ω' => 0x15,
        'Π' => 0x16,
        'Ψ' => 0x17,
        'Σ' => 0x18,
        'Θ' => 0x19,
        'Ξ' => 0x1A,
        'Æ' => 0x1C,
        'æ' => 0x1D,
        'ß' => 0x1E,
        'É' => 0x1F,
        ' ' | '!' | '"' | '#' | '%' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | '-' | '.'
        | '/' | ':' | ';' | '<' | '=' | '>' | '?' => c as u8,
        '¤' => 0x24,
        '¡' => 0x40,
        'Ä' => 0x5B,
        'Ö' => 0x5C,
        'Ñ' => 0x5D,
        'Ü' => 0x5E,
        '§' => 0x5F,
        '¿' => 0x60,
        'ä' => 0x7B,
        'ö' => 0x7C,
        'ñ' => 0x7D,
        'ü' => 0x7E,
        'à' => 0x7F,
        '\u{0C}' => return Some(Gsm::Ext(0x0A)),
        '^' => return Some(Gsm::Ext(0x14)),
        '{' => return Some(Gsm::Ext(0x28)),
        '}' => return Some(Gsm::Ext(0x29)),
        '\\' => return Some(Gsm::Ext(0x2F)),
        '[' => return Some(Gsm::Ext(0x3C)),
        '~' => return Some(Gsm::Ext(0x3D)),
        ']' => return Some(Gsm::Ext(0x3E)),
        '|' => return Some(Gsm::Ext(0x40)),
        '€' => return Some(Gsm::Ext(0x65)),
        _ => return None,
    };
    Some(Gsm::Basic(basic))
}

/// Septets `text` needs in GSM 7-bit, or None when some character needs UCS2.
pub fn septet_len(text: &str) -> Option<usize> {
    text.chars()
        .try_fold(0usize, |n, c| Some(n + encode_char(c)?.septets()))
}

/// Octets that `septets` packed septets occupy.
pub fn packed_len(septets: usize) -> usize {
    (septets * 7).div_ceil(8)
}

/// Septet number `i` of packed data; bits past the end read as zero, so a short buffer
/// never panics (callers check lengths against TP-UDL first).
#[inline]
pub fn septet_at(packed: &[u8], i: usize) -> u8 {
    let bit = i * 7;
    let byte = bit / 8;
    let shift = bit % 8;
    let lo = u16::from(packed.get(byte).copied().unwrap_or(0));
    let hi = u16::from(packed.get(byte + 1).copied().unwrap_or(0));
    (((lo | (hi << 8)) >> shift) & 0x7F) as u8
}

/// Decodes `count` septets starting at septet `start` of `packed` into `out`.
pub fn unpack_into(packed: &[u8], start: usize, count: usize, out: &mut String) {
    let mut escaped = false;
    for i in start..start + count {
        let s = septet_at(packed, i);
        if escaped {
            escaped = false;
            // TS 23.038: an unknown extension code shows the default-alphabet character;
            // ESC ESC is the reserved "second escape" and shows as a space (Android does so).
            out.push(ext_char(s).unwrap_or_else(|| basic_char(s)));
        } else if s == ESC {
            escaped = true;
        } else {
            out.push(basic_char(s));
        }
    }
    // A lone ESC at the end has no character to escape: dropped.
}

/// Writes septet `value` at septet position `i` into `packed` (which is zeroed and long enough).
#[inline]
fn put_septet(packed: &mut [u8], i: usize, value: u8) {
    let bit = i * 7;
    let byte = bit / 8;
    let shift = bit % 8;
    let v = u16::from(value & 0x7F) << shift;
    if let Some(b) = packed.get_mut(byte) {
        *b |= v as u8;
    }
    if shift > 1 {
        if let Some(b) = packed.get_mut(byte + 1) {
            *b |= (v >> 8) as u8;
        }
    }
}

/// Packs the characters of `text` (all GSM-encodable; others become '?') starting at septet
/// `start` of `packed`, which must be zeroed and at least `packed_len(start + septets)` long.
/// Returns the number of septets written.
pub fn pack_into(text: &str, packed: &mut [u8], start: usize) -> usize {
    let mut i = start;
    for c in text.chars() {
        match encode_char(c).unwrap_or(Gsm::Basic(b'?')) {
            Gsm::Basic(v) => {
                put_septet(packed, i, v);
                i += 1;
            }
            Gsm::Ext(v) => {
                put_septet(packed, i, ESC);
                put_septet(packed, i + 1, v);
                i += 2;
            }
        }
    }
    i - start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(text: &str, start: usize) -> Vec<u8> {
        let n = septet_len(text).unwrap();
        let mut buf = vec![0u8; packed_len(start + n)];
        assert_eq!(pack_into(text, &mut buf, start), n);
        buf
    }

    #[test]
    fn packs_hellohello_like_the_spec_example() {
        assert_eq!(
            hex::encode_upper(pack("hellohello", 0)),
            "E8329BFD4697D9EC37"
        );
    }

    #[test]
    fn eight_septets_fill_seven_octets_exactly() {
        let p = pack("12345678", 0);
        assert_eq!(p.len(), 7);
        let mut s = String::new();
        unpack_into(&p, 0, 8, &mut s);
        assert_eq!(s, "12345678");
    }

    #[test]
    fn every_table_character_round_trips() {
        let mut all = String::new();
        for code in 0u8..128 {
            if code != ESC {
                all.push(basic_char(code));
            }
            if let Some(c) = ext_char(code) {
                all.push(c);
            }
        }
        // Septet 0x1B has a placeholder space in BASIC; the real space is 0x20.
        let n = septet_len(&all).unwrap();
        assert_eq!(n, 127 + 2 * 10);
        let p = pack(&all, 0);
        let mut back = String::new();
        unpack_into(&p, 0, n, &mut back);
        assert_eq!(back, all);
    }

    #[test]
    fn characters_outside_the_tables_need_ucs2() {
        for c in ['`', 'ç', '中', '😀', '\u{1B}', '\0', 'Á'] {
            assert_eq!(encode_char(c), None, "{c:?}");
        }
        assert_eq!(septet_len("a€b"), Some(4));
        assert_eq!(septet_len("a中"), None);
    }

    #[test]
    fn packing_after_a_header_leaves_zero_fill_bits() {
        // 6 header octets = 48 bits; text starts at septet 7 (bit 49), so bit 48 is fill.
        let mut buf = vec![0u8; packed_len(7 + 1)];
        buf[..6].copy_from_slice(&[5, 0, 3, 1, 2, 1]);
        pack_into("A", &mut buf, 7);
        assert_eq!(buf[6], 0x41 << 1);
        assert_eq!(septet_at(&buf, 7), 0x41);
    }

    #[test]
    fn escape_rules_on_decode() {
        // ESC + unknown code shows the base character; ESC ESC shows a space; trailing ESC drops.
        let mut buf = vec![0u8; packed_len(7)];
        for (i, s) in [ESC, 0x41, ESC, ESC, 0x42, ESC].iter().enumerate() {
            put_septet(&mut buf, i, *s);
        }
        let mut out = String::new();
        unpack_into(&buf, 0, 6, &mut out);
        assert_eq!(out, "A B");
    }

    #[test]
    fn short_buffers_read_as_zero_not_panic() {
        assert_eq!(septet_at(&[], 5), 0);
        let mut s = String::new();
        unpack_into(&[0xFF], 0, 4, &mut s);
        assert_eq!(s.chars().count(), 4);
    }
}
