//! Web test harness: the web server alone on a test database (no modems), a manual clock,
//! appeals filed directly, and a small HTTP client over hyper.
#![allow(dead_code)]

use std::sync::Arc;

use appeal_gateway::appeals::FilingPolicy;
use appeal_gateway::appeals::{file_appeal, Filed, NewAppeal, TextIn};
use appeal_gateway::clock::Clock;
use appeal_gateway::config::{Account, Config, Role};
use appeal_gateway::directory::{Directory, DirectoryHandle};
use appeal_gateway::store::Store;
use appeal_gateway::web::Shared;
use chrono::{DateTime, TimeZone, Utc};
use tokio_util::sync::CancellationToken;

use crate::common::{Backend, TestDb};

pub const TOKEN: &str = "test-token-0123456789abcdef";
pub const ADMIN_PW: &str = "admin-password";
pub const VIEWER_PW: &str = "viewer-password";

pub fn start_time() -> DateTime<Utc> {
    // 2022-07-13 09:00 in Shanghai.
    Utc.with_ymd_and_hms(2022, 7, 13, 1, 0, 0).unwrap()
}

pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_string())
    }

    /// All Set-Cookie values.
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap_or("").to_string())
            .collect()
    }

    /// `name=value` of a Set-Cookie, for a Cookie header.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap_or("").to_string())
    }
}

#[derive(Clone)]
pub struct Http {
    pub base: String,
    client: hyper::Client<hyper::client::HttpConnector>,
}

impl Http {
    pub fn new(base: String) -> Http {
        Http {
            base,
            client: hyper::Client::new(),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Resp {
        let mut b = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b
            .body(hyper::Body::from(body.to_string()))
            .expect("request");
        let resp = self.client.request(req).await.expect("HTTP request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = hyper::body::to_bytes(resp.into_body()).await.expect("body");
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.send("GET", path, headers, "").await
    }

    pub async fn get_token(&self, path: &str) -> Resp {
        self.get(path, &[("authorization", &format!("Bearer {TOKEN}"))])
            .await
    }

    pub async fn post_json(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.send("POST", path, &h, body).await
    }

    /// Logs in through the form; returns the session's `ag_session=...` cookie and its CSRF
    /// token (from the status page's meta tag).
    pub async fn login(&self, name: &str, password: &str) -> Option<(String, String)> {
        let r = self.try_login(name, password).await;
        if r.status != 303 {
            return None;
        }
        let cookie = r.cookie("ag_session")?;
        let page = self.get("/", &[("cookie", &cookie)]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = between(&page.body, r#"<meta name="csrf" content=""#, "\"")?;
        Some((cookie, csrf))
    }

    pub async fn try_login(&self, name: &str, password: &str) -> Resp {
        let form = self.get("/login", &[]).await;
        let login_cookie = form.cookie("ag_login_csrf").expect("login csrf cookie");
        let csrf = between(&form.body, r#"name="csrf" value=""#, "\"").expect("csrf field");
        let body = format!("name={}&password={}&csrf={csrf}", enc(name), enc(password));
        self.send(
            "POST",
            "/login",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", &login_cookie),
            ],
            &body,
        )
        .await
    }
}

pub fn between(s: &str, start: &str, end: &str) -> Option<String> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(s[i..j].to_string())
}

/// application/x-www-form-urlencoded value.
pub fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

pub struct Server {
    pub http: Http,
    pub store: Store,
    pub clock: Clock,
    pub config: Arc<Config>,
    pub shared: Shared,
    token: CancellationToken,
    pub db: TestDb,
}

impl Server {
    pub async fn start(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Server {
        let db = TestDb::new(backend).await;
        let mut config = Config::parse(
            &format!(
                "signature = \"【双红村】\"\nquiet_hours = \"00:00-00:00\"\n[database]\nurl = \"{}\"\n",
                db.url
            ),
            std::path::Path::new("test.toml"),
        )
        .expect("config");
        config.api.tokens.push(TOKEN.to_string());
        for (name, role, pw) in [
            ("admin", Role::Admin, ADMIN_PW),
            ("jiwei", Role::Viewer, VIEWER_PW),
        ] {
            config.web.accounts.push(Account {
                name: name.into(),
                role,
                password_hash: appeal_gateway::web::auth::hash_password(pw).unwrap(),
            });
        }
        tweak(&mut config);
        let config = Arc::new(config);
        let store = db.store().await;
        let clock = Clock::manual(start_time());
        let shared = Shared {
            config: config.clone(),
            store: store.clone(),
            clock: clock.clone(),
            modems: Vec::new(),
            outbox_wake: appeal_gateway::wake::Wake::new(),
            directory: DirectoryHandle::new(Directory::default()),
            db: appeal_gateway::store::health::Health::new(clock.clone()),
            leader: appeal_gateway::store::leader::Leader::always(),
        };
        let token = CancellationToken::new();
        let (addr, server) = appeal_gateway::web::bind(
            shared.clone(),
            "127.0.0.1:0".parse().unwrap(),
            token.clone(),
        )
        .expect("bind");
        tokio::spawn(server);
        Server {
            http: Http::new(format!("http://{addr}")),
            store,
            clock,
            config,
            shared,
            token,
            db,
        }
    }

    /// Files an appeal as the SMS side would.
    pub async fn file(&self, phone: &str, text: &str) -> Filed {
        let policy = FilingPolicy::from_config(&self.config);
        let now = self.clock.now();
        let mut tx = self.store.pool().begin().await.unwrap();
        let f = file_appeal(
            &self.store,
            &mut tx,
            &policy,
            NewAppeal {
                input: &TextIn {
                    phone,
                    modem: "m1",
                    modem_village: Some("shuanghong"),
                    text,
                    received_at: now,
                    channel: "sms",
                },
                village: Some("shuanghong"),
                now,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        f
    }

    pub fn stop(&self) {
        self.token.cancel();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.token.cancel();
    }
}
