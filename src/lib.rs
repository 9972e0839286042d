//! secobot: the support chat server of SECOP II.
//!
//! # Layout
//! - [`cli`], [`config`]: the command line and validated settings.
//! - [`server`]: HTTP routes and the two WebSockets (users, agents); wire types in
//!   [`server::protocol`]. Never touches sled or tantivy.
//! - [`conversation`]: who answers each message (bot, flow, agent), seq, replay.
//!   Every message of a conversation takes one path: `Hub::commit`.
//! - [`knowledge`]: the `knowledge/` folder → validated entries and flows → a
//!   tantivy index with Spanish analysis; hot reload.
//! - [`flows`]: guided flows, a pure state machine.
//! - [`tickets`]: support cases, lifecycle, business-day deadlines.
//! - [`agents`]: accounts, logins, the live queue, claims.
//! - [`admin`]: account changes while running (page, local admin socket, CLI) and their audit log.
//! - [`store`]: the only module that imports sled; durable group commit. Owns
//!   its record types (`store::records`): `conversation` imports `store`, never
//!   the reverse (tickets are still stored as `tickets::Ticket`).
//! - [`bundled`]: templates and knowledge embedded in the binary; which copy a command uses.
//! - [`render`]: handlebars templates for reply wording and pages; Markdown → safe HTML.
//! - [`help`]: the help center (`/kb`): entries by group, search results and
//!   related topics as views for the pages, ranked by the bot's own search.
//! - [`text`]: text as people type it → one canonical form (NFC, no invisible
//!   characters), applied once at the socket edge; credentials masked.
//! - [`local_time`]: times shown to people, in Bogotá time and one format.
//! - [`eval`], [`report`]: offline commands over the folder and the data.
//!
//! Data flows one way: socket → `server::ws_user` → `conversation` → `flows` or
//! `knowledge` → `Reply` → `render` → `store` (append, durable) → socket.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod admin;
pub mod agents;
pub mod bundled;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod conversation;
pub mod eval;
pub mod flows;
pub mod help;
pub mod knowledge;
pub mod local_time;
pub mod mail;
pub mod markdown;
pub mod problem;
pub mod render;
pub mod report;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod text;
pub mod tickets;
