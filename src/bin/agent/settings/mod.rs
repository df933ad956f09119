//! Flags + environment + config file -> one resolved [`Settings`] and the [`Action`] to run,
//! before any command starts. Precedence lives here alone (and in [`route`] for providers):
//! flag > environment > the session's stored value > config file > built-in default.
//! Settings never print: commands report what they resolved through `Output`.

mod action;
mod recording;
mod route;
mod templates;
mod thinking;

pub(crate) use action::*;
pub(crate) use route::{ModelChoice, Route, Routes};

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use agent::session::ContextPolicy;
use agent::{DirStore, Error, SessionStore};

use crate::choices::ShowFormat;
use crate::cli::{self, Cli, Command, SessionCommand};
use crate::config::Config;
use crate::locate::{self, ConfigFile, Env};

/// Default seconds to wait for another turn on the same session.
const LOCK_TIMEOUT: Duration = Duration::from_secs(300);
/// Default seconds to wait for the provider to answer or send more.
const TIMEOUT: Duration = Duration::from_secs(600);
/// Default retries of a request that cannot have been processed.
const RETRIES: u32 = 2;

/// Everything a command needs to know beyond its own options.
pub(crate) struct Settings {
    pub(crate) data_dir: PathBuf,
    /// The config file that was read, if any.
    pub(crate) config_file: Option<PathBuf>,
    /// `-n`: the prompt is the arguments alone; stdin is never read.
    pub(crate) no_stdin: bool,
    /// `--store` / `AGENT_STORE` / `store:`; `None` is the data directory.
    pub(crate) store_url: Option<String>,
    /// Opened on first use, so commands that store nothing never touch it.
    store: OnceLock<Arc<dyn SessionStore>>,
    /// The lock wait of commands without `--lock-timeout`.
    pub(crate) lock_timeout: Option<Duration>,
    /// Provider and model resolution.
    pub(crate) routes: Routes,
    /// Tool files every turn may call (`tools:` in the config, absolute).
    pub(crate) config_tools: Vec<PathBuf>,
    /// `mcp_servers:` in the config, read when a turn needs it.
    pub(crate) config_mcp: Option<serde_json::Value>,
    /// Variables no tool may see: every provider key the config names, and where the store's
    /// credentials came from.
    pub(crate) secret_vars: Vec<String>,
    pub(crate) prices: agent::pricing::Prices,
}

impl Settings {
    /// Resolve `cli` against the environment and the config file (read from `config_file`).
    pub(crate) fn resolve(
        cli: Cli,
        env: &Env,
        config: Config,
        config_file: &ConfigFile,
    ) -> agent::Result<(Settings, Action)> {
        let global = &cli.global;
        let data_dir = locate::data_dir(global.data_dir.as_deref(), env).ok_or_else(|| {
            Error::Usage(
                "cannot find a data directory: set HOME, XDG_DATA_HOME or AGENT_DATA_DIR".into(),
            )
        })?;
        let store_url = locate::encrypted_store_url(
            locate::store_url(global.store.as_deref(), env, config.store.as_deref()),
            &data_dir,
            config
                .encrypt
                .as_ref()
                .map(crate::config::Encrypt::url_value)
                .transpose()?,
        );
        let mut secret_vars: Vec<String> = config
            .providers
            .values()
            .filter_map(|p| p.api_key_env.clone())
            .collect();
        // A store URL may carry a password, whether or not `--store` overrides it here.
        if env.get("AGENT_STORE").is_some() {
            secret_vars.push("AGENT_STORE".into());
        }
        // The store's encryption key (and a PostgreSQL password) are for the store alone.
        secret_vars.extend(match &store_url {
            Some(url) => agent::store::key_env_vars(url),
            None => vec![agent::store::DEFAULT_KEY_VAR.to_string()],
        });
        let defaults = Defaults {
            timeout: seconds(config.timeout, "timeout")?.unwrap_or(TIMEOUT),
            retries: config.retries.unwrap_or(RETRIES),
            lock_timeout: Some(
                seconds(config.lock_timeout, "lock_timeout")?.unwrap_or(LOCK_TIMEOUT),
            ),
            auto_compact: config.auto_compact,
            max_reply_bytes: config
                .max_reply_bytes
                .unwrap_or(agent::limits::DEFAULT_MAX_REPLY_BYTES),
            retention: config.retention.resolve()?,
            templates: crate::template::dir(env, config.templates_dir.as_deref()),
            thinking: thinking::ThinkingDefaults::new(&config)?,
            cassette: recording::from_env(env)?,
        };
        let settings = Settings {
            data_dir,
            config_file: match config_file {
                ConfigFile::Named(p) | ConfigFile::Default(p) => Some(p.clone()),
                ConfigFile::None => None,
            },
            no_stdin: global.no_stdin,
            store_url,
            store: OnceLock::new(),
            lock_timeout: defaults.lock_timeout,
            routes: Routes::new(env, &config),
            config_tools: config.tools.clone(),
            config_mcp: config.mcp_servers.clone(),
            secret_vars,
            prices: agent::pricing::Prices::new(config.prices, config.context_windows),
        };
        let mut command = cli.command;
        templates::apply(&mut command, defaults.templates.as_deref())?;
        let action = defaults.action(command)?;
        Ok((settings, action))
    }

