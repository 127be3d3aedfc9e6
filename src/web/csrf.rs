//! CSRF protection. Every form carries a token the attacker's page cannot read: logged-in
//! forms carry the session's own token (stored with the session); the log-in form, which comes
//! before any session, uses a double-submit cookie (the same random value in an HttpOnly,
//! SameSite=Strict cookie and in the form). Both are compared in constant time.

use rand::RngCore;

/// Cookie that carries the log-in form's token.
pub const LOGIN_COOKIE: &str = "ag_login_csrf";

/// A fresh random token: 32 bytes as hex.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Constant-time equality of two secrets; differing lengths are unequal (the length of a
/// random token is public anyway).
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a submitted token matches the expected one; an empty expected token never matches.
pub fn check(expected: &str, submitted: Option<&str>) -> bool {
    match submitted {
        Some(s) => !expected.is_empty() && same(expected, s),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex() {
        let a = new_token();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_token());
    }

    #[test]
    fn check_table() {
        for (expected, submitted, ok) in [
            ("abc", Some("abc"), true),
            ("abc", Some("abd"), false),
            ("abc", Some("ab"), false),
            ("abc", None, false),
            ("", Some(""), false),
        ] {
            assert_eq!(check(expected, submitted), ok, "{expected:?} {submitted:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn same_agrees_with_eq(a in ".{0,40}", b in ".{0,40}") {
            proptest::prop_assert_eq!(same(&a, &b), a == b);
        }
    }
}
