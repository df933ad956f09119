//! Encryption at rest: the [`EncryptionKey`], the sealed envelope every store writes when it has
//! one, and the `Codec` a store encodes and decodes its bytes with.
//!
//! A document is sealed with XChaCha20-Poly1305 under a key derived for its session with
//! HKDF-SHA256 from the 32-byte store key and the session id. Envelope, version 1 (54 bytes
//! more than the JSON it holds):
//!
//! | offset | len | field                                                                 |
//! |--------|-----|-----------------------------------------------------------------------|
//! | 0      | 4   | magic `89 41 47 53` (`\x89AGS`; 0x89 never starts UTF-8 text or JSON) |
//! | 4      | 1   | version = 1                                                           |
//! | 5      | 1   | algorithm = 1 (XChaCha20-Poly1305, HKDF-SHA256 per-session key)       |
//! | 6      | 8   | key id = HKDF(key, info "agent key-id v1")[..8]: tells a wrong key    |
//! | 14     | 24  | random nonce (the OS's CSPRNG)                                        |
//! | 38     | n   | ciphertext of the JSON bytes                                          |
//! | 38+n   | 16  | Poly1305 tag                                                          |
//!
//! The associated data is the 14 header bytes followed by the session id, so a sealed document
//! moved to another id, or with an edited header, fails to open.

use std::sync::Arc;

use base64::Engine;
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::document::SessionSummary;
use crate::{Error, Result};

const MAGIC: [u8; 4] = [0x89, b'A', b'G', b'S'];
const VERSION: u8 = 1;
const ALGORITHM: u8 = 1;
const HEADER_LEN: usize = 14;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Bytes a sealed envelope adds to what it holds.
const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;

const SALT: &[u8] = b"agent store encryption";
const INFO_KEY_ID: &[u8] = b"agent key-id v1";
const INFO_SESSION: &[u8] = b"agent session-key v1\0";

/// A store's 32-byte encryption key, given as base64. It is never printed: `Debug` shows only
/// its key id, a fingerprint that says which key sealed a document.
pub struct EncryptionKey {
    hk: Hkdf<Sha256>,
    key_id: [u8; 8],
}

