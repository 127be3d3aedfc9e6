//! Reassembly of concatenated parts. Pure.

/// One stored part of a concatenated message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub seq: u8,
    pub text: String,
}

/// Joins parts in sequence order, ignoring duplicates of a sequence number. Missing parts (when
/// filing after the timeout) leave a visible mark so the cadre knows text is missing.
/// Returns the text and whether a gap was marked.
pub fn assemble(total: u8, parts: &[Part]) -> (String, bool) {
    let mut by_seq: Vec<Option<&str>> = vec![None; total as usize];
    for p in parts {
        if p.seq >= 1 && p.seq <= total {
            let slot = &mut by_seq[p.seq as usize - 1];
            if slot.is_none() {
                *slot = Some(&p.text);
            }
        }
    }
    let mut out = String::new();
    let mut gap = false;
    for (i, slot) in by_seq.iter().enumerate() {
        match slot {
            Some(t) => out.push_str(t),
            None => {
                gap = true;
                out.push_str(&format!("【第{}段缺失】", i + 1));
            }
        }
    }
    (out, gap)
}

/// Whether every sequence number 1..=total is present.
pub fn complete(total: u8, parts: &[Part]) -> bool {
    (1..=total).all(|s| parts.iter().any(|p| p.seq == s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(seq: u8, t: &str) -> Part {
        Part {
            seq,
            text: t.into(),
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
}
