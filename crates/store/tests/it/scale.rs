//! User lookups at 1 000 and at 100 000 users, in two databases measured alternately: the
//! answers must be right at both sizes, and the time each lookup takes is printed (never asserted: timings do not belong in a pass/fail
//! test, and this one shares two cores with the rest of the suite). A lookup that scans
//! instead of using an index shows up as a large ratio in the table.
//!
//! The table goes straight to the process's stderr, past the harness's capture, so it is in
//! every `cargo test` log.

use std::io::Write as _;
use std::time::{Duration, Instant};

use sigil_core::model::connection::DEFAULT_DATABASE_CONNECTION;
use sigil_core::model::{Connection, User, UserQuery};
use sigil_core::{Page, Store};
use sigil_store::{Backend, SqlStore};

use crate::backends;
use crate::fixtures::{at, connection, user};

const SMALL: usize = 1_000;
const LARGE: usize = 100_000;
const IMPORT_BATCH: usize = 1_000;
/// Runs per measured operation; the median is reported.
const REPS: usize = 200;
const PER_PAGE: u32 = 50;
const DEEP_PAGE: u32 = 10;

/// Wall-clock time for the printed report. This is a measurement shown to people, not a test
/// assertion, so it is the one place the suite reads a clock instead of taking time as a
/// parameter.
struct Stopwatch(Instant);

impl Stopwatch {
    #[allow(clippy::disallowed_methods)] // A measurement for the report, never asserted on.
    fn start() -> Self {
        Stopwatch(Instant::now())
    }

    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// User `i` of the load: created `i` seconds after `NOW`, so "oldest first" is index order.
fn nth_user(connection: &Connection, i: usize) -> User {
    let mut u = user(connection, &format!("user{i:06}@scale.example"));
    u.created_at = at(i64::try_from(i).unwrap());
    u.updated_at = u.created_at;
    u
}

/// Imports users `from..to` in batches; every row must be accepted.
async fn grow(store: &SqlStore, connection: &Connection, loaded: &mut Vec<User>, to: usize) {
    while loaded.len() < to {
        let from = loaded.len();
        let batch: Vec<User> = (from..to.min(from + IMPORT_BATCH))
            .map(|i| nth_user(connection, i))
            .collect();
        let entries: Vec<_> = batch.iter().map(|u| (u.clone(), Vec::new())).collect();
        let results = store.import_users(&entries).await.unwrap();
        assert!(
            results.iter().all(Result::is_ok),
            "import of users {from}..: {:?}",
            results.iter().find(|r| r.is_err())
        );
        loaded.extend(batch);
    }
}

const OPERATIONS: [&str; 4] = [
    "user by id",
    "user_by_email",
    "list_users page 0 (50)",
    "list_users page 10 (50)",
];

/// One database of the comparison: its store, connection and the users loaded in order.
struct Side<'a> {
    store: &'a SqlStore,
    connection: &'a Connection,
    loaded: &'a [User],
}

/// Runs lookup `op` once on `side` (repetition `rep`) and checks its answer.
async fn run(op: usize, rep: usize, side: &Side<'_>) {
    // Users spread over the whole load, so that no lookup is helped by insertion order.
    let want = &side.loaded[(rep * 7919) % side.loaded.len()];
    match op {
        0 => {
            let got = side.store.user(&want.user_id).await.unwrap();
            assert_eq!(got.as_ref(), Some(want));
        }
        1 => {
            let email = want.email.as_deref().unwrap().to_uppercase();
            let got = side
                .store
                .user_by_email(&side.connection.id, &email)
                .await
                .unwrap();
            assert_eq!(got.map(|u| u.user_id).as_ref(), Some(&want.user_id));
        }
        _ => {
            let page = if op == 2 { 0 } else { DEEP_PAGE };
            let first = usize::try_from(page * PER_PAGE).unwrap();
            let expected: Vec<_> = side.loaded[first..first + usize::try_from(PER_PAGE).unwrap()]
                .iter()
                .map(|u| &u.user_id)
                .collect();
            let got = side
                .store
                .list_users(&UserQuery::default(), Page::new(page, PER_PAGE))
                .await
                .unwrap();
            assert_eq!(got.iter().map(|u| &u.user_id).collect::<Vec<_>>(), expected);
        }
    }
}

/// The median time of each lookup on the small and the large database. The two are measured
/// alternately (small, large, small, …), so whatever else the machine is doing falls on both
/// sides alike and the ratio stays meaningful on a shared, noisy machine.
async fn measure(small: &Side<'_>, large: &Side<'_>) -> [[Duration; 2]; 4] {
    let mut medians = [[Duration::ZERO; 2]; 4];
    for (op, slot) in medians.iter_mut().enumerate() {
        let mut times = [Vec::with_capacity(REPS), Vec::with_capacity(REPS)];
        for rep in 0..REPS {
            for (side, samples) in [small, large].into_iter().zip(times.iter_mut()) {
                let watch = Stopwatch::start();
                run(op, rep, side).await;
                samples.push(watch.elapsed());
            }
        }
        for (median, mut samples) in slot.iter_mut().zip(times) {
            samples.sort();
            *median = samples[REPS / 2];
        }
    }
    medians
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

#[tokio::test]
async fn user_lookups_at_1k_and_100k_users() {
    for backend in backends::all() {
        let watch = Stopwatch::start();
        let conn = connection(DEFAULT_DATABASE_CONNECTION);
        let mut dbs = Vec::new();
        let mut loads = Vec::new();
        let mut load_time = Duration::ZERO;
        for size in [SMALL, LARGE] {
            let fresh = backends::fresh(backend).await;
            let store = backends::open_store(&fresh).await;
            store.create_connection(&conn, &[]).await.unwrap();
            let mut loaded = Vec::with_capacity(size);
            let load = Stopwatch::start();
            grow(&store, &conn, &mut loaded, size).await;
            load_time = load.elapsed();
            assert_eq!(
                store.count_users(&UserQuery::default()).await.unwrap(),
                size as u64
            );
            dbs.push((fresh, store));
            loads.push(loaded);
        }
        let side = |i: usize| Side {
            store: &dbs[i].1,
            connection: &conn,
            loaded: &loads[i],
        };
        let medians = measure(&side(0), &side(1)).await;
        for (fresh, _) in dbs {
            fresh.finish().await;
        }
        report(backend, &medians, load_time, watch.elapsed());
    }
}

fn report(backend: Backend, medians: &[[Duration; 2]; 4], load: Duration, total: Duration) {
    let mut table = format!(
        "\nstore scale ({backend:?}): median of {REPS} runs, 1k and 100k databases measured \
         alternately; importing {} users took {:.1} s; the whole test {:.1} s\n\
         {:<10} {:<26} {:>12} {:>12} {:>7}\n",
        LARGE,
        load.as_secs_f64(),
        total.as_secs_f64(),
        "backend",
        "operation",
        "at 1k",
        "at 100k",
        "ratio"
    );
    for (op, [small, large]) in OPERATIONS.iter().zip(medians) {
        let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-9);
        table.push_str(&format!(
            "{:<10} {:<26} {:>12} {:>12} {:>7.2}\n",
            format!("{backend:?}"),
            op,
            micros(*small),
            micros(*large),
            ratio
        ));
    }
    let _ = std::io::stderr().write_all(table.as_bytes());
}
