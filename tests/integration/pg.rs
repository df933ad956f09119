//! A throwaway PostgreSQL server for the tests: `initdb` once per test binary into a short
//! temp dir, then `postgres` on 127.0.0.1:<free port>, each test in a schema of its own.
//!
//! - Binaries: `$AGENT_TEST_PG_BIN`, else the highest `/usr/lib/postgresql/*/bin` (Debian puts
//!   the server there, off the PATH), else the PATH. Missing, the tests fail with the install
//!   hint; they never skip.
//! - As root (CI), initdb and postgres refuse to run, so both run as the `postgres` account
//!   that Debian's package creates, and the temp dir is given to it.
//! - The server stops when the test process ends: `PR_SET_PDEATHSIG`, set from a thread that
//!   lives as long as the process (the signal follows the forking thread). A later run removes
//!   the dirs of runs that are gone.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "the PostgreSQL server (initdb, postgres) is not installed; the \
    PostgreSQL store tests need it: apt-get install -y postgresql (or set AGENT_TEST_PG_BIN to \
    the directory holding initdb and postgres)";

/// The test binary's PostgreSQL server.
pub struct PgServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl PgServer {
    /// The one server of this process, started on first use.
    pub fn shared() -> &'static PgServer {
        static SERVER: OnceLock<PgServer> = OnceLock::new();
        SERVER.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("pg-keeper".into())
                .spawn(move || {
                    let started = std::panic::catch_unwind(PgServer::start);
                    let ok = started.is_ok();
                    let _ = tx.send(started);
                    if ok {
                        // The server's death signal follows this thread: it must never end.
                        loop {
                            std::thread::park();
                        }
                    }
                })
                .unwrap();
            match rx.recv().unwrap() {
                Ok(server) => server,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// `postgres://agent@127.0.0.1:PORT/postgres` (trust authentication).
    pub fn base_url(&self) -> String {
        format!("postgres://agent@127.0.0.1:{}/postgres", self.port)
    }

    /// A URL to a schema no other test uses.
    pub fn fresh_url(&self) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        format!("{}?schema=t_{}_{n}", self.base_url(), std::process::id())
    }

    /// A client of its own, for tests that look behind the store's back.
    pub fn client(&self) -> ::postgres::Client {
        ::postgres::Client::connect(&self.base_url(), ::postgres::NoTls).unwrap()
    }

    fn start() -> PgServer {
        let bin = bindir().unwrap_or_else(|| panic!("{INSTALL_HINT}"));
        let who = run_as();
        sweep_stale();
        // Short: the socket `<dir>/.s.PGSQL.<port>` must fit in 107 bytes.
        let dir = tempfile::Builder::new()
            .prefix("agent-pg-")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        std::fs::write(dir.join("owner.pid"), std::process::id().to_string()).unwrap();
        if let Some((uid, gid)) = who {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        let out = command(&bin, "initdb", who)
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-U", "agent", "--auth=trust", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.join("initdb").display()));
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Another process may take the port between our probe and the server's bind.
        for _ in 0..10 {
            let port = crate::util::free_port();
            let mut child = spawn(&bin, who, &dir, port);
            let until = Instant::now() + Duration::from_secs(30);
            while Instant::now() < until {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if ready(&dir, port) {
                    return PgServer { child, port, dir };
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        panic!("postgres did not start on 127.0.0.1; its log:\n{log}");
    }
}

/// Where initdb and postgres are.
fn bindir() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = std::env::var_os("AGENT_TEST_PG_BIN").map(PathBuf::from) {
        return has(&d).then_some(d);
    }
    let mut best: Option<(u32, PathBuf)> = None;
    for e in std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
    {
        let Some(major) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let d = e.path().join("bin");
        if has(&d) && best.as_ref().is_none_or(|(m, _)| major > *m) {
            best = Some((major, d));
        }
    }
    best.map(|(_, d)| d).or_else(|| {
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).find(|d| has(d)))
    })
}

/// The uid and gid to run the server as: ourselves, or as root the `postgres` account.
fn run_as() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    for name in [c"postgres", c"nobody"] {
        let pw = unsafe { libc::getpwnam(name.as_ptr()) };
        if !pw.is_null() {
            return Some(unsafe { ((*pw).pw_uid, (*pw).pw_gid) });
        }
    }
    panic!("running as root with no 'postgres' account to run the test server as");
}

fn command(bin: &Path, program: &str, who: Option<(u32, u32)>) -> Command {
    let mut c = Command::new(bin.join(program));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PG") {
            c.env_remove(k);
        }
    }
    c.env("LC_ALL", "C").env("LANG", "C");
    if let Some((uid, gid)) = who {
        c.uid(uid).gid(gid).env("HOME", "/tmp");
    }
    c
}

fn spawn(bin: &Path, who: Option<(u32, u32)>, dir: &Path, port: u16) -> Child {
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    if let Some((uid, gid)) = who {
        std::os::unix::fs::chown(dir.join("server.log"), Some(uid), Some(gid)).unwrap();
    }
    let mut c = command(bin, "postgres", who);
    c.arg("-D")
        .arg(dir.join("data"))
        .args(["-p", &port.to_string()])
        .arg("-k")
        .arg(dir)
        .args(["-c", "listen_addresses=127.0.0.1"])
        // No durability: a test server.
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off", "-c", "wal_level=minimal"])
        .args(["-c", "max_wal_senders=0", "-c", "max_connections=300"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // Runs after std's setuid (which would clear it): stop when the keeper thread ends.
    unsafe {
        c.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
            Ok(())
        });
    }
    c.spawn().expect("cannot start postgres")
}

/// `postmaster.pid` says ready (what `pg_ctl -w` reads) and the port answers.
fn ready(dir: &Path, port: u16) -> bool {
    let pid = std::fs::read_to_string(dir.join("data/postmaster.pid")).unwrap_or_default();
    pid.lines().nth(7).map(str::trim) == Some("ready")
        && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn dead(pid: i32) -> bool {
    let rc = unsafe { libc::kill(pid, 0) };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Remove the dirs of earlier runs whose test process and server are both gone.
fn sweep_stale() {
    for e in std::fs::read_dir("/tmp").into_iter().flatten().flatten() {
        if !e.file_name().to_string_lossy().starts_with("agent-pg-") {
            continue;
        }
        let pid_of = |f: &str| {
            std::fs::read_to_string(e.path().join(f))
                .ok()
                .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<i32>().ok()))
        };
        let owner_gone = pid_of("owner.pid").is_some_and(dead);
        let server_gone = pid_of("data/postmaster.pid").is_none_or(dead);
        if owner_gone && server_gone {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
