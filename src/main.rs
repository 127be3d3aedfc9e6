//! The `appeal-gateway` binary: command-line edge (clap + anyhow).
fn main() {}
