//! Attachments: images, PDFs and text files sent with a user message, named by the SHA-256 of
//! their bytes. A message stores only the reference (hash, media type, name, size); the bytes
//! live in the store once ([`crate::store::SessionStore::save_blob`]), shared by every message
//! and every session that refers to them.

use std::path::Path;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::limits::MAX_ATTACHMENT_BYTES;
use crate::{Error, Result};

/// What an attachment is, as far as a provider cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentKind {
    /// PNG, JPEG, GIF or WebP.
    Image,
    /// A PDF document.
    Pdf,
    /// Plain text (UTF-8), sent as a text part with its file name.
    Text,
}

impl AttachmentKind {
    /// The word `session show` prints (`image`, `pdf`, `text`).
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Image => "image",
            AttachmentKind::Pdf => "pdf",
            AttachmentKind::Text => "text",
        }
    }
}

/// The media types this build sends, and what each is.
const TYPES: &[(&str, AttachmentKind)] = &[
    ("image/png", AttachmentKind::Image),
    ("image/jpeg", AttachmentKind::Image),
    ("image/gif", AttachmentKind::Image),
    ("image/webp", AttachmentKind::Image),
    ("application/pdf", AttachmentKind::Pdf),
    ("text/plain", AttachmentKind::Text),
];

/// A file sent with a user message: its reference as stored, and (in memory, never in the
/// document) its bytes.
#[derive(Clone, Serialize, Deserialize)]
pub struct Attachment {
    /// SHA-256 of the bytes, lowercase hex: the blob's name in the store.
    pub sha256: String,
    /// The media type (`image/png`, `application/pdf`, `text/plain`).
    pub media_type: String,
    /// The file name it came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its size in bytes.
    pub size: u64,
    #[serde(skip)]
    data: Option<Bytes>,
}

impl PartialEq for Attachment {
    /// Two references are equal when they name the same bytes the same way, loaded or not.
    fn eq(&self, other: &Self) -> bool {
        self.sha256 == other.sha256
            && self.media_type == other.media_type
            && self.name == other.name
            && self.size == other.size
    }
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("sha256", &self.sha256)
            .field("media_type", &self.media_type)
            .field("name", &self.name)
            .field("size", &self.size)
            .field("loaded", &self.data.is_some())
            .finish()
    }
}

impl Attachment {
    /// An attachment of `bytes`, of media type `mime` (`None`: sniffed from the bytes). An
    /// unsupported type, text that is not UTF-8, or more than
    /// [`crate::limits::MAX_ATTACHMENT_BYTES`] is a usage error.
    pub fn from_bytes(bytes: impl Into<Bytes>, mime: Option<&str>) -> Result<Self> {
        let bytes: Bytes = bytes.into();
        Self::build(bytes, mime, None)
    }

    /// The file at `path`, its type sniffed from its first bytes (a PNG named `.txt` is an
    /// image). Reads at most [`crate::limits::MAX_ATTACHMENT_BYTES`]. Blocks on the file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_path_as(path, None)
    }

    /// [`Self::from_path`] with the media type given (`--attach-type`) instead of sniffed.
    pub fn from_path_as(path: impl AsRef<Path>, mime: Option<&str>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = read_bounded(path)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        Self::build(bytes.into(), mime, name).map_err(|e| match e {
            Error::Usage(m) => Error::Usage(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Name the attachment (the file name providers see, and `session show` lists).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    fn build(bytes: Bytes, mime: Option<&str>, name: Option<String>) -> Result<Self> {
        if bytes.len() as u64 > MAX_ATTACHMENT_BYTES {
            return Err(Error::usage(format!(
                "the attachment is {} bytes, over the {} MiB limit",
                bytes.len(),
                MAX_ATTACHMENT_BYTES >> 20
            )));
        }
        let media_type = match mime {
            Some(m) => normalize(m)?,
            None => sniff(&bytes).ok_or_else(|| {
                Error::usage(
                    "unsupported attachment type (PNG, JPEG, GIF, WebP, PDF or UTF-8 text; \
                     --attach-type names it)",
                )
            })?,
        };
        if kind_of(media_type) == Some(AttachmentKind::Text) && std::str::from_utf8(&bytes).is_err()
        {
            return Err(Error::usage("a text attachment must be UTF-8"));
        }
        Ok(Attachment {
            sha256: sha256_hex(&bytes),
            media_type: media_type.to_string(),
            name,
            size: bytes.len() as u64,
            data: Some(bytes),
        })
    }

    /// What it is; `None` for a media type this build does not send (from a newer version).
    pub fn kind(&self) -> Option<AttachmentKind> {
        kind_of(&self.media_type)
    }

    /// Its bytes, when loaded (a new attachment, or one read back from the store for a turn).
    pub fn data(&self) -> Option<&Bytes> {
        self.data.as_ref()
    }

    /// The reference with `bytes` loaded; refused when they do not hash to [`Self::sha256`].
    pub fn with_data(mut self, bytes: Bytes) -> Result<Self> {
        if sha256_hex(&bytes) != self.sha256 {
            return Err(Error::Other(format!(
                "attachment {} does not match its SHA-256 (the stored bytes changed)",
                self.sha256
            )));
        }
        self.data = Some(bytes);
        Ok(self)
    }

    /// The bytes as standard base64, or `None` when not loaded.
    pub fn base64(&self) -> Option<String> {
        use base64::Engine;
        self.data
            .as_ref()
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
    }

    /// The text of a text attachment (lossless: it was checked to be UTF-8).
    pub fn text(&self) -> Option<&str> {
        self.data.as_ref().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The name to show and send: the file name, else the first characters of the hash.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("attachment-{}", &self.sha256[..12.min(self.sha256.len())]),
        }
    }

    /// How `session show` lists it: `[image: chart.png, image/png, 84 KB]`.
    pub fn label(&self) -> String {
        let kind = self.kind().map_or("file", AttachmentKind::as_str);
        format!(
            "[{kind}: {}, {}, {}]",
            self.display_name(),
            self.media_type,
            human_size(self.size)
        )
    }
}

/// The kind of a media type this build sends.
pub fn kind_of(media_type: &str) -> Option<AttachmentKind> {
    TYPES
        .iter()
        .find(|(t, _)| *t == media_type)
        .map(|(_, k)| *k)
}

/// A media type given by hand, checked against what this build sends.
fn normalize(mime: &str) -> Result<&'static str> {
    let lower = mime.trim().to_ascii_lowercase();
    let lower = match lower.as_str() {
        "image/jpg" => "image/jpeg".to_string(),
        _ => lower,
    };
    TYPES
        .iter()
        .find(|(t, _)| *t == lower)
        .map(|(t, _)| *t)
        .ok_or_else(|| {
            let known: Vec<&str> = TYPES.iter().map(|(t, _)| *t).collect();
            Error::usage(format!(
                "unsupported attachment type '{mime}' (known: {})",
                known.join(", ")
            ))
        })
}

/// The media type of `bytes` from their magic numbers; text is UTF-8 without NUL bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    // Signatures: PNG (RFC 2083 §3.1), JPEG SOI + marker, GIF87a/GIF89a, RIFF....WEBP, %PDF-.
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok() {
        Some("text/plain")
    } else {
        None
    }
}

