//! Templates: reusable prompts in YAML (`system`, `prompt` with `$input` and `$name`
//! placeholders, and the model, provider, schema, tools and sampling options a turn uses),
//! found by name in the templates directory or by path. `--template` fills what the flags
//! leave unset: a flag given explicitly wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agent::Error;
use serde::{Deserialize, Serialize};

use crate::locate::Env;

/// One template file, as written. Unknown keys are refused, naming them.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Template {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) provider: Option<String>,
    /// As `--schema` takes it (a file, a field list, inline JSON), or a schema written inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) schema: Option<serde_yaml::Value>,
    /// Tool files, relative to the template's directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tools: Vec<PathBuf>,
    /// As `--reasoning` takes it (none, minimal, low, medium, high).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reasoning: Option<serde_yaml::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_tokens: Option<u32>,
}

/// A turn's text from template `name`'s `prompt`: `$input` (stdin and the arguments) and each
/// `$name` replaced from `params`; a prompt without `$input` gets the input after it; `$$` is
/// `$`. A missing or an unused parameter is refused, naming it.
pub(crate) fn render(
    name: &str,
    prompt: Option<&str>,
    params: &BTreeMap<String, String>,
    input: &str,
) -> agent::Result<String> {
    let Some(prompt) = prompt else {
        return Ok(input.to_string());
    };
    let (text, used, missing) = substitute(prompt, input, params);
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "template {name}: missing parameter(s) {} (give each with -p NAME VALUE)",
            missing.join(", ")
        )));
    }
    let unused: Vec<&str> = params
        .keys()
        .filter(|k| !used.contains(*k))
        .map(String::as_str)
        .collect();
    if !unused.is_empty() {
        return Err(Error::Usage(format!(
            "template {name} has no parameter(s) {}",
            unused.join(", ")
        )));
    }
    if prompt.contains("$input") || input.trim().is_empty() {
        Ok(text)
    } else {
        Ok(format!("{text}\n\n{input}"))
    }
}

/// `prompt` with its placeholders replaced: the text, the parameters used, the ones missing.
fn substitute(
    prompt: &str,
    input: &str,
    params: &BTreeMap<String, String>,
) -> (String, Vec<String>, Vec<String>) {
    let (mut out, mut used, mut missing) = (String::new(), Vec::new(), Vec::new());
    let mut rest = prompt;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let len = after
            .char_indices()
            .find(|(i, c)| {
                !(c.is_ascii_alphanumeric() || *c == '_') || (*i == 0 && c.is_ascii_digit())
            })
            .map_or(after.len(), |(i, _)| i);
        let name = &after[..len];
        match name {
            "" => out.push('$'),
            "input" => out.push_str(input),
            _ => match params.get(name) {
                Some(v) => {
                    out.push_str(v);
                    used.push(name.to_string());
                }
                None => {
                    if !missing.iter().any(|m| m == name) {
                        missing.push(name.to_string());
                    }
                }
            },
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    (out, used, missing)
}

/// Where templates are found by name: `templates_dir:` in the config (relative to it), else
/// `$XDG_CONFIG_HOME/agent/templates`, else `~/.config/agent/templates`.
pub(crate) fn dir(env: &Env, configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(d) = configured {
        return Some(d.to_path_buf());
    }
    env.path("XDG_CONFIG_HOME")
        .or_else(|| env.path("HOME").map(|h| h.join(".config")))
        .map(|d| d.join("agent/templates"))
}

/// The file `name_or_path` names: a path when it has a `/` or ends in `.yaml`/`.yml`, else
/// `DIR/NAME.yaml`.
pub(crate) fn locate(name_or_path: &str, dir: Option<&Path>) -> agent::Result<PathBuf> {
    let as_path = Path::new(name_or_path);
    if name_or_path.contains('/')
        || name_or_path.ends_with(".yaml")
        || name_or_path.ends_with(".yml")
    {
        return Ok(as_path.to_path_buf());
    }
    let valid = !name_or_path.is_empty()
        && name_or_path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name_or_path.starts_with('.');
    if !valid {
        return Err(Error::Usage(format!(
            "invalid template name '{}': letters, digits, '-', '_' and '.'",
            name_or_path.escape_debug()
        )));
    }
    let dir = dir.ok_or_else(|| {
        Error::Usage("no templates directory: set XDG_CONFIG_HOME or HOME".into())
    })?;
    Ok(dir.join(format!("{name_or_path}.yaml")))
}

/// Read and check a template file; tool paths become relative to its directory.
pub(crate) fn load(path: &Path) -> agent::Result<Template> {
    let text = agent::limits::read_config_file(path)
        .map_err(|e| Error::Usage(format!("cannot read template {}: {e}", path.display())))?;
    let mut t: Template = serde_yaml::from_str(&text)
        .map_err(|e| Error::Usage(format!("template {}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    for tool in &mut t.tools {
        if tool.is_relative() {
            *tool = base.join(&*tool);
        }
    }
    Ok(t)
}

/// The names of the templates in `dir`, sorted.
pub(crate) fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            name.strip_suffix(".yaml").map(str::to_string)
        })
        .filter(|n| !n.starts_with('.'))
        .collect();
    out.sort();
    out
}

/// `-p NAME VALUE` pairs as a map; a name given twice is refused.
pub(crate) fn params(pairs: &[String]) -> agent::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for pair in pairs.chunks(2) {
        let [name, value] = pair else {
            return Err(Error::Usage("-p takes a NAME and a VALUE".into()));
        };
        if out.insert(name.clone(), value.clone()).is_some() {
            return Err(Error::Usage(format!("-p {name} is given twice")));
        }
    }
    Ok(out)
}

/// The template's schema as `--schema` takes it.
pub(crate) fn schema_arg(schema: &serde_yaml::Value) -> agent::Result<String> {
    match schema {
        serde_yaml::Value::String(s) => Ok(s.clone()),
        other => {
            serde_json::to_string(other).map_err(|e| Error::Usage(format!("template schema: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fill(String, BTreeMap<String, String>);
    impl Fill {
        fn render(&self, input: &str) -> agent::Result<String> {
            super::render("t", Some(&self.0), &self.1, input)
        }
    }

    fn fill(prompt: &str, params: &[(&str, &str)]) -> Fill {
        let params = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Fill(prompt.into(), params)
    }

    #[test]
    fn placeholders_are_filled() {
        let f = fill(
            "Review for $focus:\n$input\nCost: $$5",
            &[("focus", "security")],
        );
        assert_eq!(
            f.render("diff").unwrap(),
            "Review for security:\ndiff\nCost: $5"
        );
        assert_eq!(
            fill("Say hi", &[]).render("more").unwrap(),
            "Say hi\n\nmore"
        );
        let err = fill("$a and $b", &[("a", "1")]).render("").unwrap_err();
        assert_eq!(
            err.to_string(),
            "template t: missing parameter(s) b (give each with -p NAME VALUE)"
        );
        let err = fill("$input", &[("x", "1")]).render("i").unwrap_err();
        assert_eq!(err.to_string(), "template t has no parameter(s) x");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = serde_yaml::from_str::<Template>("prompt: hi\nmodle: x\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `modle`"), "{err}");
    }
}
