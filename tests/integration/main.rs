//! The one integration test binary: a module per topic.

mod util;

mod session;
mod store_cli;
mod stores;
