//! Completions and man pages: the committed files match what the binary generates, man pages
//! render without warnings, and bash's TAB on `agent session show` offers the stored ids.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

const SHELLS: &[(&str, &str)] = &[
    ("bash", "agent.bash"),
    ("zsh", "_agent"),
    ("fish", "agent.fish"),
    ("elvish", "agent.elv"),
    ("powershell", "_agent.ps1"),
];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn committed_completions_are_fresh() {
    let env = TestEnv::new();
    let tmp = env.path().join("completions");
    std::fs::create_dir(&tmp).unwrap();
    for (shell, file) in SHELLS {
        env.cmd()
            .args(["generate", "completions", shell, "--dir"])
            .arg(&tmp)
            .assert()
            .success();
        let fresh = std::fs::read_to_string(tmp.join(file)).unwrap();
        let committed = std::fs::read_to_string(repo("completions").join(file)).unwrap_or_default();
        assert!(
            fresh == committed,
            "completions/{file} is stale; refresh it with:\n  cargo run -q -- generate completions {shell} --dir completions"
        );
    }
    assert_eq!(file_names(&tmp), file_names(&repo("completions")));
}

#[test]
fn committed_man_pages_are_fresh() {
    let env = TestEnv::new();
    let tmp = env.path().join("man");
    env.cmd()
        .args(["generate", "man", "--dir"])
        .arg(&tmp)
        .assert()
        .success();
    let refresh = "refresh them with:\n  rm -rf man && cargo run -q -- generate man --dir man";
    let names = file_names(&tmp);
    assert_eq!(names, file_names(&repo("man")), "man/ is stale; {refresh}");
    for name in &names {
        let fresh = std::fs::read(tmp.join(name)).unwrap();
        let committed = std::fs::read(repo("man").join(name)).unwrap();
        assert!(fresh == committed, "man/{name} is stale; {refresh}");
    }
    for page in [
        "agent.1",
        "agent-session-run.1",
        "agent-session-chat.1",
        "agent-run.1",
    ] {
        assert!(names.iter().any(|n| n == page), "{page} in {names:?}");
    }
    assert!(
        !names.iter().any(|n| n.contains("generate")),
        "generate is hidden"
    );
}

#[test]
fn the_main_page_has_the_sections_and_every_variable() {
    let page = std::fs::read_to_string(repo("man/agent.1")).unwrap();
    for section in ["ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES"] {
        assert!(
            page.contains(&format!(".SH \"{section}\""))
                || page.contains(&format!(".SH {section}")),
            "{section}"
        );
    }
    for var in [
        "AGENT_DATA_DIR",
        "AGENT_CONFIG",
        "AGENT_PROVIDER",
        "AGENT_MODEL",
        "AGENT_STORE",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "GEMINI_API_KEY",
        "GEMINI_BASE_URL",
        "OLLAMA_HOST",
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "NO_COLOR",
    ] {
        assert!(page.contains(var), "{var} missing from ENVIRONMENT");
    }
    assert!(page.contains("130"), "the exit-code table");
    // ENVIRONMENT lists variables, nothing else (a config key is prose after the list).
    let env = page.split(".SH ENVIRONMENT").nth(1).unwrap();
    let env = env.split(".SH ").next().unwrap();
    for term in env.split(".TP\n").skip(1) {
        let name = term
            .lines()
            .next()
            .unwrap()
            .replace("\\fB", "")
            .replace("\\fR", "");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            "not a variable in ENVIRONMENT: {name}"
        );
    }
}

