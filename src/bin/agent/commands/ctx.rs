//! What every command runs with: the settings, the output, the signals, and the store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use agent::SessionStore;

use crate::interrupt::Interrupts;
use crate::output::Output;
use crate::settings::Settings;

/// What every command runs with.
pub(crate) struct Ctx {
    pub(crate) settings: Settings,
    pub(crate) out: Output,
    pub(crate) interrupts: Interrupts,
    store_told: AtomicBool,
    /// The session of the turn under way, for the error object of `--format json`.
    pub(crate) turn_session: std::sync::Mutex<Option<String>>,
}

impl Ctx {
    pub(crate) fn new(settings: Settings, out: Output, interrupts: Interrupts) -> Self {
        if let Some(file) = &settings.config_file {
            out.detail(format!("config {}", file.display()));
        }
        Ctx {
            settings,
            out,
            interrupts,
            store_told: AtomicBool::new(false),
            turn_session: Default::default(),
        }
    }

    /// The session store, opened once (and named with `-v`).
    pub(crate) fn store(&self) -> agent::Result<Arc<dyn SessionStore>> {
        let store = self.settings.store()?;
        if !self.store_told.swap(true, Ordering::Relaxed) {
            self.out.detail(format!("store {}", store.describe()));
        }
        Ok(store)
    }
}
