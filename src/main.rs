//! The `appeal-gateway` binary: the command-line edge. Parses arguments (clap), sets up
//! logging, and turns every error into a message and an exit code (anyhow lives only here).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use appeal_gateway::appeals::{events, get_appeal, list_appeals, AppealFilter};
use appeal_gateway::clock::Clock;
use appeal_gateway::config::Config;
use appeal_gateway::pdu;
use appeal_gateway::store::Store;

#[derive(Parser)]
#[command(
    name = "appeal-gateway",
    version,
    about = "SMS gateway for the 码上办 village appeal platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        #[arg(long)]
        config: PathBuf,
    },
    /// Run everything on a temporary SQLite file with a simulated modem and scripted villagers.
    Demo {
        /// Web address (default: the one in gateway-config/demo.toml, 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        seconds: Option<u64>,
    },
    /// Validate a config file; lists every error with its key and fix.
    CheckConfig { file: PathBuf },
    /// Apply database migrations (the daemon also does this at start).
    Migrate {
        #[arg(long)]
        config: PathBuf,
    },
    /// SMS PDU codec, for debugging a modem.
    Pdu {
        #[command(subcommand)]
        command: PduCommand,
    },
    /// Start a stand-alone simulated modem on a new pseudo-terminal and print its path; stdin
    /// takes `PHONE TEXT`, `CALL PHONE` (`CALL -` withheld), `DTMF DIGITS` and `HANGUP`.
    Simulate {
        /// The modem family it plays: generic, sim800, sim7600 (TTS+DTMF), ec25 (TTS+DTMF) or
        /// me909 (Huawei, ^DDTMF keys).
        #[arg(long, default_value = "generic", value_parser = parse_dialect)]
        dialect: appeal_gateway::sim::Dialect,
    },
    /// Filed appeals, for admins without a browser.
    Appeals {
        #[command(subcommand)]
        command: AppealsCommand,
    },
    /// Make an argon2id hash for a `[[web.account]] password_hash`; reads the password from
    /// standard input (one line), so it stays out of the shell history.
    HashPassword,
    /// End-to-end throughput and memory against a zero-latency simulated modem.
    Bench {
        #[arg(long, default_value_t = 2000)]
        messages: usize,
        /// Database to use (default: a temporary SQLite file).
        #[arg(long)]
        database_url: Option<String>,
        /// The daemon binary to measure (default: this one), e.g. an older build for a paired
        /// comparison under the same harness.
        #[arg(long)]
        daemon: Option<std::path::PathBuf>,
        /// A paired run: this older daemon binary and the measured one (`--daemon`, default
        /// this one) alternate under the same harness, printed side by side with the ratios.
        #[arg(long)]
        against: Option<std::path::PathBuf>,
        /// Pairs of runs for `--against` (medians are printed, and every run).
        #[arg(long, default_value_t = 2)]
        pairs: usize,
        /// Instead of inbound appeals: one broadcast to `--messages` subscribers, timed from
        /// the broadcast's row to the last text on the network.
        #[arg(long)]
        broadcast: bool,
    },
    /// The status page and GET /api/v1/appeals under load, on a SQLite file with N appeals.
    BenchWeb {
        /// The SQLite file (filled when empty, reused when not).
        #[arg(long, default_value = "bench-web.sqlite")]
        db: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        appeals: usize,
        #[arg(long, default_value_t = 50)]
        clients: usize,
        /// Seconds per route.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Keep serving afterwards (prints wrk command lines) until Ctrl-C.
        #[arg(long)]
        hold: bool,
        /// `[database] max_connections` for the server (SQLite readers).
        #[arg(long, default_value_t = 8)]
        connections: u32,
    },
    /// The monthly evaluation over a month of many appeals on SQLite (seeded once into --db).
    BenchSupervision {
        #[arg(long, default_value = "bench-supervision.db")]
        db: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        appeals: usize,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// The hash-chained audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// A modem's operator actions.
    Modem {
        #[arg(long)]
        config: PathBuf,
        #[command(subcommand)]
        command: ModemCommand,
    },
    /// Supervision reports (纪委监督): `report month 2026-11 --config FILE [--csv|--json]`, the
    /// monthly evaluation (the stored snapshot once made, checked against a recomputation);
    /// `report week 2026-W49 ...`, a week's digest.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// The village and cadre directory file named by the config's `directory` key. Edits
    /// rewrite the file whole (comments are not kept); then `systemctl reload appeal-gateway`
    /// (SIGHUP) makes a running daemon use it.
    Directory {
        #[arg(long)]
        config: PathBuf,
        #[command(subcommand)]
        command: DirectoryCommand,
    },
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Check the file; lists every problem.
    Check,
    /// Print villages and cadres (PINs hidden).
    List,
    /// Add or replace a village (by code).
    AddVillage(VillageArgs),
    /// Add or replace a cadre (by phone).
    AddCadre(CadreArgs),
    /// Remove a cadre by phone or name.
    RemoveCadre { who: String },
    /// Remove a village by code.
    RemoveVillage { code: String },
}

