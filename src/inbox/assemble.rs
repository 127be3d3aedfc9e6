//! Reassembly of concatenated parts. Pure.

/// One stored part of a concatenated message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub seq: u8,
    pub text: String,
    /// The part's raw UCS2 octets when its text has an unpaired surrogate at an edge (shown as
    /// U+FFFD: an emoji or a CJK Extension B character the sender's phone cut in two), so the
    /// halves are joined as UTF-16 with the neighbouring part; empty otherwise.
    pub ucs2: Vec<u8>,
}

/// Joins parts in sequence order, ignoring duplicates of a sequence number. Missing parts (when
/// filing after the timeout) leave a visible mark so the cadre knows text is missing.
/// Returns the text and whether a gap was marked.
pub fn assemble(total: u8, parts: &[Part]) -> (String, bool) {
    let mut by_seq: Vec<Option<&Part>> = vec![None; total as usize];
    for p in parts {
        if p.seq >= 1 && p.seq <= total {
            let slot = &mut by_seq[p.seq as usize - 1];
            if slot.is_none() {
                *slot = Some(p);
            }
        }
    }
    let mut out = Joiner::default();
    let mut gap = false;
    for (i, slot) in by_seq.iter().enumerate() {
        match slot {
            Some(p) => out.push(p),
            None => {
                gap = true;
                out.push_str(&format!("【第{}段缺失】", i + 1));
            }
        }
    }
    (out.finish(), gap)
}

/// The parts present, in sequence order, joined without gap marks: the text of parts that
/// arrive after their message was filed.
pub fn join_present(parts: &[Part]) -> String {
    let mut sorted: Vec<&Part> = parts.iter().collect();
    sorted.sort_by_key(|p| p.seq);
    sorted.dedup_by_key(|p| p.seq);
    let mut out = Joiner::default();
    for p in sorted {
        out.push(p);
    }
    out.finish()
}

/// Text being joined; UTF-16 units are held back while a part with raw octets is open, so a
/// surrogate pair split between two adjacent parts is decoded whole.
#[derive(Default)]
struct Joiner {
    out: String,
    units: Vec<u16>,
}

impl Joiner {
    fn push(&mut self, p: &Part) {
        if !p.ucs2.is_empty() {
            self.units.extend(
                p.ucs2
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]])),
            );
            if p.ucs2.len() % 2 != 0 {
                // A dangling odd octet cannot pair with the next part's units.
                self.flush();
                self.out.push(char::REPLACEMENT_CHARACTER);
            }
        } else if !self.units.is_empty() {
            self.units.extend(p.text.encode_utf16());
        } else {
            self.out.push_str(&p.text);
        }
    }

    fn push_str(&mut self, s: &str) {
        self.flush();
        self.out.push_str(s);
    }

    fn flush(&mut self) {
        self.out.extend(
            char::decode_utf16(self.units.drain(..))
                .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)),
        );
    }

    fn finish(mut self) -> String {
        self.flush();
        self.out
    }
}

/// Whether every sequence number 1..=total is present.
pub fn complete(total: u8, parts: &[Part]) -> bool {
    (1..=total).all(|s| parts.iter().any(|p| p.seq == s))
}