/// Whether `bytes` look like text (what `-f` takes): UTF-8 without NUL bytes and no binary
/// signature.
pub fn is_text(bytes: &[u8]) -> bool {
    sniff(bytes) == Some("text/plain")
}

/// SHA-256 as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Whether `s` can name a blob: 64 lowercase hex digits (so it is safe as a file name or key).
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Sizes as people read them: `512 B`, `84 KB`, `5.2 MB` (powers of 1000, as file managers).
pub fn human_size(n: u64) -> String {
    if n < 1000 {
        format!("{n} B")
    } else if n < 1_000_000 {
        format!("{} KB", (n + 500) / 1000)
    } else {
        format!("{:.1} MB", n as f64 / 1e6)
    }
}

/// Read at most [`MAX_ATTACHMENT_BYTES`] (and one byte more, to tell it was over).
fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
    let mut bytes = Vec::new();
    file.take(MAX_ATTACHMENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if bytes.len() as u64 > MAX_ATTACHMENT_BYTES {
        return Err(Error::usage(format!(
            "{}: over the {} MiB attachment limit",
            path.display(),
            MAX_ATTACHMENT_BYTES >> 20
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_decide() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a.."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff("héllo\n".as_bytes()), Some("text/plain"));
        assert_eq!(sniff(b"\x00\x01\x02"), None);
        assert_eq!(sniff(b"\xff\xfe\x00"), None);
    }

    #[test]
    fn references_hash_the_bytes() {
        let a = Attachment::from_bytes(&b"hello"[..], None).unwrap();
        assert_eq!(
            a.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!((a.media_type.as_str(), a.size), ("text/plain", 5));
        assert!(is_sha256(&a.sha256));
        let stored: Attachment = serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
        assert_eq!(stored, a);
        assert!(stored.data().is_none());
        assert!(stored
            .clone()
            .with_data(Bytes::from_static(b"other"))
            .is_err());
        assert_eq!(
            stored
                .with_data(Bytes::from_static(b"hello"))
                .unwrap()
                .text(),
            Some("hello")
        );
    }

    #[test]
    fn types_given_by_hand_are_checked() {
        let png = Attachment::from_bytes(&b"not really"[..], Some("image/PNG")).unwrap();
        assert_eq!(png.media_type, "image/png");
        assert_eq!(
            Attachment::from_bytes(&b"x"[..], Some("image/jpg"))
                .unwrap()
                .media_type,
            "image/jpeg"
        );
        let err = Attachment::from_bytes(&b"x"[..], Some("audio/mp3")).unwrap_err();
        assert!(
            err.to_string()
                .contains("unsupported attachment type 'audio/mp3'"),
            "{err}"
        );
        assert!(Attachment::from_bytes(&b"\xff\xfe"[..], Some("text/plain")).is_err());
    }

    #[test]
    fn labels_read_like_a_listing() {
        let mut a = Attachment::from_bytes(vec![0u8; 84_000], Some("image/png")).unwrap();
        a.name = Some("chart.png".into());
        assert_eq!(a.label(), "[image: chart.png, image/png, 84 KB]");
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(5_200_000), "5.2 MB");
    }
}
