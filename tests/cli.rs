//! The command-line contracts that tools outside the project read: `pdu decode` JSON keys and
//! exit codes, `pdu encode` lines, `check-config` errors, `simulate`'s device path.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_appeal-gateway"))
}

#[test]
fn pdu_decode_prints_one_json_line_with_the_contract_keys() {
    let out = bin()
        .args(["pdu", "decode", "07915892000000F0040B915892214365F700007040213252242331493A283D0795C3F33C88FE06C9CB6132885EC6D341EDF27C1E3E97E7207B3A0C0A5241E377BB1D7693E72E"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["type"], "deliver");
    assert_eq!(v["smsc"], "+85290000000");
    assert_eq!(v["sender"], "+85291234567");
    assert_eq!(v["timestamp"], "2007-04-12T23:25:42+08:00");
    assert_eq!(v["encoding"], "gsm7");
    assert!(v["class"].is_null());
    assert!(v["concat"].is_null());
    assert_eq!(
        v["text"],
        "It is easy to read text messages via AT commands."
    );
}

#[test]
fn pdu_decode_without_smsc_and_status_reports() {
    // A bare TPDU (the same deliver without its SMSC field).
    let out = bin()
        .args(["pdu", "decode", "--no-smsc", "040B915892214365F700007040213252242331493A283D0795C3F33C88FE06C9CB6132885EC6D341EDF27C1E3E97E7207B3A0C0A5241E377BB1D7693E72E"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["smsc"].is_null());
    assert_eq!(v["sender"], "+85291234567");
}

#[test]
fn undecodable_pdu_exits_1_with_one_line_on_stderr() {
    for bad in ["000ABF00", "ZZ", "07915892000000F0040B91"] {
        let out = bin().args(["pdu", "decode", bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

#[test]
fn pdu_encode_prints_length_and_hex_per_part_and_round_trips() {
    let text = "村口路灯坏了三天了，晚上老人出门很不方便，请村委会尽快安排人修理，谢谢！另外河边护栏也坏了一段，小孩在那里玩很危险，垃圾也没人收，气味很大，夏天苍蝇多。";
    let out = bin()
        .args(["pdu", "encode", "--to", "+8613812345678", text])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "{} characters of UCS2 take two parts",
        text.chars().count()
    );
    let mut joined = String::new();
    for l in &lines {
        let (len, hex) = l.split_once(' ').unwrap();
        assert!(hex.starts_with("00"), "no SMSC given: an empty SMSC field");
        assert_eq!(len.parse::<usize>().unwrap(), hex.len() / 2 - 1);
        let d = bin().args(["pdu", "decode", hex]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&d.stdout).unwrap();
        assert_eq!(v["type"], "submit");
        assert_eq!(v["recipient"], "+8613812345678");
        assert_eq!(v["encoding"], "ucs2");
        assert_eq!(v["concat"]["total"], 2);
        joined.push_str(v["text"].as_str().unwrap());
    }
    assert_eq!(joined, text);
    let with_smsc = bin()
        .args([
            "pdu",
            "encode",
            "--to",
            "10086",
            "--smsc",
            "+8613800280500",
            "--class",
            "0",
            "hi",
        ])
        .output()
        .unwrap();
    let line = String::from_utf8(with_smsc.stdout).unwrap();
    let hex = line.trim().split_once(' ').unwrap().1.to_string();
    let v: serde_json::Value =
        serde_json::from_slice(&bin().args(["pdu", "decode", &hex]).output().unwrap().stdout)
            .unwrap();
    assert_eq!(v["smsc"], "+8613800280500");
    assert_eq!(v["class"], 0);
    assert_eq!(v["recipient"], "10086");
}

#[test]
fn check_config_names_file_key_and_fix_and_exits_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    std::fs::write(
        &path,
        "[database]\nurl = \"mysql://x\"\n\n[[modem]]\nname = \"m\"\ndevcie = \"/dev/ttyUSB0\"\nbaud = 11520\n",
    )
    .unwrap();
    let out = bin().arg("check-config").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let file = path.display().to_string();
    for key in ["database.url", "modem[0].devcie", "modem[0].baud"] {
        let line = err
            .lines()
            .find(|l| l.contains(key))
            .unwrap_or_else(|| panic!("{key} in:\n{err}"));
        assert!(line.starts_with(&file), "{line}");
        assert!(line.contains("fix:"), "{line}");
    }
    assert!(err.contains("did you mean `device`"));
    let good = bin()
        .arg("check-config")
        .arg("gateway-config/example.toml")
        .output()
        .unwrap();
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
}

#[test]
fn simulate_prints_a_device_path_that_answers_at() {
    let mut child = bin()
        .arg("simulate")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let path = std::path::PathBuf::from(first.trim());
    assert!(path.exists(), "{path:?}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answered = rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio_serial::SerialPortBuilderExt;
        let mut port = tokio_serial::new(path.to_string_lossy(), 115200)
            .open_native_async()
            .unwrap();
        port.write_all(b"AT\r").await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while !String::from_utf8_lossy(&got).contains("OK") {
            let n = tokio::time::timeout(std::time::Duration::from_secs(5), port.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).to_string()
    });
    assert!(answered.contains("OK"));
    let _ = child.kill();
    let _ = child.wait();
}

/// `modem clear-pin`: the operator's way to let a refused PIN be tried again (issue 9 item 2);
/// an unknown modem name is an error that lists the configured ones.
#[test]
fn modem_clear_pin_forgets_refusals_of_that_modem_only() {
    use appeal_gateway::modem::pin;
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("g.sqlite").display()
    );
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{url}\"\n[[modem]]\nname = \"m1\"\ndevice = \"/dev/null\"\n[[modem]]\nname = \"m2\"\ndevice = \"/dev/zero\"\n[audit]\nkey = \"0123456789abcdef0123456789abcdef\"\n"
        ),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(async {
        let store = appeal_gateway::store::Store::connect(&url, 1)
            .await
            .unwrap();
        let now = appeal_gateway::clock::Clock::System.now();
        pin::record_refusal(&store, "m1", "1111", "+CME ERROR: 16", now)
            .await
            .unwrap();
        pin::record_refusal(&store, "m2", "2222", "+CME ERROR: 16", now)
            .await
            .unwrap();
        assert!(pin::is_refused(&store, "m1", "1111").await.unwrap());
        store
    });
    let out = bin()
        .args(["modem", "--config"])
        .arg(&config)
        .args(["clear-pin", "m1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("m1: 1 refused PIN"), "{stdout}");
    rt.block_on(async {
        assert!(!pin::is_refused(&store, "m1", "1111").await.unwrap());
        assert!(
            pin::is_refused(&store, "m2", "2222").await.unwrap(),
            "m2 untouched"
        );
    });
    let out = bin()
        .args(["modem", "--config"])
        .arg(&config)
        .args(["clear-pin", "nosuch"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nosuch") && stderr.contains("m1, m2"),
        "{stderr}"
    );
}