impl EncryptionKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(SALT), bytes);
        let mut key_id = [0u8; 8];
        hk.expand(INFO_KEY_ID, &mut key_id)
            .expect("8 bytes is a valid HKDF length");
        EncryptionKey { hk, key_id }
    }

    /// A key from base64 (standard or URL-safe, padded or not) of exactly 32 bytes. The error
    /// never quotes the text.
    pub fn from_base64(text: &str) -> Result<Self> {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let text = text.trim();
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|e| e.decode(text).ok())
            .ok_or_else(|| Error::usage("the store encryption key is not base64"))?;
        let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            Error::usage(format!(
                "the store encryption key is {} bytes; it must be 32 (base64 of 32 random bytes)",
                bytes.len()
            ))
        })?;
        Ok(Self::from_bytes(&bytes))
    }

    /// A new random key, as standard base64 (what [`EncryptionKey::from_base64`] reads).
    pub fn generate_base64() -> Result<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Other(format!("the OS random number generator failed: {e}")))?;
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        bytes.fill(0);
        Ok(text)
    }

    /// The key's fingerprint, as 16 hex digits: stored in every envelope it seals.
    pub fn key_id(&self) -> String {
        hex(&self.key_id)
    }

    fn cipher_for(&self, name: &str) -> XChaCha20Poly1305 {
        let mut key = [0u8; 32];
        self.hk
            .expand_multi_info(&[INFO_SESSION, name.as_bytes()], &mut key)
            .expect("32 bytes is a valid HKDF length");
        let cipher = XChaCha20Poly1305::new_from_slice(&key).expect("a 32-byte key");
        key.fill(0);
        cipher
    }

    /// Seal `plain` for `name` (a session id, or a store's own name for its listing data).
    fn seal(&self, name: &str, plain: &[u8]) -> Vec<u8> {
        let mut buf = Vec::with_capacity(plain.len() + OVERHEAD);
        self.begin(&mut buf);
        buf.extend_from_slice(plain);
        self.finish(name, &mut buf);
        buf
    }

    /// Write the header and a fresh nonce into the empty `buf`; the plaintext goes after them
    /// and [`Self::finish`] encrypts it in place.
    fn begin(&self, buf: &mut Vec<u8>) {
        buf.clear();
        buf.extend_from_slice(&MAGIC);
        buf.extend_from_slice(&[VERSION, ALGORITHM]);
        buf.extend_from_slice(&self.key_id);
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS random number generator works");
        buf.extend_from_slice(&nonce);
    }

    fn finish(&self, name: &str, buf: &mut Vec<u8>) {
        let aad = aad(&buf[..HEADER_LEN], name);
        let (head, body) = buf.split_at_mut(HEADER_LEN + NONCE_LEN);
        let nonce = XNonce::try_from(&head[HEADER_LEN..]).expect("24 bytes");
        let tag = self
            .cipher_for(name)
            .encrypt_inout_detached(&nonce, &aad, body.into())
            .expect("documents are far below the cipher's limit");
        buf.extend_from_slice(&tag);
    }

    /// Open a sealed envelope in place: `buf` then holds the plaintext.
    fn open_in_place(&self, name: &str, buf: &mut Vec<u8>) -> std::result::Result<(), Unsealed> {
        if buf.len() < OVERHEAD {
            return Err(Unsealed::Truncated);
        }
        if buf[4] != VERSION || buf[5] != ALGORITHM {
            return Err(Unsealed::UnknownVersion(buf[4], buf[5]));
        }
        if buf[6..HEADER_LEN] != self.key_id {
            return Err(Unsealed::WrongKey(hex(&buf[6..HEADER_LEN])));
        }
        let aad = aad(&buf[..HEADER_LEN], name);
        let tag_at = buf.len() - TAG_LEN;
        let tag = chacha20poly1305::Tag::try_from(&buf[tag_at..]).expect("16 bytes");
        let (head, body) = buf[..tag_at].split_at_mut(HEADER_LEN + NONCE_LEN);
        let nonce = XNonce::try_from(&head[HEADER_LEN..]).expect("24 bytes");
        self.cipher_for(name)
            .decrypt_inout_detached(&nonce, &aad, body.into(), &tag)
            .map_err(|_| Unsealed::Inauthentic)?;
        buf.truncate(tag_at);
        buf.drain(..HEADER_LEN + NONCE_LEN);
        Ok(())
    }
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionKey(id {})", self.key_id())
    }
}

fn aad(header: &[u8], name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(HEADER_LEN + name.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(name.as_bytes());
    aad
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `bytes` are a sealed envelope (rather than JSON).
pub(crate) fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Why an envelope did not open.
#[derive(Debug, PartialEq)]
enum Unsealed {
    Truncated,
    UnknownVersion(u8, u8),
    WrongKey(String),
    Inauthentic,
}

/// The index fields a store hides when it encrypts: in clear, a title says what the sealed
/// document is about.
// Only the index-keeping stores hide fields.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "redis", feature = "postgres")),
    allow(dead_code)
)]
#[derive(Serialize, Deserialize)]
pub(crate) struct HiddenFields {
    pub(crate) title: Option<String>,
    pub(crate) provider: Option<String>,
    pub(crate) model: Option<String>,
}

/// How a store turns documents into stored bytes and back: JSON as it is, or sealed under the
/// store's key. Cloning shares the key.
#[derive(Clone, Default)]
pub(crate) struct Codec {
    key: Option<Arc<EncryptionKey>>,
    /// Keep title, provider and model in clear in the listing index (`?index=clear`).
    clear_index: bool,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("key", &self.key)
            .field("clear_index", &self.clear_index)
            .finish()
    }
}

impl Codec {
    pub(crate) fn new(key: Option<Arc<EncryptionKey>>, clear_index: bool) -> Self {
        Codec { key, clear_index }
    }

    /// The key documents are sealed under.
    pub(crate) fn key(&self) -> Option<Arc<EncryptionKey>> {
        self.key.clone()
    }

    /// Whether documents are sealed.
    pub(crate) fn encrypts(&self) -> bool {
        self.key.is_some()
    }

    /// Whether the listing index hides titles, providers and models.
    pub(crate) fn hides_index(&self) -> bool {
        self.key.is_some() && !self.clear_index
    }

