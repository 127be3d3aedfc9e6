//! The appeal state machine, pure: [`decide`] takes an appeal as loaded, who acts, what they
//! ask and the context, and answers with the whole [`Transition`] (the row change, the events,
//! the texts, the summary) or a [`Refusal`]. Nothing here touches the database; `actions`
//! loads, calls `decide` and writes what it says, so every rule of who may do what in which
//! state is read and tested here.
//!
//! open -(accept)-> accepted -(resolve)-> resolved -(rating 3-5)-> closed, with
//! resolved/closed -(rating 1-2 or reopen)-> reopened, which behaves like open.

use chrono::{DateTime, Utc};

use super::actions::{Action, Actor, ActorKind, Ctx, Limit};
use super::messages as msg;
use super::record::Appeal;
use crate::directory::{Cadre, CadreRole};
use crate::grade::Colour;
use crate::phone::{mask as mask_phone, national};

/// Where an appeal stands. Stored as its `as_str` in `appeals.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Open,
    Accepted,
    Resolved,
    Closed,
    Reopened,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Open,
        Status::Accepted,
        Status::Resolved,
        Status::Closed,
        Status::Reopened,
    ];

    /// The statuses in which an appeal still needs work: the one list every query uses.
    pub const OPEN: [Status; 3] = [Status::Open, Status::Accepted, Status::Reopened];

    /// [`Status::OPEN`] as an SQL list, for `status IN {OPEN_SQL}`. A test keeps the two equal.
    pub const OPEN_SQL: &'static str = "('open', 'accepted', 'reopened')";

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Accepted => "accepted",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Reopened => "reopened",
        }
    }

    pub fn is_open(self) -> bool {
        Status::OPEN.contains(&self)
    }

    /// Reads a stored status. A value edited by hand into nonsense reads as open: the
    /// scheduler keeps chasing it, which is the careful side.
    pub fn parse(s: &str) -> Status {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .unwrap_or(Status::Open)
    }

    /// Whether `s` names an open status (an unknown name is not open: a status shown to the
    /// public says closed only when it knows nothing better, never open by accident).
    pub fn is_open_name(s: &str) -> bool {
        Status::OPEN.iter().any(|st| st.as_str() == s)
    }

    /// Whether `s` is a stored status name (for filters in the API).
    pub fn is_name(s: &str) -> bool {
        Status::ALL.iter().any(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stored and shown by name, as in `appeals.status`.
impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The five steps of the 码上办 process, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Collection,
    Negotiation,
    Decision,
    Supervision,
    Evaluation,
}

impl Step {
    pub const ALL: [Step; 5] = [
        Step::Collection,
        Step::Negotiation,
        Step::Decision,
        Step::Supervision,
        Step::Evaluation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Collection => "collection",
            Step::Negotiation => "negotiation",
            Step::Decision => "decision",
            Step::Supervision => "supervision",
            Step::Evaluation => "evaluation",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Step::Collection => "诉求收集",
            Step::Negotiation => "协商",
            Step::Decision => "决策",
            Step::Supervision => "纪委监督",
            Step::Evaluation => "群众评价",
        }
    }

    /// Reads a stored step; an unknown value reads as the first step.
    pub fn parse(s: &str) -> Step {
        Step::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .unwrap_or(Step::Collection)
    }
}

/// Stored and shown by name, as in `appeals.step`.
impl serde::Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What happens to the appeal's row. Every variant also sets `updated_at` to now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing but the event (a note).
    None,
    /// Only the step (a reply).
    Step(Step),
    /// Accepted by this cadre (phone, name), or by an admin for the one assigned.
    Accept {
        cadre: Option<String>,
        cadre_name: Option<String>,
    },
    /// Resolved; the survey goes at `survey_at` (ms).
    Resolve { survey_at: i64 },
    /// To another cadre, with a new time to respond.
    Transfer {
        status: Status,
        cadre: String,
        cadre_name: String,
        respond_by: i64,
    },
    /// Told the town office.
    Escalate,
    /// A new colour and the deadlines it sets.
    Regrade {
        colour: Colour,
        respond_by: i64,
        resolve_by: i64,
    },
    /// Back to work with new deadlines; the survey is forgotten.
    Reopen { respond_by: i64, resolve_by: i64 },
}

