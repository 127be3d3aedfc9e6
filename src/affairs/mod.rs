//! The platform's other sections by SMS: 三务公开 notices and 办事 service guides
//! ([`notices`]), subscriptions and broadcasts ([`subscriptions`], [`broadcast`]), the 乡村智库
//! think tank ([`thinktank`]), their texts ([`replies`], pure) and the inbox's entry point for
//! their keywords ([`handle`]). The keywords themselves are parsed in
//! [`crate::intake::affairs`], with the villagers' other commands.

pub mod broadcast;
pub mod handle;
pub mod notices;
pub mod replies;
pub mod subscriptions;
pub mod thinktank;
