//! Executable tool definitions: the tool file format (YAML or JSON), its checks, and the form
//! a session document stores so later turns can call the same tools.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// Seconds a tool may run when its file names no `timeout`.
pub const DEFAULT_TIMEOUT: f64 = 30.0;

/// The keys a tool file may have; anything else is most likely a typo and is refused.
const KEYS: &[&str] = &[
    "name",
    "description",
    "parameters",
    "command",
    "timeout",
    "confirm",
    "env",
];

/// An executable tool, as declared in a tool file and as stored in a session document.
///
/// `command` is an argv list whose first element is absolute, or a bare name looked up in
/// `PATH` when the tool runs: [`ExecSpec::from_file`] resolves `./script` against the file's
/// directory, so a stored spec works from any working directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecSpec {
    /// The name the model calls it by (`[A-Za-z0-9_-]{1,64}`, what every provider accepts).
    pub name: String,
    /// What it does, for the model.
    #[serde(default)]
    pub description: String,
    /// JSON Schema of its arguments (an object schema).
    #[serde(default = "empty_object_schema")]
    pub parameters: Value,
    /// The program and its fixed arguments. Never a shell string.
    #[serde(deserialize_with = "argv")]
    pub command: Vec<String>,
    /// Seconds before the tool's whole process group is killed.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// Ask before every call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirm: bool,
    /// Extra environment variables, set as given (no expansion).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "env_map"
    )]
    pub env: BTreeMap<String, String>,
    /// Fields written by newer versions, preserved when a session document is rewritten.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn empty_object_schema() -> Value {
    serde_json::json!({"type": "object", "properties": {}})
}

fn default_timeout() -> f64 {
    DEFAULT_TIMEOUT
}

/// A list of strings; a plain string gets an error that says why lists are required.
fn argv<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Err(serde::de::Error::custom(format!(
            "`command` must be a list (argv), not the string {s:?}: agent never runs a shell, \
             so write e.g. [\"./script.sh\", \"--flag\"]"
        ))),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(serde::de::Error::custom(format!(
                    "`command` items must be strings, not {other}"
                ))),
            })
            .collect(),
        other => Err(serde::de::Error::custom(format!(
            "`command` must be a list of strings, not {other}"
        ))),
    }
}

/// `env:` values may be written as YAML numbers or booleans (`PORT: 8080`); they become text.
fn env_map<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<BTreeMap<String, String>, D::Error> {
    let raw = BTreeMap::<String, Value>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(n) => Ok((k, n.to_string())),
            Value::Bool(b) => Ok((k, b.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "`env.{k}` must be text, not {other}"
            ))),
        })
        .collect()
}

impl ExecSpec {
    /// Read and check a tool file: YAML, or JSON when its name ends in `.json`. Every problem
    /// is an [`Error::Usage`] naming the file, so a bad file stops a command before any request.
    pub fn from_file(path: &Path) -> Result<ExecSpec> {
        let shown = path.display();
        let text = crate::limits::read_config_file(path)
            .map_err(|e| Error::Usage(format!("cannot read tool file {shown}: {e}")))?;
        let is_json = path.extension().is_some_and(|e| e == "json");
        let parsed = if is_json {
            serde_json::from_str::<ExecSpec>(&text).map_err(|e| e.to_string())
        } else {
            serde_yaml::from_str::<ExecSpec>(&text).map_err(|e| e.to_string())
        };
        let mut spec = parsed.map_err(|e| Error::Usage(format!("tool file {shown}: {e}")))?;
        let dir = absolute_dir(path)?;
        spec.known_keys_only()
            .and_then(|()| spec.resolve_command(&dir))
            .and_then(|()| spec.check())
            .map_err(|e| Error::Usage(format!("tool file {shown}: {e}")))?;
        Ok(spec)
    }

    /// A tool file with a key this version does not know is refused (a typo like `comand`
    /// would otherwise go unnoticed); stored documents keep such keys instead.
    fn known_keys_only(&self) -> std::result::Result<(), String> {
        match self.extra.keys().next() {
            Some(key) => Err(format!(
                "unknown key `{key}` (a tool file has {})",
                KEYS.join(", ")
            )),
            None => Ok(()),
        }
    }