    /// The bytes to store for `id`: `write` serializes the document into the buffer, which is
    /// then sealed in place when the store encrypts.
    pub(crate) fn encode(
        &self,
        id: &str,
        write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<Vec<u8>> {
        let json = |e: serde_json::Error| Error::Other(format!("cannot encode '{id}': {e}"));
        let mut buf = Vec::new();
        match &self.key {
            None => write(&mut buf).map_err(json)?,
            Some(key) => {
                key.begin(&mut buf);
                write(&mut buf).map_err(json)?;
                key.finish(id, &mut buf);
            }
        }
        Ok(buf)
    }

    /// The JSON bytes stored for `id`, opened when sealed. A sealed document without the key
    /// (or under another key), and a document in clear in a store that encrypts, are
    /// [`Error::CannotDecrypt`]: an encrypting store accepts only what it sealed itself.
    pub(crate) fn decode(&self, id: &str, mut bytes: Vec<u8>) -> Result<Vec<u8>> {
        let fail = |reason: String| Error::CannotDecrypt {
            id: id.to_string(),
            reason,
        };
        match (&self.key, is_sealed(&bytes)) {
            (None, false) => Ok(bytes),
            (None, true) => Err(fail(
                "it is encrypted and this store has no key (add ?encrypt to the store URL)".into(),
            )),
            (Some(_), false) => Err(fail(
                "it is stored unencrypted and this store encrypts (re-save it to encrypt it)"
                    .into(),
            )),
            (Some(key), true) => match key.open_in_place(id, &mut bytes) {
                Ok(()) => Ok(bytes),
                Err(e) => Err(fail(unsealed(e, key))),
            },
        }
    }

    /// Seal bytes that belong to the store rather than to a session (a listing cache), under
    /// `name`, which no session id can be. Unchanged without a key.
    pub(crate) fn seal_own(&self, name: &str, plain: Vec<u8>) -> Vec<u8> {
        match &self.key {
            Some(key) => key.seal(name, &plain),
            None => plain,
        }
    }

    /// What [`Self::seal_own`] sealed; `None` when it does not open (another key, tampering).
    pub(crate) fn open_own(&self, name: &str, mut bytes: Vec<u8>) -> Option<Vec<u8>> {
        match (&self.key, is_sealed(&bytes)) {
            (None, false) => Some(bytes),
            (Some(key), true) => key.open_in_place(name, &mut bytes).ok().map(|()| bytes),
            _ => None,
        }
    }

    /// The hidden index fields of `summary`, sealed, when the store hides them; the summary's
    /// own fields are then cleared for the clear-text columns.
    #[cfg_attr(
        not(any(feature = "sqlite", feature = "redis", feature = "postgres")),
        allow(dead_code)
    )]
    pub(crate) fn hide(&self, summary: &mut SessionSummary) -> Option<Vec<u8>> {
        if !self.hides_index() {
            return None;
        }
        let hidden = HiddenFields {
            title: summary.title.take(),
            provider: summary.provider.take(),
            model: summary.model.take(),
        };
        let plain = serde_json::to_vec(&hidden).expect("strings serialize");
        self.key
            .as_ref()
            .map(|key| key.seal(&index_name(&summary.id), &plain))
    }

    /// Put back the hidden fields [`Self::hide`] sealed.
    #[cfg_attr(
        not(any(feature = "sqlite", feature = "redis", feature = "postgres")),
        allow(dead_code)
    )]
    pub(crate) fn reveal(
        &self,
        summary: &mut SessionSummary,
        sealed: Option<Vec<u8>>,
    ) -> Result<()> {
        let Some(mut bytes) = sealed else {
            return Ok(());
        };
        let fail = |reason: String| Error::CannotDecrypt {
            id: summary.id.clone(),
            reason: format!("its listing entry {reason}"),
        };
        let Some(key) = &self.key else {
            return Err(fail("is encrypted and this store has no key".into()));
        };
        key.open_in_place(&index_name(&summary.id), &mut bytes)
            .map_err(|e| fail(unsealed(e, key)))?;
        let hidden: HiddenFields =
            serde_json::from_slice(&bytes).map_err(|e| fail(format!("is not valid: {e}")))?;
        summary.title = hidden.title;
        summary.provider = hidden.provider;
        summary.model = hidden.model;
        Ok(())
    }
}

