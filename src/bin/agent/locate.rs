//! Where things are: the environment as read once, and the data directory, config file and
//! store URL from flags, environment and config. Settings and shell completion both resolve
//! them here, so a TAB finds the sessions the command would use.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The environment, read once. Empty values count as unset, as XDG says of its variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// This process's environment (variables that are not UTF-8 are left out).
    pub(crate) fn process() -> Env {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment of exactly these variables (tests).
    #[cfg(test)]
    pub(crate) fn of(pairs: &[(&str, &str)]) -> Env {
        Env {
            vars: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The variable's value, unless unset or empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn path(&self, name: &str) -> Option<PathBuf> {
        self.get(name).map(PathBuf::from)
    }
}

/// `--data-dir` > `AGENT_DATA_DIR` > `$XDG_DATA_HOME/agent` > `~/.local/share/agent`.
pub(crate) fn data_dir(flag: Option<&Path>, env: &Env) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| env.path("AGENT_DATA_DIR"))
        .or_else(|| {
            env.path("XDG_DATA_HOME")
                .or_else(|| env.path("HOME").map(|h| h.join(".local/share")))
                .map(|d| d.join("agent"))
        })
}

/// The config file to read: one named by `--config` or `AGENT_CONFIG` must exist; the
/// default (`$XDG_CONFIG_HOME/agent/config.yaml`, else `~/.config/agent/config.yaml`) is read
/// when it does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ConfigFile {
    Named(PathBuf),
    Default(PathBuf),
    None,
}

/// `--config` > `AGENT_CONFIG` > the XDG default.
pub(crate) fn config_file(flag: Option<&Path>, env: &Env) -> ConfigFile {
    if let Some(path) = flag
        .map(Path::to_path_buf)
        .or_else(|| env.path("AGENT_CONFIG"))
    {
        return ConfigFile::Named(path);
    }
    let default = env
        .path("XDG_CONFIG_HOME")
        .or_else(|| env.path("HOME").map(|h| h.join(".config")))
        .map(|d| d.join("agent/config.yaml"));
    match default {
        Some(path) if path.exists() => ConfigFile::Default(path),
        _ => ConfigFile::None,
    }
}

/// `--store` > `AGENT_STORE` > the config's `store:`; `None` is the data directory.
pub(crate) fn store_url(flag: Option<&str>, env: &Env, config: Option<&str>) -> Option<String> {
    flag.or_else(|| env.get("AGENT_STORE"))
        .or(config)
        .map(str::to_string)
}

/// The store URL with the config's `encrypt:` added, unless the URL says `encrypt` itself;
/// the data directory becomes an explicit `dir:` URL to carry it.
pub(crate) fn encrypted_store_url(
    url: Option<String>,
    data_dir: &Path,
    encrypt: Option<String>,
) -> Option<String> {
    let Some(encrypt) = encrypt else {
        return url;
    };
    let url = url.unwrap_or_else(|| format!("dir:{}", data_dir.display()));
    let query = url.split_once('?').map_or("", |(_, q)| q);
    if query
        .split('&')
        .any(|p| p == "encrypt" || p.starts_with("encrypt="))
    {
        return Some(url);
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}encrypt={encrypt}"))
}

/// A path from the config file: relative to the file's directory; `~/` is the home directory.
pub(crate) fn config_path(config_dir: &Path, path: &Path, env: &Env) -> PathBuf {
    match (path.strip_prefix("~"), env.path("HOME")) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => config_dir.join(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_encryption_joins_a_url_that_does_not_say() {
        let key = || Some("env:K".to_string());
        let dir = Path::new("/d");
        assert_eq!(
            encrypted_store_url(None, dir, key()).as_deref(),
            Some("dir:/d?encrypt=env:K")
        );
        assert_eq!(
            encrypted_store_url(Some("redis://h/0?prefix=p".into()), dir, key()).as_deref(),
            Some("redis://h/0?prefix=p&encrypt=env:K")
        );
        let own = Some("sqlite:/x.db?encrypt=file:/k".to_string());
        assert_eq!(encrypted_store_url(own.clone(), dir, key()), own);
        assert_eq!(encrypted_store_url(None, dir, None), None);
    }

    #[test]
    fn data_dir_precedence() {
        let env = Env::of(&[
            ("AGENT_DATA_DIR", "/env"),
            ("XDG_DATA_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ]);
        assert_eq!(
            data_dir(Some(Path::new("/flag")), &env),
            Some("/flag".into())
        );
        assert_eq!(data_dir(None, &env), Some("/env".into()));
        let env = Env::of(&[("AGENT_DATA_DIR", ""), ("XDG_DATA_HOME", "/xdg")]);
        assert_eq!(data_dir(None, &env), Some("/xdg/agent".into()));
        let env = Env::of(&[("HOME", "/home/u")]);
        assert_eq!(
            data_dir(None, &env),
            Some("/home/u/.local/share/agent".into())
        );
        assert_eq!(data_dir(None, &Env::default()), None);
    }

    #[test]
    fn store_precedence() {
        let env = Env::of(&[("AGENT_STORE", "sqlite:/env.db")]);
        assert_eq!(
            store_url(Some("dir:/flag"), &env, Some("redis://c")),
            Some("dir:/flag".into())
        );
        assert_eq!(
            store_url(None, &env, Some("redis://c")),
            Some("sqlite:/env.db".into())
        );
        assert_eq!(
            store_url(None, &Env::default(), Some("redis://c")),
            Some("redis://c".into())
        );
        assert_eq!(store_url(None, &Env::default(), None), None);
    }

    #[test]
    fn config_file_precedence() {
        let env = Env::of(&[("AGENT_CONFIG", "/env.yaml"), ("HOME", "/nowhere")]);
        assert_eq!(
            config_file(Some(Path::new("/flag.yaml")), &env),
            ConfigFile::Named("/flag.yaml".into())
        );
        assert_eq!(
            config_file(None, &env),
            ConfigFile::Named("/env.yaml".into())
        );
        assert_eq!(
            config_file(None, &Env::of(&[("HOME", "/nowhere")])),
            ConfigFile::None
        );
    }
}