    /// Structural checks (also applied to specs read back from a session document).
    pub fn check(&self) -> std::result::Result<(), String> {
        check_name(&self.name)?;
        if self.parameters.get("type").and_then(Value::as_str) != Some("object") {
            return Err(
                "`parameters` must be a JSON Schema with \"type\": \"object\" (the arguments are one JSON object)"
                    .into(),
            );
        }
        crate::schema::compile(&self.parameters).map_err(|e| format!("`parameters`: {e}"))?;
        if self.command.first().is_none_or(|c| c.is_empty()) {
            return Err("`command` must name a program".into());
        }
        check_process(self.timeout, self.env.keys())
    }

    /// `./x` and `bin/x` are relative to the tool file; a bare name (`python3`) is looked up in
    /// `PATH`, as a shell would, and must exist now so a typo fails before any request.
    fn resolve_command(&mut self, dir: &Path) -> std::result::Result<(), String> {
        let Some(program) = self.command.first().filter(|c| !c.is_empty()).cloned() else {
            return Err("`command` must name a program".into());
        };
        let path = Path::new(&program);
        if path.is_absolute() || program.contains('/') {
            // `./x` reads better in messages and stored documents as `/dir/x`.
            let full: PathBuf = dir
                .join(path)
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect();
            if !full.is_file() {
                return Err(format!("command {} does not exist", full.display()));
            }
            self.command[0] = full.to_string_lossy().into_owned();
        } else if find_in_path(&program).is_none() {
            let hint = if dir.join(&program).is_file() {
                format!(" (for the file beside the tool file, write \"./{program}\")")
            } else {
                String::new()
            };
            return Err(format!("command '{program}' is not on PATH{hint}"));
        }
        Ok(())
    }
}

/// Tool names as every provider accepts them.
fn check_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid tool name {name:?}: use 1-64 letters, digits, '_' or '-'"
        ))
    }
}

fn absolute_dir(file: &Path) -> Result<PathBuf> {
    let dir = file.parent().unwrap_or(Path::new(""));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::path::absolute(dir)
        .map_err(|e| Error::Usage(format!("cannot resolve {}: {e}", file.display())))
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// What a tool file and an MCP server declaration both check: a usable timeout and variable
/// names `execve` can take.
pub(crate) fn check_process<'a>(
    timeout: f64,
    env: impl IntoIterator<Item = &'a String>,
) -> std::result::Result<(), String> {
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(format!(
            "`timeout` must be a positive number of seconds, not {timeout}"
        ));
    }
    for k in env {
        if k.is_empty() || k.contains(['=', '\0']) {
            return Err(format!("`env` has an invalid variable name {k:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> std::result::Result<ExecSpec, String> {
        let mut spec: ExecSpec = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        spec.known_keys_only()?;
        spec.check()?;
        spec.command[0] = "/bin/true".into();
        Ok(spec)
    }

    #[test]
    fn defaults_and_env_scalars() {
        let spec = parse("name: t\ncommand: [x]\nenv: {PORT: 8080, DEBUG: true}\n").unwrap();
        assert_eq!(spec.timeout, DEFAULT_TIMEOUT);
        assert_eq!(spec.parameters["type"], "object");
        assert_eq!(spec.env["PORT"], "8080");
        assert_eq!(spec.env["DEBUG"], "true");
    }

    #[test]
    fn refusals_say_why() {
        let cases = [
            ("name: t\ncommand: ./x.sh --all\n", "never runs a shell"),
            (
                "name: t\ncommand: [x]\ncomand: [y]\n",
                "unknown key `comand`",
            ),
            ("name: 'a b'\ncommand: [x]\n", "invalid tool name"),
            ("name: t\ncommand: []\n", "must name a program"),
            ("name: t\ncommand: [x]\ntimeout: 0\n", "positive number"),
            (
                "name: t\ncommand: [x]\nparameters: {type: string}\n",
                "\"type\": \"object\"",
            ),
            (
                "name: t\ncommand: [x]\nparameters: {type: object, properties: {a: {type: 12}}}\n",
                "`parameters`",
            ),
        ];
        for (yaml, want) in cases {
            let err = parse(yaml).unwrap_err();
            assert!(err.contains(want), "{yaml:?}: {err}");
        }
    }

    #[test]
    fn stored_specs_keep_unknown_fields() {
        let v = serde_json::json!({"name": "t", "command": ["/bin/true"], "timeout": 30.0,
            "description": "", "parameters": {"type": "object"}, "future": 1});
        let spec: ExecSpec = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&spec).unwrap(), v);
    }
}
