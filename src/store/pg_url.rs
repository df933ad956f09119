//! `postgres://user:pass@host:port/db?schema=…&lock_ttl=…&sslmode=…`, split into what the
//! store keeps and the `postgres::Config` it connects with.
//!
//! `postgres::Config` refuses every query key it does not know, libpq's `verify-ca` and
//! `verify-full` modes and its `sslrootcert`/`sslcert`/`sslkey` among them. So the store's own
//! keys and the TLS keys are taken out first, and the rest is passed on untouched (still
//! percent-encoded, as `Config` expects).

use std::str::FromStr;
use std::time::Duration;

use percent_encoding::percent_decode_str;

use super::pg_tls::{SslMode, TlsOptions};
use crate::{Error, Result};

/// The schema sessions live in unless the URL says `?schema=`.
const DEFAULT_SCHEMA: &str = "agent";

/// A parsed PostgreSQL store URL.
#[derive(Debug, Clone)]
pub(super) struct PgUrl {
    pub(super) config: postgres::Config,
    pub(super) ssl_mode: SslMode,
    pub(super) tls: TlsOptions,
    pub(super) schema: String,
    pub(super) lock_ttl: Option<Duration>,
}

/// Parse `url` (`shown` is its redacted form, for errors).
pub(super) fn parse(url: &str, shown: &str) -> Result<PgUrl> {
    let bad = |what: String| Error::Usage(format!("invalid PostgreSQL URL '{shown}': {what}"));
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut out = PgUrl {
        config: postgres::Config::new(),
        ssl_mode: SslMode::Prefer,
        tls: TlsOptions::default(),
        schema: DEFAULT_SCHEMA.into(),
        lock_ttl: None,
    };
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (decode(k).map_err(bad)?, decode(v).map_err(bad)?);
        match key.as_str() {
            "schema" => out.schema = schema_name(&value).map_err(bad)?,
            "lock_ttl" => {
                let secs: f64 = value
                    .parse()
                    .ok()
                    .filter(|s| (0.1..=86_400.0).contains(s))
                    .ok_or_else(|| bad("lock_ttl must be between 0.1 and 86400 seconds".into()))?;
                out.lock_ttl = Some(Duration::from_secs_f64(secs));
            }
            "sslmode" => out.ssl_mode = SslMode::parse(&value).map_err(bad)?,
            "sslrootcert" => out.tls.rootcert = Some(value),
            "sslcert" => out.tls.cert = Some(value.into()),
            "sslkey" => out.tls.key = Some(value.into()),
            _ => rest.push(pair),
        }
    }
    let passed = match rest.is_empty() {
        true => base.to_string(),
        false => format!("{base}?{}", rest.join("&")),
    };
    // The error's Display is only "invalid connection string"; the key is in its source.
    // Neither quotes the password.
    out.config = postgres::Config::from_str(&passed).map_err(|e| {
        bad(match std::error::Error::source(&e) {
            Some(why) => why.to_string(),
            None => e.to_string(),
        })
    })?;
    out.config.ssl_mode(out.ssl_mode.for_client());
    if out.config.get_application_name().is_none() {
        out.config.application_name("agent");
    }
    if out.config.get_connect_timeout().is_none() {
        out.config.connect_timeout(Duration::from_secs(10));
    }
    // libpq reads PGPASSWORD; the client reads no environment at all.
    if out.config.get_password().is_none() {
        if let Some(pw) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
            out.config.password(pw.to_string_lossy().as_bytes());
        }
    }
    Ok(out)
}

fn decode(s: &str) -> std::result::Result<String, String> {
    // `+` is not a space here: libpq does not treat it so, nor do we.
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| "a query parameter is not UTF-8 once decoded".to_string())
}

/// The schema is spliced into SQL (identifiers cannot be bind parameters), so only
/// `[a-z_][a-z0-9_]{0,62}` is allowed, and it is quoted anyway.
fn schema_name(s: &str) -> std::result::Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .next()
            .is_some_and(|b| b == b'_' || b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b == b'_' || b.is_ascii_lowercase() || b.is_ascii_digit())
        && !s.starts_with("pg_");
    match ok {
        true => Ok(s.to_string()),
        false => Err(format!(
            "schema '{}': use 1-63 lowercase letters, digits and '_', not starting with a digit or pg_",
            s.chars().take(70).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postgres::config::Host;

    fn parse(url: &str) -> Result<PgUrl> {
        super::parse(url, &crate::store::redact(url))
    }

    #[test]
    fn ours_are_taken_out_and_the_rest_passed_on() {
        let u = parse(
            "postgres://u:p%40ss@db.example:6543/sess?sslmode=verify-full&schema=team_a\
             &lock_ttl=12&application_name=x&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(u.schema, "team_a");
        assert_eq!(u.ssl_mode, SslMode::VerifyFull);
        assert_eq!(u.lock_ttl, Some(Duration::from_secs(12)));
        assert_eq!(u.config.get_user(), Some("u"));
        assert_eq!(u.config.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(u.config.get_dbname(), Some("sess"));
        assert_eq!(u.config.get_ports(), &[6543]);
        assert_eq!(u.config.get_application_name(), Some("x"));
        assert_eq!(
            u.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        assert!(!format!("{:?}", u.config).contains("p@ss"), "Debug redacts");
    }

    #[test]
    fn bad_urls_are_usage_errors_without_the_password() {
        for bad in [
            "postgres://u:hunter2@h/db?bogus=1",
            "postgres://u:hunter2@h:99999/db",
            "postgres://u:hunter2@h/db?schema=Bad",
            "postgres://u:hunter2@h/db?schema=a;drop",
            "postgres://u:hunter2@h/db?sslmode=verify",
            "postgres://u:hunter2@h/db?lock_ttl=0",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(matches!(e, Error::Usage(_)), "{bad}: {e}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        assert!(parse("postgres://h/db?bogus=1")
            .unwrap_err()
            .to_string()
            .contains("bogus"));
    }

    #[test]
    fn sockets_and_several_hosts() {
        let u = parse("postgresql://%2Ftmp%2Fpg/db").unwrap();
        assert!(matches!(&u.config.get_hosts()[0], Host::Unix(p) if p.to_str() == Some("/tmp/pg")));
        let u = parse("postgres://[::1]:5433,127.0.0.1/db").unwrap();
        assert_eq!(u.config.get_hosts().len(), 2);
        assert_eq!(parse("postgres://h/db").unwrap().schema, "agent");
    }
}
