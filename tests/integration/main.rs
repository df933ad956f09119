//! The one integration test binary: a module per topic.

// Test helpers are `pub` for the modules beside them; nothing here is a public API.
#![allow(unreachable_pub)]

mod pg;
mod util;

mod attachments;
mod caching;
mod cassettes;
mod chat;
mod documents;
mod failures;
mod fallbacks;
mod faults;
mod habits;
mod history;
mod hostile;
mod json;
mod library;
mod mcp;
mod mcp_api;
mod notices;
mod provider_choice;
mod provider_tools;
mod providers;
mod readable;
mod readme;
mod reasoning;
mod responses;
mod shell;
mod snapshots;
mod spending;
mod store_blob_race;
mod store_blobs;
mod store_cli;
mod store_crypt;
mod store_expiry;
mod stores;
mod templates;
mod tools;
mod tools_providers;
mod turns;
mod universal;
