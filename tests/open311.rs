//! Open311 GeoReport v2 over HTTP on both backends: discovery, services, requests in JSON and
//! XML, filing by POST with api_key, the spec's errors; and webhooks: signed deliveries that
//! survive a receiver outage.

mod common;
mod webutil;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use appeal_gateway::config::{Webhook, WebhookEvent};
use webutil::{Server, TOKEN};

fn key() -> String {
    format!("api_key={TOKEN}")
}

async fn open311_routes(backend: common::Backend) {
    let s = Server::start(backend, |_| {}).await;
    let h = &s.http;
    let red = s.file("13812345678", "后山有房子裂缝，怕塌").await;
    let green = s.file("13987654321", "玉米被风吹倒了").await;
    // Discovery and services, JSON and XML.
    let d = h
        .get(&format!("/open311/v2/discovery.json?{}", key()), &[])
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(
        d.json()["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    let x = h
        .get(&format!("/open311/v2/discovery.xml?{}", key()), &[])
        .await;
    assert!(x.header("content-type").unwrap().starts_with("text/xml"));
    assert!(
        x.body.starts_with("<?xml") && x.body.contains("<endpoints><endpoint>"),
        "{}",
        x.body
    );
    let services = h
        .get(&format!("/open311/v2/services.json?{}", key()), &[])
        .await
        .json();
    let services = services.as_array().unwrap();
    assert!(services.len() >= 2);
    let danger = services
        .iter()
        .find(|s| s["service_name"] == red.category.as_str())
        .expect("the red appeal's category is a service");
    let code = danger["service_code"].as_str().unwrap().to_string();
    assert_eq!(danger["metadata"], false);
    let sx = h
        .get(&format!("/open311/v2/services.xml?{}", key()), &[])
        .await
        .body;
    assert!(
        sx.contains("<services><service>")
            && sx.contains(&format!("<service_code>{code}</service_code>"))
    );
    let def = h
        .get(&format!("/open311/v2/services/{code}.json?{}", key()), &[])
        .await
        .json();
    assert_eq!(def["service_code"], code.as_str());
    let r = h
        .get(&format!("/open311/v2/services/nope.json?{}", key()), &[])
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()[0]["code"], 404);

    // Requests: all, by id, by service, by status, by dates.
    let all = h
        .get(&format!("/open311/v2/requests.json?{}", key()), &[])
        .await
        .json();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    let r0 = all
        .iter()
        .find(|r| r["service_request_id"] == red.number.as_str())
        .unwrap();
    assert_eq!(r0["status"], "open");
    assert_eq!(r0["service_code"], code.as_str());
    assert!(r0["status_notes"].as_str().unwrap().contains("colour: red"));
    assert!(r0["status_notes"]
        .as_str()
        .unwrap()
        .contains("step: collection"));
    for k in [
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
    ] {
        assert!(
            r0[k].as_str().unwrap().ends_with("+08:00"),
            "{k}: {}",
            r0[k]
        );
    }
    assert!(r0["agency_responsible"].is_string());
    let one = h
        .get(
            &format!("/open311/v2/requests/{}.xml?{}", green.number, key()),
            &[],
        )
        .await;
    assert_eq!(one.status, 200);
    assert!(one.body.contains(&format!(
        "<service_request_id>{}</service_request_id>",
        green.number
    )));
    assert!(one.body.contains("<status>open</status>"));
    let by_code = h
        .get(
            &format!("/open311/v2/requests.json?service_code={code}&{}", key()),
            &[],
        )
        .await
        .json();
    assert_eq!(by_code.as_array().unwrap().len(), 1);
    let ids = h
        .get(
            &format!(
                "/open311/v2/requests.json?service_request_id={},{}&status=closed&{}",
                red.number,
                green.number,
                key()
            ),
            &[],
        )
        .await
        .json();
    assert_eq!(
        ids.as_array().unwrap().len(),
        2,
        "service_request_id overrides the other filters"
    );
    assert_eq!(
        h.get(
            &format!("/open311/v2/requests.json?status=closed&{}", key()),
            &[]
        )
        .await
        .json()
        .as_array()
        .unwrap()
        .len(),
        0
    );
    let later = h
        .get(&format!("/open311/v2/requests.json?start_date=2022-07-14T00:00:00%2B08:00&end_date=2022-07-15T00:00:00%2B08:00&{}", key()), &[])
        .await
        .json();
    assert_eq!(later.as_array().unwrap().len(), 0);

    // Errors: the spec's list, with 400, 403 and 404.
    for (path, status) in [
        ("/open311/v2/requests.json".to_string(), 403),
        (
            "/open311/v2/requests.json?api_key=wrong-key-0123456789".to_string(),
            403,
        ),
        (
            format!("/open311/v2/requests/20990101001.json?{}", key()),
            404,
        ),
        (format!("/open311/v2/requests/abc.json?{}", key()), 400),
        (
            format!("/open311/v2/requests.json?status=pending&{}", key()),
            400,
        ),
        (
            format!("/open311/v2/requests.json?start_date=yesterday&{}", key()),
            400,
        ),
        (
            format!(
                "/open311/v2/requests.json?jurisdiction_id=elsewhere&{}",
                key()
            ),
            404,
        ),
    ] {
        let r = h.get(&path, &[]).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        let e = r.json();
        assert_eq!(e[0]["code"], status, "{path}");
        assert!(e[0]["description"].is_string());
    }
    let r = h.get("/open311/v2/requests.xml", &[]).await;
    assert_eq!(r.status, 403);
    assert!(
        r.body.contains("<errors><error><code>403</code>"),
        "{}",
        r.body
    );
    assert_eq!(
        h.get(&format!("/open311/v2/requests.csv?{}", key()), &[])
            .await
            .status,
        404
    );

    // Filing by POST, form-encoded with api_key.
    let form = |body: String| async move {
        h.send(
            "POST",
            "/open311/v2/requests.json",
            &[("content-type", "application/x-www-form-urlencoded")],
            &body,
        )
        .await
    };
    let r = form(format!(
        "{}&service_code={code}&description={}&phone=13500004444&first_name=%E5%BC%A0",
        key(),
        webutil::enc("桥上的栏杆断了")
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let filed = h
        .get(&format!("/open311/v2/requests/{id}.json?{}", key()), &[])
        .await
        .json();
    assert_eq!(
        filed[0]["service_code"],
        code.as_str(),
        "the chosen service sets the category"
    );
    assert!(filed[0]["status_notes"]
        .as_str()
        .unwrap()
        .contains("colour: red"));
    let ack: i64 = sqlx::query_scalar(
        &s.store
            .sql("SELECT COUNT(*) FROM outbox WHERE recipient = ? AND kind = 'ack'"),
    )
    .bind("13500004444")
    .fetch_one(s.store.reader())
    .await
    .unwrap();
    assert_eq!(ack, 1, "the villager is texted the number");
    for (body, status, says) in [
        (
            format!("service_code={code}&description=x&phone=13500004444"),
            403,
            "api_key",
        ),
        (
            format!("{}&description=x&phone=13500004444", key()),
            400,
            "service_code",
        ),
        (
            format!(
                "{}&service_code=nope&description=x&phone=13500004444",
                key()
            ),
            400,
            "not found",
        ),
        (
            format!("{}&service_code={code}&phone=13500004444", key()),
            400,
            "description",
        ),
        (
            format!("{}&service_code={code}&description=x", key()),
            400,
            "phone",
        ),
    ] {
        let r = form(body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert!(
            r.json()[0]["description"].as_str().unwrap().contains(says),
            "{body}: {}",
            r.body
        );
    }
}
both_backends!(open311, open311_routes);

/// A receiver that answers with the statuses in `script` in turn (then 200), keeping what it got.
type Received = Arc<Mutex<Vec<(String, String)>>>;

async fn receiver(script: Vec<u16>) -> (String, Received) {
    let got: Received = Arc::default();
    let script = Arc::new(Mutex::new(script));
    let g = got.clone();
    let make = hyper::service::make_service_fn(move |_| {
        let g = g.clone();
        let script = script.clone();
        async move {
            Ok::<_, Infallible>(hyper::service::service_fn(
                move |req: hyper::Request<hyper::Body>| {
                    let g = g.clone();
                    let script = script.clone();
                    async move {
                        let sig = req
                            .headers()
                            .get("x-signature")
                            .map(|v| v.to_str().unwrap().to_string())
                            .unwrap_or_default();
                        let body = hyper::body::to_bytes(req.into_body()).await.unwrap();
                        g.lock()
                            .unwrap()
                            .push((sig, String::from_utf8(body.to_vec()).unwrap()));
                        let status = {
                            let mut s = script.lock().unwrap();
                            if s.is_empty() {
                                200
                            } else {
                                s.remove(0)
                            }
                        };
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .body(hyper::Body::empty())
                                .unwrap(),
                        )
                    }
                },
            ))
        }
    });
    let server = hyper::Server::bind(&"127.0.0.1:0".parse().unwrap()).serve(make);
    let url = format!("http://{}/hook", server.local_addr());
    tokio::spawn(server);
    (url, got)
}

async fn webhook_delivery(backend: common::Backend) {
    const SECRET: &str = "webhook-secret-0123456789";
    // The receiver is down twice (500, 503), then takes everything.
    let (url, got) = receiver(vec![500, 503]).await;
    let (url2, got2) = receiver(vec![]).await;
    let hooks = vec![
        Webhook {
            url: url.clone(),
            secret: SECRET.into(),
            events: WebhookEvent::ALL.to_vec(),
        },
        Webhook {
            url: url2.clone(),
            secret: SECRET.into(),
            events: vec![WebhookEvent::Rated],
        },
    ];
    let s = Server::start(backend, move |c| c.webhooks = hooks).await;
    let client = hyper::Client::new();
    let a = s.file("13812345678", "村口路灯坏了").await;
    let now = || s.clock.now().timestamp_millis();
    assert_eq!(
        appeal_gateway::webhooks::pump(&s.store, &s.config, now(), 100)
            .await
            .unwrap(),
        1
    );
    // Pumping again reads nothing new.
    assert_eq!(
        appeal_gateway::webhooks::pump(&s.store, &s.config, now(), 100)
            .await
            .unwrap(),
        0
    );
    let deliver = || appeal_gateway::webhooks::deliver_due(&s.store, &s.config, &s.clock, &client);
    assert_eq!(deliver().await.unwrap(), 1, "first attempt: 500");
    assert_eq!(
        deliver().await.unwrap(),
        0,
        "not due again before the backoff"
    );
    s.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(deliver().await.unwrap(), 1, "second attempt: 503");
    s.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(deliver().await.unwrap(), 0, "the backoff doubled to 20 s");
    s.clock.advance(chrono::Duration::seconds(10));
    assert_eq!(deliver().await.unwrap(), 1, "third attempt: delivered");
    s.clock.advance(chrono::Duration::hours(2));
    assert_eq!(deliver().await.unwrap(), 0, "delivered once, never again");
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|g| g == &got[0]),
        "every retry sends the same bytes and signature"
    );
    let (sig, body) = &got[0];
    assert_eq!(
        sig,
        &appeal_gateway::webhooks::sign(SECRET, body.as_bytes())
    );
    let j: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(j["event"], "appeal.created");
    assert_eq!(j["appeal"]["number"], a.number.as_str());
    assert!(
        got2.lock().unwrap().is_empty(),
        "the second hook only wants ratings"
    );
    let (state, attempts): (String, i64) = {
        let r =
            sqlx::query_as::<_, (String, i64)>("SELECT state, attempts FROM webhook_deliveries")
                .fetch_one(s.store.reader())
                .await
                .unwrap();
        r
    };
    assert_eq!((state.as_str(), attempts), ("delivered", 3));
    let _ = url2;
}
both_backends!(webhooks, webhook_delivery);
