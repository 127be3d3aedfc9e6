//! `appeal-gateway demo` and `appeal-gateway simulate`: the daemon on a throw-away SQLite file
//! with the built-in simulated modem, scripted villagers (one of whom calls instead of texting)
//! and cadres (who accept, call back, resolve and rate by SMS), and a stand-alone simulator.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{Account, Config, Device, Role};
use crate::phone::mask as mask_phone;
use crate::sim::script::{self, ScriptLine};
use crate::sim::{Dialect, IncomingCall, SimModem, SimOptions};

const DEMO_TOML: &str = include_str!("../../gateway-config/demo.toml");
const DEMO_DIRECTORY: &str = include_str!("../../gateway-config/demo-directory.toml");

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo config: {0}")]
    Config(String),
    #[error("simulated modem: {0}")]
    Sim(#[from] std::io::Error),
    #[error(transparent)]
    Daemon(#[from] crate::daemon::DaemonError),
}

/// Scripted villagers: (phone, text). Full-width digits, a long message that needs several
/// parts (delivered out of order), everyday appeals in each category.
const SCRIPT: &[(&str, &str)] = &[
    ("13812345678", "玉米被风吹倒了，农业保险能不能赔？"),
    ("13987654321", "村口路灯坏了三天了，晚上路不好走"),
    ("15000001111", "自来水停了两天，家里老人没水喝"),
    ("13700002222", "邻居家的狗天天晚上叫，协商了好几次没用"),
    ("13812345678", "我家电表号码是１２３４５６７８，电费算错了"),
    (
        "18900003333",
        "垃圾堆在河边好几天没人收，气味很大，夏天苍蝇多，希望村里尽快安排人清理，\
                     另外河边的护栏也坏了一段，小孩子在那里玩很危险，请村委会一起看看怎么处理",
    ),
    ("13500004444", "后山有房子裂缝，怕塌，请赶快来人看看"),
];

/// A villager who cannot text and calls the village number instead.
const CALLER: &str = "13600005555";

pub async fn run(
    listen: Option<SocketAddr>,
    seconds: Option<u64>,
    shutdown: CancellationToken,
) -> Result<(), DemoError> {
    let dir = tempfile::tempdir()?;
    let sim = SimModem::start(SimOptions::default()).await?;
    let mut config = Config::parse(DEMO_TOML, Path::new("gateway-config/demo.toml"))
        .map_err(|e| DemoError::Config(e.to_string()))?;
    config.database.url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("demo.sqlite").display()
    );
    if let Some(m) = config.modems.first_mut() {
        m.device = Device::Serial(sim.device_path());
    }
    let directory = dir.path().join("directory.toml");
    std::fs::write(&directory, DEMO_DIRECTORY)?;
    config.directory = Some(directory);
    if let Some(l) = listen {
        config.web.listen = l;
    }
    // A fresh password each run, printed below, so the demo page is never open to a guess.
    let password = crate::web::csrf::new_token()[..10].to_string();
    let password_hash =
        crate::web::auth::hash_password(&password).map_err(|e| DemoError::Config(e.to_string()))?;
    for (name, role) in [("admin", Role::Admin), ("viewer", Role::Viewer)] {
        config.web.accounts.push(Account {
            name: name.into(),
            role,
            password_hash: password_hash.clone(),
        });
    }
    println!("appeal-gateway demo");
    println!("  web page:        http://{}/", config.web.listen);
    println!(
        "  API:             http://{}/api/v1/appeals",
        config.web.listen
    );
    println!("  log in:          admin / {password}  (or viewer / {password}: phones masked)");
    println!("  simulated modem: {}", sim.device_path().display());
    println!("  database:        {}", config.database.url);
    println!("Ctrl-C stops it.");
    if let Some(s) = seconds {
        let t = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(s)).await;
            t.cancel();
        });
    }
    tokio::spawn(villagers(sim.clone(), shutdown.clone()));
    tokio::spawn(network_log(sim.clone(), shutdown.clone()));
    tokio::spawn(phones(sim.clone(), shutdown.clone()));
    crate::daemon::run(config, Clock::System, shutdown).await?;
    sim.shutdown().await;
    Ok(())
}

