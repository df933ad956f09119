//! `--record`, `--replay`, `--replay-or-record` and their variables (`AGENT_RECORD`,
//! `AGENT_REPLAY`, `AGENT_REPLAY_OR_RECORD`), so a whole CI job switches at once: a flag wins
//! over every variable; two variables at once are a usage error.

use std::path::PathBuf;

use agent::provider::Cassette;
use agent::Error;

use crate::cli::ModelArgs;
use crate::locate::Env;

const VARS: [&str; 3] = ["AGENT_RECORD", "AGENT_REPLAY", "AGENT_REPLAY_OR_RECORD"];

fn make(i: usize, dir: PathBuf) -> Cassette {
    match i {
        0 => Cassette::record(dir),
        1 => Cassette::replay(dir),
        _ => Cassette::replay_or_record(dir),
    }
}

/// The cassette the environment asks for.
pub(super) fn from_env(env: &Env) -> agent::Result<Option<Cassette>> {
    let set: Vec<(usize, &str)> = VARS
        .iter()
        .enumerate()
        .filter_map(|(i, v)| env.get(v).map(|d| (i, d)))
        .collect();
    match set.as_slice() {
        [] => Ok(None),
        [(i, dir)] => Ok(Some(make(*i, PathBuf::from(dir)))),
        _ => Err(Error::Usage(format!(
            "set one of {} at a time, not {}",
            VARS.join(", "),
            set.iter()
                .map(|(i, _)| VARS[*i])
                .collect::<Vec<_>>()
                .join(" and ")
        ))),
    }
}

/// The cassette of a model call: its flag, else the environment's.
pub(super) fn resolve(args: &ModelArgs, default: &Option<Cassette>) -> Option<Cassette> {
    let flags = [&args.record, &args.replay, &args.replay_or_record];
    flags
        .into_iter()
        .enumerate()
        .find_map(|(i, f)| f.clone().map(|d| make(i, d)))
        .or_else(|| default.clone())
}