/// One event for the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSpec {
    /// Written by the gateway itself rather than the actor (the supervision filing).
    pub by_system: bool,
    pub step: Step,
    pub kind: &'static str,
    pub text: String,
}

/// One SMS the transition causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// To the appeal's villager, through the village's modem, held in the quiet hours.
    Villager { kind: &'static str, body: String },
    /// To a cadre; urgent ones (red) ignore the quiet hours.
    Cadre {
        phone: String,
        kind: &'static str,
        body: String,
        urgent: bool,
    },
}

/// Everything one operation does, decided before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub change: Change,
    pub events: Vec<EventSpec>,
    pub texts: Vec<Text>,
    /// The appeal after it.
    pub status: Status,
    pub step: Step,
    pub colour: Colour,
    pub cadre: Option<String>,
    /// One line in Chinese for the actor (the SMS confirmation).
    pub summary: String,
}

/// Why an operation is refused, in the order they are checked: who, then state, then argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// This actor may not do this to this appeal.
    NotAllowed(String),
    /// Not in this status; the Chinese reason.
    WrongState(&'static str),
    /// A missing text, an unknown transfer target, no town office in the directory.
    BadArgument(String),
}

/// May `actor` do `action` on `a`? Admins and the gateway may do anything; any cadre may
/// regrade (whoever sees a danger should be able to raise it); inspectors only note; reopening
/// is for the villager's rating and admins; otherwise the assigned cadre or one serving the
/// village.
pub fn check_allowed(ctx: &Ctx, actor: &Actor, a: &Appeal, action: &Action) -> Result<(), String> {
    let c = match &actor.kind {
        ActorKind::System => return Ok(()),
        _ if matches!(action, Action::Remind { .. } | Action::Overdue { .. }) => {
            return Err("催办和超时上报由系统按时限进行".into());
        }
        ActorKind::Admin => return Ok(()),
        ActorKind::Cadre(c) => c,
    };
    if matches!(action, Action::Regrade { .. }) {
        return Ok(());
    }
    if c.role == CadreRole::Inspector {
        return if matches!(action, Action::Note { .. }) {
            Ok(())
        } else {
            Err("纪委监督员只能记录意见(XS)".into())
        };
    }
    if matches!(action, Action::Reopen { .. }) {
        return Err("重新打开由群众评价或管理员进行".into());
    }
    let assigned = a
        .cadre
        .as_deref()
        .is_some_and(|p| national(p) == national(&c.phone));
    if assigned || ctx.directory.serves(c, a.village.as_deref()) {
        Ok(())
    } else {
        Err(format!("诉求{}不归您办理", a.number))
    }
}

/// Is `action` possible in `status`? Err carries the Chinese reason.
pub fn check_state(status: Status, action: &Action) -> Result<(), &'static str> {
    match action {
        Action::Accept => match status {
            Status::Open | Status::Reopened => Ok(()),
            Status::Accepted => Err("已被受理"),
            Status::Resolved | Status::Closed => Err("已办结"),
        },
        Action::Note { .. } => Ok(()),
        Action::Reopen { .. } if status.is_open() => Err("仍在办理中"),
        Action::Reopen { .. } => Ok(()),
        _ if status.is_open() => Ok(()),
        _ => Err("已办结"),
    }
}

fn need_text(t: &str, what: &str) -> Result<String, Refusal> {
    let t = t.trim();
    if t.is_empty() {
        Err(Refusal::BadArgument(format!("缺少{what}")))
    } else {
        Ok(t.to_string())
    }
}

