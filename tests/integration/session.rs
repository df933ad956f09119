//! The `agent session` commands against the mock OpenAI server: request bodies, stdout bytes,
//! the document after each command, failures that change nothing.

use std::os::unix::fs::PermissionsExt;

use serde_json::{json, Value};

use crate::util::*;

#[test]
fn new_prints_only_the_id_and_creates_a_private_file() {
    let env = TestEnv::new();
    let out = env.cmd().args(["session", "new", "--system", "Be brief."]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out);
    assert!(id.ends_with('\n') && id.trim().len() == 22, "{id:?}");
    let id = id.trim();
    let doc = env.doc(id);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["id"], id);
    assert_eq!(doc["system"], "Be brief.");
    assert_eq!(doc["messages"], json!([]));
    let mode = std::fs::metadata(env.session_path(id)).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(env.data_dir()).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let _: Value = doc;
}
