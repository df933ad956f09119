//! The EXAMPLES section of each man page: pipelines worth copying. Every page whose command
//! takes a prompt has some, and the README test runs them all against its mock servers, in
//! the same workspace as the README's own examples (so `review` and the files they read exist).

/// `(what it does, the shell lines)` for the page `name`.
pub(crate) fn examples(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "agent" => &[
            ("Ask once; nothing is saved", "agent 'Name three rivers in France'"),
            (
                "Review a diff in a stored session",
                "id=$(agent session new -s 'You review code.')\ngit diff | agent session run \"$id\" 'Review this'\nagent session run \"$id\" 'Which change is riskiest?'",
            ),
            ("Continue the session used last", "agent run -c 'And in Spain?'"),
            (
                "Structured output in a pipeline",
                "cat notes.md | agent json --schema 'title, tags [str]: a few keywords' | jq .tags",
            ),
            (
                "Check prompt assembly in CI without calling the model",
                "agent session run review --dry-run 'Summarise' | jq .messages",
            ),
            (
                "A scripted conversation, one turn per line",
                "printf 'hi\\nwhat did I say?\\n' | agent session chat scripted --create --lines",
            ),
        ],
        "agent-run" => &[
            ("One-shot", "echo 'def f(x): return x*2' | agent run 'Explain this code'"),
            ("Keep it as a session", "agent run --save 'Plan a trip'   # the id goes to stderr"),
            ("Continue the most recently used session", "agent run -c 'Make it shorter'"),
            ("A prompt that is also a command name", "agent run session"),
        ],
        "agent-json" => &[
            (
                "Extract records, one JSON object per line",
                "agent json --multi --jsonl --schema 'name, email' < contacts.txt",
            ),
            (
                "A schema file, and jq on the result",
                "agent json --schema person.json 'Extract the people' < article.txt | jq -r '.people[].name'",
            ),
        ],
        "agent-chat" => &[
            ("Interactive, in a new session", "agent chat -s 'You are terse.'"),
            ("Piped text as the first message", "cat notes.md | agent chat"),
        ],
        "agent-session-run" => &[
            (
                "Create on first use",
                "agent session run notes --create -s 'Be brief.' 'Remember: milk'",
            ),
            ("Feed a file", "agent session run notes < todo.txt"),
            ("Continue the session used last", "agent session run last 'And eggs?'"),
        ],
        "agent-session-json" => &[(
            "Structured output that stays in the session",
            "agent session json review --schema 'risk int, reason' 'Rate the risk from 1 to 5'\nagent session run review 'Why that number?'",
        )],
        "agent-session-chat" => &[
            (
                "Interactive, made on first use",
                "agent session chat notes --create -s 'Be brief.'",
            ),
            (
                "Scripted, one turn per line",
                "printf 'hi\\nwhat did I say?\\n' | agent session chat notes --create --lines",
            ),
        ],
        "agent-session-ls" => &[
            ("Ids of the five latest sessions", "agent session ls --ids --limit 5"),
            ("Find a conversation", "agent session ls --search milk"),
        ],
        "agent-session-show" => &[(
            "A Markdown transcript",
            "agent session show notes --format markdown > notes-transcript.md",
        )],
        "agent-session-rm" => &[(
            "What would go, then remove it",
            "agent session rm --older-than 30d --dry-run\nagent session rm --older-than 30d",
        )],
        "agent-session-prune" => &[(
            "Keep the 100 most recently used sessions: list first",
            "agent session prune --keep 100 --dry-run",
        )],
        "agent-store-copy" => &[(
            "Move the data directory into SQLite",
            "agent store copy dir:~/.local/share/agent sqlite:~/sessions.db\nagent --store sqlite:~/sessions.db session ls",
        )],
        _ => &[],
    }
}