fn display_name(actor: &Actor) -> String {
    match &actor.kind {
        ActorKind::Cadre(c) => c.name.clone(),
        ActorKind::Admin => actor.label.clone(),
        ActorKind::System => "系统".into(),
    }
}

fn event(step: Step, kind: &'static str, text: impl Into<String>) -> EventSpec {
    EventSpec {
        by_system: false,
        step,
        kind,
        text: text.into(),
    }
}

fn villager(kind: &'static str, body: String) -> Text {
    Text::Villager { kind, body }
}

fn cadre(phone: &str, kind: &'static str, body: String, urgent: bool) -> Text {
    Text::Cadre {
        phone: phone.to_string(),
        kind,
        body,
        urgent,
    }
}

/// The state machine. See the module doc; `now` is the instant the operation happens.
pub fn decide(
    a: &Appeal,
    actor: &Actor,
    action: &Action,
    ctx: &Ctx,
    now: DateTime<Utc>,
) -> Result<Transition, Refusal> {
    check_allowed(ctx, actor, a, action).map_err(Refusal::NotAllowed)?;
    check_state(a.status, action).map_err(Refusal::WrongState)?;
    let sig = ctx.signature(a.village.as_deref());
    let village = ctx.village_name(a.village.as_deref());
    let who = display_name(actor);
    let masked = mask_phone(&a.phone);
    let alert_facts = |colour| msg::AlertFacts {
        number: &a.number,
        colour,
        village: &village,
        masked_phone: &masked,
        text: &a.text,
    };
    let red = a.colour == Colour::Red;
    let mut t = Transition {
        change: Change::None,
        events: Vec::new(),
        texts: Vec::new(),
        status: a.status,
        step: a.step,
        colour: a.colour,
        cadre: a.cadre.clone(),
        summary: String::new(),
    };
    match action {
        Action::Accept => {
            let (phone, name) = match &actor.kind {
                ActorKind::Cadre(c) => (Some(c.phone.clone()), Some(c.name.clone())),
                _ => (a.cadre.clone(), a.cadre_name.clone()),
            };
            t.change = Change::Accept {
                cadre: phone.clone(),
                cadre_name: name,
            };
            t.events
                .push(event(Step::Negotiation, "accepted", format!("{who}受理")));
            t.texts.push(villager(
                "accepted",
                msg::accepted_to_villager(&sig, &a.number, &who),
            ));
            t.status = Status::Accepted;
            t.step = Step::Negotiation;
            t.cadre = phone;
            t.summary = format!(
                "已受理{}。回复HF{}+内容答复群众，BJ{}+结果办结。",
                a.number, a.number, a.number
            );
        }
        Action::Reply { text } => {
            let text = need_text(text, "回复内容")?;
            t.change = Change::Step(Step::Negotiation);
            t.texts.push(villager(
                "reply",
                msg::relay_to_villager(&sig, &a.number, &text),
            ));
            t.events.push(event(Step::Negotiation, "reply", text));
            t.step = Step::Negotiation;
            t.summary = format!("已转告诉求{}的群众。", a.number);
        }
        Action::Note { text } => {
            let text = need_text(text, "记录内容")?;
            let st = match &actor.kind {
                ActorKind::Cadre(c) if c.role == CadreRole::Inspector => Step::Supervision,
                _ => Step::Negotiation,
            };
            t.events.push(event(st, "note", text));
            t.summary = format!("已记录到诉求{}。", a.number);
        }
        Action::Resolve { text } => {
            let text = need_text(text, "办结结果")?;
            t.change = Change::Resolve {
                survey_at: ctx.send_at(now, false).timestamp_millis(),
            };
            t.events
                .push(event(Step::Decision, "resolved", text.clone()));
            // The discipline committee supervises every decision: it is put on its record.
            t.events.push(EventSpec {
                by_system: true,
                ..event(
                    Step::Supervision,
                    "filed_for_supervision",
                    "办结结果已报纪委监督备案",
                )
            });
            t.texts.push(villager(
                "decision",
                msg::decision_to_villager(&sig, &a.number, &text),
            ));
            t.texts
                .push(villager("survey", msg::survey_prompt(&sig, &a.number)));
            t.status = Status::Resolved;
            t.step = Step::Decision;
            t.summary = format!("诉求{}已办结，已请群众评价。", a.number);
        }
        Action::Transfer { to } => {
            let target: &Cadre = ctx
                .directory
                .cadre_by_name_or_phone(to)
                .filter(|c| c.role != CadreRole::Inspector)
                .ok_or_else(|| Refusal::BadArgument(format!("名录中没有干部“{}”", to.trim())))?;
            let (respond_by, _) = ctx.deadlines(a.colour, now);
            let status = if a.status == Status::Reopened {
                Status::Reopened
            } else {
                Status::Open
            };
            t.change = Change::Transfer {
                status,
                cadre: target.phone.clone(),
                cadre_name: target.name.clone(),
                respond_by,
            };
            t.events.push(event(
                Step::Negotiation,
                "transferred",
                format!("{who}转办给{}", target.name),
            ));
            t.texts.push(cadre(
                &target.phone,
                "alert",
                msg::alert("转办", &alert_facts(a.colour)),
                red,
            ));
            t.status = status;
            t.step = Step::Negotiation;
            t.cadre = Some(target.phone.clone());
            t.summary = format!("诉求{}已转办给{}。", a.number, target.name);
        }
        Action::Escalate => {
            let towns = ctx
                .directory
                .town_cadres(a.village.as_deref(), CadreRole::TownOffice);
            if towns.is_empty() {
                return Err(Refusal::BadArgument("名录中没有镇政府的号码".into()));
            }
            t.change = Change::Escalate;
            let names: Vec<&str> = towns.iter().map(|c| c.name.as_str()).collect();
            t.events.push(event(
                Step::Negotiation,
                "escalated",
                format!("{who}上报{}", names.join("、")),
            ));
            let body =
                msg::escalated_to_town(&a.number, a.colour, &village, &masked, &a.text, &who);
            for town in &towns {
                t.texts
                    .push(cadre(&town.phone, "escalation", body.clone(), red));
            }
            t.summary = format!("诉求{}已上报{}。", a.number, names.join("、"));
        }
        Action::Remind { limit, minutes } => {
            let (step, body) = match limit {
                Limit::Respond => (
                    Step::Collection,
                    msg::respond_reminder(&a.number, a.colour, (*minutes).max(1)),
                ),
                Limit::Resolve => (
                    Step::Negotiation,
                    msg::resolve_reminder(&a.number, a.colour, (*minutes).max(1)),
                ),
            };
            // Unassigned, nobody else can act on it: the town office is reminded instead.
            let to: Vec<String> = match &a.cadre {
                Some(c) => vec![c.clone()],
                None => ctx
                    .directory
                    .town_cadres(a.village.as_deref(), CadreRole::TownOffice)
                    .into_iter()
                    .map(|t| t.phone.clone())
                    .collect(),
            };
            for p in &to {
                t.texts.push(cadre(p, "reminder", body.clone(), red));
            }
            t.events.push(event(step, "reminder", body));
            t.summary = format!("已催办诉求{}。", a.number);
        }
        Action::Overdue { limit } => {
            let what = match limit {
                Limit::Respond => "响应",
                Limit::Resolve => "办结",
            };
            let cadre_name = a.cadre_name.as_deref().unwrap_or("未分派");
            let towns = ctx
                .directory
                .town_cadres(a.village.as_deref(), CadreRole::TownOffice);
            let inspectors = ctx
                .directory
                .town_cadres(a.village.as_deref(), CadreRole::Inspector);
            let to_town = msg::overdue_to_town(&a.number, a.colour, &village, what, cadre_name);
            for town in &towns {
                t.texts
                    .push(cadre(&town.phone, "escalation", to_town.clone(), red));
            }
            let to_inspector = msg::overdue_to_inspector(&a.number, &village, what, cadre_name);
            for i in &inspectors {
                t.texts
                    .push(cadre(&i.phone, "supervision", to_inspector.clone(), red));
            }
            let names: Vec<&str> = towns
                .iter()
                .chain(inspectors.iter())
                .map(|c| c.name.as_str())
                .collect();
            // Recorded even when the directory has nobody to tell: the record is the point.
            let told = if names.is_empty() {
                "（名录中无镇政府/纪委号码）".to_string()
            } else {
                names.join("、")
            };
            t.change = Change::Escalate;
            t.events.push(event(
                Step::Supervision,
                "overdue_escalated",
                format!("超过{what}时限（{cadre_name}），已通知{told}"),
            ));
            t.summary = format!("诉求{}超过{what}时限，已上报。", a.number);
        }
        Action::Regrade { colour: c } => {
            let c = *c;
            // From when the first alert could go under the new colour, as at filing.
            let (respond_by, resolve_by) = ctx.deadlines(c, crate::store::from_millis(a.filed_at));
            t.change = Change::Regrade {
                colour: c,
                respond_by,
                resolve_by,
            };
            t.events.push(event(
                Step::Collection,
                "regraded",
                format!("{}→{}", a.colour.chinese(), c.chinese()),
            ));
            if c == Colour::Red && !red {
                let body = msg::alert("红色诉求", &alert_facts(c));
                for town in ctx
                    .directory
                    .town_cadres(a.village.as_deref(), CadreRole::TownOffice)
                {
                    t.texts
                        .push(cadre(&town.phone, "alert", body.clone(), true));
                }
            }
            t.colour = c;
            t.summary = format!("诉求{}已改为{}色。", a.number, c.chinese());
        }
        Action::Reopen { text } => {
            let text = need_text(text, "重新打开的理由")?;
            reopen_into(&mut t, a, ctx, now, &text);
            t.summary = format!("诉求{}已重新打开。", a.number);
        }
    }
    Ok(t)
}

