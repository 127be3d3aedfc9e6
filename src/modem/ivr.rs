//! The keypad menu of an answered call (voice = "ivr"), written over two small traits so it is
//! tested without a modem or a database: [`CallIo`] (say a prompt, collect keys: the modem
//! task's side) and [`IvrDesk`] (what the menu asks of the appeals: the daemon's side).
//!
//! 1 registers a callback appeal, 2 tells the status of the caller's latest appeal (or of a
//! number keyed then #), 3 rates the caller's last resolved appeal 1-5, 0 asks for a person to
//! call back. 15 s to choose, 5 s between keys, two retries; whatever the caller does not
//! finish (hung up, timed out) ends as a callback, like a missed call.

use std::time::Duration;

use futures::future::BoxFuture;

pub use crate::appeals::messages::spoken_digits;

/// What the caller did with their keypad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    Got(String),
    /// No key (or not enough) in time.
    Timeout,
    /// The caller hung up.
    HungUp,
}

/// How a prompt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// Played to the end.
    Done,
    /// The caller pressed a key during it (barge-in): the key, for the next question.
    KeyPressed(char),
    HungUp,
}

/// The modem's side of an answered call.
pub trait CallIo: Send {
    fn say<'a>(&'a mut self, text: &'a str) -> BoxFuture<'a, Said>;
    /// Up to `max` keys; with `until_hash`, `#` ends early (and is not returned). `first`
    /// bounds the wait for the first key, `between` the wait for each next one.
    fn keys(
        &mut self,
        max: usize,
        until_hash: bool,
        first: Duration,
        between: Duration,
    ) -> BoxFuture<'_, Keys>;
}

/// Why the desk could not answer (the database is away): the caller is told to text instead.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct DeskError(pub String);

/// A desk for modems whose menu never runs (tests of the SMS path, voice off): every
/// lookup fails, so a caller who reaches a menu is told to text and gets a callback.
pub struct NoDesk;

impl IvrDesk for NoDesk {
    fn status<'a>(
        &'a self,
        _phone: &'a str,
        _number: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, DeskError>> {
        Box::pin(async { Err(DeskError("no desk".into())) })
    }
    fn rating_due<'a>(
        &'a self,
        _phone: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, DeskError>> {
        Box::pin(async { Err(DeskError("no desk".into())) })
    }
    fn rate<'a>(&'a self, _phone: &'a str, _score: u8) -> BoxFuture<'a, Result<String, DeskError>> {
        Box::pin(async { Err(DeskError("no desk".into())) })
    }
}

/// What the menu needs from the appeals.
pub trait IvrDesk: Send + Sync {
    /// The spoken status of `number`, or of the caller's latest appeal when `None`.
    fn status<'a>(
        &'a self,
        phone: &'a str,
        number: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, DeskError>>;
    /// The number of the caller's appeal waiting for a rating, if any.
    fn rating_due<'a>(&'a self, phone: &'a str)
        -> BoxFuture<'a, Result<Option<String>, DeskError>>;
    /// Records `score` on that appeal (the same survey function as an SMS answer); returns
    /// what to say.
    fn rate<'a>(&'a self, phone: &'a str, score: u8) -> BoxFuture<'a, Result<String, DeskError>>;
}

/// What became of the call, recorded on its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuOutcome {
    /// 1: register a callback appeal.
    Register,
    /// 0: a person should call back.
    Person,
    /// 2: heard the status (of this number, or of the latest appeal).
    Status(Option<String>),
    /// 3: rated.
    Rated(u8),
    /// 3 with nothing to rate.
    NothingToRate,
    /// Hung up before finishing; the menu it was in.
    HungUp(&'static str),
    /// No valid choice after the retries.
    NoChoice,
    /// The desk failed (database away): told to text.
    DeskDown,
}

impl MenuOutcome {
    /// Whether the call should end as a callback appeal: the caller wanted a person, or left
    /// before the menu could help them.
    pub fn wants_callback(&self) -> bool {
        matches!(
            self,
            MenuOutcome::Register
                | MenuOutcome::Person
                | MenuOutcome::HungUp(_)
                | MenuOutcome::NoChoice
                | MenuOutcome::DeskDown
        )
    }

    /// The short form kept in the calls table (`menu` column).
    pub fn code(&self) -> String {
        match self {
            MenuOutcome::Register => "1".into(),
            MenuOutcome::Person => "0".into(),
            MenuOutcome::Status(n) => format!("2:{}", n.as_deref().unwrap_or("latest")),
            MenuOutcome::Rated(s) => format!("3:{s}"),
            MenuOutcome::NothingToRate => "3:none".into(),
            MenuOutcome::HungUp(at) => format!("hung-up:{at}"),
            MenuOutcome::NoChoice => "no-choice".into(),
            MenuOutcome::DeskDown => "desk-down".into(),
        }
    }
}

