//! MCP server definitions: the form `config.yaml`'s `mcp_servers:` and a session document use,
//! and the `mcpServers` JSON other clients write, read into one [`McpSpec`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// Seconds `initialize`, `tools/list` and each `tools/call` may take when the definition names
/// no `timeout` (the executable tools' default).
pub const DEFAULT_TIMEOUT: f64 = crate::tool::DEFAULT_TIMEOUT;

/// The keys a server definition may have (ours, and `args`/`type` from the `mcpServers` form).
const KEYS: &[&str] = &[
    "command", "args", "env", "cwd", "url", "headers", "timeout", "confirm", "type",
];

/// One MCP server: a program speaking MCP on stdio (`command`), or a Streamable HTTP endpoint
/// (`url`). Stored in session documents as written, so later turns start the same server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpSpec {
    /// The server's name: its tools are offered as `NAME__TOOL`.
    pub name: String,
    /// The program and its arguments (stdio servers). Never a shell string.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Extra environment variables for a stdio server, set after provider keys are removed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The working directory of a stdio server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// The endpoint of a Streamable HTTP server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Headers sent with every HTTP request (e.g. `Authorization`). A value `${VAR}` is read
    /// from the environment when the server is contacted, so the secret is never stored.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Seconds for the handshake, the tools list and each call.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// Ask before every call of this server's tools.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirm: bool,
    /// Fields written by newer versions, preserved when a session document is rewritten.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_timeout() -> f64 {
    DEFAULT_TIMEOUT
}

impl McpSpec {
    /// A stdio server running `argv`.
    pub fn stdio<I, S>(name: impl Into<String>, argv: I) -> McpSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        McpSpec {
            name: name.into(),
            command: argv.into_iter().map(Into::into).collect(),
            env: BTreeMap::new(),
            cwd: None,
            url: None,
            headers: BTreeMap::new(),
            timeout: DEFAULT_TIMEOUT,
            confirm: false,
            extra: Map::new(),
        }
    }

    /// A Streamable HTTP server at `url`.
    pub fn http(name: impl Into<String>, url: impl Into<String>) -> McpSpec {
        McpSpec {
            url: Some(url.into()),
            ..McpSpec::stdio(name, Vec::<String>::new())
        }
    }

    /// One entry of a `mcp_servers:`/`mcpServers` map: `command` as a list, or as a program
    /// with `args` (the `mcpServers` form); `type` (`stdio`, `http`, `streamable-http`) is
    /// accepted and checked against the rest. Unknown keys are refused (a typo would otherwise
    /// go unnoticed).
    pub fn from_entry(name: &str, body: &Value) -> std::result::Result<McpSpec, String> {
        let Value::Object(map) = body else {
            return Err(format!(
                "MCP server '{name}' must be a mapping with `command` or `url`"
            ));
        };
        if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!(
                "MCP server '{name}': unknown key `{key}` (a server has {})",
                KEYS.join(", ")
            ));
        }
        let mut map = map.clone();
        let kind = map.remove("type");
        let args = map.remove("args");
        if let Some(Value::String(program)) = map.get("command").cloned() {
            let mut argv = vec![Value::String(program)];
            match args {
                Some(Value::Array(a)) => argv.extend(a),
                None => {}
                Some(other) => {
                    return Err(format!(
                        "MCP server '{name}': `args` must be a list, not {other}"
                    ))
                }
            }
            map.insert("command".into(), Value::Array(argv));
        } else if args.is_some() {
            return Err(format!(
                "MCP server '{name}': `args` goes with `command` given as one program"
            ));
        }
        map.insert("name".into(), Value::String(name.to_string()));
        let spec: McpSpec = serde_json::from_value(Value::Object(map))
            .map_err(|e| format!("MCP server '{name}': {e}"))?;
        match kind.as_ref().and_then(Value::as_str) {
            None | Some("stdio") if spec.url.is_none() => {}
            None | Some("http") | Some("streamable-http") | Some("streamableHttp")
                if spec.url.is_some() => {}
            Some("sse") => {
                return Err(format!(
                    "MCP server '{name}': the old HTTP+SSE transport is not supported; \
                     use the server's Streamable HTTP endpoint"
                ))
            }
            _ => {
                return Err(format!(
                    "MCP server '{name}': `type` {} does not match its {}",
                    kind.unwrap_or(Value::Null),
                    if spec.url.is_some() {
                        "`url`"
                    } else {
                        "`command`"
                    }
                ))
            }
        }
        spec.check()
            .map_err(|e| format!("MCP server '{name}': {e}"))?;
        Ok(spec)
    }

    /// Every server of a map (`{name: {…}, …}`), in the map's order.
    pub fn from_map(map: &Value) -> std::result::Result<Vec<McpSpec>, String> {
        let Value::Object(entries) = map else {
            return Err("MCP servers must be a mapping of names to servers".into());
        };
        entries
            .iter()
            .map(|(name, body)| McpSpec::from_entry(name, body))
            .collect()
    }

    /// Read a servers file: JSON (`{"mcpServers": {…}}`, as other clients write it) or YAML
    /// (`mcp_servers:` or `mcpServers:`). Every problem is an [`Error::Usage`] naming the file.
    pub fn from_file(path: &Path) -> Result<Vec<McpSpec>> {
        let shown = path.display();
        let text = crate::limits::read_config_file(path)
            .map_err(|e| Error::Usage(format!("cannot read MCP servers file {shown}: {e}")))?;
        let value: Value = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            serde_yaml::from_str(&text).map_err(|e| e.to_string())
        }
        .map_err(|e| Error::Usage(format!("MCP servers file {shown}: {e}")))?;
        let servers = value
            .get("mcpServers")
            .or_else(|| value.get("mcp_servers"))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "MCP servers file {shown}: no `mcpServers` mapping at the top"
                ))
            })?;
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut specs = McpSpec::from_map(servers)
            .map_err(|e| Error::Usage(format!("MCP servers file {shown}: {e}")))?;
        for spec in &mut specs {
            spec.anchor(&dir);
        }
        Ok(specs)
    }

    /// A relative `./program` or `cwd` is the file's: made absolute, so a stored definition
    /// works from any directory.
    fn anchor(&mut self, dir: &Path) {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        if let Some(program) = self.command.first_mut() {
            if program.contains('/') && !Path::new(program.as_str()).is_absolute() {
                *program = dir.join(program.as_str()).to_string_lossy().into_owned();
            }
        }
        if let Some(cwd) = self.cwd.as_mut().filter(|c| c.is_relative()) {
            *cwd = dir.join(&*cwd);
        }
    }

    /// Structural checks (also applied to definitions read back from a session document).
    pub fn check(&self) -> std::result::Result<(), String> {
        let ok_name = !self.name.is_empty()
            && self.name.len() <= 32
            && !self.name.contains("__")
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok_name {
            return Err(format!(
                "invalid server name {:?}: use 1-32 letters, digits, '_' or '-' (no \"__\")",
                self.name
            ));
        }
        match (&self.url, self.command.first()) {
            (Some(_), Some(_)) => return Err("give `command` or `url`, not both".into()),
            (None, None) => return Err("give `command` (a stdio server) or `url`".into()),
            (None, Some(program)) if program.is_empty() => {
                return Err("`command` must name a program".into())
            }
            (Some(url), None) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(format!("`url` must be http:// or https://, not {url:?}"))
            }
            _ => {}
        }
        crate::tool::check_process(self.timeout, self.env.keys())
    }

    /// What the server is, in one line: its command or its URL.
    pub fn describe(&self) -> String {
        match &self.url {
            Some(url) => url.clone(),
            None => self.command.join(" "),
        }
    }
}

