//! One man page per command, from the clap definitions: clap_mangen's title, name and
//! subcommand list, and our own SYNOPSIS, OPTIONS, GLOBAL OPTIONS and ARGUMENTS (placeholders
//! in the synopsis, possible values on one line, global options apart as in `--help`), then
//! ENVIRONMENT and FILES (on `agent(1)`), EXIT STATUS, EXAMPLES and SEE ALSO.

use anyhow::Result;
use clap::{Arg, ArgAction, Command};
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;

use super::man_examples::examples;

/// The file name and the roff source of `cmd`'s page (`cmd` built, so global options have
/// reached it).
pub(crate) fn page(cmd: &Command) -> Result<(String, Vec<u8>)> {
    let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_string();
    let top = name == "agent";
    // The footer names the program and its version on every page, not only agent(1).
    let man = Man::new(cmd.clone());
    // Written by hand: clap_mangen drops an empty date argument, which moves the source into
    // the date's place. No date, so the committed pages change only with the program.
    let mut w = format!(
        ".TH {name} 1 \"\" \"agent {}\" \"agent manual\"\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes();
    man.render_name_section(&mut w)?;
    let mut roff = Roff::new();
    synopsis(&mut roff, cmd, &name);
    roff.to_writer(&mut w)?;
    man.render_description_section(&mut w)?;
    let mut roff = Roff::new();
    let visible: Vec<&Arg> = cmd.get_arguments().filter(|a| !a.is_hide_set()).collect();
    let (global, own): (Vec<&Arg>, Vec<&Arg>) = visible
        .iter()
        .filter(|a| !a.is_positional())
        .partition(|a| a.is_global_set() && !top);
    section(&mut roff, "OPTIONS", &own);
    let positionals: Vec<&Arg> = visible.into_iter().filter(|a| a.is_positional()).collect();
    section(&mut roff, "ARGUMENTS", &positionals);
    section(&mut roff, "GLOBAL OPTIONS", &global);
    roff.to_writer(&mut w)?;
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut w)?;
    }
    let mut roff = Roff::new();
    if top {
        environment(&mut roff);
        files(&mut roff);
    }
    exit_status(&mut roff);
    example_section(&mut roff, &name);
    see_also(&mut roff, cmd, &name);
    roff.to_writer(&mut w)?;
    Ok((format!("{name}.1"), w))
}

/// Whether `cmd` takes a prompt (its page then needs examples).
#[cfg(test)]
fn takes_prompt(cmd: &Command) -> bool {
    cmd.get_arguments().any(|a| a.get_id() == "prompt")
}

/// `agent session run [--create] [-s|--system <SYSTEM>] … [GLOBAL OPTIONS] <ID> [PROMPT]...`
fn synopsis(roff: &mut Roff, cmd: &Command, name: &str) {
    roff.control("SH", ["SYNOPSIS"]);
    let mut line: Vec<Inline> = vec![bold(name.replace('-', " "))];
    let top = name == "agent";
    let mut globals = false;
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        if arg.is_positional() {
            continue;
        }
        if arg.is_global_set() && !top {
            globals = true;
            continue;
        }
        line.push(roman(" ["));
        line.extend(flag_names(arg, "|"));
        line.extend(value_placeholder(arg));
        line.push(roman("]"));
    }
    if globals {
        line.push(roman(" [GLOBAL OPTIONS]"));
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        line.push(roman(" "));
        line.extend(positional_placeholder(arg));
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        line.push(roman(" "));
        line.push(italic("COMMAND"));
    }
    roff.text(line);
}

/// `-s|--system` (or `-s, --system` in a list), bold.
fn flag_names(arg: &Arg, sep: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    if let Some(short) = arg.get_short() {
        out.push(bold(format!("-{short}")));
    }
    if let Some(long) = arg.get_long() {
        if !out.is_empty() {
            out.push(roman(sep));
        }
        out.push(bold(format!("--{long}")));
    }
    out
}

/// ` <URL>` for an option that takes a value, nothing for a switch.
fn value_placeholder(arg: &Arg) -> Vec<Inline> {
    if !arg.get_action().takes_values() {
        return Vec::new();
    }
    vec![roman(" "), italic(format!("<{}>", value_name(arg)))]
}

/// `<ID>` when required, `[PROMPT]...` when optional and repeatable.
fn positional_placeholder(arg: &Arg) -> Vec<Inline> {
    let name = value_name(arg);
    let many = matches!(arg.get_action(), ArgAction::Append)
        || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
    let dots = if many { "..." } else { "" };
    match arg.is_required_set() {
        true => vec![roman("<"), italic(name), roman(format!(">{dots}"))],
        false => vec![roman("["), italic(name), roman(format!("]{dots}"))],
    }
}

fn value_name(arg: &Arg) -> String {
    arg.get_value_names()
        .and_then(|names| names.first())
        .map(|n| n.to_string())
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase())
}

