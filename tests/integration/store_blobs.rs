//! Attachment blobs in every store: stored once by SHA-256 with the turn that sent them, shared
//! by a fork, removed with the last session that refers to them, copied by `store copy`, and
//! sealed like the documents where the store encrypts.

use crate::stores::{per_store, Fixture, Kind};
use crate::util::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nstore-image";

fn blobs_lifecycle(kind: Kind) {
    let (env, server, f) = (TestEnv::new(), MockServer::start(), Fixture::new(kind));
    server.fallback(MockResponse::openai_stream(&["ok"]));
    let url = f.url();
    let png = env.path().join("p.png");
    std::fs::write(&png, PNG).unwrap();
    let sha = agent::attachment::sha256_hex(PNG);
    let out = env
        .cmd()
        .args(["--store", &url, "session", "new"])
        .output()
        .unwrap();
    let id = stdout(&out).trim().to_string();
    for prompt in ["one", "two"] {
        let out = env
            .agent(&server)
            .args([
                "--store",
                &url,
                "session",
                "run",
                &id,
                "-a",
                png.to_str().unwrap(),
                prompt,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let store = f.open();
    assert_eq!(store.list_blobs().unwrap(), vec![sha.clone()]);
    assert_eq!(store.load_blob(&sha).unwrap().unwrap(), PNG);
    // Both turns re-sent the bytes read back from this store.
    let body = server.body(1);
    assert_eq!(
        body["messages"][0]["content"][0],
        body["messages"][2]["content"][0]
    );

    // `store copy` brings the bytes along.
    let copy = format!("dir:{}", env.path().join("copy").display());
    env.cmd()
        .args(["store", "copy", &url, &copy])
        .assert()
        .success();
    let copied = agent::store::open(&copy).unwrap();
    assert_eq!(copied.load_blob(&sha).unwrap().unwrap(), PNG);

    let out = env
        .cmd()
        .args(["--store", &url, "session", "fork", &id])
        .output()
        .unwrap();
    let fork = stdout(&out).trim().to_string();
    env.cmd()
        .args(["--store", &url, "session", "rm", &id])
        .assert()
        .success();
    assert_eq!(f.open().list_blobs().unwrap(), vec![sha.clone()]);
    env.cmd()
        .args(["--store", &url, "session", "rm", &fork])
        .assert()
        .success();
    assert_eq!(f.open().list_blobs().unwrap(), Vec::<String>::new());
    let out = env
        .cmd()
        .args(["--store", &url, "store", "check"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

/// An encrypting store seals the blob: its bytes are not in the store in clear.
fn blobs_are_sealed(kind: Kind) {
    let (env, server, f) = (TestEnv::new(), MockServer::start(), Fixture::new(kind));
    server.fallback(MockResponse::openai_stream(&["ok"]));
    let key = agent::EncryptionKey::generate_base64().unwrap();
    let url = format!(
        "{}{}encrypt",
        f.url(),
        if f.url().contains('?') { "&" } else { "?" }
    );
    let png = env.path().join("p.png");
    std::fs::write(&png, PNG).unwrap();
    let run = |args: &[&str]| {
        env.agent(&server)
            .env("AGENT_STORE_KEY", &key)
            .args(["--store", &url])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["session", "new"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    let out = run(&["session", "run", &id, "-a", png.to_str().unwrap(), "look"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sha = agent::attachment::sha256_hex(PNG);
    // Opened without the key, the raw blob is not the image.
    let plain = agent::store::open(&f.url()).unwrap();
    let raw = plain.load_blob(&sha);
    assert!(!matches!(raw, Ok(Some(ref b)) if b == PNG), "{raw:?}");
    let out = run(&["session", "run", &id, "again"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.body(1)["messages"][0], server.body(0)["messages"][0]);
}

per_store!(dir: Dir, sqlite: Sqlite, redis: Redis, postgres: Postgres; [
    blobs_lifecycle,
    blobs_are_sealed,
]);
