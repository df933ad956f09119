//! `agent generate completions|man`: shell completions and man pages from the clap definitions,
//! at run time (never in build.rs), committed in `completions/` and `man/`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

use crate::choices::Shell;
use crate::cli::Cli;
use crate::completion::registration;
use crate::output::write_out;

/// The file name each shell looks for (bash-completion, zsh `fpath`, fish `complete/`).
pub(crate) fn completion_file(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => "agent.bash",
        Shell::Zsh => "_agent",
        Shell::Fish => "agent.fish",
        Shell::Elvish => "agent.elv",
        Shell::Powershell => "_agent.ps1",
    }
}

/// `generate completions SHELL [--dir DIR]`
pub(crate) fn completions(shell: Shell, dir: Option<&Path>) -> Result<()> {
    let script = registration(shell);
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let path = dir.join(completion_file(shell));
            std::fs::write(&path, script)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => write_out(script.as_bytes())?,
    }
    Ok(())
}

/// `generate man --dir DIR`: `agent.1` and `agent-<sub>[-<sub>].1` for every visible subcommand.
pub(crate) fn man(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    write_pages(&cmd, dir)
}

fn write_pages(cmd: &clap::Command, dir: &Path) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    let man = Man::new(cmd.clone());
    let path = dir.join(man.get_filename());
    let mut page = Vec::new();
    render(&man, cmd, &mut page)?;
    let mut file =
        std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(&page)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// clap_mangen's sections, then ours in place of its "EXTRA" (the `--help` exit-code text).
fn render(man: &Man, cmd: &clap::Command, w: &mut Vec<u8>) -> Result<()> {
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(w)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(w)?;
    }
    let name = cmd.get_display_name().unwrap_or(cmd.get_name());
    let top = name == "agent";
    let mut roff = Roff::new();
    if top {
        environment(&mut roff);
        files(&mut roff);
    }
    exit_status(&mut roff);
    examples(&mut roff, name);
    see_also(&mut roff, name);
    roff.to_writer(w)?;
    if top {
        man.render_version_section(w)?;
    }
    Ok(())
}

/// A `.TP` list: a bold term, then its description.
fn list(roff: &mut Roff, items: &[(&str, &str)]) {
    for (term, text) in items {
        roff.control("TP", []);
        roff.text([bold(*term)]);
        roff.text([roman(*text)]);
    }
}

/// Every variable `agent` reads.
fn environment(roff: &mut Roff) {
    roff.control("SH", ["ENVIRONMENT"]);
    list(
        roff,
        &[
            ("AGENT_DATA_DIR", "Data directory (as --data-dir)."),
            ("AGENT_CONFIG", "Config file (as --config)."),
            ("AGENT_PROVIDER", "Provider when --provider is not given."),
            ("AGENT_MODEL", "Model when --model is not given."),
            (
                "AGENT_STORE",
                "Session store when --store is not given: dir:PATH, sqlite:PATH, redis://HOST or postgres://HOST/DB.",
            ),
            (
                "AGENT_STORE_KEY",
                "The encryption key (base64 of 32 bytes, see agent store keygen) of a store URL with ?encrypt.",
            ),
            (
                "PGPASSWORD",
                "Password of a postgres:// store whose URL has none.",
            ),
            ("OPENAI_API_KEY", "Key for the openai provider."),
            (
                "OPENAI_BASE_URL",
                "Base URL of the openai provider (any OpenAI-compatible server).",
            ),
            ("ANTHROPIC_API_KEY", "Key for the anthropic provider."),
            ("ANTHROPIC_BASE_URL", "Base URL of the anthropic provider."),
            ("GEMINI_API_KEY", "Key for the gemini provider."),
            ("GEMINI_BASE_URL", "Base URL of the gemini provider."),
            ("OLLAMA_HOST", "Address of the ollama server."),
            (
                "api_key_env",
                "Providers defined in config.yaml read their key from the variable they name here.",
            ),
            ("XDG_DATA_HOME", "Parent of the default data directory."),
            ("XDG_CONFIG_HOME", "Parent of the default config directory."),
            ("HOME", "Used when the XDG variables are unset."),
            (
                "NO_COLOR",
                "When set and not empty, --color auto never colours.",
            ),
            (
                "AGENT_COMPLETE",
                "Set by the completion scripts to ask for completions; not for interactive use.",
            ),
        ],
    );
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    list(
        roff,
        &[
            (
                "$XDG_CONFIG_HOME/agent/config.yaml",
                "Config file (default ~/.config/agent/config.yaml).",
            ),
            (
                "$XDG_DATA_HOME/agent/",
                "Data directory (default ~/.local/share/agent/), mode 0700.",
            ),
            (
                "DATA_DIR/sessions/ID.json",
                "One session document per file, mode 0600, replaced atomically.",
            ),
            (
                "DATA_DIR/locks/ID.lock",
                "Held while a turn of session ID runs.",
            ),
            (
                "DATA_DIR/invalid/",
                "Raw replies that failed schema validation.",
            ),
            ("DATA_DIR/chat_history", "Line history of agent chat."),
        ],
    );
}