/// `${VAR}` as a whole header value is read from the environment; anything else is literal.
pub fn expand_header(value: &str) -> std::result::Result<String, String> {
    match value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
        Some(var) => std::env::var(var).map_err(|_| format!("{var} is not set")),
        None => Ok(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_forms_read_the_same() {
        let ours = McpSpec::from_entry("time", &json!({"command": ["uvx", "t"]})).unwrap();
        let theirs = McpSpec::from_entry(
            "time",
            &json!({"type": "stdio", "command": "uvx", "args": ["t"]}),
        )
        .unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.command, ["uvx", "t"]);
        let http = McpSpec::from_entry("r", &json!({"type": "http", "url": "https://x/mcp"}));
        assert_eq!(http.unwrap().url.as_deref(), Some("https://x/mcp"));
    }

    #[test]
    fn refusals_say_why() {
        let cases = [
            (json!({"comand": ["x"]}), "unknown key `comand`"),
            (json!({}), "give `command`"),
            (json!({"command": ["x"], "url": "http://h"}), "not both"),
            (json!({"url": "ftp://h"}), "http:// or https://"),
            (json!({"type": "sse", "url": "http://h"}), "not supported"),
            (json!({"command": ["x"], "timeout": 0}), "positive number"),
            (json!({"command": "x", "args": "y"}), "must be a list"),
        ];
        for (body, want) in cases {
            let err = McpSpec::from_entry("s", &body).unwrap_err();
            assert!(err.contains(want), "{body}: {err}");
        }
        let err = McpSpec::from_entry("a__b", &json!({"command": ["x"]})).unwrap_err();
        assert!(err.contains("invalid server name"), "{err}");
    }

    #[test]
    fn stored_specs_keep_unknown_fields() {
        let v = json!({"name": "t", "command": ["x"], "timeout": 30.0, "future": 1});
        let spec: McpSpec = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&spec).unwrap(), v);
    }
}