/// Back to work: new deadlines from now, the assigned cadre told. Shared by the reopen action
/// and a bad rating (the survey adds the inspectors' alert).
fn reopen_into(t: &mut Transition, a: &Appeal, ctx: &Ctx, now: DateTime<Utc>, why: &str) {
    let (respond_by, resolve_by) = ctx.deadlines(a.colour, now);
    t.change = Change::Reopen {
        respond_by,
        resolve_by,
    };
    t.events.push(event(Step::Supervision, "reopened", why));
    if let Some(c) = &a.cadre {
        let village = ctx.village_name(a.village.as_deref());
        t.texts.push(cadre(
            c,
            "alert",
            msg::reopened_alert(&a.number, &village, why),
            a.colour == Colour::Red,
        ));
    }
    t.status = Status::Reopened;
    t.step = Step::Supervision;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Directory;
    use std::sync::Arc;

    /// A fixed moment (a Monday, 18:00 in Shanghai): decide takes the time, never reads it.
    fn now() -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap()
    }

    const DIRECTORY: &str = r#"
[[village]]
code = "v1"
name = "一村"
town = "一镇"

[[village]]
code = "v2"
name = "二村"
town = "一镇"

[[cadre]]
name = "张三"
phone = "13900000001"
role = "village_cadre"
village = "v1"

