//! Store URLs: `dir:PATH`, `sqlite:PATH`, `redis://…`, `rediss://…`, `postgres://…` to a store,
//! the options every store takes (`?encrypt`, `?index=clear`, `?ttl=AGE`), and the redacted
//! form that is safe to print.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::redact::redact;
use super::seal::{Codec, EncryptionKey};
use super::{DirStore, SessionStore};
use crate::{Error, Result};

/// The variable an encrypting store reads its key from unless the URL names another.
pub const DEFAULT_KEY_VAR: &str = "AGENT_STORE_KEY";

/// Open the store a URL names, the way the CLI's `--store` / `AGENT_STORE` / `store:` do:
///
/// - `dir:PATH`: one JSON file per session under `PATH` ([`DirStore`])
/// - `sqlite:PATH`: one SQLite file ([`super::SqliteStore`], created 0600 if missing)
/// - `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS): [`super::RedisStore`], with optional
///   `?prefix=NAME` (keys under `NAME:` instead of `agent:`) and `?lock_ttl=SECS`
/// - `postgres://[user[:pass]@]host[:port]/db`, `postgresql://…`: [`super::PostgresStore`],
///   with optional `?schema=NAME`, `?lock_ttl=SECS`, libpq's `sslmode`, `sslrootcert`,
///   `sslcert`, `sslkey`, and the connection options tokio-postgres knows
///
/// Every store also takes:
///
/// - `?encrypt` (key in `AGENT_STORE_KEY`), `?encrypt=env:NAME` or `?encrypt=file:PATH`: seal
///   documents with the base64 32-byte key found there; the key itself is never in the URL
/// - `?index=clear`: with `encrypt`, keep titles, providers and models readable in the index
/// - `?ttl=AGE` (`30d`, `12h`): sessions without a TTL of their own expire this long after
///   their last update
///
/// A leading `~/` in a path is the home directory. Errors never show the URL's credentials.
pub fn open(url: &str) -> Result<Arc<dyn SessionStore>> {
    let url = url.trim();
    let (base, options) = Options::take(url)?;
    let codec = options.codec(url)?;
    let ttl = options.ttl;
    if let Some(path) = base.strip_prefix("dir:") {
        let mut store = DirStore::new(local_path(path, url)?).with_codec(codec);
        if let Some(ttl) = ttl {
            store = store.session_ttl(ttl);
        }
        return Ok(Arc::new(store));
    }
    if let Some(path) = base.strip_prefix("sqlite:") {
        #[cfg(feature = "sqlite")]
        {
            let mut store = super::SqliteStore::open(local_path(path, url)?)?.with_codec(codec);
            if let Some(ttl) = ttl {
                store = store.session_ttl(ttl);
            }
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "sqlite"))]
        return Err(not_built(path, "sqlite"));
    }
    if base.starts_with("redis://") || base.starts_with("rediss://") {
        #[cfg(feature = "redis")]
        {
            let mut store = super::RedisStore::open(&base)?.with_codec(codec);
            if let Some(ttl) = ttl {
                store = store.session_ttl(ttl);
            }
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "redis"))]
        return Err(not_built(&base, "redis"));
    }
    if base.starts_with("postgres://") || base.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            let mut store = super::PostgresStore::open(&base)?.with_codec(codec);
            if let Some(ttl) = ttl {
                store = store.session_ttl(ttl);
            }
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "postgres"))]
        return Err(not_built(&base, "postgres"));
    }
    Err(Error::Usage(format!(
        "unknown store '{}': use dir:PATH, sqlite:PATH, redis://[user:pass@]host:port[/db], \
         rediss://… or postgres://[user[:pass]@]host[:port]/db",
        redact(url)
    )))
}

/// A store whose feature this build was compiled without.
#[cfg(not(all(feature = "sqlite", feature = "redis", feature = "postgres")))]
fn not_built(_url: &str, feature: &str) -> Error {
    Error::Usage(format!(
        "this build of agent has no {feature} store (enable the crate's `{feature}` feature)"
    ))
}

/// The options every store takes, out of a URL's query.
#[derive(Debug, Default)]
struct Options {
    /// `?encrypt`'s value: empty for the default variable.
    encrypt: Option<String>,
    clear_index: bool,
    ttl: Option<Duration>,
}