/// A titled list of arguments, left out when there are none.
fn section(roff: &mut Roff, title: &str, args: &[&Arg]) {
    if args.is_empty() {
        return;
    }
    roff.control("SH", [title]);
    for arg in args {
        roff.control("TP", []);
        let mut term = match arg.is_positional() {
            true => positional_placeholder(arg),
            false => {
                let mut t = flag_names(arg, ", ");
                t.extend(value_placeholder(arg));
                t
            }
        };
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if !defaults.is_empty()
            && !arg.is_hide_default_value_set()
            && arg.get_action().takes_values()
        {
            term.push(roman(format!(" [default: {}]", defaults.join(", "))));
        }
        roff.text(term);
        let help = arg.get_long_help().or(arg.get_help());
        if let Some(help) = help {
            roff.text([roman(help.to_string())]);
        }
        possible_values(roff, arg);
    }
}

/// `Possible values: auto, always, never.` on one line; values that have their own help each
/// get a line with it.
fn possible_values(roff: &mut Roff, arg: &Arg) {
    if arg.is_hide_possible_values_set() {
        return;
    }
    let values: Vec<_> = arg
        .get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .collect();
    if values.is_empty() {
        return;
    }
    let names: Vec<&str> = values.iter().map(|v| v.get_name()).collect();
    roff.control("br", []);
    roff.text([
        italic("Possible values:"),
        roman(format!(" {}.", names.join(", "))),
    ]);
    if values.iter().any(|v| v.get_help().is_some()) {
        roff.control("RS", []);
        for v in &values {
            roff.control("br", []);
            let help = v.get_help().map(|h| h.to_string()).unwrap_or_default();
            roff.text([bold(v.get_name()), roman(format!(": {help}"))]);
        }
        roff.control("RE", []);
    }
}

/// A `.TP` list: a bold term, then its description.
fn list(roff: &mut Roff, items: &[(&str, &str)]) {
    for (term, text) in items {
        roff.control("TP", []);
        roff.text([bold(*term)]);
        roff.text([roman(*text)]);
    }
}

/// Every variable `agent` reads, and only variables.
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
    roff.control("PP", []);
    roff.text([roman(
        "A provider defined under providers: in config.yaml reads its key from the variable its \
         api_key_env names.",
    )]);
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
                "DATA_DIR/locks/-blobs.lock",
                "Held while a turn saves attachments, and while unreferenced ones are removed.",
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

/// The page's examples, each a title and lines of shell between `.nf` and `.fi` (the README
/// test runs every one of them).
fn example_section(roff: &mut Roff, name: &str) {
    let items = examples(name);
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

/// agent(1), the parent page, the pages below this one, and those a reader of this one needs
/// next.
fn see_also(roff: &mut Roff, cmd: &Command, name: &str) {
    let mut pages: Vec<String> = Vec::new();
    let mut add = |page: String| {
        if page != name && !pages.contains(&page) {
            pages.push(page);
        }
    };
    if name != "agent" {
        add("agent".to_string());
    }
    if let Some((parent, _)) = name.rsplit_once('-') {
        add(parent.to_string());
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        add(format!("{name}-{}", sub.get_name()));
    }
    for page in related(name) {
        add(page.to_string());
    }
    if pages.is_empty() {
        return;
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut line = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(bold(page.as_str()));
        line.push(roman("(1)"));
    }
    roff.text(line);
}

/// Pages that go with each other beyond the command tree.
fn related(name: &str) -> &'static [&'static str] {
    match name {
        "agent" => &["agent-run", "agent-session-run", "agent-json", "agent-chat"],
        "agent-run" => &["agent-session-run", "agent-json", "agent-chat"],
        "agent-json" => &["agent-session-json", "agent-run"],
        "agent-chat" => &["agent-session-chat", "agent-run"],
        "agent-session-run" => &["agent-run", "agent-session-retry", "agent-session-show"],
        "agent-session-json" => &["agent-json", "agent-session-run"],
        "agent-session-chat" => &["agent-chat", "agent-session-run"],
        "agent-session-retry" => &["agent-session-run", "agent-session-undo"],
        "agent-session-undo" => &["agent-session-retry", "agent-session-fork"],
        "agent-session-fork" => &["agent-session-undo", "agent-session-new"],
        "agent-session-new" => &["agent-session-run", "agent-session-ls"],
        "agent-session-ls" => &["agent-session-show", "agent-session-rm"],
        "agent-session-show" => &["agent-session-ls", "agent-session-export"],
        "agent-session-export" => &["agent-session-import", "agent-store-copy"],
        "agent-session-import" => &["agent-session-export"],
        "agent-session-rm" => &["agent-session-prune", "agent-session-ls"],
        "agent-session-prune" => &["agent-session-rm", "agent-session-new"],
        "agent-session-compact" => &["agent-session-stats"],
        "agent-session-stats" => &["agent-session-compact", "agent-models"],
        "agent-store-copy" => &["agent-store-check"],
        "agent-store-check" => &["agent-store-copy", "agent-store-keygen"],
        "agent-store-keygen" => &["agent-store-check"],
        "agent-tool-test" => &["agent-run"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every page of a command that takes a prompt shows how to give it one.
    #[test]
    fn every_prompt_page_has_examples() {
        fn walk(cmd: &Command, name: String, missing: &mut Vec<String>) {
            if takes_prompt(cmd) && examples(&name).is_empty() {
                missing.push(name.clone());
            }
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                walk(sub, format!("{name}-{}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&crate::cli::Cli::command(), "agent".into(), &mut missing);
        assert!(missing.is_empty(), "no EXAMPLES: {missing:?}");
    }
}
