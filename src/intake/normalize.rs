//! Text normalisation for villagers' messages.
//!
//! NFKC folds full-width digits and Latin letters (１２３, ＣＸ) and the ideographic space into
//! their ASCII forms, so numbers and commands match. Chinese punctuation (，。？！：；（）) is kept
//! as typed: cadres read these texts, and NFKC would turn "，" into ",".

use unicode_normalization::UnicodeNormalization;

/// Characters NFKC would fold that we keep: full-width CJK punctuation people read.
const KEEP: &[char] = &[
    '，', '。', '？', '！', '：', '；', '（', '）', '、', '“', '”',
];

pub fn normalize(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        if KEEP.contains(&c) {
            folded.push(c);
        } else if c.is_control() && c != '\n' {
            // NUL and friends from broken phones; a newline the villager typed stays.
            folded.push(' ');
        } else {
            folded.extend(std::iter::once(c).nfkc());
        }
    }
    collapse_spaces(&folded)
}

/// Runs of blanks become one space; blanks around line breaks and at the ends go.
fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push('\n');
        }
        let mut blank = false;
        for c in line.chars() {
            if c.is_whitespace() {
                blank = true;
            } else {
                if blank {
                    out.push(' ');
                    blank = false;
                }
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn full_width_digits_and_letters_fold() {
        assert_eq!(normalize("ＣＸ２０２２０７１３００２"), "CX20220713002");
        assert_eq!(normalize("回复４"), "回复4");
    }

    #[test]
    fn chinese_punctuation_stays() {
        assert_eq!(
            normalize("玉米被风吹倒了，怎么办？"),
            "玉米被风吹倒了，怎么办？"
        );
    }

    #[test]
    fn stray_spaces_go() {
        assert_eq!(
            normalize("  路灯\u{3000}\u{3000}坏了 \t 三天 "),
            "路灯 坏了 三天"
        );
        assert_eq!(normalize("第一行  \n\n  第二行"), "第一行\n第二行");
        assert_eq!(normalize("a\0b"), "a b");
    }

    proptest! {
        #[test]
        fn idempotent(s in "\\PC{0,200}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once.clone());
        }
    }
}