/// What a villager did with a rating call (`rating_call`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RatingOutcome {
    /// Keyed this score; recorded through the survey.
    Rated(u8),
    /// No valid key in time.
    NoKey,
    /// Hung up before keying.
    HungUp,
    /// The survey was answered meanwhile (by SMS): thanked, nothing recorded.
    NothingToRate,
    /// The desk failed (database away): told to text the score.
    DeskDown,
}

impl RatingOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            RatingOutcome::Rated(_) => "rated",
            RatingOutcome::NoKey => "no_key",
            RatingOutcome::HungUp => "hung_up",
            RatingOutcome::NothingToRate => "nothing_to_rate",
            RatingOutcome::DeskDown => "desk_down",
        }
    }
}

pub const FIRST_KEY: Duration = Duration::from_secs(15);
pub const BETWEEN_KEYS: Duration = Duration::from_secs(5);
/// Tries of each question: the first and two retries.
const TRIES: usize = 3;

pub const WELCOME: &str = "您好，这里是村民诉求热线。";
pub const MENU: &str = "登记诉求请按1，查询诉求进度请按2，评价办理结果请按3，请村干部回电请按0。";
pub const NUMBER_PROMPT: &str = "请输入诉求编号，以井号键结束；直接按井号键查询您最近的一件诉求。";
pub const RATE_PROMPT: &str = "请为办理结果打分，1到5分，5分最满意，1分最不满意。";
pub const REGISTERED: &str = "已为您登记，村干部将尽快给您回电，稍后您会收到短信。再见。";
pub const PERSON: &str = "已通知村干部尽快给您回电。再见。";
pub const NOTHING_TO_RATE: &str = "您目前没有待评价的诉求。再见。";
pub const WRONG_KEY: &str = "输入有误。";
pub const DESK_DOWN: &str = "系统繁忙，村干部将给您回电，您也可以发短信反映。再见。";
pub const GOODBYE: &str = "没有收到您的选择，村干部将给您回电。再见。";

pub const RATING_CALL_NO_KEY: &str = "没有收到有效的评分，您也可以回复短信1到5打分。再见。";

/// The rating call placed to `phone` about its resolved appeal: one prompt naming the appeal
/// the survey waits on, one key 1-5 (a wrong key or silence gets one more try), recorded
/// through the desk's survey. A survey answered meanwhile (by SMS) is not rated again.
pub async fn rating_call(io: &mut dyn CallIo, desk: &dyn IvrDesk, phone: &str) -> RatingOutcome {
    let number = match desk.rating_due(phone).await {
        Ok(Some(n)) => n,
        Ok(None) => {
            let _ = io.say(NOTHING_TO_RATE).await;
            return RatingOutcome::NothingToRate;
        }
        Err(e) => {
            tracing::warn!(error = %e, "rating call: lookup failed");
            let _ = io.say(DESK_DOWN).await;
            return RatingOutcome::DeskDown;
        }
    };
    let prompt = format!(
        "{WELCOME}您的诉求{}已办结。{RATE_PROMPT}",
        spoken_digits(&number)
    );
    let outcome = score(io, desk, phone, &prompt, 2).await;
    if outcome == RatingOutcome::NoKey {
        let _ = io.say(RATING_CALL_NO_KEY).await;
    }
    outcome
}

/// Asks `prompt` up to `tries` times for one key 1-5 and records it through the desk, saying
/// its answer; a wrong key is told so. The menu's 3 and the rating call share it.
async fn score(
    io: &mut dyn CallIo,
    desk: &dyn IvrDesk,
    phone: &str,
    prompt: &str,
    tries: usize,
) -> RatingOutcome {
    for _ in 0..tries {
        let key = match ask(io, prompt, 1, false, FIRST_KEY).await {
            Keys::HungUp => return RatingOutcome::HungUp,
            Keys::Timeout => continue,
            Keys::Got(k) => k,
        };
        let Some(score) = key.parse::<u8>().ok().filter(|s| (1..=5).contains(s)) else {
            if io.say(WRONG_KEY).await == Said::HungUp {
                return RatingOutcome::HungUp;
            }
            continue;
        };
        return match desk.rate(phone, score).await {
            Ok(text) => {
                let _ = io.say(&text).await;
                RatingOutcome::Rated(score)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the rating could not be recorded");
                let _ = io.say(DESK_DOWN).await;
                RatingOutcome::DeskDown
            }
        };
    }
    RatingOutcome::NoKey
}

