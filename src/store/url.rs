//! Store URLs: `dir:PATH`, `sqlite:PATH`, `redis://…`, `rediss://…` to a store, and the redacted
//! form that is safe to print.

use std::path::PathBuf;
use std::sync::Arc;

use super::{DirStore, SessionStore};
use crate::{Error, Result};

/// Open the store a URL names, the way the CLI's `--store` / `AGENT_STORE` / `store:` do:
///
/// - `dir:PATH`: one JSON file per session under `PATH` ([`DirStore`])
/// - `sqlite:PATH`: one SQLite file ([`super::SqliteStore`], created 0600 if missing)
/// - `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS): [`super::RedisStore`], with optional
///   `?prefix=NAME` (keys under `NAME:` instead of `agent:`) and `?lock_ttl=SECS`
///
/// A leading `~/` in a path is the home directory. Errors never show the URL's credentials.
pub fn open(url: &str) -> Result<Arc<dyn SessionStore>> {
    let url = url.trim();
    if let Some(path) = url.strip_prefix("dir:") {
        return Ok(Arc::new(DirStore::new(local_path(path, url)?)));
    }
    if let Some(path) = url.strip_prefix("sqlite:") {
        #[cfg(feature = "sqlite")]
        return Ok(Arc::new(super::SqliteStore::open(local_path(path, url)?)?));
        #[cfg(not(feature = "sqlite"))]
        return Err(not_built(path, "sqlite"));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        #[cfg(feature = "redis")]
        return Ok(Arc::new(super::RedisStore::open(url)?));
        #[cfg(not(feature = "redis"))]
        return Err(not_built(url, "redis"));
    }
    Err(Error::Usage(format!(
        "unknown store '{}': use dir:PATH, sqlite:PATH, redis://[user:pass@]host:port[/db] or rediss://…",
        redact(url)
    )))
}

/// A store whose feature this build was compiled without.
#[cfg(not(all(feature = "sqlite", feature = "redis")))]
fn not_built(_url: &str, feature: &str) -> Error {
    Error::Usage(format!(
        "this build of agent has no {feature} store (enable the crate's `{feature}` feature)"
    ))
}

/// `url` with its credentials replaced by `***`, for messages and `-v` output: any
/// `user:password@` (up to the last `@`, since a password may hold an unencoded `/`, `?` or
/// `#`), and the values of query parameters that carry secrets (`key`, `token`, ...).
pub fn redact(url: &str) -> String {
    let url = match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    };
    let Some((base, query)) = url.split_once('?') else {
        return url;
    };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_param(k) => format!("{k}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let words = [
        "key",
        "apikey",
        "token",
        "secret",
        "password",
        "passwd",
        "sig",
        "signature",
    ];
    words.iter().any(|w| {
        name == *w
            || name
                .strip_suffix(w)
                .is_some_and(|head| head.ends_with(['_', '-']))
    })
}

/// The credentials of `url` (what [`redact`] hides), to cut out of a client library's own
/// messages, which may quote the URL it was given.
pub(crate) fn credentials(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let (userinfo, _) = rest.rsplit_once('@')?;
    Some(userinfo.to_string()).filter(|u| !u.is_empty())
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
    fn credentials_are_redacted() {
        assert_eq!(redact("redis://u:p%40ss@h:6379/2"), "redis://***@h:6379/2");
        assert_eq!(redact("rediss://:pw@h"), "rediss://***@h");
        assert_eq!(redact("redis://h:6379/0"), "redis://h:6379/0");
        assert_eq!(redact("sqlite:/tmp/a@b.db"), "sqlite:/tmp/a@b.db");
        // Unencoded `/`, `?` and `#` in a password.
        for pw in ["a/b", "a?b", "a#b", "a/b@c"] {
            let url = format!("redis://:{pw}@h:6379/2");
            let shown = redact(&url);
            assert_eq!(shown, "redis://***@h:6379/2", "{url}");
            assert_eq!(
                credentials(&url).as_deref(),
                Some(format!(":{pw}").as_str())
            );
        }
        assert_eq!(
            redact("https://api.example.com/v1?key=SECRET&model=m&api_key=S2&x_token=S3"),
            "https://api.example.com/v1?key=***&model=m&api_key=***&x_token=***"
        );
    }

    #[test]
    fn unknown_schemes_are_usage_errors_without_secrets() {
        let err = open("postgres://u:secret@h/db").err().unwrap();
        assert!(matches!(err, Error::Usage(_)), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(open("sqlite:").is_err());
    }
}