/// The name a session's sealed index entry is bound to: no session id holds a NUL.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "redis", feature = "postgres")),
    allow(dead_code)
)]
fn index_name(id: &str) -> String {
    format!("{id}\0index")
}

fn unsealed(e: Unsealed, key: &EncryptionKey) -> String {
    match e {
        Unsealed::Truncated => "its encrypted data is truncated".into(),
        Unsealed::UnknownVersion(v, a) => {
            format!("it was encrypted by a newer agent (format {v}, algorithm {a})")
        }
        Unsealed::WrongKey(id) => format!(
            "it was encrypted with another key (key id {id}; this store's key is {})",
            key.key_id()
        ),
        Unsealed::Inauthentic => {
            "it failed authentication (modified, or moved from another session id)".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(n: u8) -> Codec {
        Codec::new(Some(Arc::new(EncryptionKey::from_bytes(&[n; 32]))), false)
    }

    fn seal(c: &Codec, id: &str, plain: &[u8]) -> Vec<u8> {
        c.encode(id, |b| {
            b.extend_from_slice(plain);
            Ok(())
        })
        .unwrap()
    }

    #[test]
    fn round_trip_with_a_fresh_nonce() {
        let c = codec(1);
        let doc = br#"{"id":"a","messages":[]}"#;
        let sealed = seal(&c, "a", doc);
        assert!(is_sealed(&sealed) && !is_sealed(doc));
        assert_eq!(sealed.len(), doc.len() + OVERHEAD);
        assert_eq!(c.decode("a", sealed.clone()).unwrap(), doc);
        assert_ne!(seal(&c, "a", doc), sealed, "a fresh nonce each time");
    }

    #[test]
    fn another_id_key_or_byte_fails() {
        let c = codec(1);
        let sealed = seal(&c, "session-a", b"{}");
        let reason = |r: Result<Vec<u8>>| match r {
            Err(Error::CannotDecrypt { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert!(reason(c.decode("session-b", sealed.clone())).contains("authentication"));
        assert!(reason(codec(2).decode("session-a", sealed.clone())).contains("another key"));
        for i in [HEADER_LEN, HEADER_LEN + NONCE_LEN, sealed.len() - 1] {
            let mut t = sealed.clone();
            t[i] ^= 1;
            assert!(
                reason(c.decode("session-a", t)).contains("authentication"),
                "byte {i}"
            );
        }
        assert!(
            reason(c.decode("session-a", sealed[..OVERHEAD - 1].to_vec())).contains("truncated")
        );
        assert!(reason(Codec::default().decode("session-a", sealed)).contains("no key"));
        assert!(reason(c.decode("session-a", b"{}".to_vec())).contains("unencrypted"));
    }

    #[test]
    fn base64_keys() {
        let text = EncryptionKey::generate_base64().unwrap();
        let key = EncryptionKey::from_base64(&text).unwrap();
        assert!(!format!("{key:?}").contains(&text));
        assert!(EncryptionKey::from_base64(text.trim_end_matches('=')).is_ok());
        let short = EncryptionKey::from_base64("AQID").unwrap_err().to_string();
        assert!(
            short.contains("3 bytes") && !short.contains("AQID"),
            "{short}"
        );
        assert!(EncryptionKey::from_base64("not base64!").is_err());
    }

    #[test]
    fn hidden_index_fields() {
        let c = codec(3);
        let mut s = SessionSummary {
            id: "x".into(),
            title: Some("secret title".into()),
            created_at: "t".into(),
            updated_at: "t".into(),
            provider: Some("openai".into()),
            model: Some("m".into()),
            message_count: 2,
            expires_at: None,
        };
        let original = s.clone();
        let sealed = c.hide(&mut s);
        assert_eq!((s.title.as_deref(), s.model.as_deref()), (None, None));
        c.reveal(&mut s, sealed).unwrap();
        assert_eq!(s, original);
        assert!(
            Codec::new(c.key.clone(), true).hide(&mut s).is_none(),
            "?index=clear"
        );
    }
}