#[derive(clap::Args)]
struct VillageArgs {
    code: String,
    name: String,
    #[arg(long, default_value = "")]
    town: String,
    #[arg(long)]
    signature: Option<String>,
    /// Modem names serving it (repeat the flag).
    #[arg(long = "modem")]
    modems: Vec<String>,
}

#[derive(clap::Args)]
struct CadreArgs {
    name: String,
    phone: String,
    /// village_cadre, grid_member, town_office or inspector.
    #[arg(long)]
    role: String,
    #[arg(long)]
    village: Option<String>,
    #[arg(long)]
    town: Option<String>,
    /// Categories handled (repeat the flag); none = the village's fallback.
    #[arg(long = "category")]
    categories: Vec<String>,
    #[arg(long)]
    pin: Option<String>,
}

#[derive(Subcommand)]
enum PduCommand {
    /// Decode a PDU (hex as the modem prints it) to one line of JSON.
    Decode {
        /// The hex has no leading SMSC field (a bare TPDU).
        #[arg(long)]
        no_smsc: bool,
        hex: String,
    },
    /// Encode an SMS-SUBMIT: one line per part, "<AT+CMGS length> <hex>".
    Encode {
        #[arg(long)]
        to: String,
        #[arg(long)]
        smsc: Option<String>,
        #[arg(long)]
        class: Option<u8>,
        text: String,
    },
}

