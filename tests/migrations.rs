//! migrations/sqlite and migrations/postgres must hold the same migrations (same file names):
//! a change made for one backend and forgotten for the other fails here, not in a county's
//! upgrade.

use std::collections::BTreeSet;
use std::path::Path;

fn migration_files(backend: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect()
}

/// The names that only one side has, as "sqlite only: ..." lines.
fn differences(sqlite: &BTreeSet<String>, postgres: &BTreeSet<String>) -> Vec<String> {
    let only = |a: &BTreeSet<String>, b: &BTreeSet<String>, side: &str| -> Vec<String> {
        a.difference(b)
            .map(|n| format!("{side} only: {n}"))
            .collect()
    };
    let mut out = only(sqlite, postgres, "sqlite");
    out.extend(only(postgres, sqlite, "postgres"));
    out
}

#[test]
fn both_backends_have_the_same_migrations() {
    let sqlite = migration_files("sqlite");
    let postgres = migration_files("postgres");
    assert!(
        sqlite.iter().any(|n| n.starts_with("0001_")),
        "the first migration is there: {sqlite:?}"
    );
    let diff = differences(&sqlite, &postgres);
    assert!(
        diff.is_empty(),
        "migrations/sqlite and migrations/postgres differ:\n{}",
        diff.join("\n")
    );
}

#[test]
fn every_migration_name_is_versioned() {
    // sqlx orders by the number before the first `_`; a typo there reorders history.
    for backend in ["sqlite", "postgres"] {
        for name in migration_files(backend) {
            let (version, rest) = name
                .split_once('_')
                .unwrap_or_else(|| panic!("{backend}/{name}: no `_` after the version"));
            assert!(
                version.len() == 4 && version.bytes().all(|b| b.is_ascii_digit()),
                "{backend}/{name}: version must be four digits"
            );
            assert!(
                rest.len() > ".sql".len(),
                "{backend}/{name}: needs a description"
            );
        }
    }
}

#[test]
fn a_missing_file_is_named() {
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let d = differences(
        &set(&["0001_init.sql", "0004_cluster.sql"]),
        &set(&["0001_init.sql", "0002_web.sql"]),
    );
    assert_eq!(
        d,
        vec![
            "sqlite only: 0004_cluster.sql".to_string(),
            "postgres only: 0002_web.sql".to_string()
        ]
    );
    assert!(differences(&set(&["0001_init.sql"]), &set(&["0001_init.sql"])).is_empty());
}
