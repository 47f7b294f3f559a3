//! Running a unit of work again when the database says it lost a race it could not settle.
//!
//! Under PostgreSQL's SERIALIZABLE and REPEATABLE READ (and on engines that run only those, such
//! as CockroachDB and YugabyteDB), a statement that meets a concurrent write answers SQLSTATE
//! 40001 (`serialization_failure`) where READ COMMITTED would have waited and then seen the
//! winner's row; at any level two transactions taking row locks in opposite orders can end in
//! 40P01 (`deadlock_detected`). Both say "nothing was done, run it again". [`retrying`] does that
//! a bounded number of times with a short jittered backoff: the new run starts from scratch with
//! a fresh snapshot, sees what the winner committed, and so answers what the contract says a
//! loser gets (`AlreadyUsed`, a `Conflict`, …) instead of a backend failure.
//!
//! `on_pool!` (in `database.rs`) runs every statement and transaction of the store through
//! [`retrying`], so a module cannot reach a pool without it. A unit of work is a `Fn` making a
//! future: it can neither move nor change what it captured, so a second run starts from the
//! same inputs as the first.

use std::fmt;
use std::time::Duration;

use sigil_core::StoreError;

use crate::DatabaseError;

/// How many times a unit of work runs again after a transient failure, at most.
pub(crate) const RETRIES: u32 = 5;

/// The pause before the first retry; it doubles for each further one, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// The longest pause between two runs (before jitter takes up to half of it away).
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// A failure that running the same work again may cure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transient {
    /// PostgreSQL SQLSTATE 40001, `serialization_failure`.
    SerializationFailure,
    /// PostgreSQL SQLSTATE 40P01, `deadlock_detected`.
    Deadlock,
    /// SQLite's `SQLITE_BUSY_SNAPSHOT` (517): a transaction that read an older snapshot tried
    /// to write after another connection had written. SQLite answers it at once, without the
    /// busy handler, and a fresh transaction succeeds.
    SqliteBusySnapshot,
}

impl Transient {
    /// The code the database answered, as its documentation names it.
    fn code(self) -> &'static str {
        match self {
            Transient::SerializationFailure => "SQLSTATE 40001 (serialization_failure)",
            Transient::Deadlock => "SQLSTATE 40P01 (deadlock_detected)",
            Transient::SqliteBusySnapshot => "SQLite result code 517 (SQLITE_BUSY_SNAPSHOT)",
        }
    }
}

/// Which engine answered an error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    Postgres,
    Sqlite,
}

/// The transient failure `code` (a SQLSTATE, or SQLite's extended result code in decimal)
/// stands for, if any.
///
/// Plain `SQLITE_BUSY` (5) is not retried: SQLite answers it only after the busy timeout
/// (`database.rs`, 5 s) has already waited for the other writer, and every store transaction
/// writes first, so none reads a snapshot that could go stale. `SQLITE_LOCKED` (6) comes from
/// shared-cache mode, which Sigil does not use, or from a conflict inside one connection, which
/// another run would meet again.
pub(crate) fn classify(engine: Engine, code: &str) -> Option<Transient> {
    const SQLITE_BUSY_SNAPSHOT: &str = "517";
    match (engine, code) {
        (Engine::Postgres, "40001") => Some(Transient::SerializationFailure),
        (Engine::Postgres, "40P01") => Some(Transient::Deadlock),
        (Engine::Sqlite, SQLITE_BUSY_SNAPSHOT) => Some(Transient::SqliteBusySnapshot),
        _ => None,
    }
}

/// The transient failure behind a sqlx error, if it is one.
fn transient(error: &sqlx::Error) -> Option<Transient> {
    let sqlx::Error::Database(e) = error else {
        return None;
    };
    let engine = if e
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        Engine::Postgres
    } else if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        Engine::Sqlite
    } else {
        return None;
    };
    classify(engine, &e.code()?)
}