/// What every page has: the program and version in the footer, placeholders for the values
/// in the synopsis, related pages, and examples where a prompt is taken.
#[test]
fn every_man_page_has_a_footer_placeholders_and_related_pages() {
    let version = env!("CARGO_PKG_VERSION");
    for name in file_names(&repo("man")) {
        let page = std::fs::read_to_string(repo("man").join(&name)).unwrap();
        let title = name.trim_end_matches(".1");
        assert!(
            page.starts_with(&format!(".TH {title} 1 \"\" \"agent {version}\" ")),
            "{name}: {}",
            page.lines().next().unwrap()
        );
        if title != "agent" {
            assert!(page.contains(".SH \"SEE ALSO\""), "{name}");
            assert!(page.contains("\\fBagent\\fR(1)"), "{name} names agent(1)");
        }
        if page.contains("[\\fIPROMPT\\fR]") {
            assert!(page.contains(".SH EXAMPLES"), "{name} takes a prompt");
        }
    }
    let run = std::fs::read_to_string(repo("man/agent-session-run.1")).unwrap();
    let synopsis = run.split(".SH SYNOPSIS").nth(1).unwrap();
    let synopsis = synopsis.split(".SH").next().unwrap();
    assert!(
        synopsis.contains("[\\fB\\-\\-context\\fR \\fI<POLICY>\\fR]")
            && synopsis.contains("[GLOBAL OPTIONS] <\\fIID\\fR> [\\fIPROMPT\\fR]..."),
        "{synopsis}"
    );
    assert!(run.contains(".SH \"GLOBAL OPTIONS\""));
    // Possible values on one line.
    let main = std::fs::read_to_string(repo("man/agent.1")).unwrap();
    assert!(
        main.contains("\\fIPossible values:\\fR auto, always, never."),
        "one line of values"
    );
}

#[test]
fn man_pages_render_without_warnings() {
    // .ci/run installs man-db and groff-base.
    let man = require("man", "apt-get install -y man-db");
    let groff = require("groff", "apt-get install -y groff-base");
    for name in file_names(&repo("man")) {
        let path = repo("man").join(&name);
        // Both an ASCII terminal (LANG unset, as in CI and cron) and a UTF-8 one: a
        // character without an ASCII glyph warns in the first.
        for locale in ["C", "C.UTF-8"].into_iter().filter(|_| man) {
            let out = Command::new("man")
                .arg("-l")
                .arg(&path)
                .env("LC_ALL", locale)
                .env("MANWIDTH", "80")
                .env("MANPAGER", "cat")
                .env("PAGER", "cat")
                .output()
                .unwrap();
            assert!(out.status.success(), "{name}: {}", stderr(&out));
            assert_eq!(stderr(&out), "", "LC_ALL={locale} man -l {name} warns");
        }
        if groff {
            // -ww: every warning, which `man` keeps quiet about; -k: preconv, as man runs it,
            // so UTF-8 in help texts (…) is input, not an error.
            let out = Command::new("groff")
                .args(["-k", "-ww", "-man", "-Tutf8", "-z"])
                .arg(&path)
                .output()
                .unwrap();
            assert_eq!(stderr(&out), "", "groff -ww {name} warns");
        }
    }
}

/// The words bash makes of `line` for a completion function: split at blanks, then at runs of
/// `COMP_WORDBREAKS` characters (by default these, with quotes and blanks), each run a word of
/// its own: `--store=sqlite:/a` is `--store`, `=`, `sqlite`, `:`, `/a`. A line ending in a blank
/// has an empty last word.
fn bash_words(line: &str) -> Vec<String> {
    let breaks = "=:><;|&(";
    let mut words = Vec::new();
    for blank_word in line.split(' ').filter(|w| !w.is_empty()) {
        let mut piece = String::new();
        for c in blank_word.chars() {
            let switch = piece
                .chars()
                .last()
                .is_some_and(|last| breaks.contains(last) != breaks.contains(c));
            if switch {
                words.push(std::mem::take(&mut piece));
            }
            piece.push(c);
        }
        words.push(piece);
    }
    if line.ends_with(' ') {
        words.push(String::new());
    }
    words
}

