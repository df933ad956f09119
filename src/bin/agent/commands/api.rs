//! Which protocol an `openai`-kind provider speaks: `--api` over the provider's `api:` in the
//! config over the default (the Responses API at OpenAI's own URL, Chat Completions at any
//! other, since compatible servers such as llama.cpp's have no `/responses`).

use agent::provider;

/// The kind to build and the words `-v` adds about it.
pub(crate) fn choose(
    kind: &str,
    base_url: &str,
    flag: Option<&str>,
    configured: Option<&str>,
) -> agent::Result<(&'static str, String)> {
    let builtin = provider::KINDS
        .iter()
        .copied()
        .find(|k| *k == kind)
        .unwrap_or("openai");
    if kind != "openai" {
        if flag.is_some() {
            return Err(agent::Error::Usage(format!(
                "--api applies to openai-kind providers, not {kind}"
            )));
        }
        return Ok((builtin, String::new()));
    }
    let (api, why) = match (flag, configured) {
        (Some(a), _) => (a, "--api"),
        (None, Some(a)) => (a, "the config's api:"),
        (None, None) if provider::uses_responses(base_url) => ("responses", "OpenAI's own URL"),
        (None, None) => ("chat", "a compatible server"),
    };
    match api {
        "responses" => Ok((provider::API_RESPONSES, format!(", Responses API by {why}"))),
        "chat" => Ok((provider::API_CHAT, format!(", Chat Completions by {why}"))),
        other => Err(agent::Error::Usage(format!(
            "config: api: '{other}' is not an API (expected responses or chat)"
        ))),
    }
}
