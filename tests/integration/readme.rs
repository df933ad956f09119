//! Every shell example of the README and of the man pages' EXAMPLES, run as a reader would
//! paste them: in order, in one scratch home and working directory (so later examples see
//! the sessions and files earlier ones made), against a mock that answers every provider's
//! protocol, a throwaway Redis and PostgreSQL standing in for the servers the examples name.
//!
//! The README marks blocks with HTML comments just before them:
//! - `<!-- example: file PATH -->`: the block is the content of `PATH` (a tool file, a script)
//! - `<!-- example: not run (why) -->`: installs or runs the suite itself
//! - `<!-- example: own home (why) -->`: runs in a fresh home (it changes the data directory)
//! - `<!-- example: services -->`: names real servers, which are replaced by the test's own

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::pg::PgServer;
use crate::util::*;

/// A block of shell lines and where it comes from.
#[derive(Debug)]
struct Example {
    place: String,
    code: String,
    own_home: bool,
    services: bool,
}

/// What the README holds: examples in order, files to write first, blocks not run (with why).
#[derive(Debug, Default)]
struct Readme {
    examples: Vec<Example>,
    files: Vec<(String, String)>,
    not_run: Vec<(String, String)>,
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn parse_readme(text: &str) -> Readme {
    let mut out = Readme::default();
    let mut marks: Vec<String> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if let Some(mark) = line
            .strip_prefix("<!-- example:")
            .and_then(|m| m.strip_suffix("-->"))
        {
            marks.push(mark.trim().to_string());
            continue;
        }
        let Some(lang) = line.strip_prefix("```").filter(|l| !l.is_empty()) else {
            if !line.trim().is_empty() {
                marks.clear(); // a mark belongs to the block right after it
            }
            continue;
        };
        let mut code = String::new();
        for (_, l) in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            code.push_str(l);
            code.push('\n');
        }
        let place = format!("README.md:{}", n + 1);
        let mut example = Example {
            place: place.clone(),
            code,
            own_home: false,
            services: false,
        };
        let mut file = None;
        let mut skipped = None;
        for mark in marks.drain(..) {
            if let Some(path) = mark.strip_prefix("file ") {
                file = Some(path.trim().to_string());
            } else if let Some(why) = mark.strip_prefix("not run") {
                skipped = Some(why.trim().to_string());
            } else if mark.starts_with("own home") {
                example.own_home = true;
            } else if mark == "services" {
                example.services = true;
            } else {
                panic!("{place}: unknown example mark '{mark}'");
            }
        }
        match (file, skipped, lang) {
            (Some(path), _, _) => out.files.push((path, example.code)),
            (None, Some(why), _) => out.not_run.push((place, why)),
            (None, None, "sh") => out.examples.push(example),
            _ => {} // yaml, json, toml, rust...: shown, not run
        }
    }
    out
}

/// The EXAMPLES of a man page: each `.nf` … `.fi` block, roff escapes undone.
fn man_examples(name: &str, page: &str) -> Vec<Example> {
    let Some(section) = page.split(".SH EXAMPLES\n").nth(1) else {
        return Vec::new();
    };
    let section = section.split("\n.SH ").next().unwrap();
    section
        .split(".nf\n")
        .skip(1)
        .map(|block| {
            let code = block.split(".fi").next().unwrap();
            let code = code
                .replace("\\*(Aq", "'")
                .replace("\\(aq", "'")
                .replace("\\-", "-")
                .replace("\\\\", "\\");
            Example {
                place: format!("man/{name}"),
                code,
                own_home: false,
                services: false,
            }
        })
        .collect()
}

/// The scratch working directory: the fixtures, a git repository with a change for `git diff`,
/// the committed completions and man pages (the examples copy them), and the README's files.
fn workspace(dir: &Path, files: &[(String, String)]) {
    copy_dir(&repo("tests/fixtures/readme"), dir);
    for sub in ["completions", "man"] {
        std::os::unix::fs::symlink(repo(sub), dir.join(sub)).unwrap();
    }
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.org"])
            .args(args)
            .current_dir(dir)
            .env("HOME", dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    };
    git(&["init", "-q"]);
    git(&["add", "app.py"]);
    git(&["commit", "-q", "-m", "first"]);
    std::fs::write(
        dir.join("app.py"),
        "def total(prices):\n    return sum(prices) * 1.2  # with tax\n",
    )
    .unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        match entry.file_type().unwrap().is_dir() {
            true => copy_dir(&entry.path(), &target),
            false => {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
}

/// Real servers the examples name, and what stands in for them here. Each must be used.
fn services(mock: &MockServer, redis: &RedisServer) -> Vec<(String, String)> {
    vec![
        (
            "llama-server -m model.gguf --port 8080 &".into(),
            ": the test's mock server is already listening".into(),
        ),
        ("http://127.0.0.1:8080/v1".into(), mock.url("/v1")),
        ("http://127.0.0.1:11434/v1".into(), mock.url("/v1")),
        ("redis://ci-redis:6379/2".into(), redis.url()),
        (
            "postgres://ci@db/agent".into(),
            PgServer::shared().fresh_url(),
        ),
    ]
}

/// Run `code` as a pasted block: bash, stopping at the first failing command or pipeline.
fn run_block(code: &str, home: &Path, cwd: &Path, mock: &MockServer) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin!("agent");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = format!("set -eo pipefail\n{code}");
    let mut cmd = assert_cmd::Command::new("bash");
    cmd.args(["--norc", "--noprofile", "-c", &script])
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("TERM", "dumb")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "80")
        .env("TMPDIR", cwd)
        .env("GITHUB_RUN_ID", "4242")
        .env("SHA", "3f9c2e1")
        .env("OPENAI_API_KEY", KEY)
        .env("OPENAI_BASE_URL", mock.url("/v1"))
        .env("ANTHROPIC_API_KEY", KEY)
        .env("ANTHROPIC_BASE_URL", mock.url(""))
        .env("GEMINI_API_KEY", KEY)
        .env("GEMINI_BASE_URL", mock.url(""))
        .env("OLLAMA_HOST", mock.url(""))
        .current_dir(cwd)
        .write_stdin("")
        .timeout(Duration::from_secs(120));
    cmd.output().unwrap()
}

