//! Store and server URLs as they may be printed: without passwords or secret parameters.

/// `url` with its credentials replaced by `***`, for messages and `-v` output: any
/// `user:password@` (up to the last `@`, since a password may hold an unencoded `/`, `?` or
/// `#`), and the values of query parameters that carry secrets (`password`, `key`, `token`, ...).
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

/// Whether a query parameter's value is a secret: `key`, `api_key`, `x-token`, `password`...
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
#[cfg_attr(not(any(feature = "redis", feature = "postgres")), allow(dead_code))]
pub(crate) fn credentials(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let (userinfo, _) = rest.rsplit_once('@')?;
    Some(userinfo.to_string()).filter(|u| !u.is_empty())
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
            assert_eq!(redact(&url), "redis://***@h:6379/2", "{url}");
            assert_eq!(
                credentials(&url).as_deref(),
                Some(format!(":{pw}").as_str())
            );
        }
        assert_eq!(
            redact("https://api.example.com/v1?key=SECRET&model=m&api_key=S2&x_token=S3"),
            "https://api.example.com/v1?key=***&model=m&api_key=***&x_token=***"
        );
        assert_eq!(
            redact("postgres://u:pw@h/db?sslmode=require&password=hunter2"),
            "postgres://***@h/db?sslmode=require&password=***"
        );
    }
}
