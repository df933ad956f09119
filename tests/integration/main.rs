//! The one integration test binary: a module per topic.

// Test helpers are `pub` for the modules beside them; nothing here is a public API.
#![allow(unreachable_pub)]

mod util;

mod chat;
mod faults;
mod habits;
mod history;
mod json;
mod library;
mod provider_choice;
mod provider_tools;
mod providers;
mod readable;
mod session;
mod shell;
mod store_cli;
mod stores;
mod tools;
mod tools_providers;