#[derive(Subcommand)]
enum AppealsCommand {
    List {
        #[arg(long)]
        config: PathBuf,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    Show {
        #[arg(long)]
        config: PathBuf,
        number: String,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The monthly evaluation; PERIOD is a month, e.g. 2026-11.
    Month(ReportArgs),
    /// A week's digest; PERIOD is an ISO week, e.g. 2026-W49 (Monday to Sunday).
    Week(ReportArgs),
}

#[derive(clap::Args)]
struct ReportArgs {
    period: String,
    #[arg(long)]
    config: PathBuf,
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ModemCommand {
    /// Forget the PINs this modem's SIM refused, so the daemon may enter one again after its
    /// next restart. Use it once the SIM is known to be fine (unlocked with its PUK, or the
    /// refusal was the SIM's fault): every wrong try costs one of its three attempts.
    ClearPin {
        /// The modem's `[[modem]] name`.
        name: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the whole event chain with the configured key, and the head file for deleted
    /// newest events; names the first broken event and exits 1.
    Verify {
        #[arg(long)]
        config: PathBuf,
    },
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,warp=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        // Pure commands need no runtime.
        Command::Pdu { command } => pdu_command(command),
        Command::Directory { config, command } => directory_command(&config, command),
        Command::HashPassword => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let password = line.trim_end_matches(['\n', '\r']);
            let hash = appeal_gateway::web::auth::hash_password(password)?;
            println!("{hash}");
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { file } => match Config::load(&file) {
            Ok(c) => {
                for w in c.warnings() {
                    println!("warning: {w}");
                }
                println!("{}: ok", file.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(errors) => {
                eprintln!("{errors}");
                Ok(ExitCode::FAILURE)
            }
        },
        other => {
            init_logging();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async_main(other))
        }
    }
}

fn load_config(path: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

async fn open_store(path: &std::path::Path) -> anyhow::Result<Store> {
    let c = load_config(path)?;
    Store::connect(&c.database.url, c.database.max_connections)
        .await
        .with_context(|| "cannot open the database")
}

/// SIGTERM or Ctrl-C cancels the token.
fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot watch SIGTERM");
                    let _ = tokio::signal::ctrl_c().await;
                    t.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        t.cancel();
    });
    token
}

async fn async_main(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config } => {
            let c = load_config(&config)?;
            appeal_gateway::daemon::run(c, Clock::System, shutdown_on_signals()).await?;
        }
        Command::Demo { listen, seconds } => {
            appeal_gateway::tools::demo::run(listen, seconds, shutdown_on_signals()).await?;
        }
        Command::BenchWeb {
            db,
            appeals,
            clients,
            seconds,
            hold,
            connections,
        } => {
            appeal_gateway::tools::load::run(&db, appeals, clients, seconds, hold, connections)
                .await?;
        }
        Command::Simulate { dialect } => {
            appeal_gateway::tools::demo::simulate(dialect, shutdown_on_signals()).await?;
        }
        Command::Bench {
            messages,
            database_url,
            daemon,
            against,
            pairs,
            broadcast,
        } => {
            let me = match daemon {
                Some(d) => d,
                None => std::env::current_exe().context("cannot find this executable")?,
            };
            use appeal_gateway::tools::bench;
            match against {
                Some(old) if broadcast => {
                    let report =
                        bench::paired_broadcast(old, me, messages, database_url, pairs).await?;
                    println!("{report}");
                }
                None if broadcast => {
                    println!(
                        "{}",
                        bench::run_broadcast(me, messages, database_url).await?
                    )
                }
                Some(old) => {
                    let report = bench::paired(old, me, messages, database_url, pairs).await?;
                    println!("{report}");
                }
                None => println!("{}", bench::run(me, messages, database_url).await?),
            }
        }
        Command::Migrate { config } => {
            let store = open_store(&config).await?;
            store.close().await;
            println!("migrations applied");
        }
        Command::Appeals { command } => match command {
            AppealsCommand::List {
                config,
                json,
                limit,
            } => {
                let store = open_store(&config).await?;
                let mut all = Vec::new();
                let mut before = None;
                // Page through so --limit can exceed one query's page.
                while (all.len() as i64) < limit {
                    let page = list_appeals(
                        &store,
                        &AppealFilter {
                            before_id: before,
                            limit: (limit - all.len() as i64).min(500),
                            ..Default::default()
                        },
                    )
                    .await?;
                    let Some(last) = page.last() else { break };
                    before = Some(last.id);
                    all.extend(page);
                }
                if json {
                    println!("{}", serde_json::to_string(&all)?);
                } else {
                    for a in &all {
                        println!(
                            "{}  {}  {:6}  {:8}  {}",
                            a.number, a.phone, a.colour, a.status, a.text
                        );
                    }
                }
            }
            AppealsCommand::Show { config, number } => {
                let store = open_store(&config).await?;
                match get_appeal(&store, &number).await? {
                    Some(a) => println!("{}", serde_json::to_string_pretty(&a)?),
                    None => bail!("no appeal {number}"),
                }
            }
        },
        Command::Modem { config, command } => match command {
            ModemCommand::ClearPin { name } => {
                let c = load_config(&config)?;
                if !c.modems.iter().any(|m| m.name == name) {
                    let names: Vec<&str> = c.modems.iter().map(|m| m.name.as_str()).collect();
                    eprintln!(
                        "{}: no [[modem]] named \"{name}\" (the config has: {})",
                        config.display(),
                        names.join(", ")
                    );
                    return Ok(ExitCode::FAILURE);
                }
                let store = open_store(&config).await?;
                let n = appeal_gateway::modem::pin::clear_refusals(&store, &name).await?;
                println!(
                    "modem {name}: {n} refused PIN(s) forgotten; restart the daemon \
                     (systemctl restart appeal-gateway) to let it unlock the SIM"
                );
            }
        },
        Command::Audit { command } => match command {
            AuditCommand::Verify { config } => {
                let c = load_config(&config)?;
                // Never creates a key: a missing default key only means no keyed events yet.
                let key = match events::load_key(&c, false) {
                    Ok(k) => k,
                    Err(e) => {
                        eprintln!("{}: audit: {e}", config.display());
                        return Ok(ExitCode::FAILURE);
                    }
                };
                let head_path = &c.audit_files().1;
                let head = events::read_head(head_path);
                let store = open_store(&config).await?;
                match events::verify(&store, key.as_ref(), head.as_ref()).await? {
                    Ok(v) => {
                        println!(
                            "audit chain intact: {} events ({} keyed, {} from before the key)",
                            v.checked,
                            v.keyed,
                            v.checked - v.keyed
                        );
                        match &head {
                            Some(h) => println!(
                                "head file {}: event {} present and unchanged",
                                head_path.display(),
                                h.id
                            ),
                            None => eprintln!(
                                "warning: no head file at {}: deleting the newest events would not be noticed",
                                head_path.display()
                            ),
                        }
                        if key.is_none() {
                            eprintln!("warning: no audit key found; only events from before the key were checkable");
                        }
                    }
                    Err(b) => {
                        eprintln!("audit chain broken at event {}: {}", b.event_id, b.reason);
                        return Ok(ExitCode::FAILURE);
                    }
                }
            }
        },
        Command::Report { command } => return report_command(command).await,
        Command::BenchSupervision { db, appeals, runs } => {
            println!(
                "{}",
                appeal_gateway::tools::evaluation::run(&db, appeals, runs).await?
            );
        }
        Command::Pdu { .. }
        | Command::CheckConfig { .. }
        | Command::Directory { .. }
        | Command::HashPassword => {
            unreachable!("handled without a runtime")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The directory named by the config, or an empty one.
fn load_directory(c: &Config) -> anyhow::Result<appeal_gateway::directory::Directory> {
    match &c.directory {
        Some(p) => Ok(appeal_gateway::directory::Directory::load(p)?),
        None => Ok(Default::default()),
    }
}

async fn report_command(command: ReportCommand) -> anyhow::Result<ExitCode> {
    use appeal_gateway::supervision::{period::Period, record, report::Evaluation};
    let (
        month,
        ReportArgs {
            period,
            config,
            csv,
            json,
        },
    ) = match command {
        ReportCommand::Month(a) => (true, a),
        ReportCommand::Week(a) => (false, a),
    };
    let p = match Period::parse(&period) {
        Ok(p @ Period::Month { .. }) if month => p,
        Ok(p @ Period::Week { .. }) if !month => p,
        Ok(_) | Err(_) => {
            let want = if month {
                "a month such as 2026-11"
            } else {
                "an ISO week such as 2026-W49"
            };
            eprintln!("\"{period}\" is not {want}");
            return Ok(ExitCode::from(2));
        }
    };
    let c = load_config(&config)?;
    let dir = load_directory(&c)?;
    let store = open_store(&config).await?;
    let now = Clock::System.now().timestamp_millis();
    if !month {
        let d = record::week_inputs(&store, &c, p, now)
            .await?
            .digest(None, &dir, &c);
        if json {
            println!("{}", serde_json::to_string_pretty(&d)?);
        } else if csv {
            print!("{}", d.csv());
        } else {
            println!("{}", d.sms());
        }
        return Ok(ExitCode::SUCCESS);
    }
    // The stored snapshot is the record; a recomputation at its instant shows whether the
    // appeals behind it have changed since.
    let (ev, meta): (Evaluation, serde_json::Value) = match record::snapshot(&store, &p.key())
        .await?
    {
        Some(s) => {
            let again = record::evaluation(&store, &c, &dir, p, s.as_of).await?;
            let matches = again.inputs_hash == s.inputs_hash;
            if matches {
                eprintln!(
                    "snapshot of {} (made {}): inputs unchanged",
                    s.period,
                    appeal_gateway::store::from_millis(s.created_at)
                );
            } else {
                eprintln!(
                    "snapshot of {} (made {}): the appeals behind it have changed since (inputs {} then, {} now); the snapshot's figures are shown",
                    s.period,
                    appeal_gateway::store::from_millis(s.created_at),
                    s.inputs_hash,
                    again.inputs_hash
                );
            }
            let stored: Evaluation =
                serde_json::from_value(s.report.clone()).unwrap_or(again.clone());
            let meta = serde_json::json!({"created_at": s.created_at, "inputs_hash": s.inputs_hash, "recomputed_hash": again.inputs_hash, "matches": matches});
            (stored, meta)
        }
        None => {
            eprintln!("no snapshot of {} yet (made on the 1st at [supervision] evaluation_time); computed now", p.key());
            (
                record::evaluation(&store, &c, &dir, p, now).await?,
                serde_json::Value::Null,
            )
        }
    };
    if json {
        let mut v = serde_json::to_value(&ev)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("snapshot".into(), meta);
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if csv {
        print!("{}", ev.csv());
    } else {
        print!("{}", ev.text());
    }
    Ok(ExitCode::SUCCESS)
}

fn directory_command(
    config: &std::path::Path,
    command: DirectoryCommand,
) -> anyhow::Result<ExitCode> {
    use appeal_gateway::directory::{Cadre, Directory, Village};
    use appeal_gateway::phone::national;
    let c = load_config(config)?;
    let Some(path) = c.directory.clone() else {
        bail!("{} has no `directory = \"...\"` line", config.display());
    };
    let mut d = match Directory::load(&path) {
        Ok(d) => d,
        Err(e) => {
            if matches!(command, DirectoryCommand::Check | DirectoryCommand::List) {
                eprintln!("{e}");
                return Ok(ExitCode::FAILURE);
            }
            return Err(e.into());
        }
    };
    match command {
        DirectoryCommand::Check => {
            println!(
                "{}: ok ({} villages, {} cadres)",
                path.display(),
                d.villages.len(),
                d.cadres.len()
            );
            return Ok(ExitCode::SUCCESS);
        }
        DirectoryCommand::List => {
            for v in &d.villages {
                println!(
                    "village {}  {}  {}  modems: {}",
                    v.code,
                    v.name,
                    v.town,
                    v.modems.join(",")
                );
            }
            for c in &d.cadres {
                println!(
                    "cadre {}  {}  {}  {}  {}{}",
                    c.name,
                    c.phone,
                    c.role.as_str(),
                    c.village.as_deref().or(c.town.as_deref()).unwrap_or("-"),
                    c.categories.join(","),
                    if c.pin.is_some() { "  (PIN)" } else { "" }
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        DirectoryCommand::AddVillage(v) => {
            d.villages.retain(|old| old.code != v.code);
            d.villages.push(Village {
                code: v.code,
                name: v.name,
                town: v.town,
                signature: v.signature,
                modems: v.modems,
            });
        }
        DirectoryCommand::AddCadre(c) => {
            let role = c.role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            d.cadres
                .retain(|old| national(&old.phone) != national(&c.phone));
            d.cadres.push(Cadre {
                role,
                name: c.name,
                phone: c.phone,
                village: c.village,
                town: c.town,
                categories: c.categories,
                pin: c.pin,
            });
        }
        DirectoryCommand::RemoveCadre { who } => {
            let before = d.cadres.len();
            d.cadres
                .retain(|c| c.name != who && national(&c.phone) != national(&who));
            if d.cadres.len() == before {
                bail!("no cadre `{who}` in {}", path.display());
            }
        }
        DirectoryCommand::RemoveVillage { code } => {
            let before = d.villages.len();
            d.villages.retain(|v| v.code != code);
            if d.villages.len() == before {
                bail!("no village `{code}` in {}", path.display());
            }
        }
    }
    d.save(&path)?;
    println!(
        "{} saved; run `systemctl reload appeal-gateway` to apply",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn pdu_command(command: PduCommand) -> anyhow::Result<ExitCode> {
    match command {
        PduCommand::Decode { no_smsc, hex } => match pdu::decode_hex(hex.trim(), !no_smsc) {
            Ok(p) => {
                println!("{}", pdu::to_json(&p));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("cannot decode PDU: {e}");
                Ok(ExitCode::FAILURE)
            }
        },
        PduCommand::Encode {
            to,
            smsc,
            class,
            text,
        } => {
            if let Some(c) = class {
                if c > 3 {
                    bail!("--class must be 0, 1, 2 or 3");
                }
            }
            let opts = pdu::SubmitOptions {
                smsc,
                class,
                ..Default::default()
            };
            match pdu::encode_submit(&to, &text, &opts) {
                Ok(parts) => {
                    for p in parts {
                        println!("{} {}", p.tpdu_len, p.hex);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("cannot encode: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

fn parse_dialect(s: &str) -> Result<appeal_gateway::sim::Dialect, String> {
    use appeal_gateway::sim::Dialect;
    match s.to_ascii_lowercase().as_str() {
        "generic" => Ok(Dialect::Generic),
        "sim800" => Ok(Dialect::Sim800),
        "sim7600" => Ok(Dialect::Sim7600),
        "ec25" => Ok(Dialect::Ec25),
        "me909" => Ok(Dialect::Me909),
        _ => Err(format!(
            "unknown dialect {s:?}: generic, sim800, sim7600 or ec25"
        )),
    }
}
