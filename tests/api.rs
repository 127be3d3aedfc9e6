//! The JSON API, the log-in and the pages over real HTTP on both backends: every route, wrong
//! tokens, wrong roles, missing CSRF, bad JSON, unknown numbers, paging, masking.

mod common;
mod webutil;

use webutil::{Server, ADMIN_PW, TOKEN, VIEWER_PW};

const BEARER: &str = "Bearer test-token-0123456789abcdef";

async fn access_rules(backend: common::Backend) {
    let s = Server::start(backend, |_| {}).await;
    let h = &s.http;
    // Open: health and the log-in page only.
    assert_eq!(h.get("/healthz", &[]).await.body, "ok");
    let login = h.get("/login", &[]).await;
    assert_eq!(login.status, 200);
    let c = login.cookies().join("\n");
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict"),
        "{c}"
    );
    // Everything else needs a session or a token.
    for path in [
        "/api/v1/appeals",
        "/api/v1/appeals/20220713001",
        "/api/v1/modems",
        "/api/v1/stats",
        "/api/v1/events",
        "/metrics",
    ] {
        let r = h.get(path, &[]).await;
        assert_eq!(r.status, 401, "{path}: {}", r.body);
        assert!(
            r.json()["error"].as_str().unwrap().contains("Bearer"),
            "{path}"
        );
        assert!(r.header("www-authenticate").is_some());
        let r = h
            .get(path, &[("authorization", "Bearer wrong-token-0123456789")])
            .await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.json()["error"], "unknown API token");
        let r = h
            .get(path, &[("authorization", "Basic YWRtaW46eA==")])
            .await;
        assert_eq!(r.status, 401, "{path}");
    }
    for path in ["/", "/appeals/20220713001", "/assets/app.js"] {
        let r = h.get(path, &[]).await;
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.header("location").as_deref(), Some("/login"));
        // A forged session cookie is no better.
        let r = h
            .get(
                path,
                &[("cookie", &format!("ag_session={}", "a".repeat(64)))],
            )
            .await;
        assert_eq!(r.status, 303, "{path}");
    }
    let r = h
        .post_json(
            "/api/v1/messages",
            &[],
            r#"{"to":"13812345678","text":"x"}"#,
        )
        .await;
    assert_eq!(r.status, 401);

    // Log-in: wrong password, unknown name, missing CSRF, then right.
    assert_eq!(h.try_login("admin", "nope").await.status, 401);
    assert_eq!(h.try_login("ghost", ADMIN_PW).await.status, 401);
    let r = h
        .send(
            "POST",
            "/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            &format!("name=admin&password={ADMIN_PW}&csrf=forged"),
        )
        .await;
    assert_eq!(r.status, 403, "no double-submit cookie");
    let r = h.try_login("admin", ADMIN_PW).await;
    assert_eq!(r.status, 303);
    let set = r.cookies().join("\n");
    assert!(
        set.contains("ag_session=") && set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let (cookie, csrf) = h.login("admin", ADMIN_PW).await.expect("admin logs in");
    // The session opens the API too; a write from the session needs the CSRF header.
    assert_eq!(
        h.get("/api/v1/stats", &[("cookie", &cookie)]).await.status,
        200
    );
    let msg = r#"{"to":"13812345678","text":"测试"}"#;
    let r = h
        .post_json("/api/v1/messages", &[("cookie", &cookie)], msg)
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("CSRF"));
    let r = h
        .post_json(
            "/api/v1/messages",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            msg,
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    // A viewer reads but may not write.
    let (vcookie, vcsrf) = h.login("jiwei", VIEWER_PW).await.expect("viewer logs in");
    let r = h
        .post_json(
            "/api/v1/messages",
            &[("cookie", &vcookie), ("x-csrf-token", &vcsrf)],
            msg,
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("viewer"));
    // Log-out needs the CSRF token and ends the session.
    let r = h
        .send(
            "POST",
            "/logout",
            &[
                ("cookie", &cookie),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            "csrf=wrong",
        )
        .await;
    assert_eq!(r.status, 403);
    let r = h
        .send(
            "POST",
            "/logout",
            &[
                ("cookie", &cookie),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(h.get("/", &[("cookie", &cookie)]).await.status, 303);
    // The log-in rate limit: the burst is spent (8 attempts above), then 429.
    let mut limited = false;
    for _ in 0..5 {
        if h.try_login("admin", "guess").await.status == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "the log-in rate limit never answered 429");
    // Sessions expire after 12 hours of logical time.
    s.clock.advance(chrono::Duration::hours(13));
    assert_eq!(h.get("/", &[("cookie", &vcookie)]).await.status, 303);
}
both_backends!(access, access_rules);

async fn appeals_routes(backend: common::Backend) {
    let s = Server::start(backend, |_| {}).await;
    let h = &s.http;
    let mut numbers = Vec::new();
    for i in 0..7 {
        let text = if i % 2 == 0 {
            "后山有房子裂缝，怕塌"
        } else {
            "村口路灯坏了"
        };
        numbers.push(s.file(&format!("1381234567{i}"), text).await.number);
    }
    // Paging: 3 + 3 + 1, newest first, no repeats.
    let mut seen = Vec::new();
    let mut path = "/api/v1/appeals?limit=3".to_string();
    loop {
        let r = h.get_token(&path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let j = r.json();
        for a in j["appeals"].as_array().unwrap() {
            seen.push(a["number"].as_str().unwrap().to_string());
            assert!(
                a["phone"].as_str().unwrap().starts_with("1381234567"),
                "token sees whole phones"
            );
        }
        match j["next"].as_i64() {
            Some(n) => path = format!("/api/v1/appeals?limit=3&before={n}"),
            None => break,
        }
    }
    let mut want = numbers.clone();
    want.reverse();
    assert_eq!(seen, want);
    // Filters.
    let reds = h.get_token("/api/v1/appeals?colour=red").await.json();
    let reds = reds["appeals"].as_array().unwrap();
    assert_eq!(reds.len(), 4, "{reds:?}");
    assert!(reds.iter().all(|a| a["colour"] == "red"));
    assert_eq!(
        h.get_token("/api/v1/appeals?village=nowhere").await.json()["appeals"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        h.get_token("/api/v1/appeals?status=open").await.json()["appeals"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(
        h.get_token("/api/v1/appeals?since=2022-07-14T00:00:00%2B08:00")
            .await
            .json()["appeals"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Bad queries: 400 with a reason.
    for (q, says) in [
        ("limit=0", "limit"),
        ("limit=abc", "bad query"),
        ("colour=blue", "colour"),
        ("since=yesterday", "RFC 3339"),
        ("before=-1", "before"),
        ("order=asc", "bad query"),
        ("status=%27%20OR%201%3D1--", ""),
    ] {
        let r = h.get_token(&format!("/api/v1/appeals?{q}")).await;
        if says.is_empty() {
            // An injection attempt is only a value that matches nothing.
            assert_eq!(r.status, 200, "{q}");
            assert_eq!(r.json()["appeals"].as_array().unwrap().len(), 0);
        } else {
            assert_eq!(r.status, 400, "{q}: {}", r.body);
            assert!(
                r.json()["error"].as_str().unwrap().contains(says),
                "{q}: {}",
                r.body
            );
        }
    }
    // One appeal, with its timeline and SMS.
    let n = &numbers[0];
    let r = h.get_token(&format!("/api/v1/appeals/{n}")).await;
    assert_eq!(r.status, 200);
    let a = r.json();
    assert_eq!(a["number"], n.as_str());
    assert_eq!(a["events"][0]["kind"], "filed");
    assert!(a["events"][0]["at"].as_str().unwrap().ends_with("+08:00"));
    assert_eq!(a["sms"][0]["direction"], "out", "the acknowledgement");
    assert!(a["resolve_by"].as_str().is_some());
    assert_eq!(h.get_token("/api/v1/appeals/20990101001").await.status, 404);
    assert_eq!(h.get_token("/api/v1/appeals/abc").await.status, 400);
    // A viewer sees phones masked everywhere.
    let (vc, _) = h.login("jiwei", VIEWER_PW).await.unwrap();
    let v = h
        .get(&format!("/api/v1/appeals/{n}"), &[("cookie", &vc)])
        .await
        .json();
    assert_eq!(v["phone"], "138****5670");
    assert_eq!(v["events"][0]["actor"], "138****5670");
    assert_eq!(v["sms"][0]["peer"], "138****5670");
    let page = h.get("/", &[("cookie", &vc)]).await.body;
    assert!(page.contains("138****5670") && !page.contains("13812345670"));
    let page = h.get(&format!("/appeals/{n}"), &[("cookie", &vc)]).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"id="timeline""#) && !page.body.contains("13812345670"));
    let (ac, acsrf) = h.login("admin", ADMIN_PW).await.unwrap();
    let page = h
        .get(&format!("/appeals/{n}"), &[("cookie", &ac)])
        .await
        .body;
    assert!(page.contains("13812345670"), "admins see whole numbers");
    assert_eq!(
        h.get("/appeals/20990101001", &[("cookie", &ac)])
            .await
            .status,
        404
    );
    // English.
    let r = h.get("/lang/en?next=/", &[]).await;
    assert_eq!(r.status, 303);
    let lang = r.cookie("ag_lang").unwrap();
    let page = h
        .get("/", &[("cookie", &format!("{ac}; {lang}"))])
        .await
        .body;
    assert!(page.contains(r#"<html lang="en">"#) && page.contains("Overdue"));
    assert_eq!(
        h.get("/lang/en?next=//evil.example", &[])
            .await
            .header("location")
            .as_deref(),
        Some("/")
    );
    // Browsers drop a tab or newline from a Location: "/\t/evil" would become "//evil".
    for evil in [
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%0D%0A/evil.example",
    ] {
        assert_eq!(
            h.get(&format!("/lang/en?next={evil}"), &[])
                .await
                .header("location")
                .as_deref(),
            Some("/"),
            "{evil}"
        );
    }

    // Actions, the workflow's rules.
    let act = |body: &'static str| {
        let path = format!("/api/v1/appeals/{n}/actions");
        async move { h.post_json(&path, &[("authorization", BEARER)], body).await }
    };
    let r = act(r#"{"action":"accept"}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "accepted");
    let r = act(r#"{"action":"accept"}"#).await;
    assert_eq!(r.status, 409, "accepting twice: {}", r.body);
    let r = act(r#"{"action":"reply","text":"已派人去看"}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.json()["queued"].as_u64().unwrap() >= 1,
        "the reply is texted"
    );
    for (body, says) in [
        ("{not json", "bad JSON"),
        (r#"{"action":"fly"}"#, "bad JSON"),
        (r#"{"action":"reply"}"#, "text"),
        (r#"{"action":"reply","text":"  "}"#, "text"),
        (r#"{"action":"regrade","colour":"blue"}"#, "colour"),
        (r#"{"action":"accept","by":"x"}"#, "bad JSON"),
    ] {
        let r = act(body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(
            r.json()["error"].as_str().unwrap().contains(says),
            "{body}: {}",
            r.body
        );
    }
    let r = act(r#"{"action":"regrade","colour":"yellow"}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["colour"], "yellow");
    let r = h
        .post_json(
            "/api/v1/appeals/20990101001/actions",
            &[("authorization", BEARER)],
            r#"{"action":"accept"}"#,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = h
        .post_json(
            &format!("/api/v1/appeals/{n}/actions"),
            &[("cookie", &vc)],
            r#"{"action":"accept"}"#,
        )
        .await;
    assert_eq!(r.status, 403, "viewer");
    let r = h
        .post_json(
            &format!("/api/v1/appeals/{n}/actions"),
            &[("cookie", &ac), ("x-csrf-token", &acsrf)],
            r#"{"action":"resolve","text":"路灯已修好"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "resolved");
    let r = h.get_token(&format!("/api/v1/appeals/{n}")).await.json();
    let kinds: Vec<&str> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"accepted") && kinds.contains(&"resolved"),
        "{kinds:?}"
    );
    let big = format!(r#"{{"action":"note","text":"{}"}}"#, "x".repeat(20_000));
    let r = h
        .post_json(
            &format!("/api/v1/appeals/{n}/actions"),
            &[("authorization", BEARER)],
            &big,
        )
        .await;
    assert_eq!(r.status, 413);
}
both_backends!(appeals, appeals_routes);

async fn other_routes(backend: common::Backend) {
    let s = Server::start(backend, |_| {}).await;
    let h = &s.http;
    s.file("13812345678", "后山有房子裂缝，怕塌").await;
    s.file("13987654321", "村口路灯坏了").await;
    // Modems: none in this server, still a list.
    assert_eq!(
        h.get_token("/api/v1/modems").await.json(),
        serde_json::json!([])
    );
    // Stats.
    let st = h.get_token("/api/v1/stats").await.json();
    assert_eq!(st["appeals"]["total"], 2);
    assert_eq!(st["appeals"]["by_status"]["open"], 2);
    assert_eq!(st["appeals"]["today"]["red"]["collection"], 1);
    assert_eq!(st["appeals"]["overdue"], 0);
    assert_eq!(st["queues"]["outbox_queued"], 2, "two acknowledgements");
    // Red's response limit is 30 minutes: after 31, one appeal is overdue.
    s.clock.advance(chrono::Duration::minutes(31));
    let st = h.get_token("/api/v1/stats").await.json();
    assert_eq!(st["appeals"]["overdue"], 1);
    let (ac, _) = h.login("admin", ADMIN_PW).await.unwrap();
    let page = h.get("/", &[("cookie", &ac)]).await.body;
    assert!(
        page.contains(r#"<span class="late">1</span>"#),
        "overdue count on the page"
    );
    assert!(page.contains("1分钟"), "how late");
    // Events, with the live feed's `after`.
    let ev = h.get_token("/api/v1/events").await.json();
    let list = ev["events"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let newest = list[0]["id"].as_i64().unwrap();
    assert_eq!(
        h.get_token(&format!("/api/v1/events?after={newest}"))
            .await
            .json()["events"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(h.get_token("/api/v1/events?limit=500").await.status, 400);
    // Messages: queued for the modems.
    for (body, status) in [
        (r#"{"to":"13812345678","text":"通知：明天停水"}"#, 202),
        (r#"{"to":"1381234567x","text":"x"}"#, 400),
        (r#"{"to":"13812345678","text":""}"#, 400),
        (r#"{"to":"13812345678"}"#, 400),
        (r#"["to"]"#, 400),
        ("", 411),
    ] {
        let r = h
            .post_json("/api/v1/messages", &[("authorization", BEARER)], body)
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        if status >= 400 {
            assert!(r.json()["error"].is_string());
        }
    }
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'api'")
        .fetch_one(s.store.reader())
        .await
        .unwrap();
    assert_eq!(queued, 1);
    // Metrics.
    let m = h.get_token("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(m
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert!(
        m.body.contains("appeal_gateway_outbox_queued 3\n"),
        "{}",
        m.body
    );
    assert!(m
        .body
        .contains("appeal_gateway_appeals{status=\"open\",colour=\"red\"} 1\n"));
    assert!(m.body.contains("appeal_gateway_appeals_overdue 1\n"));
    // Unknown routes and methods.
    assert_eq!(h.get_token("/api/v2/appeals").await.status, 404);
    let r = h
        .send(
            "DELETE",
            "/api/v1/appeals",
            &[("authorization", BEARER)],
            "",
        )
        .await;
    assert_eq!(r.status, 405, "{}", r.body);
    // The script is served to sessions only, and the page refers to it.
    assert_eq!(
        h.get("/assets/app.js", &[("cookie", &ac)]).await.status,
        200
    );
    let _ = TOKEN;
}
both_backends!(others, other_routes);
