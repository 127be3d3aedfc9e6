//! The module graph points one way. Every `crate::` path in src names a top-level module; a
//! module may name only modules in lower layers, or earlier ones in its own layer. A new
//! top-level module must be given a place here, so where it sits is a decision, not an accident.
//!
//! Run against the tree before the layering (commit 3cdcefc) this test reported 12 problems,
//! among them config -> scheduler, appeals -> daemon, outbox -> modem and web -> daemon.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Ground up. Within a layer, order matters too: a module may import those listed before it.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "pure leaves",
        &[
            "pdu", "at", "clock", "wake", "phone", "grade", "quiet", "backoff",
        ],
    ),
    ("configuration", &["config"]),
    ("storage", &["store"]),
    (
        "domain",
        &[
            "directory",
            "intake",
            "outbox",
            "appeals",
            "affairs",
            "inbox",
            "calls",
            "supervision",
        ],
    ),
    (
        "I/O tasks",
        &["modem", "sim", "sender", "scheduler", "webhooks", "web"],
    ),
    ("supervisor", &["daemon"]),
    ("tools", &["tools"]),
];

/// (layer index, position in the layer) of a top-level module.
fn rank(module: &str) -> Option<(usize, usize)> {
    LAYERS
        .iter()
        .enumerate()
        .find_map(|(l, (_, mods))| mods.iter().position(|m| *m == module).map(|p| (l, p)))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/appeals/actions.rs` -> appeals.
fn owner(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("file under src");
    let first = rel.components().next().expect("non-empty path");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// The top-level modules named by `crate::` paths in code (comment lines skipped: a doc link
/// to a higher layer is not a dependency). Handles `use crate::{a::b, c};` groups.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            // `appeal_gateway::crate::` never occurs; skip identifiers that merely end in
            // "crate" (e.g. `mycrate::`).
            let before = rest[..i].chars().next_back();
            rest = &rest[i + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.insert(name);
                    }
                }
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// Every import that goes up a layer (or sideways to a later module), as readable lines.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    for file in files {
        let module = owner(src, &file);
        if module == "main" || module == "lib" {
            continue;
        }
        let Some(from) = rank(&module) else {
            bad.push(format!(
                "src/{module} is in no layer: give it a place in tests/layers.rs"
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("read source");
        for target in imports(&text) {
            if target == module {
                continue;
            }
            match rank(&target) {
                Some(to) if to < from => {}
                Some(_) => bad.push(format!(
                    "{} imports crate::{target}: {module} ({}) may not depend on {target} ({})",
                    file.display(),
                    LAYERS[from.0].0,
                    LAYERS[rank(&target).map_or(0, |r| r.0)].0,
                )),
                // An item of lib.rs itself or a macro path: not a module edge.
                None => {}
            }
        }
    }
    bad.sort();
    bad.dedup();
    bad
}

#[test]
fn imports_only_go_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src);
    assert!(
        bad.is_empty(),
        "{} imports go up a layer:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .collect();
    assert!(declared.len() > 10, "lib.rs declares its modules");
    for m in declared {
        assert!(
            rank(m).is_some(),
            "src/{m} is in no layer of tests/layers.rs"
        );
    }
}

#[test]
fn the_scanner_sees_grouped_and_nested_paths() {
    let text = "use crate::{appeals::Step, config};\n// crate::daemon in a comment\nlet x = crate::web::bind(); mycrate::no;";
    let got: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(got, ["appeals", "config", "web"]);
}

/// Point it at another tree (`LAYERS_SRC=/path/to/old/src cargo test --test layers -- --ignored`)
/// to see what it would say there.
#[test]
#[ignore]
fn report_for_another_tree() {
    let src = std::env::var("LAYERS_SRC").expect("set LAYERS_SRC");
    let bad = violations(Path::new(&src));
    println!("{}", bad.join("\n"));
    assert!(bad.is_empty(), "{} violations", bad.len());
}