/// An error that may carry a transient failure, and what it becomes when the retries run out.
pub(crate) trait Retryable: Sized {
    /// The transient failure this error is, if any.
    fn transient(&self) -> Option<Transient>;
    /// This error after the last retry also failed with `transient`.
    fn gave_up(self, transient: Transient) -> Self;
}

/// The last failure of a unit of work that failed transiently on every run.
#[derive(Debug)]
pub(crate) struct GaveUp {
    transient: Transient,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the database answered {} to {} runs in a row: {}",
            self.transient.code(),
            RETRIES + 1,
            self.source
        )
    }
}

impl std::error::Error for GaveUp {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

impl Retryable for StoreError {
    fn transient(&self) -> Option<Transient> {
        match self {
            StoreError::Backend(e) => e.downcast_ref::<sqlx::Error>().and_then(transient),
            _ => None,
        }
    }

    fn gave_up(self, transient: Transient) -> Self {
        match self {
            StoreError::Backend(source) => {
                StoreError::Backend(Box::new(GaveUp { transient, source }))
            }
            other => other,
        }
    }
}

impl Retryable for DatabaseError {
    fn transient(&self) -> Option<Transient> {
        match self {
            DatabaseError::Query(e) => transient(e),
            _ => None,
        }
    }

    /// Kept as it is: the sqlx error's own message says what failed, and `DatabaseError` has
    /// no variant to wrap it in (its callers print it, they do not branch on it).
    fn gave_up(self, _: Transient) -> Self {
        self
    }
}

/// The pause before retry number `retry` (0 for the first): doubling from [`FIRST_PAUSE`] up to
/// [`MAX_PAUSE`], less a random part of up to half, so racers that failed together spread out.
fn pause(retry: u32, random: u64) -> Duration {
    let full = FIRST_PAUSE
        .saturating_mul(1 << retry.min(16))
        .min(MAX_PAUSE);
    let half = full / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    // `nanos` is at most 50 ms, so neither the remainder nor the sum can overflow.
    half + Duration::from_nanos(random % nanos.max(1))
}

/// A cheap random number for jitter. It needs no quality, only to differ between callers and
/// calls: each `RandomState` has fresh SipHash keys (random per thread, then counted up).
fn jitter() -> u64 {
    use std::hash::BuildHasher as _;
    std::hash::RandomState::new().hash_one(0_u8)
}

/// Runs `work`, and runs it again while it fails with a [`Transient`] error, at most
/// [`RETRIES`] more times, pausing a little longer each time. When every run failed, the last
/// error is returned through [`Retryable::gave_up`] (for the store, a `Backend` error naming
/// the SQLSTATE).
///
/// `work` must be a whole unit: one statement outside a transaction, or a transaction it
/// begins and commits itself. A statement inside a transaction cannot be retried alone, since
/// PostgreSQL aborts the whole transaction.
pub(crate) async fn retrying<T, E: Retryable, W: Future<Output = Result<T, E>>>(
    work: impl Fn() -> W,
) -> Result<T, E> {
    retrying_with(work, |retry| tokio::time::sleep(pause(retry, jitter()))).await
}

/// [`retrying`] with the pause as a parameter, for tests.
async fn retrying_with<
    T,
    E: Retryable,
    W: Future<Output = Result<T, E>>,
    P: Future<Output = ()>,
>(
    work: impl Fn() -> W,
    pause: impl Fn(u32) -> P,
) -> Result<T, E> {
    let mut retry = 0;
    loop {
        match work().await {
            Err(e) => match e.transient() {
                Some(_) if retry < RETRIES => {
                    pause(retry).await;
                    retry += 1;
                }
                Some(transient) => return Err(e.gave_up(transient)),
                None => return Err(e),
            },
            ok => return ok,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn only_serialization_failures_deadlocks_and_stale_sqlite_snapshots_are_retried() {
        let cases = [
            (
                Engine::Postgres,
                "40001",
                Some(Transient::SerializationFailure),
            ),
            (Engine::Postgres, "40P01", Some(Transient::Deadlock)),
            (Engine::Postgres, "23505", None), // unique_violation: a Conflict
            (Engine::Postgres, "23503", None), // foreign_key_violation: NotFound
            (Engine::Postgres, "40003", None), // statement_completion_unknown: maybe done
            (Engine::Postgres, "55P03", None), // lock_not_available
            (Engine::Postgres, "57014", None), // query_canceled
            (Engine::Postgres, "517", None),
            (Engine::Sqlite, "517", Some(Transient::SqliteBusySnapshot)),
            (Engine::Sqlite, "5", None),    // BUSY after the busy timeout
            (Engine::Sqlite, "6", None),    // LOCKED
            (Engine::Sqlite, "2067", None), // CONSTRAINT_UNIQUE
            (Engine::Sqlite, "40001", None),
        ];
        for (engine, code, expected) in cases {
            assert_eq!(classify(engine, code), expected, "{engine:?} {code}");
        }
    }

    #[test]
    fn pauses_grow_from_5_ms_to_at_most_100_ms_with_up_to_half_taken_by_jitter() {
        for retry in 0..10 {
            let full = Duration::from_millis((5_u64 << retry).min(100));
            for random in [0, 1, 12_345_678, u64::MAX] {
                let p = pause(retry, random);
                assert!(
                    p >= full / 2 && p <= full,
                    "retry {retry}: {p:?} of {full:?}"
                );
            }
        }
        assert_ne!(pause(2, 0), pause(2, 7_000_000));
    }

    /// A failure for the loop: transient or not.
    #[derive(Clone, Debug, PartialEq)]
    enum Fake {
        Transient,
        Other,
        GaveUp,
    }

    impl Retryable for Fake {
        fn transient(&self) -> Option<Transient> {
            (*self == Fake::Transient).then_some(Transient::SerializationFailure)
        }
        fn gave_up(self, _: Transient) -> Self {
            Fake::GaveUp
        }
    }

    /// Runs the loop over `answers` (one per run, the last repeating) and returns the outcome
    /// and how many runs it took.
    fn run(answers: &[Result<u8, Fake>]) -> (Result<u8, Fake>, usize) {
        let runs = Cell::new(0);
        let outcome = block_on(retrying_with(
            || async {
                let n = runs.get();
                runs.set(n + 1);
                match &answers[n.min(answers.len() - 1)] {
                    Ok(v) => Ok(*v),
                    Err(Fake::Transient) => Err(Fake::Transient),
                    Err(_) => Err(Fake::Other),
                }
            },
            |_| std::future::ready(()),
        ));
        (outcome, runs.get())
    }

    /// Polls a future that never waits (the pauses here are ready at once) to its end.
    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    #[test]
    fn a_transient_failure_is_run_again_and_gives_up_after_the_last_retry() {
        let retries = usize::try_from(RETRIES).unwrap();
        assert_eq!(run(&[Ok(1)]), (Ok(1), 1));
        assert_eq!(run(&[Err(Fake::Other)]), (Err(Fake::Other), 1));
        assert_eq!(run(&[Err(Fake::Transient), Ok(2)]), (Ok(2), 2));
        assert_eq!(
            run(&[Err(Fake::Transient), Err(Fake::Other)]),
            (Err(Fake::Other), 2)
        );
        let mut last_chance = vec![Err(Fake::Transient); retries];
        last_chance.push(Ok(3));
        assert_eq!(run(&last_chance), (Ok(3), retries + 1));
        assert_eq!(
            run(&[Err(Fake::Transient)]),
            (Err(Fake::GaveUp), retries + 1)
        );
    }

    #[test]
    fn a_store_error_that_gave_up_names_the_sqlstate() {
        let source: Box<dyn std::error::Error + Send + Sync> = "could not serialize access".into();
        let error = StoreError::Backend(source).gave_up(Transient::SerializationFailure);
        let text = error.to_string();
        assert!(text.contains("SQLSTATE 40001"), "{text}");
        assert!(text.contains("could not serialize access"), "{text}");
        assert!(matches!(
            StoreError::AlreadyUsed.gave_up(Transient::Deadlock),
            StoreError::AlreadyUsed
        ));
    }
}
