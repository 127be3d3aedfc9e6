//! Tools beside the daemon, each a subcommand: the demo (the daemon on SQLite with the built-in
//! simulated modem and scripted villagers), the intake benchmark, the web load test and the supervision benchmark. They
//! sit on top of everything and nothing in the gateway imports them.

pub mod bench;
pub mod demo;
pub mod evaluation;
pub mod load;