impl Options {
    /// The URL without these options, and the options. A `dir:` or `sqlite:` URL takes no
    /// other query parameter; the network stores get theirs passed on.
    fn take(url: &str) -> Result<(String, Options)> {
        let Some((base, query)) = url.split_once('?') else {
            return Ok((url.to_string(), Options::default()));
        };
        let bad = |what: String| Error::Usage(format!("store '{}': {what}", redact(url)));
        let local = base.starts_with("dir:") || base.starts_with("sqlite:");
        let mut options = Options::default();
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "encrypt" => options.encrypt = Some(value.to_string()),
                "index" => match value {
                    "clear" => options.clear_index = true,
                    "sealed" => options.clear_index = false,
                    _ => return Err(bad("index must be clear or sealed".into())),
                },
                "ttl" => {
                    options.ttl =
                        Some(crate::time::parse_ttl(value).map_err(|e| bad(e.to_string()))?)
                }
                _ if local => {
                    return Err(bad(format!(
                        "unknown option '{key}' (a {} store takes encrypt, index and ttl)",
                        base.split(':').next().unwrap_or("local")
                    )))
                }
                _ => rest.push(pair),
            }
        }
        let base = match rest.is_empty() {
            true => base.to_string(),
            false => format!("{base}?{}", rest.join("&")),
        };
        Ok((base, options))
    }

    fn codec(&self, url: &str) -> Result<Codec> {
        let Some(source) = &self.encrypt else {
            return Ok(Codec::default());
        };
        let key = EncryptionKey::from_base64(&read_key(source, url)?)?;
        Ok(Codec::new(Some(Arc::new(key)), self.clear_index))
    }
}

/// The base64 key that `?encrypt=SOURCE` names. Errors name where it was looked for, never
/// what was found.
fn read_key(source: &str, url: &str) -> Result<String> {
    if let Some(path) = source.strip_prefix("file:") {
        let path = local_path(path, url)?;
        let unreadable = |e: std::io::Error| {
            Error::Usage(format!(
                "cannot read the store encryption key from {}: {e}",
                path.display()
            ))
        };
        // As ssh does with a private key: a key others can read is no secret.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .map_err(unreadable)?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::Usage(format!(
                "the store encryption key {} is readable by others (mode {:o}): chmod 600 it",
                path.display(),
                mode & 0o777
            )));
        }
        return std::fs::read_to_string(&path).map_err(unreadable);
    }
    let var = match source.strip_prefix("env:") {
        Some(var) => var,
        None if source.is_empty() => DEFAULT_KEY_VAR,
        None => {
            return Err(Error::Usage(format!(
                "store '{}': encrypt takes env:NAME or file:PATH (or nothing: {DEFAULT_KEY_VAR})",
                redact(url)
            )))
        }
    };
    match std::env::var(var) {
        Ok(key) if !key.trim().is_empty() => Ok(key),
        _ => Err(Error::Usage(format!(
            "the store encryption key variable {var} is not set (a key is 32 random bytes in \
             base64, e.g. from `openssl rand -base64 32`)"
        ))),
    }
}

/// The environment variables a store URL reads secrets from (its encryption key, a
/// PostgreSQL password), so a program can keep them from the processes it starts.
pub fn key_env_vars(url: &str) -> Vec<String> {
    let mut vars = vec![DEFAULT_KEY_VAR.to_string()];
    let query = url.split_once('?').map_or("", |(_, q)| q);
    for pair in query.split('&') {
        if let Some(var) = pair.strip_prefix("encrypt=env:") {
            vars.push(var.to_string());
        }
    }
    if url.trim_start().starts_with("postgres") {
        vars.push("PGPASSWORD".to_string());
    }
    vars
}

fn local_path(path: &str, url: &str) -> Result<PathBuf> {
    if path.is_empty() {
        return Err(Error::Usage(format!("store '{url}' names no path")));
    }
    match path.strip_prefix("~/") {
        Some(rest) => {
            let home = std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .ok_or_else(|| Error::Usage(format!("store '{url}': HOME is not set")))?;
            Ok(PathBuf::from(home).join(rest))
        }
        None => Ok(PathBuf::from(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_schemes_are_usage_errors_without_secrets() {
        let err = open("mongodb://u:secret@h/db").err().unwrap();
        assert!(matches!(err, Error::Usage(_)), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(open("sqlite:").is_err());
    }

    #[test]
    fn options_are_taken_out() {
        let (base, o) = Options::take("redis://h/0?prefix=p&encrypt=env:K&ttl=7d").unwrap();
        assert_eq!(base, "redis://h/0?prefix=p");
        assert_eq!(o.encrypt.as_deref(), Some("env:K"));
        assert_eq!(o.ttl, Some(Duration::from_secs(7 * 86400)));
        let (base, o) = Options::take("dir:/x?encrypt&index=clear").unwrap();
        assert_eq!(
            (base.as_str(), o.encrypt.as_deref(), o.clear_index),
            ("dir:/x", Some(""), true)
        );
        for bad in [
            "dir:/x?prefix=a",
            "sqlite:/x?ttl=soon",
            "dir:/x?index=maybe",
        ] {
            assert!(matches!(Options::take(bad), Err(Error::Usage(_))), "{bad}");
        }
        assert_eq!(
            key_env_vars("postgres://h/db?encrypt=env:MY_KEY"),
            ["AGENT_STORE_KEY", "MY_KEY", "PGPASSWORD"]
        );
    }
}