/// The exit-code table of `--help` (cli::EXIT_CODES), as a list.
fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    let codes: Vec<(&str, &str)> = crate::exit::TABLE
        .lines()
        .skip(1)
        .filter_map(|l| l.trim().split_once(char::is_whitespace))
        .map(|(code, what)| (code, what.trim()))
        .collect();
    list(roff, &codes);
}

/// Pipelines worth copying, per page.
fn examples(roff: &mut Roff, name: &str) {
    let items: &[(&str, &str)] = match name {
        "agent" => &[
            ("Ask once; nothing is saved", "agent run 'Name three rivers in France'"),
            ("Review a diff in a stored session", "id=$(agent session new -s 'You review code.')\ngit diff | agent session run \"$id\" 'Review this'\nagent session run \"$id\" 'Which change is riskiest?'"),
            ("Continue the session used last", "agent run -c 'And in Spain?'"),
            ("Structured output in a pipeline", "cat notes.txt | agent json --schema 'title, tags [str]: a few keywords' | jq .tags"),
            ("Check prompt assembly in CI without calling the model", "agent session run review --dry-run 'Summarise' | jq .messages"),
            ("A scripted conversation", "printf 'hi\\nwhat did I say?\\n' | agent session chat s"),
        ],
        "agent-run" => &[
            ("One-shot", "echo 'def f(x): return x*2' | agent run 'Explain this code'"),
            ("Keep it as a session", "agent run --save 'Plan a trip'   # the id goes to stderr"),
            ("Continue the most recently used session", "agent run -c 'Make it shorter'"),
        ],
        "agent-session-run" => &[
            ("Create on first use", "agent session run notes --create -s 'Be brief.' 'Remember: milk'"),
            ("Feed a file", "agent session run notes < todo.txt"),
        ],
        "agent-session-chat" | "agent-chat" => &[
            ("Interactive", "agent session chat notes"),
            ("Scripted", "printf 'hi\\nwhat did I say?\\n' | agent session chat notes"),
        ],
        "agent-session-ls" => &[
            ("Ids of the five latest sessions", "agent session ls --ids --limit 5"),
            ("Find a conversation", "agent session ls --search invoice"),
        ],
        "agent-session-show" => &[
            ("A Markdown transcript", "agent session show notes --format markdown > notes.md"),
        ],
        "agent-json" => &[
            ("Extract records", "agent json --multi --jsonl --schema 'name, email' < contacts.txt"),
        ],
        _ => &[],
    };
    if items.is_empty() {
        return;
    }
    roff.control("SH", ["EXAMPLES"]);
    for (what, code) in items {
        roff.control("TP", []);
        roff.text([italic(*what)]);
        roff.control("nf", []);
        for line in code.lines() {
            roff.text([roman(line)]);
        }
        roff.control("fi", []);
    }
}

fn see_also(roff: &mut Roff, name: &str) {
    if name == "agent" {
        return;
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([bold("agent"), roman("(1)")]);
}