    /// The session store, opened once.
    pub(crate) fn store(&self) -> agent::Result<Arc<dyn SessionStore>> {
        if let Some(store) = self.store.get() {
            return Ok(store.clone());
        }
        let store = match &self.store_url {
            Some(url) => agent::store::open(url)?,
            None => Arc::new(DirStore::new(&self.data_dir)),
        };
        Ok(self.store.get_or_init(|| store).clone())
    }
}

/// The action of `agent generate`, which runs without settings: a broken config or a missing
/// HOME must not stop `generate man`.
pub(crate) fn generation(command: &Command) -> Option<Action> {
    match command {
        Command::Generate(cli::GenerateCommand::Completions(a)) => Some(Action::Completions {
            shell: a.shell,
            dir: a.dir.clone(),
        }),
        Command::Generate(cli::GenerateCommand::Man(a)) => Some(Action::Man { dir: a.dir.clone() }),
        _ => None,
    }
}

/// `--timeout 1.5` and friends: a non-negative number of seconds.
fn seconds(value: Option<f64>, what: &str) -> agent::Result<Option<Duration>> {
    value
        .map(|v| {
            Duration::try_from_secs_f64(v)
                .map_err(|_| Error::Usage(format!("{what} must be a number of seconds, not {v}")))
        })
        .transpose()
}

/// The config file's defaults for flags a command may override.
struct Defaults {
    /// Where `--template NAME` looks.
    templates: Option<PathBuf>,
    timeout: Duration,
    retries: u32,
    lock_timeout: Option<Duration>,
    auto_compact: Option<u64>,
    max_reply_bytes: usize,
    /// `retention:` in the config: `session prune`'s defaults.
    retention: (Option<Duration>, Option<usize>),
    thinking: thinking::ThinkingDefaults,
    cassette: Option<agent::provider::Cassette>,
}

