//! The one integration test binary: a module per topic.

mod util;

mod session;
mod provider_choice;
mod provider_tools;
mod providers;