async fn villagers(sim: SimModem, shutdown: CancellationToken) {
    // Let the daemon initialise the modem first.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (i, (phone, text)) in SCRIPT.iter().cycle().enumerate() {
        if shutdown.is_cancelled() {
            return;
        }
        if text.chars().count() > 70 {
            // Parts out of order, as networks do deliver them.
            sim.receive_parts(phone, text, &[1, 0, 2]);
        } else {
            sim.receive_sms(phone, text);
        }
        tracing::info!(phone = %mask_phone(phone), "villager texts: {text}");
        if i % SCRIPT.len() == 2 {
            // The gateway rejects the call (it costs the caller nothing) and files a callback.
            sim.ring(CALLER);
            tracing::info!(phone = %mask_phone(CALLER), "villager calls instead of texting");
        }
        let pause = if i < SCRIPT.len() { 4 } else { 30 };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(pause)) => {}
        }
    }
}

/// The scripted cadres and villagers answer what they receive, as people would: a cadre accepts
/// a new appeal and resolves it a little later; a villager asked to rate says "满意".
async fn phones(sim: SimModem, shutdown: CancellationToken) {
    let number = regex::Regex::new(r"\d{11,}").expect("a valid literal pattern");
    let mut seen = 0;
    let mut later: Vec<(tokio::time::Instant, String, String)> = Vec::new();
    loop {
        let sent = sim.sent_texts();
        for (to, text) in sent.iter().skip(seen) {
            let Some(no) = number.find(text).map(|m| m.as_str().to_string()) else {
                continue;
            };
            let now = tokio::time::Instant::now();
            if text.starts_with("【新诉求") {
                later.push((now + Duration::from_secs(3), to.clone(), format!("JS{no}")));
                later.push((
                    now + Duration::from_secs(10),
                    to.clone(),
                    format!("BJ{no} 已安排人处理，问题已经解决"),
                ));
            } else if text.starts_with("【回电") {
                // The cadre calls the villager back, then records what was said.
                later.push((now + Duration::from_secs(3), to.clone(), format!("JS{no}")));
                later.push((
                    now + Duration::from_secs(12),
                    to.clone(),
                    format!("BJ{no} 已回电，村民反映低保材料的事，已当面说明"),
                ));
            } else if text.contains("请评价办理结果") {
                // Villagers answer in words or with a full-width digit, as they do.
                let answer = if no.ends_with(['1', '3', '5', '7', '9']) {
                    "满意"
                } else {
                    "５"
                };
                later.push((now + Duration::from_secs(4), to.clone(), answer.to_string()));
            }
        }
        seen = sent.len();
        let now = tokio::time::Instant::now();
        later.retain(|(at, from, text)| {
            if *at <= now {
                tracing::info!(phone = %mask_phone(from), "texts back: {text}");
                sim.receive_sms(from, text);
                false
            } else {
                true
            }
        });
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
    }
}

/// Shows what the "network" received from the gateway.
async fn network_log(sim: SimModem, shutdown: CancellationToken) {
    let mut seen = 0;
    loop {
        let sent = sim.sent_texts();
        for (to, text) in sent.iter().skip(seen) {
            println!("network delivered to {}: {text}", mask_phone(to));
        }
        seen = sent.len();
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// A stand-alone simulated modem of `dialect`. Lines on stdin (`sim::script`): `PHONE TEXT`
/// delivers an SMS, `CALL PHONE` rings, `DTMF DIGITS` keys in the answered call, `HANGUP`;
/// what the modem sends is printed.
pub async fn simulate(dialect: Dialect, shutdown: CancellationToken) -> Result<(), DemoError> {
    let sim = SimModem::start(SimOptions {
        dialect,
        ..SimOptions::default()
    })
    .await?;
    println!("{}", sim.device_path().display());
    eprintln!("simulated modem ready; type `PHONE TEXT`, `CALL PHONE`, `DTMF DIGITS` or `HANGUP`; Ctrl-C stops it");
    tokio::spawn(network_log(sim.clone(), shutdown.clone()));
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            line = lines.next_line() => match line {
                Ok(Some(l)) => match script::parse(&l) {
                    Ok(ScriptLine::Sms { phone, text }) => sim.receive_sms(&phone, &text),
                    Ok(ScriptLine::Call { phone }) => sim.call(IncomingCall::new(&phone)),
                    Ok(ScriptLine::Dtmf(keys)) => sim.dtmf(&keys),
                    Ok(ScriptLine::HangUp) => sim.caller_hangs_up(),
                    Ok(ScriptLine::Empty) => {}
                    Err(why) => eprintln!("{why}"),
                },
                // stdin closed (run from a script): keep serving until a signal.
                Ok(None) | Err(_) => { shutdown.cancelled().await; break; }
            }
        }
    }
    sim.shutdown().await;
    Ok(())
}