impl Defaults {
    fn action(&self, command: Command) -> agent::Result<Action> {
        Ok(match command {
            Command::Run(a) => Action::Run(Run {
                target: match (a.session, a.continue_last, a.save) {
                    (Some(id), _, _) => RunTarget::Session(id),
                    (None, true, _) => RunTarget::Last,
                    (None, false, true) => RunTarget::Save,
                    (None, false, false) => RunTarget::Memory,
                },
                prompt: a.prompt,
                system: a.system,
                turn: self.turn(a.turn)?,
            }),
            Command::Json(a) => Action::Json(Json {
                prompt: a.prompt,
                system: a.system,
                session: match a.continue_last {
                    true => Some(LAST.to_string()),
                    false => a.session,
                },
                json: self.json(a.json)?,
            }),
            Command::Chat(a) if a.continue_last => Action::SessionChat(SessionChat {
                id: LAST.to_string(),
                create: None,
                lines: a.lines,
                ask: self.ask(a.chat)?,
            }),
            Command::Chat(a) => Action::Chat(Chat {
                system: a.system,
                title: a.title,
                lines: a.lines,
                ask: self.ask(a.chat)?,
            }),
            Command::Models(a) => Action::Models {
                call: self.call(cli::ModelArgs {
                    provider: a.provider,
                    base_url: a.base_url,
                    ..Default::default()
                })?,
            },
            Command::Generate(_) => generation(&command).expect("a generate command"),
            Command::Store(cli::StoreCommand::Copy(a)) => Action::StoreCopy(StoreCopy {
                from: a.from,
                to: a.to,
                ids: a.ids,
                force: a.force,
            }),
            Command::Store(cli::StoreCommand::Check(a)) => Action::StoreCheck {
                url: a.url,
                migrate: a.migrate,
            },
            Command::Store(cli::StoreCommand::Keygen) => Action::Keygen,
            Command::Tool(cli::ToolCommand::Test(a)) => Action::ToolTest(ToolTest {
                file: a.file,
                arguments: a.arguments,
                session_id: a.session_id,
            }),
            Command::Mcp(cli::McpCommand::Ls(a)) => Action::McpLs { json: a.json },
            Command::Mcp(cli::McpCommand::Tools(a)) => Action::McpTools {
                server: a.server,
                json: a.json,
            },
            Command::Session(command) => self.session(command)?,
            Command::Template(command) => Action::Template {
                what: match command {
                    cli::TemplateCommand::Ls { json } => TemplateQuery::Ls { json },
                    cli::TemplateCommand::Show { name } => TemplateQuery::Show(name),
                    cli::TemplateCommand::Path { name } => TemplateQuery::Path(name),
                },
                dir: self.templates.clone(),
            },
        })
    }

    fn session(&self, command: SessionCommand) -> agent::Result<Action> {
        Ok(match command {
            SessionCommand::New(a) => Action::New(New {
                id: a.id,
                system: a.system,
                system_file: a.system_file,
                title: a.title,
                route: ModelChoice {
                    model: a.model,
                    provider: a.provider,
                    base_url: None,
                },
                messages: a.messages,
                force: a.force,
                reasoning: thinking::flags(&a.reasoning),
                tools: tool_files(a.tools),
                ttl: a.ttl,
                budget: a.budget,
            }),
            SessionCommand::Run(a) => Action::SessionRun(SessionRun {
                id: a.id,
                prompt: a.prompt,
                create: a.create.then_some(a.system),
                turn: self.turn(a.turn)?,
            }),
            SessionCommand::Retry(a) => Action::Retry {
                id: a.id,
                turn: self.turn(a.turn)?,
                force: a.force,
            },
            SessionCommand::Json(a) => Action::Json(Json {
                prompt: a.prompt,
                system: None,
                session: Some(a.id),
                json: self.json(a.json)?,
            }),
            SessionCommand::Chat(a) => Action::SessionChat(SessionChat {
                id: a.id,
                create: a.create.then_some(a.system),
                lines: a.lines,
                ask: self.ask(a.chat)?,
            }),
            SessionCommand::Fork(a) => Action::Fork {
                src: a.src,
                id: a.id,
                at: a.at,
            },
            SessionCommand::Show(a) => Action::Show(Show {
                id: a.id,
                format: if a.json { ShowFormat::Json } else { a.format },
                last: a.last,
                all: a.all,
            }),
            SessionCommand::Ls(a) => Action::Ls(Ls {
                json: a.json,
                ids: a.ids,
                limit: a.limit,
                sort: a.sort,
                search: a.search,
                since: a.since,
                usage: a.usage,
            }),
            SessionCommand::Rm(a) => Action::Rm(Rm {
                ids: a.ids,
                older_than: a.older_than,
                force: a.force,
                dry_run: a.dry_run,
            }),
            SessionCommand::Clear(a) => Action::Clear { id: a.id },
            SessionCommand::Add(a) => Action::Add {
                id: a.id,
                role: a.role.parse()?,
                text: a.text,
            },
            SessionCommand::Export(a) => Action::Export { id: a.id },
            SessionCommand::Import(a) => Action::Import {
                file: a.file,
                force: a.force,
            },
            SessionCommand::Rename(a) => Action::Rename {
                id: a.id,
                title: a.title.join(" "),
            },
            SessionCommand::Stats(a) => Action::Stats {
                id: a.id,
                json: a.json,
            },
            SessionCommand::Compact(a) => Action::Compact(Compact {
                id: a.id,
                keep: a.keep,
                instructions: a.instructions,
                call: self.call(a.model)?,
            }),
            SessionCommand::Undo(a) => Action::Undo { id: a.id, n: a.n },
            SessionCommand::Prune(a) => Action::Prune(Prune {
                older_than: a.older_than.or(self.retention.0),
                keep: a.keep.or(self.retention.1),
                dry_run: a.dry_run,
            }),
        })
    }

