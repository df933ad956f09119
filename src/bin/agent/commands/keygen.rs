//! `agent store keygen`: a new encryption key for `?encrypt` store URLs.

use anyhow::Result;

use agent::EncryptionKey;

use crate::output::write_out;

/// Print a new random key (base64 of 32 bytes) on stdout, and nothing else: it is meant for a
/// secret store or a variable, never for a file this command writes.
pub(crate) fn keygen() -> Result<()> {
    let key = EncryptionKey::generate_base64()?;
    write_out(format!("{key}\n").as_bytes())?;
    Ok(())
}
