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
