//! Choosing the alphabet and cutting a text into concatenated parts (TS 23.040 9.2.3.24.1,
//! limits as in the EC2x AT+CMGS notes): GSM 160 septets single / 153 per part (152 with a
//! 16-bit reference), UCS2 70 units single / 67 per part (66). An ESC pair or a surrogate
//! pair is one unit of cost, so it is never cut in two.

use super::{gsm7, Encoding};
use std::ops::Range;

/// The most parts a concatenated message can have (the total is one octet).
pub const MAX_PARTS: usize = 255;

/// Alphabet and the byte ranges of `text` that go into each part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub encoding: Encoding,
    pub parts: Vec<Range<usize>>,
}

/// (single-part limit, per-part limit) in septets or UTF-16 units.
pub fn limits(encoding: Encoding, ref_bits: u8) -> (usize, usize) {
    let sixteen = ref_bits == 16;
    match encoding {
        Encoding::Gsm7 => (160, if sixteen { 152 } else { 153 }),
        Encoding::Ucs2 => (70, if sixteen { 66 } else { 67 }),
        Encoding::EightBit => (140, if sixteen { 133 } else { 134 }),
    }
}

fn cost(encoding: Encoding, c: char) -> usize {
    match encoding {
        Encoding::Gsm7 => gsm7::encode_char(c).map_or(1, gsm7::Gsm::septets),
        _ => c.len_utf16(),
    }
}

/// Plans the parts of `text`: GSM 7-bit when every character is in the default alphabet or
/// its extension, else UCS2. Always at least one (possibly empty) part.
pub fn plan(text: &str, ref_bits: u8) -> Plan {
    let (encoding, total) = match gsm7::septet_len(text) {
        Some(n) => (Encoding::Gsm7, n),
        None => (Encoding::Ucs2, text.encode_utf16().count()),
    };
    let (single, per_part) = limits(encoding, ref_bits);
    if total <= single {
        // One part holding the whole text (a one-element Vec, not a Vec of the range's items).
        #[allow(clippy::single_range_in_vec_init)]
        let parts = vec![0..text.len()];
        return Plan { encoding, parts };
    }
    let mut parts = Vec::with_capacity(total.div_ceil(per_part) + 1);
    let mut start = 0;
    let mut used = 0;
    for (i, c) in text.char_indices() {
        let k = cost(encoding, c);
        if used + k > per_part {
            parts.push(start..i);
            start = i;
            used = 0;
        }
        used += k;
    }
    parts.push(start..text.len());
    Plan { encoding, parts }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(text: &str) -> (Encoding, Vec<usize>) {
        let p = plan(text, 8);
        let n = p
            .parts
            .iter()
            .map(|r| match p.encoding {
                Encoding::Gsm7 => gsm7::septet_len(&text[r.clone()]).unwrap(),
                _ => text[r.clone()].encode_utf16().count(),
            })
            .collect();
        (p.encoding, n)
    }

    #[test]
    fn gsm_160_is_one_part_161_is_two() {
        assert_eq!(sizes(&"a".repeat(160)), (Encoding::Gsm7, vec![160]));
        assert_eq!(sizes(&"a".repeat(161)), (Encoding::Gsm7, vec![153, 8]));
        assert_eq!(sizes(&"a".repeat(306)), (Encoding::Gsm7, vec![153, 153]));
        assert_eq!(sizes(&"a".repeat(307)), (Encoding::Gsm7, vec![153, 153, 1]));
    }

    #[test]
    fn extension_characters_count_two_and_stay_whole() {
        // 80 euros = 160 septets: still one part.
        assert_eq!(sizes(&"€".repeat(80)), (Encoding::Gsm7, vec![160]));
        // 152 + an escape pair at the boundary: the pair moves to part two.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(10));
        assert_eq!(sizes(&text), (Encoding::Gsm7, vec![152, 12]));
        let text = format!("{}€{}", "a".repeat(151), "b".repeat(10));
        assert_eq!(sizes(&text), (Encoding::Gsm7, vec![153, 10]));
    }

    #[test]
    fn ucs2_70_is_one_part_71_is_two() {
        assert_eq!(sizes(&"中".repeat(70)), (Encoding::Ucs2, vec![70]));
        assert_eq!(sizes(&"中".repeat(71)), (Encoding::Ucs2, vec![67, 4]));
        assert_eq!(sizes(&"中".repeat(134)), (Encoding::Ucs2, vec![67, 67]));
    }

    #[test]
    fn surrogate_pairs_are_never_split() {
        // 66 units then an emoji: it would end part one on a high surrogate, so it moves.
        let text = format!("{}😀{}", "中".repeat(66), "文".repeat(10));
        assert_eq!(sizes(&text), (Encoding::Ucs2, vec![66, 12]));
        // 35 emoji = 70 units: one part.
        assert_eq!(sizes(&"😀".repeat(35)), (Encoding::Ucs2, vec![70]));
        assert_eq!(sizes(&"😀".repeat(36)), (Encoding::Ucs2, vec![66, 6]));
    }

    #[test]
    fn sixteen_bit_reference_leaves_less_room() {
        let p = plan(&"中".repeat(71), 16);
        assert_eq!(p.parts.len(), 2);
        assert_eq!(p.parts[0].len(), 66 * 3);
        let p = plan(&"a".repeat(161), 16);
        assert_eq!(p.parts[0].len(), 152);
    }

    #[test]
    fn one_non_gsm_character_makes_it_all_ucs2() {
        assert_eq!(plan("hello `world`", 8).encoding, Encoding::Ucs2);
        assert_eq!(plan("", 8).parts.len(), 1);
        assert!(plan("", 8).parts[0].is_empty());
        assert_eq!(plan("", 8).encoding, Encoding::Gsm7);
    }
}