/// Runs the menu for `phone` to its end. Every prompt may be cut short by a key, which then
/// counts as the answer to the question it introduced.
pub async fn run(io: &mut dyn CallIo, desk: &dyn IvrDesk, phone: &str) -> MenuOutcome {
    // A caller who knows the menu keys during the welcome: that key is the choice.
    let mut early = match io.say(WELCOME).await {
        Said::HungUp => return MenuOutcome::HungUp("welcome"),
        Said::KeyPressed(k) => Some(k),
        Said::Done => None,
    };
    for _ in 0..TRIES {
        let asked = match early.take() {
            Some(k) => Keys::Got(k.to_string()),
            None => ask(io, MENU, 1, false, FIRST_KEY).await,
        };
        let choice = match asked {
            Keys::HungUp => return MenuOutcome::HungUp("menu"),
            Keys::Timeout => continue,
            Keys::Got(k) => k,
        };
        match choice.as_str() {
            "1" => return farewell(io, REGISTERED, MenuOutcome::Register).await,
            "0" => return farewell(io, PERSON, MenuOutcome::Person).await,
            "2" => return status(io, desk, phone).await,
            "3" => return rate(io, desk, phone).await,
            _ => {
                if io.say(WRONG_KEY).await == Said::HungUp {
                    return MenuOutcome::HungUp("menu");
                }
            }
        }
    }
    farewell(io, GOODBYE, MenuOutcome::NoChoice).await
}

/// Says `prompt` and collects the answer; a key pressed during the prompt starts it.
async fn ask(
    io: &mut dyn CallIo,
    prompt: &str,
    max: usize,
    until_hash: bool,
    first: Duration,
) -> Keys {
    let early = match io.say(prompt).await {
        Said::HungUp => return Keys::HungUp,
        Said::Done => None,
        Said::KeyPressed(k) => Some(k),
    };
    match early {
        Some('#') if until_hash => Keys::Got(String::new()),
        Some(k) if max == 1 => Keys::Got(k.to_string()),
        Some(k) => match io
            .keys(max - 1, until_hash, BETWEEN_KEYS, BETWEEN_KEYS)
            .await
        {
            Keys::Got(rest) => Keys::Got(format!("{k}{rest}")),
            // The caller stopped typing: what they typed is the answer.
            Keys::Timeout => Keys::Got(k.to_string()),
            Keys::HungUp => Keys::HungUp,
        },
        None => io.keys(max, until_hash, first, BETWEEN_KEYS).await,
    }
}

async fn farewell(io: &mut dyn CallIo, text: &str, outcome: MenuOutcome) -> MenuOutcome {
    // The outcome stands whether or not the caller listens to the goodbye.
    let _ = io.say(text).await;
    outcome
}

async fn status(io: &mut dyn CallIo, desk: &dyn IvrDesk, phone: &str) -> MenuOutcome {
    let number = match ask(io, NUMBER_PROMPT, 14, true, FIRST_KEY).await {
        Keys::HungUp => return MenuOutcome::HungUp("status"),
        Keys::Got(n) if !n.is_empty() => Some(n),
        // Nothing keyed (or only #): the latest appeal.
        _ => None,
    };
    match desk.status(phone, number.as_deref()).await {
        Ok(text) => farewell(io, &text, MenuOutcome::Status(number)).await,
        Err(e) => {
            tracing::warn!(error = %e, "IVR status lookup failed");
            farewell(io, DESK_DOWN, MenuOutcome::DeskDown).await
        }
    }
}