#[test]
fn every_readme_and_man_page_example_runs() {
    for (tool, hint) in [
        ("bash", "apt-get install -y bash"),
        ("git", "apt-get install -y git"),
        ("jq", "apt-get install -y jq"),
        ("man", "apt-get install -y man-db"),
        ("python3", "apt-get install -y python3"),
    ] {
        if !require(tool, hint) {
            return;
        }
    }
    let readme = parse_readme(&std::fs::read_to_string(repo("README.md")).unwrap());
    let mut examples = readme.examples;
    for name in file_names(&repo("man")) {
        let page = std::fs::read_to_string(repo("man").join(&name)).unwrap();
        examples.extend(man_examples(&name, &page));
    }
    // Only the install and test commands are left out, each saying why.
    let skipped: Vec<&str> = readme.not_run.iter().map(|(_, why)| why.as_str()).collect();
    assert_eq!(skipped.len(), 2, "{:?}", readme.not_run);
    assert!(skipped.iter().all(|why| why.len() > 10), "{skipped:?}");
    assert!(examples.len() >= 30, "{} examples", examples.len());

    let mock = crate::universal::start();
    let redis = RedisServer::start();
    let replacements = services(&mock, &redis);
    let mut used = vec![false; replacements.len()];
    let scratch = tempfile::tempdir().unwrap();
    let (home, cwd) = (scratch.path().join("home"), scratch.path().join("work"));
    std::fs::create_dir_all(&home).unwrap();
    workspace(&cwd, &readme.files);

    let mut failures = Vec::new();
    for (i, ex) in examples.iter().enumerate() {
        let mut code = ex.code.clone();
        if ex.services {
            for (j, (real, ours)) in replacements.iter().enumerate() {
                if code.contains(real.as_str()) {
                    code = code.replace(real.as_str(), ours);
                    used[j] = true;
                }
            }
        }
        let own = scratch.path().join(format!("home-{i}"));
        let home = match ex.own_home {
            true => {
                std::fs::create_dir_all(&own).unwrap();
                own.as_path()
            }
            false => home.as_path(),
        };
        let out = run_block(&code, home, &cwd, &mock);
        if !out.status.success() {
            failures.push(format!(
                "{} (exit {:?}):\n{}\n--- stdout:\n{}--- stderr:\n{}",
                ex.place,
                out.status.code(),
                ex.code,
                stdout(&out),
                stderr(&out)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        used.iter().all(|u| *u),
        "a stand-in no example needs: {:?}",
        replacements
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(r, _)| &r.0)
            .collect::<Vec<_>>()
    );

    // The examples reached every protocol.
    let paths: Vec<String> = mock.requests().iter().map(|r| r.path.clone()).collect();
    for endpoint in [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/messages",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        "/api/chat",
    ] {
        assert!(
            paths.iter().any(|p| p == endpoint),
            "{endpoint} in {paths:?}"
        );
    }
    // The tool example works as copied: the model's call ran the script, whose orders were
    // fed back.
    let support =
        std::fs::read_to_string(home.join(".local/share/agent/sessions/support.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&support).unwrap();
    let results: Vec<&str> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(
        results
            .first()
            .is_some_and(|r| r.contains("\"item\": \"Laptop\"")),
        "{results:?}"
    );
}

#[test]
fn the_readme_marks_are_read() {
    let readme = parse_readme(
        "intro\n<!-- example: file t/x.yaml -->\n```yaml\nname: x\n```\n\n\
         <!-- example: not run (installs things) -->\n```sh\ncargo install\n```\n\
         <!-- example: services -->\n\n```sh\nagent run hi\n```\ntext\n```sh\nagent ls\n```\n",
    );
    assert_eq!(readme.files, [("t/x.yaml".into(), "name: x\n".into())]);
    assert_eq!(readme.not_run.len(), 1);
    assert_eq!(readme.examples.len(), 2);
    assert!(readme.examples[0].services && !readme.examples[1].services);
    let page =
        ".SH EXAMPLES\n.TP\n\\fIx\\fR\n.nf\nagent \\-\\-x \\*(Aqa\\*(Aq\n.fi\n.SH \"SEE ALSO\"\n";
    assert_eq!(man_examples("a.1", page)[0].code, "agent --x 'a'\n");
}
