//! What a viewer (the discipline commission) may see, and in which words: cadres' phone numbers
//! are masked on every page and route like villagers' are, the Chinese page names steps, event
//! kinds, statuses and channels in Chinese, and the language switch never leaves the site.

mod common;
mod webutil;

use std::sync::Arc;

use appeal_gateway::appeals::actions::{self, Action, Actor, Ctx};
use appeal_gateway::directory::{Cadre, CadreRole, Directory, Village};
use webutil::{Server, TOKEN, VIEWER_PW};

const CADRE_PHONE: &str = "13900000001";
const OTHER_PHONE: &str = "+8613900000002";

fn directory() -> Directory {
    let cadre = |name: &str, phone: &str| Cadre {
        name: name.into(),
        phone: phone.into(),
        role: CadreRole::VillageCadre,
        village: Some("shuanghong".into()),
        town: None,
        categories: Vec::new(),
        pin: None,
    };
    Directory {
        villages: vec![Village {
            code: "shuanghong".into(),
            name: "双红村".into(),
            town: "永安镇".into(),
            signature: Some("【双红村】".into()),
            modems: vec!["m1".into()],
        }],
        cadres: vec![cadre("张三", CADRE_PHONE), cadre("李四", OTHER_PHONE)],
    }
}

async fn viewers_never_see_a_cadre_number(backend: common::Backend) {
    let s = Server::start(backend, |_| {}).await;
    let h = &s.http;
    let dir = Arc::new(directory());
    let ctx = Ctx::new(&s.config, dir.clone());
    let n = s
        .file("13812345670", "村口路灯坏了，请联系13700000009")
        .await
        .number;
    // The cadre acts by SMS (actor "张三/139..."), then transfers to a colleague by phone.
    let zhang = Actor::cadre(&dir.cadres[0], "sms");
    actions::apply(&s.store, &ctx, &zhang, &n, Action::Accept, s.clock.now())
        .await
        .expect("accept");
    actions::apply(
        &s.store,
        &ctx,
        &zhang,
        &n,
        Action::Transfer {
            to: OTHER_PHONE.into(),
        },
        s.clock.now(),
    )
    .await
    .expect("transfer");

    let (vc, _) = h.login("jiwei", VIEWER_PW).await.unwrap();
    let cookie = [("cookie", vc.as_str())];
    let leaks = |what: &str, body: &str| {
        for phone in [CADRE_PHONE, "8613900000002", "13900000002", "13700000009"] {
            assert!(
                !body.contains(phone),
                "{what} shows {phone} to a viewer:\n{body}"
            );
        }
    };
    let page = h.get(&format!("/appeals/{n}"), &cookie).await;
    assert_eq!(page.status, 200);
    leaks("the appeal page", &page.body);
    assert!(page.body.contains("139****0001"), "{}", page.body);
    leaks("the status page", &h.get("/", &cookie).await.body);
    for path in [
        format!("/api/v1/appeals/{n}"),
        "/api/v1/appeals".to_string(),
        "/api/v1/events".to_string(),
    ] {
        let r = h.get(&path, &cookie).await;
        assert_eq!(r.status, 200, "{path}");
        leaks(&path, &r.body);
    }
    let one = h.get(&format!("/api/v1/appeals/{n}"), &cookie).await.json();
    assert_eq!(one["cadre"], "139****0002", "after the transfer");
    assert_eq!(one["cadre_name"], "李四");
    // Open311 names the agency responsible, never a phone, for every caller.
    let r = h
        .get(
            &format!("/open311/v2/requests/{n}.json?api_key={TOKEN}"),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // (The platform's token reads the villager's own text whole, as it reads their phone.)
    for phone in [CADRE_PHONE, "13900000002"] {
        assert!(
            !r.body.contains(phone),
            "Open311 shows {phone}:\n{}",
            r.body
        );
    }
    assert_eq!(r.json()[0]["agency_responsible"], "李四");

    // Admins see whole numbers.
    let (ac, _) = h.login("admin", webutil::ADMIN_PW).await.unwrap();
    let page = h
        .get(&format!("/appeals/{n}"), &[("cookie", &ac)])
        .await
        .body;
    assert!(page.contains(CADRE_PHONE), "{page}");
}
both_backends!(
    viewers_never_see_a_cadre_number,
    viewers_never_see_a_cadre_number
);

async fn the_chinese_page_speaks_chinese(backend: common::Backend) {
    let s = Server::start(backend, |_| {}).await;
    let h = &s.http;
    let dir = Arc::new(directory());
    let ctx = Ctx::new(&s.config, dir.clone());
    let n = s.file("13812345670", "村口路灯坏了").await.number;
    let zhang = Actor::cadre(&dir.cadres[0], "sms");
    actions::apply(&s.store, &ctx, &zhang, &n, Action::Accept, s.clock.now())
        .await
        .expect("accept");
    let (ac, _) = h.login("admin", webutil::ADMIN_PW).await.unwrap();
    let cookie = [("cookie", ac.as_str())];
    let page = h.get(&format!("/appeals/{n}"), &cookie).await.body;
    // Event kinds, the channel and the status in Chinese; the stored words nowhere in the text.
    for zh in ["登记", "受理", "短信", "办理中", "诉求收集", "协商"] {
        assert!(page.contains(zh), "appeal page lacks {zh}:\n{page}");
    }
    for en in [
        "<b>filed</b>",
        "<b>accepted</b>",
        "> sms <",
        ">sms<",
        "accepted / ",
    ] {
        assert!(
            !page.contains(en),
            "appeal page shows {en:?} on the Chinese page"
        );
    }
    let status = h.get("/", &cookie).await.body;
    let events = webutil::between(&status, r#"<table id="events""#, "</table>").unwrap();
    for zh in ["登记", "受理", "诉求收集"] {
        assert!(events.contains(zh), "live events lack {zh}:\n{events}");
    }
    for en in [">filed<", ">accepted<", ">collection<", ">negotiation<"] {
        assert!(!events.contains(en), "live events show {en}:\n{events}");
    }
    // The live feed's script gets the same words for the rows it adds later.
    assert!(events.contains("kind:filed"), "{events}");
    // English shows the stored words.
    let r = h.get("/lang/en?next=/", &[]).await;
    let lang = r.cookie("ag_lang").unwrap();
    let page = h
        .get(
            &format!("/appeals/{n}"),
            &[("cookie", &format!("{ac}; {lang}"))],
        )
        .await
        .body;
    assert!(page.contains("<b>filed</b>"), "{page}");
}
both_backends!(
    the_chinese_page_speaks_chinese,
    the_chinese_page_speaks_chinese
);