[[cadre]]
name = "李四"
phone = "13900000002"
role = "village_cadre"
village = "v2"

[[cadre]]
name = "王纪"
phone = "13900000003"
role = "inspector"
town = "一镇"

[[cadre]]
name = "镇办"
phone = "13900000004"
role = "town_office"
town = "一镇"
"#;

    fn ctx() -> Ctx {
        let directory = Directory::parse(DIRECTORY, "test").expect("test directory");
        let config = crate::config::Config::parse(
            "[database]\nurl = \"sqlite:///x/gateway.db\"\n",
            std::path::Path::new("/x/gateway.toml"),
        )
        .expect("a minimal config is valid");
        let mut c = Ctx::new(&config, Arc::new(directory));
        // No quiet hours: the table is about states, not clocks.
        c.quiet_hours = (chrono::NaiveTime::MIN, chrono::NaiveTime::MIN);
        c
    }

    fn appeal(status: Status) -> Appeal {
        Appeal {
            id: 1,
            number: "20220713002".into(),
            phone: "13812345678".into(),
            village: Some("v1".into()),
            modem: None,
            text: "路灯坏了".into(),
            category: "其他".into(),
            colour: Colour::Green,
            status,
            step: Step::Collection,
            cadre: None,
            cadre_name: None,
            received_at: 0,
            filed_at: 0,
            updated_at: 0,
            respond_by: None,
            resolve_by: None,
            rating: None,
        }
    }

    fn actions() -> Vec<Action> {
        vec![
            Action::Accept,
            Action::Reply {
                text: "明天修".into(),
            },
            Action::Note {
                text: "已联系".into(),
            },
            Action::Resolve {
                text: "已修好".into(),
            },
            Action::Transfer {
                to: "李四".into()
            },
            Action::Escalate,
            Action::Regrade {
                colour: Colour::Red,
            },
            Action::Reopen {
                text: "没修好".into(),
            },
            Action::Remind {
                limit: Limit::Respond,
                minutes: 30,
            },
            Action::Overdue {
                limit: Limit::Resolve,
            },
        ]
    }

    /// What the table expects for one (status, actor, action).
    fn expected(status: Status, actor: &str, action: &Action) -> Result<Status, &'static str> {
        let open = status.is_open();
        // Who first.
        match (actor, action) {
            ("system", _) => {}
            (_, Action::Remind { .. } | Action::Overdue { .. }) => return Err("not allowed"),
            (_, Action::Regrade { .. }) => {}
            ("inspector", Action::Note { .. }) => {}
            ("inspector", _) => return Err("not allowed"),
            ("cadre" | "stranger", Action::Reopen { .. }) => return Err("not allowed"),
            ("stranger", _) => return Err("not allowed"),
            _ => {}
        }
        // Then the state.
        let after = match action {
            Action::Accept => match status {
                Status::Open | Status::Reopened => Status::Accepted,
                _ => return Err("wrong state"),
            },
            Action::Note { .. } => status,
            Action::Reopen { .. } if open => return Err("wrong state"),
            Action::Reopen { .. } => Status::Reopened,
            _ if !open => return Err("wrong state"),
            Action::Resolve { .. } => Status::Resolved,
            Action::Transfer { .. } if status == Status::Reopened => Status::Reopened,
            Action::Transfer { .. } => Status::Open,
            _ => status,
        };
        Ok(after)
    }

    #[test]
    fn every_status_actor_and_action() {
        let c = ctx();
        let dir = c.directory.clone();
        let actors = [
            ("admin", Actor::api("admin")),
            ("system", Actor::system()),
            (
                "cadre",
                Actor::cadre(dir.cadre_by_phone("13900000001").unwrap(), "sms"),
            ),
            (
                "stranger",
                Actor::cadre(dir.cadre_by_phone("13900000002").unwrap(), "sms"),
            ),
            (
                "inspector",
                Actor::cadre(dir.cadre_by_phone("13900000003").unwrap(), "sms"),
            ),
        ];
        let now = now();
        let mut checked = 0;
        for status in Status::ALL {
            for (who, actor) in &actors {
                for action in actions() {
                    let got = decide(&appeal(status), actor, &action, &c, now);
                    let want = expected(status, who, &action);
                    match (&got, want) {
                        (Ok(t), Ok(after)) => {
                            assert_eq!(t.status, after, "{status} {who} {action:?}")
                        }
                        (Err(Refusal::NotAllowed(_)), Err("not allowed")) => {}
                        (Err(Refusal::WrongState(_)), Err("wrong state")) => {}
                        _ => panic!("{status} {who} {action:?}: got {got:?}, want {want:?}"),
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 5 * 5 * 10);
    }

    #[test]
    fn accept_by_cadre_assigns_and_tells_the_villager() {
        let c = ctx();
        let zhang = Actor::cadre(c.directory.cadre_by_phone("13900000001").unwrap(), "sms");
        let t = decide(&appeal(Status::Open), &zhang, &Action::Accept, &c, now()).unwrap();
        assert_eq!(t.cadre.as_deref(), Some("13900000001"));
        assert_eq!(t.step, Step::Negotiation);
        assert!(matches!(&t.change, Change::Accept { cadre_name: Some(n), .. } if n == "张三"));
        assert!(matches!(
            &t.texts[..],
            [Text::Villager {
                kind: "accepted",
                ..
            }]
        ));
        assert_eq!(t.events[0].text, "张三受理");
    }

    #[test]
    fn resolve_files_for_supervision_and_asks_for_a_rating() {
        let c = ctx();
        let t = decide(
            &appeal(Status::Accepted),
            &Actor::api("admin"),
            &Action::Resolve {
                text: " 已修好 ".into(),
            },
            &c,
            now(),
        )
        .unwrap();
        let kinds: Vec<_> = t.events.iter().map(|e| (e.kind, e.by_system)).collect();
        assert_eq!(
            kinds,
            [("resolved", false), ("filed_for_supervision", true)]
        );
        assert_eq!(t.events[0].text, "已修好", "trimmed");
        let texts: Vec<_> = t
            .texts
            .iter()
            .map(|x| match x {
                Text::Villager { kind, .. } => *kind,
                Text::Cadre { kind, .. } => kind,
            })
            .collect();
        assert_eq!(texts, ["decision", "survey"]);
    }

    #[test]
    fn arguments_are_checked_after_state() {
        let c = ctx();
        let admin = Actor::api("admin");
        let empty = Action::Reply { text: "  ".into() };
        assert!(matches!(
            decide(&appeal(Status::Open), &admin, &empty, &c, now()),
            Err(Refusal::BadArgument(_))
        ));
        assert!(matches!(
            decide(&appeal(Status::Closed), &admin, &empty, &c, now()),
            Err(Refusal::WrongState(_))
        ));
        let nobody = Action::Transfer {
            to: "赵六".into()
        };
        assert!(matches!(
            decide(&appeal(Status::Open), &admin, &nobody, &c, now()),
            Err(Refusal::BadArgument(_))
        ));
        // Inspectors cannot be handed appeals.
        let inspector = Action::Transfer {
            to: "王纪".into()
        };
        assert!(matches!(
            decide(&appeal(Status::Open), &admin, &inspector, &c, now()),
            Err(Refusal::BadArgument(_))
        ));
    }

    #[test]
    fn regrade_to_red_alerts_the_town_office_urgently() {
        let c = ctx();
        let t = decide(
            &appeal(Status::Open),
            &Actor::system(),
            &Action::Regrade {
                colour: Colour::Red,
            },
            &c,
            now(),
        )
        .unwrap();
        assert_eq!(t.colour, Colour::Red);
        assert!(matches!(
            &t.texts[..],
            [Text::Cadre { phone, urgent: true, .. }] if phone == "13900000004"
        ));
    }

    #[test]
    fn open_sql_is_the_open_list() {
        let listed: Vec<String> = Status::OPEN
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        assert_eq!(Status::OPEN_SQL, format!("({})", listed.join(", ")));
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), s);
        }
        for s in Step::ALL {
            assert_eq!(Step::parse(s.as_str()), s);
        }
    }
}