async fn rate(io: &mut dyn CallIo, desk: &dyn IvrDesk, phone: &str) -> MenuOutcome {
    let due = match desk.rating_due(phone).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "IVR rating lookup failed");
            return farewell(io, DESK_DOWN, MenuOutcome::DeskDown).await;
        }
    };
    let Some(number) = due else {
        return farewell(io, NOTHING_TO_RATE, MenuOutcome::NothingToRate).await;
    };
    let prompt = format!("您的诉求{}已办结。{RATE_PROMPT}", spoken_digits(&number));
    match score(io, desk, phone, &prompt, TRIES).await {
        RatingOutcome::Rated(s) => MenuOutcome::Rated(s),
        RatingOutcome::HungUp => MenuOutcome::HungUp("rating"),
        RatingOutcome::DeskDown => MenuOutcome::DeskDown,
        RatingOutcome::NoKey | RatingOutcome::NothingToRate => {
            farewell(io, GOODBYE, MenuOutcome::NoChoice).await
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;

    /// A caller scripted as what happens at each prompt and each key request, in order.
    #[derive(Default)]
    struct Caller {
        /// For each `say`: how it ends (Done when the script runs out).
        said: VecDeque<Said>,
        /// For each `keys`: what the caller types.
        keys: VecDeque<Keys>,
        heard: Vec<String>,
        asked: Vec<(usize, bool, Duration)>,
    }

    impl CallIo for Caller {
        fn say<'a>(&'a mut self, text: &'a str) -> BoxFuture<'a, Said> {
            self.heard.push(text.to_string());
            let s = self.said.pop_front().unwrap_or(Said::Done);
            Box::pin(async move { s })
        }
        fn keys(
            &mut self,
            max: usize,
            until_hash: bool,
            first: Duration,
            _between: Duration,
        ) -> BoxFuture<'_, Keys> {
            self.asked.push((max, until_hash, first));
            let k = self.keys.pop_front().unwrap_or(Keys::Timeout);
            Box::pin(async move { k })
        }
    }

    #[derive(Default)]
    struct Desk {
        due: Option<String>,
        down: bool,
        rated: Mutex<Vec<u8>>,
    }

    impl IvrDesk for Desk {
        fn status<'a>(
            &'a self,
            _phone: &'a str,
            number: Option<&'a str>,
        ) -> BoxFuture<'a, Result<String, DeskError>> {
            let r = if self.down {
                Err(DeskError("down".into()))
            } else {
                Ok(format!("诉求{}正在办理。", number.unwrap_or("最近")))
            };
            Box::pin(async move { r })
        }
        fn rating_due<'a>(
            &'a self,
            _phone: &'a str,
        ) -> BoxFuture<'a, Result<Option<String>, DeskError>> {
            let r = Ok(self.due.clone());
            Box::pin(async move { r })
        }
        fn rate<'a>(
            &'a self,
            _phone: &'a str,
            score: u8,
        ) -> BoxFuture<'a, Result<String, DeskError>> {
            if self.down {
                return Box::pin(async { Err(DeskError("down".into())) });
            }
            self.rated.lock().unwrap().push(score);
            Box::pin(async move { Ok("感谢评价。".to_string()) })
        }
    }

    fn got(s: &str) -> Keys {
        Keys::Got(s.into())
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn run_with(caller: &mut Caller, desk: &Desk) -> MenuOutcome {
        block_on(run(caller, desk, "13800000001"))
    }

    #[test]
    fn each_choice_ends_as_the_caller_asked() {
        let desk = Desk {
            due: Some("20261206001".into()),
            ..Desk::default()
        };
        let cases: Vec<(Vec<Said>, Vec<Keys>, MenuOutcome)> = vec![
            (vec![], vec![got("1")], MenuOutcome::Register),
            (vec![], vec![got("0")], MenuOutcome::Person),
            // 2 then a number and #, or only # for the latest.
            (
                vec![],
                vec![got("2"), got("20261206001")],
                MenuOutcome::Status(Some("20261206001".into())),
            ),
            (vec![], vec![got("2"), got("")], MenuOutcome::Status(None)),
            (
                vec![],
                vec![got("2"), Keys::Timeout],
                MenuOutcome::Status(None),
            ),
            (vec![], vec![got("3"), got("5")], MenuOutcome::Rated(5)),
            // A wrong key, then a retry.
            (vec![], vec![got("7"), got("1")], MenuOutcome::Register),
            // Silence three times: a callback.
            (vec![], vec![], MenuOutcome::NoChoice),
            // A rating out of range is asked again.
            (
                vec![],
                vec![got("3"), got("9"), got("2")],
                MenuOutcome::Rated(2),
            ),
            // Keys pressed during the prompts (barge-in): welcome done, the menu cut by 3, the
            // rating prompt cut by 4.
            (
                vec![Said::Done, Said::KeyPressed('3'), Said::KeyPressed('4')],
                vec![],
                MenuOutcome::Rated(4),
            ),
            // A key during the welcome is the menu choice: the menu is never said.
            (vec![Said::KeyPressed('1')], vec![], MenuOutcome::Register),
            // Hung up at each stage.
            (vec![Said::HungUp], vec![], MenuOutcome::HungUp("welcome")),
            (vec![], vec![Keys::HungUp], MenuOutcome::HungUp("menu")),
            (
                vec![],
                vec![got("2"), Keys::HungUp],
                MenuOutcome::HungUp("status"),
            ),
            (
                vec![],
                vec![got("3"), Keys::HungUp],
                MenuOutcome::HungUp("rating"),
            ),
        ];
        for (said, keys, want) in cases {
            let mut c = Caller {
                said: said.into(),
                keys: keys.clone().into(),
                ..Caller::default()
            };
            assert_eq!(
                run_with(&mut c, &desk),
                want,
                "keys {keys:?}, heard {:?}",
                c.heard
            );
        }
        assert_eq!(*desk.rated.lock().unwrap(), vec![5, 2, 4]);
    }

    #[test]
    fn a_rating_call_takes_one_key() {
        let desk = Desk {
            due: Some("20261206001".into()),
            ..Desk::default()
        };
        let cases: Vec<(Vec<Said>, Vec<Keys>, RatingOutcome)> = vec![
            (vec![], vec![got("5")], RatingOutcome::Rated(5)),
            // Keyed during the prompt.
            (vec![Said::KeyPressed('2')], vec![], RatingOutcome::Rated(2)),
            // A wrong key, then a good one.
            (vec![], vec![got("8"), got("3")], RatingOutcome::Rated(3)),
            (vec![], vec![got("8"), got("9")], RatingOutcome::NoKey),
            (vec![], vec![], RatingOutcome::NoKey),
            (vec![Said::HungUp], vec![], RatingOutcome::HungUp),
            (vec![], vec![Keys::HungUp], RatingOutcome::HungUp),
        ];
        for (said, keys, want) in cases {
            let mut c = Caller {
                said: said.into(),
                keys: keys.clone().into(),
                ..Caller::default()
            };
            let got = block_on(rating_call(&mut c, &desk, "13800000001"));
            assert_eq!(got, want, "keys {keys:?}, heard {:?}", c.heard);
            assert!(c.heard[0].contains(&spoken_digits("20261206001")));
        }
        assert_eq!(*desk.rated.lock().unwrap(), vec![5, 2, 3]);
        // The survey was answered by SMS before the call: nothing is rated twice.
        let mut c = Caller::default();
        assert_eq!(
            block_on(rating_call(&mut c, &Desk::default(), "13800000001")),
            RatingOutcome::NothingToRate
        );
        assert_eq!(c.heard, [NOTHING_TO_RATE]);
        let down = Desk {
            due: Some("20261206001".into()),
            down: true,
            ..Desk::default()
        };
        let mut c = Caller {
            keys: vec![got("4")].into(),
            ..Caller::default()
        };
        assert_eq!(
            block_on(rating_call(&mut c, &down, "13800000001")),
            RatingOutcome::DeskDown
        );
    }

    #[test]
    fn timings_and_prompts() {
        let desk = Desk::default();
        let mut c = Caller {
            keys: vec![got("2"), got("20261206001")].into(),
            ..Caller::default()
        };
        run_with(&mut c, &desk);
        assert_eq!(
            c.asked,
            [(1, false, FIRST_KEY), (14, true, FIRST_KEY)],
            "15 s to choose; a number of up to 14 keys ended by #"
        );
        assert_eq!(c.heard[0], WELCOME);
        assert_eq!(c.heard.last().unwrap(), "诉求20261206001正在办理。");
        // Nothing to rate, and a desk that is down.
        let mut c = Caller {
            keys: vec![got("3")].into(),
            ..Caller::default()
        };
        assert_eq!(run_with(&mut c, &desk), MenuOutcome::NothingToRate);
        let down = Desk {
            down: true,
            ..Desk::default()
        };
        let mut c = Caller {
            keys: vec![got("2"), got("")].into(),
            ..Caller::default()
        };
        assert_eq!(run_with(&mut c, &down), MenuOutcome::DeskDown);
        assert_eq!(c.heard.last().unwrap(), DESK_DOWN);
        assert_eq!(spoken_digits("2026"), "2 0 2 6");
    }

    #[test]
    fn which_outcomes_call_back_and_their_codes() {
        let cases = [
            (MenuOutcome::Register, true, "1"),
            (MenuOutcome::Person, true, "0"),
            (MenuOutcome::Status(None), false, "2:latest"),
            (
                MenuOutcome::Status(Some("20261206001".into())),
                false,
                "2:20261206001",
            ),
            (MenuOutcome::Rated(4), false, "3:4"),
            (MenuOutcome::NothingToRate, false, "3:none"),
            (MenuOutcome::HungUp("menu"), true, "hung-up:menu"),
            (MenuOutcome::NoChoice, true, "no-choice"),
            (MenuOutcome::DeskDown, true, "desk-down"),
        ];
        for (o, callback, code) in cases {
            assert_eq!(
                (o.wants_callback(), o.code().as_str()),
                (callback, code),
                "{o:?}"
            );
        }
    }
}