    fn call(&self, m: cli::ModelArgs) -> agent::Result<ModelCall> {
        let cassette = recording::resolve(&m, &self.cassette);
        Ok(ModelCall {
            route: ModelChoice {
                model: m.model,
                provider: m.provider,
                base_url: m.base_url,
            },
            temperature: m.temperature,
            max_tokens: m.max_tokens,
            timeout: seconds(m.timeout, "--timeout")?.unwrap_or(self.timeout),
            retries: m.retries.unwrap_or(self.retries),
            reasoning: thinking::flags(&m.reasoning),
            api: m.api.map(|a| match a {
                cli::ApiArg::Responses => "responses",
                cli::ApiArg::Chat => "chat",
            }),
            fallbacks: m.fallback,
            cassette,
        })
    }

    fn ask(&self, a: cli::ExchangeArgs) -> agent::Result<Ask> {
        let lock_timeout = match seconds(a.lock_timeout, "--lock-timeout")? {
            Some(t) => Some(t),
            None => self.lock_timeout,
        };
        let reasoning_default = self.thinking.fallback(a.model.model.as_deref());
        let cache = self.thinking.cache(&a.show);
        Ok(Ask {
            reasoning_default,
            hide_reasoning: a.show.hide_reasoning,
            cache,
            call: self.call(a.model)?,
            stream: !a.no_stream,
            lock_timeout,
            usage: a.usage,
            context: match a.context {
                cli::ContextArg::Error => ContextPolicy::Error,
                cli::ContextArg::Trim => ContextPolicy::Trim,
                cli::ContextArg::Compact => ContextPolicy::Compact,
            },
            auto_compact: a.auto_compact.or(self.auto_compact),
            max_reply_bytes: a.max_reply_bytes.unwrap_or(self.max_reply_bytes),
            max_cost: a.max_cost,
            tools: ToolChoice {
                off: a.tools.no_tools,
                max_steps: a.tools.max_steps,
                confirm_all: a.tools.confirm,
                yes: a.tools.yes,
                ..tool_files(a.tools.files)
            },
            attach: crate::attach::AttachChoice::new(a.attach),
        })
    }

    fn turn(&self, t: cli::TurnArgs) -> agent::Result<Turn> {
        Ok(Turn {
            ask: self.ask(t.exchange)?,
            format: t.format,
            dry_run: t.dry_run,
        })
    }

