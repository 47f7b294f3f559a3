//! A writer killed with SIGKILL loses nothing it was told was written: every user whose
//! `create_user` returned `Ok` is in the database when it is opened again.
//!
//! The test binary runs itself as the writer ([`writer_child`], selected with `--exact` and
//! given the database in `SIGIL_DURABILITY_CHILD`), reads the ids it prints after each
//! acknowledged write, kills it mid-stream, reopens the database and looks every id up.
//!
//! What this proves is durability against the death of the process, which is what a crashed
//! or OOM-killed node suffers: a committed SQLite transaction is in the WAL file, a committed
//! PostgreSQL one is the server's. It says nothing about power loss (the throw-away PostgreSQL
//! cluster of `scripts/with-postgres` runs with fsync off).

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sigil_core::ids::{ConnectionId, UserId};
use sigil_core::model::UserQuery;
use sigil_core::model::connection::DEFAULT_DATABASE_CONNECTION;
use sigil_core::{Store, UnixTime};
use sigil_store::{Database, MasterKey, SqlStore};

use crate::backends;
use crate::fixtures::{NOW, connection, user};

/// The database URL the writer writes to; the writer does nothing without it.
const CHILD_ENV: &str = "SIGIL_DURABILITY_CHILD";
/// The connection the writer's users belong to.
const CONNECTION_ENV: &str = "SIGIL_DURABILITY_CONNECTION";
/// The master key, as the product takes it.
const KEY_ENV: &str = "SIGIL_MASTER_KEY";
/// How the writer marks an acknowledged user on stdout (the harness prints there too).
const ACK: &str = "acknowledged ";
/// Acknowledged writes to wait for before the kill.
const BEFORE_KILL: usize = 50;
/// The writer stops by itself after this many, should nobody kill it.
const MAX_WRITES: usize = 100_000;

/// The writer. In an ordinary run `SIGIL_DURABILITY_CHILD` is unset and this returns at once;
/// [`a_killed_writer_loses_no_acknowledged_user`] runs it in a child process.
#[tokio::test]
async fn writer_child() {
    let Ok(url) = std::env::var(CHILD_ENV) else {
        return;
    };
    let key = MasterKey::from_text(&std::env::var(KEY_ENV).expect(KEY_ENV)).unwrap();
    let connection_id = ConnectionId::from(std::env::var(CONNECTION_ENV).expect(CONNECTION_ENV));
    let db = Database::connect(&url).await.unwrap();
    let store = SqlStore::open(db, key, UnixTime(NOW)).await.unwrap();
    let connection = store.connection(&connection_id).await.unwrap().unwrap();
    let mut out = std::io::stdout();
    for i in 0..MAX_WRITES {
        let u = user(&connection, &format!("durable{i}@example.com"));
        store.create_user(&u).await.unwrap();
        // Only now is the write acknowledged.
        writeln!(out, "{ACK}{}", u.user_id).unwrap();
        out.flush().unwrap();
    }
}

#[tokio::test]
async fn a_killed_writer_loses_no_acknowledged_user() {
    for backend in backends::all() {
        let fresh = backends::fresh(backend).await;
        fresh.db.migrate().await.unwrap();
        let (key, key_text) = MasterKey::generate().unwrap();
        let store = SqlStore::open(fresh.db.clone(), key, UnixTime(NOW))
            .await
            .unwrap();
        let conn = connection(DEFAULT_DATABASE_CONNECTION);
        store.create_connection(&conn, &[]).await.unwrap();

        let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "durability-writer-{}-{backend:?}.log",
            std::process::id()
        ));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "durability::writer_child",
                "--nocapture",
                "--include-ignored",
            ])
            .env(CHILD_ENV, &fresh.url)
            .env(KEY_ENV, key_text.as_str())
            .env(CONNECTION_ENV, conn.id.as_str())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();

        // Lines arrive through a thread, so that a writer that never writes fails the test
        // after a minute instead of hanging it.
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match stdout.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if lines_tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        // A line cut short by the kill (no newline) was not acknowledged.
        let acknowledged = |line: &str| {
            line.strip_suffix('\n')
                .and_then(|l| l.strip_prefix(ACK))
                .map(UserId::from)
        };
        let mut ids = Vec::new();
        while ids.len() < BEFORE_KILL {
            match lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => ids.extend(acknowledged(&line)),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!(
                        "{backend:?}: the writer acknowledged {} users, then {e}; its stderr:\n{stderr}",
                        ids.len()
                    );
                }
            }
        }

        child.kill().unwrap(); // SIGKILL on Unix: no destructors, no flushing, no goodbye.
        let status = child.wait().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt as _;
            assert_eq!(status.signal(), Some(9), "{backend:?}: {status}");
        }
        #[cfg(not(unix))]
        let _ = status;
        // Whatever it acknowledged before dying counts too.
        reader.join().unwrap();
        ids.extend(lines.try_iter().filter_map(|line| acknowledged(&line)));
        let _ = std::fs::remove_file(&log);

        store.database().close().await;
        let db = Database::connect(&fresh.url).await.unwrap();
        if let Database::Sqlite(pool) = &db {
            let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(integrity, "ok", "{backend:?}");
        }
        let reopened = SqlStore::open(db, MasterKey::from_text(&key_text).unwrap(), UnixTime(NOW))
            .await
            .unwrap();
        let mut lost = Vec::new();
        for id in &ids {
            if reopened.user(id).await.unwrap().is_none() {
                lost.push(id);
            }
        }
        assert!(
            lost.is_empty(),
            "{backend:?}: {} of {} acknowledged users are gone: {lost:?}",
            lost.len(),
            ids.len()
        );
        let stored = reopened.count_users(&UserQuery::default()).await.unwrap();
        assert!(
            stored >= ids.len() as u64,
            "{backend:?}: {stored} users stored, {} acknowledged",
            ids.len()
        );
        eprintln!(
            "{backend:?}: {} acknowledged before and while dying, {stored} stored",
            ids.len()
        );
        reopened.database().close().await;
        fresh.finish().await;
    }
}
