//! Who is asking: an admin or viewer with a log-in session (cookie), or the platform with a
//! bearer token from `[api] tokens`. Passwords are argon2 hashes from the config; tokens are
//! compared in constant time. Everything but /healthz and the log-in page goes through here.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::csrf;
use super::session::{self, Session};
use crate::config::{Config, Role};
use crate::store::Store;

/// The name recorded as the actor of what a bearer-token client does.
pub const API_ACTOR: &str = "api";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A browser with a session cookie; its state-changing requests need the CSRF token.
    Session { csrf: String },
    /// A bearer token: no cookie, so no CSRF exposure.
    Token,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    pub via: Via,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Phone numbers are shown whole only to admins (and the platform's token).
    pub fn phone(&self, phone: &str) -> String {
        if self.is_admin() {
            phone.to_string()
        } else {
            crate::phone::mask(phone)
        }
    }

    /// An event's actor is a phone number when a villager acted by SMS, and "name/phone" when a
    /// cadre did: a cadre's number is as private as a villager's.
    pub fn actor(&self, actor: &str) -> String {
        if crate::phone::is_valid(actor) {
            self.phone(actor)
        } else {
            self.text(actor)
        }
    }

    /// Free text as this principal may see it: mobile numbers inside it (a transfer note, a
    /// villager who typed a neighbour's number, an actor label) masked for all but admins.
    pub fn text(&self, text: &str) -> String {
        if self.is_admin() {
            text.to_string()
        } else {
            crate::phone::mask_in_text(text)
        }
    }

    /// The CSRF token a session's forms carry (empty for tokens, which need none).
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf } => csrf,
            Via::Token => "",
        }
    }

    /// Whether a state-changing request from this principal carries what it must.
    pub fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        match &self.via {
            Via::Token => true,
            Via::Session { csrf: expected } => csrf::check(expected, submitted),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("the password is empty")]
    Empty,
    #[error("argon2: {0}")]
    Argon2(String),
}

/// An argon2id PHC string for `password` with a fresh random salt (the crate's default
/// parameters, the OWASP minimum: m=19 MiB, t=2, p=1).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    if password.is_empty() {
        return Err(HashError::Empty);
    }
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| HashError::Argon2(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Argon2(e.to_string()))
}

/// Checks a password against a PHC string; a malformed hash never verifies.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Verified against when the account name is unknown, so a wrong name costs as long as a
/// wrong password and the timing does not reveal which accounts exist.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such account").unwrap_or_default())
}

/// Checks a log-in against the config's accounts. Runs argon2 on a blocking thread.
pub async fn check_login(config: &Config, name: &str, password: &str) -> Option<Role> {
    let account = config.web.accounts.iter().find(|a| a.name == name);
    let (hash, role) = match account {
        Some(a) => (a.password_hash.clone(), Some(a.role)),
        None => (dummy_hash().to_string(), None),
    };
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    if ok {
        role
    } else {
        None
    }
}

/// Whether `token` is one of the configured API tokens. Every token is compared, in constant
/// time, so neither the match position nor a common prefix shows in the timing.
pub fn token_ok(config: &Config, token: &str) -> bool {
    config
        .api
        .tokens
        .iter()
        .fold(false, |found, t| csrf::same(t, token) | found)
}

/// `Bearer <token>` from an Authorization header.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Neither a valid session nor a valid token.
    Unauthenticated,
    /// A bearer token was given but is not configured.
    BadToken,
    Storage,
}

/// Resolves the caller from the Authorization header (first) or the session cookie.
pub async fn resolve(
    config: &Config,
    store: &Store,
    now_ms: i64,
    authorization: Option<&str>,
    session_token: Option<&str>,
) -> Result<Principal, Denied> {
    if let Some(h) = authorization {
        return match bearer(h) {
            Some(t) if token_ok(config, t) => Ok(Principal {
                name: API_ACTOR.to_string(),
                role: Role::Admin,
                via: Via::Token,
            }),
            _ => Err(Denied::BadToken),
        };
    }
    let Some(token) = session_token else {
        return Err(Denied::Unauthenticated);
    };
    let s: Session = match session::find(store, token, now_ms).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(Denied::Unauthenticated),
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            return Err(Denied::Storage);
        }
    };
    // The config is the authority on accounts: a removed account's sessions are dead and a
    // changed role applies at once.
    let Some(account) = config.web.accounts.iter().find(|a| a.name == s.account) else {
        return Err(Denied::Unauthenticated);
    };
    Ok(Principal {
        name: s.account,
        role: account.role,
        via: Via::Session { csrf: s.csrf },
    })
}

/// Log-in attempts per client address: a burst of 10, then one every 6 seconds, which stops
/// password guessing long before argon2's cost would.
pub type LoginLimiter = Arc<DefaultKeyedRateLimiter<IpAddr>>;

pub fn login_limiter() -> LoginLimiter {
    let burst = NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN);
    let quota =
        Quota::per_minute(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN)).allow_burst(burst);
    Arc::new(RateLimiter::keyed(quota))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = hash_password("村委会2022").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("村委会2022", &h));
        assert!(!verify_password("村委会2023", &h));
        assert!(!verify_password("x", "not-a-hash"));
        assert!(matches!(hash_password(""), Err(HashError::Empty)));
    }

    #[test]
    fn dummy_hash_is_well_formed() {
        assert!(PasswordHash::new(dummy_hash()).is_ok());
    }

    #[test]
    fn bearer_header_table() {
        for (h, want) in [
            ("Bearer abc", Some("abc")),
            ("bearer  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer", None),
            ("Bearer ", None),
            ("", None),
        ] {
            assert_eq!(bearer(h), want, "{h:?}");
        }
    }

    #[test]
    fn viewers_see_masked_phones_and_actors() {
        let v = Principal {
            name: "jw".into(),
            role: Role::Viewer,
            via: Via::Token,
        };
        assert_eq!(v.phone("13812345678"), "138****5678");
        assert_eq!(v.actor("+8613812345678"), "138****5678");
        assert_eq!(v.actor("admin"), "admin");
        // A cadre acting by SMS is recorded as "name/phone".
        assert_eq!(v.actor("张三/13900000001"), "张三/139****0001");
        assert_eq!(v.actor("张三/+8613900000001"), "张三/139****0001");
        assert_eq!(
            v.text("转办给李四13900000002，诉求20220713002，序号002，电话0838-1234567"),
            "转办给李四139****0002，诉求20220713002，序号002，电话0838-1234567"
        );
        let a = Principal {
            role: Role::Admin,
            ..v
        };
        assert_eq!(a.phone("13812345678"), "13812345678");
        assert_eq!(a.actor("张三/13900000001"), "张三/13900000001");
    }

    #[test]
    fn login_limit_stops_the_eleventh_try() {
        let l = login_limiter();
        let ip: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..10 {
            assert!(l.check_key(&ip).is_ok());
        }
        assert!(l.check_key(&ip).is_err());
        assert!(l.check_key(&IpAddr::from([10, 0, 0, 1])).is_ok());
    }
}
