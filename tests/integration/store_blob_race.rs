//! Garbage collection racing turns that save attachments, in every store: the blob lock keeps
//! a blob a turn has saved (or found saved) but not yet referred to from being removed under
//! it, so the session's next turn still loads its history.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use agent::provider::Scripted;
use agent::store::{self, BlobSurvey, SessionStore, StoreLock};
use agent::{Agent, Attachment, RunOptions, SessionData, SessionOptions};

use crate::stores::{per_store, Fixture, Kind};
use crate::util::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nrace-image";

/// A store that stops a turn after its first blob is saved, before its document is, until
/// told to go on.
struct Pausing {
    inner: Arc<dyn SessionStore>,
    saved: Mutex<Option<mpsc::Sender<()>>>,
    resume: Mutex<Option<mpsc::Receiver<()>>>,
}

impl SessionStore for Pausing {
    fn save(&self, id: &str, data: &Value) -> agent::Result<()> {
        self.inner.save(id, data)
    }
    fn load(&self, id: &str) -> agent::Result<Option<Value>> {
        self.inner.load(id)
    }
    fn delete(&self, id: &str) -> agent::Result<bool> {
        self.inner.delete(id)
    }
    fn list_sessions(&self) -> agent::Result<Vec<String>> {
        self.inner.list_sessions()
    }
    fn load_document(&self, id: &str) -> agent::Result<Option<SessionData>> {
        self.inner.load_document(id)
    }
    fn save_document(&self, data: &SessionData) -> agent::Result<()> {
        self.inner.save_document(data)
    }
    fn try_lock(&self, id: &str) -> agent::Result<Option<StoreLock>> {
        self.inner.try_lock(id)
    }
    fn try_lock_blobs(&self) -> agent::Result<Option<StoreLock>> {
        self.inner.try_lock_blobs()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn save_blob(&self, sha256: &str, bytes: &[u8]) -> agent::Result<()> {
        self.inner.save_blob(sha256, bytes)?;
        if let Some(saved) = self.saved.lock().unwrap().take() {
            saved.send(()).unwrap();
            let resume = self.resume.lock().unwrap().take().unwrap();
            resume.recv().unwrap();
        }
        Ok(())
    }
    fn load_blob(&self, sha256: &str) -> agent::Result<Option<Vec<u8>>> {
        self.inner.load_blob(sha256)
    }
    fn delete_blob(&self, sha256: &str) -> agent::Result<bool> {
        self.inner.delete_blob(sha256)
    }
    fn list_blobs(&self) -> agent::Result<Vec<String>> {
        self.inner.list_blobs()
    }
}

/// A collection that starts while a turn is between saving its blob and saving its document
/// waits for the turn, then keeps the blob; the session's next turn sends it again.
fn collection_waits_for_a_turns_saves(kind: Kind) {
    let f = Fixture::new(kind);
    let (saved_tx, saved_rx) = mpsc::channel();
    let (resume_tx, resume_rx) = mpsc::channel();
    let pausing = Arc::new(Pausing {
        inner: f.open(),
        saved: Mutex::new(Some(saved_tx)),
        resume: Mutex::new(Some(resume_rx)),
    });
    let model = Scripted::new().reply("a chart").reply("still a chart");
    let agent = Agent::builder()
        .provider_impl(model.clone())
        .model("m")
        .store_arc(pausing)
        .build()
        .unwrap();
    let rt = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let (first, removed) = std::thread::scope(|scope| {
        let turn = scope.spawn(|| {
            let rt = rt();
            let mut session = rt
                .block_on(agent.session_with(SessionOptions::new().session_id("s")))
                .unwrap();
            let image = Attachment::from_bytes(PNG.to_vec(), None).unwrap();
            rt.block_on(session.run_with("look", RunOptions::default().attach(image)))
                .map(|_| ())
        });
        saved_rx.recv().unwrap();
        // The blob is stored, its document not yet: a collection starts, as another process
        // running `session rm` would.
        let (events, seen) = mpsc::channel();
        let other = f.open();
        let gc = scope.spawn(move || {
            let waiting = events.clone();
            let removed =
                store::collect_garbage(&*other, Some(Duration::from_secs(60)), &mut || {
                    let _ = waiting.send("waiting");
                });
            let _ = events.send("finished");
            removed
        });
        let first = seen.recv().unwrap();
        resume_tx.send(()).unwrap();
        turn.join().unwrap().unwrap();
        (first, gc.join().unwrap().unwrap())
    });
    let sha = agent::attachment::sha256_hex(PNG);
    assert_eq!(removed, Vec::<String>::new());
    assert_eq!(f.open().load_blob(&sha).unwrap().as_deref(), Some(PNG));
    assert_eq!(
        first, "waiting",
        "the collection waits for the turn's saves"
    );
    assert_eq!(
        store::survey_blobs(&*f.open()).unwrap(),
        BlobSurvey {
            stored: 1,
            ..BlobSurvey::default()
        }
    );

    let rt = rt();
    let mut session = rt.block_on(agent.load_session("s")).unwrap();
    rt.block_on(session.run("and now?")).unwrap();
    let sent = &model.requests()[1].messages[0];
    assert_eq!(sent.attachments[0].data().map(|d| d.as_ref()), Some(PNG));
}

/// Removals (each collecting garbage) running beside turns that attach images, some the very
/// bytes a removed session had, leave a store `store check` finds whole.
fn removals_beside_turns_stay_consistent(kind: Kind) {
    let (env, server, f) = (TestEnv::new(), MockServer::start(), Fixture::new(kind));
    server.fallback(MockResponse::openai_stream(&["ok"]));
    let url = f.url();
    let image = |n: usize| {
        let path = env.path().join(format!("{n}.png"));
        let mut bytes = PNG.to_vec();
        bytes.extend(n.to_string().as_bytes());
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_string()
    };
    let turn = |id: &str, png: &str| {
        let out = env
            .agent(&server)
            .args(["--store", &url, "session", "run", id, "-a", png, "look"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    };
    let ids: Vec<String> = (0..4)
        .map(|_| {
            let out = env
                .cmd()
                .args(["--store", &url, "session", "new"])
                .output()
                .unwrap();
            stdout(&out).trim().to_string()
        })
        .collect();
    turn(&ids[0], &image(0));
    turn(&ids[1], &image(1));
    std::thread::scope(|scope| {
        for id in &ids[..2] {
            let url = &url;
            let env = &env;
            scope.spawn(move || {
                let out = env
                    .cmd()
                    .args(["--store", url, "session", "rm", id])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{}", stderr(&out));
            });
        }
        // Turns that attach the removed sessions' images again, and new ones.
        for (k, id) in ids[2..].iter().enumerate() {
            let turn = &turn;
            let (again, new) = (image(k), image(10 + k));
            scope.spawn(move || {
                turn(id, &again);
                turn(id, &new);
            });
        }
    });
    let out = env
        .cmd()
        .args(["--store", &url, "store", "check"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let survey = store::survey_blobs(&*f.open()).unwrap();
    assert_eq!(survey.missing, Vec::new());
    assert_eq!(survey.stored, 4);
    for id in &ids[2..] {
        turn(id, &image(99));
    }
}

per_store!(dir: Dir, sqlite: Sqlite, redis: Redis, postgres: Postgres; [
    collection_waits_for_a_turns_saves,
    removals_beside_turns_stay_consistent,
]);
