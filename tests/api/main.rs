//! Integration tests: each test starts the real `secobot` binary on a free port
//! (with its own copy of the bundled knowledge and its own data folder) and talks
//! to it over WebSocket, HTTP, the command line or a headless browser.

mod browser_support;
mod helpers;
mod postgres_support;

mod accessibility;
mod admin;
mod agents;
mod browser;
mod browser_agents;
mod browser_console;
mod browser_widget;
mod browser_widget_buttons;
mod cases;
mod cli;
mod deploy;
mod flows;
mod habeas_data;
mod hardening;
mod instances;
mod kb;
mod knowledge_files;
mod mail;
mod operations;
mod postgres;
mod refusals;
mod store_contract;
mod store_records;
mod user_ws;