/// Run bash's completion function from `completions/agent.bash` for `line` (the cursor at its
/// end, split into words as bash would), with the built `agent` first on PATH, and return
/// COMPREPLY: what bash would put in place of the last word.
fn bash_complete_line(env: &TestEnv, line: &str) -> Vec<String> {
    let words = bash_words(line);
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _clap_complete_agent agent '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        repo("completions/agent.bash").display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .env_clear()
        .env("PATH", path_with_agent())
        .env("HOME", env.path().join("home"))
        .env("AGENT_DATA_DIR", env.data_dir())
        .env("XDG_CONFIG_HOME", env.path().join("config"))
        .current_dir(repo(""))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

/// [`bash_complete_line`] for a line given as its blank-separated words (the last one being
/// completed).
fn bash_complete(env: &TestEnv, words: &[&str]) -> Vec<String> {
    bash_complete_line(env, &words.join(" "))
}

#[test]
fn bash_completes_session_ids() {
    let env = TestEnv::new();
    for id in ["alpha", "beta", "other"] {
        env.cmd()
            .args(["session", "new", "--id", id])
            .assert()
            .success();
    }
    let all = bash_complete(&env, &["agent", "session", "show", ""]);
    for id in ["alpha", "beta", "other"] {
        assert!(all.iter().any(|c| c == id), "{id} in {all:?}");
    }
    assert_eq!(
        bash_complete(&env, &["agent", "session", "run", "b"]),
        ["beta"]
    );
    assert_eq!(
        bash_complete(&env, &["agent", "run", "--cid", "o"]),
        ["other"]
    );
    // A --data-dir typed on the line wins over the environment.
    let other = TestEnv::new();
    other
        .cmd()
        .args(["session", "new", "--id", "elsewhere"])
        .assert()
        .success();
    let dir = other.data_dir().display().to_string();
    assert_eq!(
        bash_complete(&env, &["agent", "--data-dir", &dir, "session", "show", ""])[0],
        "elsewhere"
    );
    // So does the store the line names (an SQLite file here).
    let db = format!("sqlite:{}", env.path().join("s.db").display());
    env.cmd()
        .args(["--store", &db, "session", "new", "--id", "in-sqlite"])
        .assert()
        .success();
    assert_eq!(
        bash_complete(&env, &["agent", "--store", &db, "session", "rm", "in"]),
        ["in-sqlite"]
    );
    let subs = bash_complete(&env, &["agent", "session", "r"]);
    assert!(subs.contains(&"rename".to_string()), "{subs:?}");
}

/// bash splits `sqlite:/path` and `--store=…` into pieces at `:` and `=`; the store the line
/// names is still found, and what bash inserts fits the piece it replaces.
#[test]
fn bash_completes_after_colons_and_equals() {
    let env = TestEnv::new();
    let db = format!("sqlite:{}", env.path().join("s.db").display());
    env.cmd()
        .args(["--store", &db, "session", "new", "--id", "in-sqlite"])
        .passes();
    assert_eq!(
        bash_complete_line(&env, &format!("agent --store {db} session show ")),
        ["in-sqlite"]
    );
    assert_eq!(
        bash_complete_line(&env, &format!("agent --store={db} session show in")),
        ["in-sqlite"]
    );
    // Completing the URL's path itself: bash replaces only what follows the last `:`.
    let typed = format!("{}/s.", env.path().display());
    assert_eq!(
        bash_complete_line(&env, &format!("agent --store sqlite:{typed}")),
        [format!("{typed}db")]
    );
    assert_eq!(
        bash_complete_line(&env, &format!("agent --store=sqlite:{typed}")),
        [format!("{typed}db")]
    );
}

/// Ids come most recently used first, and flags only once the word starts with `-`.
#[test]
fn ids_come_newest_first_and_flags_only_after_a_dash() {
    let env = env_with_ids(&["old", "newer", "middle"]);
    env.set_times(
        "old",
        "2026-01-01T00:00:00.000Z",
        "2026-01-02T00:00:00.000Z",
    );
    env.set_times(
        "newer",
        "2026-01-01T00:00:00.000Z",
        "2026-03-01T00:00:00.000Z",
    );
    env.set_times(
        "middle",
        "2026-01-01T00:00:00.000Z",
        "2026-02-01T00:00:00.000Z",
    );
    assert_eq!(
        bash_complete(&env, &["agent", "session", "show", ""]),
        ["newer", "middle", "old"]
    );
    let flags = bash_complete(&env, &["agent", "session", "show", "-"]);
    assert!(flags.contains(&"--json".to_string()), "{flags:?}");
    assert!(flags.contains(&"--store".to_string()), "{flags:?}");
    // Where nothing but flags can go, an empty word offers them.
    let ls = bash_complete(&env, &["agent", "session", "ls", ""]);
    assert!(ls.contains(&"--json".to_string()), "{ls:?}");
}

#[test]
fn bash_completes_providers_model_aliases_and_tool_files() {
    let env = TestEnv::new();
    env.write_config(
        "model: gpt-4o\nproviders:\n  openrouter: {kind: openai}\nmodels:\n  fast: {provider: anthropic, model: claude-haiku-4-5}\n",
    );
    let providers = bash_complete(&env, &["agent", "run", "--provider", ""]);
    for p in ["openai", "anthropic", "gemini", "ollama"] {
        assert!(providers.contains(&p.to_string()), "{providers:?}");
    }
    assert!(
        providers.contains(&"openrouter".to_string()),
        "{providers:?}"
    );
    let models = bash_complete(&env, &["agent", "run", "-m", ""]);
    assert!(models.contains(&"fast".to_string()), "{models:?}");
    assert!(models.contains(&"gpt-4o".to_string()), "{models:?}");
    assert!(
        models.contains(&"claude-haiku-4-5".to_string()),
        "{models:?}"
    );
    // Tool files are paths.
    assert_eq!(
        bash_complete(
            &env,
            &["agent", "run", "--tool", "tests/fixtures/tools/get_"]
        ),
        ["tests/fixtures/tools/get_user_orders.yaml"]
    );
}

/// PATH with the built `agent` first, for shells that call it back.
fn path_with_agent() -> String {
    let bin = assert_cmd::cargo::cargo_bin!("agent");
    format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn env_with_ids(ids: &[&str]) -> TestEnv {
    let env = TestEnv::new();
    for id in ids {
        env.cmd()
            .args(["session", "new", "--id", id])
            .assert()
            .success();
    }
    env
}

#[test]
fn fish_completes_session_ids() {
    if !require("fish", "apt-get install -y fish") {
        return;
    }
    let env = env_with_ids(&["alpha", "beta"]);
    env.cmd()
        .args([
            "session",
            "new",
            "--id",
            "titled",
            "--title",
            "Release notes",
        ])
        .passes();
    let script = format!(
        "source '{}'; complete -C 'agent session show '",
        repo("completions/agent.fish").display()
    );
    let complete = || {
        Command::new("fish")
            .args(["--no-config", "-c", &script])
            .env("PATH", path_with_agent())
            .env("HOME", env.path().join("home"))
            .env("AGENT_DATA_DIR", env.data_dir())
            .output()
            .unwrap()
    };
    let out = complete();
    let text = stdout(&out);
    // The first TAB builds the listing cache; the next is answered from it alone, the same.
    let cache = env.data_dir().join("ls-cache.json");
    let built = std::fs::metadata(&cache).unwrap().modified().unwrap();
    assert_eq!(stdout(&complete()), text);
    assert_eq!(
        std::fs::metadata(&cache).unwrap().modified().unwrap(),
        built
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&"alpha") && lines.contains(&"beta"),
        "{lines:?} {}",
        stderr(&out)
    );
    assert!(lines.contains(&"titled\tRelease notes"), "{lines:?}");
    assert!(
        !lines.iter().any(|l| l.starts_with('-')),
        "no flags for an empty word: {lines:?}"
    );
}

/// zsh completes only in an interactive shell: drive one on a pseudo-terminal (zsh/zpty),
/// with `_agent` autoloaded from `$fpath` as the README installs it, and press TAB once.
#[test]
fn zsh_completes_session_ids_from_fpath_on_the_first_tab() {
    if !require("zsh", "apt-get install -y zsh") {
        return;
    }
    let env = env_with_ids(&["alpha", "beta"]);
    env.cmd()
        .args([
            "session",
            "new",
            "--id",
            "titled",
            "--title",
            "Release notes",
        ])
        .passes();
    let script = format!(
        r#"zmodload zsh/zpty
zpty z 'PS1="%% " zsh -f -i'
zpty -w z 'fpath=({} $fpath); autoload -U compinit; compinit -u'
sleep 1
zpty -w -n z $'agent session show \t'
sleep 2
out=""
while zpty -r -t z chunk; do out+=$chunk; done
print -r -- "$out"
"#,
        repo("completions").display()
    );
    let out = Command::new("zsh")
        .args(["-f", "-c", &script])
        .env("PATH", path_with_agent())
        .env("HOME", env.path().join("home"))
        .env("AGENT_DATA_DIR", env.data_dir())
        .env("TERM", "dumb")
        .output()
        .unwrap();
    let screen = stdout(&out);
    let after_tab = screen.rsplit("compinit -u").next().unwrap_or("");
    assert!(
        after_tab.contains("alpha")
            && after_tab.contains("beta")
            && after_tab.contains("Release notes"),
        "{screen:?} {}",
        stderr(&out)
    );
}