    fn json(&self, j: cli::JsonOptions) -> agent::Result<JsonTurn> {
        Ok(JsonTurn {
            schema: j.schema.ok_or_else(|| {
                Error::Usage("a JSON turn needs --schema (or a template with schema:)".into())
            })?,
            multi: j.multi,
            jsonl: j.jsonl,
            pretty: j.pretty,
            retries: j.schema_retries,
            save_invalid: j.save_invalid,
            turn: self.turn(j.turn)?,
        })
    }
}

fn tool_files(t: cli::ToolFileArgs) -> ToolChoice {
    ToolChoice {
        files: t.tool,
        dirs: t.tools,
        mcp: t.mcp,
        strict_mcp: t.strict_mcp,
        ..ToolChoice::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn resolve(args: &[&str], env: &[(&str, &str)], yaml: &str) -> (Settings, Action) {
        let cli =
            Cli::try_parse_from(std::iter::once("agent").chain(args.iter().copied())).unwrap();
        let config: Config = serde_yaml::from_str(yaml).unwrap_or_default();
        Settings::resolve(cli, &Env::of(env), config, &ConfigFile::None).unwrap()
    }

    fn ask(action: Action) -> Ask {
        match action {
            Action::SessionRun(r) => r.turn.ask,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_beat_the_config_beats_the_defaults() {
        let env = [("HOME", "/h")];
        let (_, a) = resolve(
            &[
                "session",
                "run",
                "s",
                "--timeout",
                "5",
                "--retries",
                "0",
                "hi",
            ],
            &env,
            "timeout: 60\nretries: 7\n",
        );
        let a = ask(a);
        assert_eq!(
            (a.call.timeout, a.call.retries),
            (Duration::from_secs(5), 0)
        );
        let a = ask(resolve(
            &["session", "run", "s", "hi"],
            &env,
            "timeout: 60\nretries: 7\nlock_timeout: 9\nauto_compact: 100\n",
        )
        .1);
        assert_eq!(
            (a.call.timeout, a.call.retries),
            (Duration::from_secs(60), 7)
        );
        assert_eq!(
            (a.lock_timeout, a.auto_compact),
            (Some(Duration::from_secs(9)), Some(100))
        );
        let a = ask(resolve(&["session", "run", "s", "hi"], &env, "").1);
        assert_eq!(
            (a.call.timeout, a.call.retries, a.lock_timeout),
            (TIMEOUT, RETRIES, Some(LOCK_TIMEOUT))
        );
    }

    #[test]
    fn store_and_data_dir_come_from_flag_env_config() {
        let env = [
            ("AGENT_STORE", "sqlite:/env.db"),
            ("AGENT_DATA_DIR", "/env-data"),
        ];
        let (s, _) = resolve(
            &["--store", "dir:/flag", "session", "ls"],
            &env,
            "store: redis://c\n",
        );
        assert_eq!(s.store_url.as_deref(), Some("dir:/flag"));
        let (s, _) = resolve(&["session", "ls"], &env, "store: redis://c\n");
        assert_eq!(s.store_url.as_deref(), Some("sqlite:/env.db"));
        assert_eq!(s.data_dir, PathBuf::from("/env-data"));
        // A store URL from the environment may carry a password: no tool sees it.
        assert!(s.secret_vars.contains(&"AGENT_STORE".to_string()));
        let (s, _) = resolve(&["--data-dir", "/flag-data", "session", "ls"], &env, "");
        assert_eq!(s.data_dir, PathBuf::from("/flag-data"));
    }

    #[test]
    fn bad_seconds_are_usage_errors() {
        let cli =
            Cli::try_parse_from(["agent", "session", "run", "s", "--timeout=-1", "hi"]).unwrap();
        let err = Settings::resolve(
            cli,
            &Env::of(&[("HOME", "/h")]),
            Config::default(),
            &ConfigFile::None,
        )
        .err()
        .unwrap();
        assert!(matches!(err, Error::Usage(_)), "{err}");
    }
}
