//! Timestamps (RFC 3339, UTC, milliseconds) and generated session ids.

use std::time::SystemTime;

/// Now, as `2026-11-25T14:28:55.123Z`. Lexicographic order is time order.
pub fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Parse an RFC 3339 timestamp written by [`now`] (or any RFC 3339 UTC time).
pub fn parse(ts: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(ts.trim_end_matches('Z')).ok()
}

/// A session TTL as written (`30d`, `12h`, `90m`, `1w`), which must be more than nothing.
pub fn parse_ttl(text: &str) -> crate::Result<std::time::Duration> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(crate::Error::Usage(format!(
            "invalid TTL '{}': use a duration such as 30d, 12h or 90m",
            text.chars().take(40).collect::<String>()
        ))),
    }
}

/// When a session last updated at `updated_at` expires under `ttl`, as RFC 3339; `None`
/// without a TTL (or with one that does not parse: the document's check reports that).
pub fn expiry(updated_at: &str, ttl: Option<&str>) -> Option<String> {
    let ttl = parse_ttl(ttl?).ok()?;
    expiry_after(updated_at, ttl)
}

/// `updated_at` plus `ttl`, as RFC 3339 (a time that does not parse counts as long ago).
pub fn expiry_after(updated_at: &str, ttl: std::time::Duration) -> Option<String> {
    let at = parse(updated_at).unwrap_or(SystemTime::UNIX_EPOCH);
    let at = at.checked_add(ttl)?;
    Some(humantime::format_rfc3339_millis(at).to_string())
}

/// Whether `expires_at` (RFC 3339) is now or past.
pub fn is_past(expires_at: &str) -> bool {
    parse(expires_at).is_none_or(|t| t <= SystemTime::now())
}

/// A new session id: `YYYYMMDD-HHMMSS-xxxxxx`. It sorts by creation time and the 24 random bits
/// keep ids made in the same second apart; `session new` also refuses to reuse an existing id.
pub fn new_session_id() -> String {
    let ts = now();
    let digits: String = ts[..19].chars().filter(char::is_ascii_digit).collect();
    format!(
        "{}-{}-{:06x}",
        &digits[..8],
        &digits[8..14],
        fastrand::u32(..0x0100_0000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_sortable() {
        let a = new_session_id();
        assert_eq!(a.len(), 22, "{a}");
        crate::document::validate_id(&a).unwrap();
        assert!(parse(&now()).is_some());
    }
}