/// Parts parked under one concatenation key (sender, reference, total) may belong to several
/// messages: a phone reuses a reference after 256 long texts, and a message that lost a part
/// leaves the rest parked when the next one with the same reference comes. `parts` are
/// `(sequence number, service-centre time in ms)` in arrival order. A part joins a message
/// that lacks its sequence number and was sent within `window_ms` of it (the parts of one
/// text are sent together): the one sent closest in time, and of equals the latest begun,
/// since an older message still waiting has most likely lost this part. Otherwise it starts
/// a new one. Returns the indexes of each message's parts.
pub fn generations(parts: &[(u8, i64)], window_ms: i64) -> Vec<Vec<usize>> {
    let mut gens: Vec<Vec<usize>> = Vec::new();
    for (i, &(seq, at)) in parts.iter().enumerate() {
        let best = gens
            .iter()
            .enumerate()
            .filter(|(_, g)| {
                g.iter().all(|&j| parts[j].0 != seq)
                    && g.iter().all(|&j| (parts[j].1 - at).abs() <= window_ms)
            })
            .map(|(n, g)| {
                let distance = g.iter().map(|&j| (parts[j].1 - at).abs()).min();
                (distance, std::cmp::Reverse(n))
            })
            .min()
            .map(|(_, std::cmp::Reverse(n))| n);
        match best {
            Some(n) => gens[n].push(i),
            None => gens.push(vec![i]),
        }
    }
    gens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(seq: u8, t: &str) -> Part {
        Part {
            seq,
            text: t.into(),
            ucs2: Vec::new(),
        }
    }

    fn raw(seq: u8, units: &[u16]) -> Part {
        Part {
            seq,
            text: String::from_utf16_lossy(units),
            ucs2: units.iter().flat_map(|u| u.to_be_bytes()).collect(),
        }
    }

    #[test]
    fn out_of_order_and_duplicates() {
        let parts = [p(3, "C"), p(1, "A"), p(1, "A"), p(2, "B")];
        assert!(complete(3, &parts));
        assert_eq!(assemble(3, &parts), ("ABC".to_string(), false));
    }

    #[test]
    fn gap_is_marked() {
        let parts = [p(1, "玉米"), p(3, "倒了")];
        assert!(!complete(3, &parts));
        assert_eq!(
            assemble(3, &parts),
            ("玉米【第2段缺失】倒了".to_string(), true)
        );
    }

    #[test]
    fn out_of_range_sequence_ignored() {
        assert_eq!(
            assemble(2, &[p(0, "x"), p(9, "y"), p(1, "a"), p(2, "b")]).0,
            "ab"
        );
    }

    #[test]
    fn surrogate_pair_split_across_parts_is_joined() {
        // 中 + high half of U+1F600 | low half + A; then U+20000 (CJK Ext-B) across 2|3.
        let parts = [
            raw(2, &[0xDE00, 0x41, 0xD840]),
            raw(1, &[0x4E2D, 0xD83D]),
            raw(3, &[0xDC00]),
        ];
        assert_eq!(assemble(3, &parts), ("中😀A\u{20000}".to_string(), false));
        // A whole part without raw octets after an open pair still joins as UTF-16.
        let parts = [raw(1, &[0x4E2D, 0xD83D]), p(2, "x"), raw(3, &[0x41])];
        assert_eq!(assemble(3, &parts).0, "中\u{FFFD}xA");
    }

    #[test]
    fn a_gap_between_halves_leaves_replacement_characters() {
        let parts = [raw(1, &[0x4E2D, 0xD83D]), raw(3, &[0xDE00, 0x41])];
        assert_eq!(
            assemble(3, &parts),
            ("中\u{FFFD}【第2段缺失】\u{FFFD}A".to_string(), true)
        );
        assert_eq!(join_present(&parts), "中😀A");
    }

    #[test]
    fn join_present_orders_and_skips_duplicates() {
        assert_eq!(join_present(&[p(3, "C"), p(2, "B"), p(3, "C")]), "BC");
    }

    #[test]
    fn messages_sharing_a_reference_are_separated() {
        // First message's part 1 parked; a second message 1, 2 with the same reference.
        assert_eq!(
            generations(&[(1, 0), (1, 500_000), (2, 500_000)], 600_000),
            vec![vec![0], vec![1, 2]]
        );
        // The second message out of order, a day later: its part 2 does not complete the
        // first.
        let day = 86_400_000;
        assert_eq!(
            generations(&[(1, 0), (2, day), (1, day)], 600_000),
            vec![vec![0], vec![1, 2]]
        );
        // One message out of order: one message.
        assert_eq!(
            generations(&[(2, 10), (1, 0), (3, 20)], 600_000),
            vec![vec![0, 1, 2]]
        );
        // Same time stamps (one second): the part goes to the message begun last.
        assert_eq!(
            generations(&[(1, 0), (1, 0), (2, 0)], 600_000),
            vec![vec![0], vec![1, 2]]
        );
        // Two interleaved messages, told apart by their times.
        assert_eq!(
            generations(&[(1, 0), (1, 400_000), (2, 1_000), (2, 401_000)], 600_000),
            vec![vec![0, 2], vec![1, 3]]
        );
    }
}
