//! Password hashing and checks on a fixed pool of worker threads (one per core by default),
//! behind a queue bounded by time.
//!
//! argon2id takes tens of milliseconds and 19 MiB per hash. Each worker keeps its own
//! [`Argon2Memory`] from one hash to the next, so the pool's memory is bounded by the number of
//! workers (at most 64 MiB each, the most a stored hash may ask for) however many logins come
//! at once, and a login storm neither allocates afresh per check nor starves the async threads
//! that serve every other endpoint. Imported hashes (bcrypt, PBKDF2, …) are checked here too.
//!
//! A request that would wait for a worker longer than the queue timeout is refused at once
//! with [`Busy`] (503 `temporarily_unavailable` with `Retry-After`): the expected wait is the
//! number of jobs ahead of it, in rounds of one job per worker, times the moving average of a
//! job's duration. A request that had to queue and whose wait turned out longer than the
//! timeout all the same is refused by the worker that picks it up, without hashing. So no
//! request waits much longer than the timeout; with a timeout of 0, a request is refused
//! whenever every worker is taken. Unknown users are checked against a decoy hash on the same
//! workers, so they cost the same and meet the same refusals.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sigil_core::SystemRng;
use sigil_core::attack_protection::breached::{self, BreachSource, BreachedFilter};
use sigil_core::password::{Argon2Memory, Busy, PasswordHash, Passwords};
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use crate::metrics::Metrics;

/// How many password workers there are, how long a request may wait for one, and where
/// breached passwords are looked up.
#[derive(Clone, Debug)]
pub struct HasherOptions {
    /// Worker threads; each holds 19 MiB for Sigil's own hashes (up to 64 MiB for imported
    /// argon2 hashes with a higher cost). Default: one per core.
    pub workers: NonZeroUsize,
    /// The longest a request may wait for a worker; one that would wait longer is refused
    /// with 503. Default: 2 s.
    pub queue_timeout: Duration,
    /// The operator's imported list of breached passwords, if any.
    pub breached_filter: Option<Arc<BreachedFilter>>,
    /// A k-anonymity range API (`<URL><5 hex digits>`) to ask, if any.
    pub breached_range_url: Option<reqwest::Url>,
}

impl HasherOptions {
    /// The default timeout: a user waits at most this long for a login to start.
    pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(2);

    /// One worker per core (two if the number of cores cannot be read).
    pub fn default_workers() -> NonZeroUsize {
        std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN.saturating_add(1))
    }
}

impl Default for HasherOptions {
    fn default() -> Self {
        HasherOptions {
            workers: HasherOptions::default_workers(),
            queue_timeout: HasherOptions::DEFAULT_QUEUE_TIMEOUT,
            breached_filter: None,
            breached_range_url: None,
        }
    }
}

/// The server's [`Passwords`].
#[derive(Clone)]
pub(crate) struct Hasher {
    pool: Arc<Pool>,
    /// Checked when there is no user or no password, so that the answer takes as long.
    decoy: Arc<PasswordHash>,
    metrics: Arc<Metrics>,
    /// Where breached passwords are looked up.
    breaches: Arc<Breaches>,
}

/// The operator's breached-password sources (beyond the built-in ones).
struct Breaches {
    filter: Option<Arc<BreachedFilter>>,
    range: Option<(reqwest::Client, reqwest::Url)>,
}

/// How long the range API may take before the password is let through.
const RANGE_TIMEOUT: Duration = Duration::from_secs(2);

impl Breaches {
    /// Asks the range API about `password`: only the first five hex digits of its SHA-1 are
    /// sent; the answer's `SUFFIX:COUNT` lines are compared here. Any failure lets the password
    /// through (logged), so an outage of the API never stops a login.
    async fn ask_range(&self, password: &str) -> bool {
        let Some((client, base)) = &self.range else {
            return false;
        };
        let hash = breached::sha1_hex(password);
        let (prefix, suffix) = hash.split_at(5);
        let url = format!("{base}{prefix}");
        let answer = async {
            let response = client.get(&url).send().await?.error_for_status()?;
            response.text().await
        };
        match tokio::time::timeout(RANGE_TIMEOUT, answer).await {
            Ok(Ok(body)) => body.lines().any(|line| {
                line.split(':')
                    .next()
                    .is_some_and(|listed| listed.trim().eq_ignore_ascii_case(suffix))
            }),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the breached-password range API failed; the password is let through");
                false
            }
            Err(_) => {
                tracing::warn!(
                    "the breached-password range API did not answer in time; the password is let through"
                );
                false
            }
        }
    }
}

impl Hasher {
    /// Jobs admitted and not finished, and jobs refused so far (for `/metrics`).
    pub(crate) fn load(&self) -> (usize, u64) {
        let queue = &self.pool.queue;
        (
            queue.in_flight.load(Ordering::Relaxed),
            queue.refused.load(Ordering::Relaxed),
        )
    }

    /// Runs `work`, timing it (its wait included) for `/metrics`.
    async fn timed(&self, work: Work) -> Result<Option<Done>, Busy> {
        let started = tokio::time::Instant::now();
        let done = self.pool.run(work).await;
        self.metrics.password_hash(started.elapsed().as_secs_f64());
        done
    }

    /// Starts the workers and makes a fresh decoy hash on them.
    pub(crate) async fn new(options: HasherOptions, metrics: Arc<Metrics>) -> Result<Self, String> {
        let pool = Arc::new(Pool::start(&options)?);
        let mut random = [0u8; 24];
        sigil_core::Rng::fill(&SystemRng, &mut random);
        let password = Zeroizing::new(sigil_core::ids::to_hex(&random));
        let decoy = match pool.run(Work::Hash(password)).await {
            Ok(Some(Done::Hashed(Some(decoy)))) => decoy,
            Ok(_) => return Err("the decoy password hash could not be made".to_owned()),
            Err(busy) => return Err(busy.to_string()),
        };
        let range = match options.breached_range_url {
            Some(url) => Some((
                reqwest::Client::builder()
                    .timeout(RANGE_TIMEOUT)
                    .build()
                    .map_err(|e| format!("cannot make the range API's HTTP client: {e}"))?,
                url,
            )),
            None => None,
        };
        Ok(Hasher {
            pool,
            decoy: Arc::new(decoy),
            metrics,
            breaches: Arc::new(Breaches {
                filter: options.breached_filter,
                range,
            }),
        })
    }
}

impl Passwords for Hasher {
    async fn hash(&self, password: String) -> Result<Option<PasswordHash>, Busy> {
        let done = self.timed(Work::Hash(Zeroizing::new(password))).await?;
        Ok(match done {
            Some(Done::Hashed(hash)) => hash,
            Some(Done::Checked(_)) | None => None,
        })
    }

    async fn check(&self, hash: Option<PasswordHash>, password: String) -> Result<bool, Busy> {
        let (hash, real) = match hash {
            Some(hash) => (hash, true),
            None => ((*self.decoy).clone(), false),
        };
        let done = self
            .timed(Work::Check(hash, Zeroizing::new(password)))
            .await?;
        let verdict = match done {
            Some(Done::Checked(verdict)) => verdict,
            Some(Done::Hashed(_)) | None => None,
        };
        if real && verdict.is_none() {
            tracing::warn!(
                "a stored password hash cannot be checked (an algorithm Sigil does not check, \
                 malformed, or argon2 costlier than Sigil allows); the login is refused"
            );
        }
        // A hash Sigil cannot check (`None`) fails closed.
        Ok(real && verdict == Some(true))
    }

    async fn breached(&self, password: &str) -> Option<BreachSource> {
        let known = breached::known_breach(password, self.breaches.filter.as_deref());
        if known.is_some() {
            return known;
        }
        self.breaches
            .ask_range(password)
            .await
            .then_some(BreachSource::RangeApi)
    }
}

/// What a worker is asked to do.
enum Work {
    Hash(Zeroizing<String>),
    Check(PasswordHash, Zeroizing<String>),
}

impl Work {
    fn run(self, memory: &mut Argon2Memory) -> Done {
        match self {
            Work::Hash(password) => {
                Done::Hashed(PasswordHash::argon2id_in(&password, &SystemRng, memory).ok())
            }
            Work::Check(hash, password) => Done::Checked(hash.verify_in(&password, memory)),
        }
    }
}

/// What a worker answers.
enum Done {
    Hashed(Option<PasswordHash>),
    Checked(Option<bool>),
}

/// A queued request: its work, when it must have started by (if it had to queue), and where
/// the answer goes (`None`: too late, [`Busy`]).
struct Job {
    work: Work,
    deadline: Option<Instant>,
    reply: oneshot::Sender<Option<Done>>,
}

/// The workers' shared queue; the workers end when its [`Pool`] is dropped.
struct Pool {
    queue: Arc<Queue>,
    workers: usize,
    timeout: Duration,
}

struct Queue {
    state: Mutex<State>,
    ready: Condvar,
    /// Jobs admitted and not finished: queued or running.
    in_flight: AtomicUsize,
    /// The moving average of a job's duration, in microseconds (0 before the first job).
    average_micros: AtomicU64,
    /// Jobs refused as too late, so far.
    refused: AtomicU64,
}

struct State {
    jobs: VecDeque<Job>,
    closed: bool,
}

impl Pool {
    fn start(options: &HasherOptions) -> Result<Self, String> {
        let queue = Arc::new(Queue {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            in_flight: AtomicUsize::new(0),
            average_micros: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        let pool = Pool {
            queue,
            workers: options.workers.get(),
            timeout: options.queue_timeout,
        };
        for n in 0..pool.workers {
            let queue = Arc::clone(&pool.queue);
            // On failure, dropping `pool` ends the workers already started.
            std::thread::Builder::new()
                .name(format!("sigil-password-{n}"))
                .spawn(move || work(&queue))
                .map_err(|e| format!("cannot start a password worker thread: {e}"))?;
        }
        Ok(pool)
    }

    /// Runs `work` on a worker, or refuses it if the wait would be longer than the timeout.
    /// `Ok(None)`: the worker failed (it panicked; the failure is logged).
    async fn run(&self, work: Work) -> Result<Option<Done>, Busy> {
        let queue = &self.queue;
        let ahead = queue.in_flight.fetch_add(1, Ordering::AcqRel);
        let average = Duration::from_micros(queue.average_micros.load(Ordering::Relaxed));
        if expected_wait(ahead, self.workers, average) > self.timeout {
            queue.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(self.busy());
        }
        // A job that found a worker free has nothing to wait for; one that queued must start
        // within the timeout (a timeout too long to add to now is none).
        #[allow(clippy::disallowed_methods)] // A real wait between threads, not the time of day.
        let deadline = (ahead >= self.workers)
            .then(|| Instant::now().checked_add(self.timeout))
            .flatten();
        let (reply, answer) = oneshot::channel();
        queue.push(Job {
            work,
            deadline,
            reply,
        });
        match answer.await {
            Ok(Some(done)) => Ok(Some(done)),
            Ok(None) => Err(self.busy()),
            // The worker dropped the job without answering: it panicked.
            Err(_) => Ok(None),
        }
    }

    fn busy(&self) -> Busy {
        self.queue.refused.fetch_add(1, Ordering::Relaxed);
        let t = self.timeout;
        Busy {
            retry_after_secs: (t.as_secs() + u64::from(t.subsec_nanos() > 0)).max(1),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.ready.notify_all();
    }
}

/// How long a job with `ahead` jobs admitted before it waits for one of `workers`, each job
/// taking `average`: nothing while a worker is free, else a round of `average` for each
/// `workers` jobs ahead beyond the running ones (the running ones counted as just started).
fn expected_wait(ahead: usize, workers: usize, average: Duration) -> Duration {
    if ahead < workers {
        return Duration::ZERO;
    }
    let rounds = u32::try_from((ahead - workers) / workers + 1).unwrap_or(u32::MAX);
    // At least a microsecond, so that a timeout of 0 refuses whenever every worker is taken.
    average.max(Duration::from_micros(1)).saturating_mul(rounds)
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A worker never panics holding the lock (jobs run outside it), so the state is whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, job: Job) {
        self.lock().jobs.push_back(job);
        self.ready.notify_one();
    }

    /// The next job, waiting for one; `None` once the pool is dropped.
    fn next(&self) -> Option<Job> {
        let mut state = self.lock();
        loop {
            if state.closed {
                return None;
            }
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Folds a job's duration into the moving average (weight 1/8).
    fn record(&self, took: Duration) {
        let took = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let old = self.average_micros.load(Ordering::Relaxed);
        let new = if old == 0 {
            took
        } else {
            old.saturating_mul(7).saturating_add(took) / 8
        };
        // Workers racing here may lose a sample; the average stays an average.
        self.average_micros.store(new.max(1), Ordering::Relaxed);
    }
}

/// A worker: takes jobs until the pool is dropped, in memory it keeps.
fn work(queue: &Queue) {
    let mut memory = Argon2Memory::new();
    while let Some(job) = queue.next() {
        #[allow(clippy::disallowed_methods)] // A real wait and duration, not the time of day.
        let started = Instant::now();
        let Job {
            work,
            deadline,
            reply,
        } = job;
        let answer = if reply.is_closed() {
            // The request is gone (its client hung up): nothing to do.
            None
        } else if deadline.is_some_and(|deadline| started > deadline) {
            Some(None)
        } else {
            match catch_unwind(AssertUnwindSafe(|| work.run(&mut memory))) {
                Ok(done) => {
                    queue.record(started.elapsed());
                    Some(Some(done))
                }
                // Dropping `reply` tells the request; the memory is plain data, still usable.
                Err(_) => {
                    tracing::error!("a password worker panicked; the request failed");
                    None
                }
            }
        };
        // Done before answering, so that the request's next job does not find this one ahead.
        queue.in_flight.fetch_sub(1, Ordering::AcqRel);
        if let Some(answer) = answer {
            // Sending fails only if the request is gone meanwhile; nobody is left to tell.
            let _ = reply.send(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_wait_is_rounds_of_jobs_ahead() {
        let ms = Duration::from_millis;
        for (ahead, workers, wait) in [
            (0, 1, ms(0)),
            (1, 1, ms(30)),
            (2, 1, ms(60)),
            (0, 4, ms(0)),
            (3, 4, ms(0)),
            (4, 4, ms(30)),
            (7, 4, ms(30)),
            (8, 4, ms(60)),
        ] {
            assert_eq!(
                expected_wait(ahead, workers, ms(30)),
                wait,
                "{ahead} ahead of {workers} workers"
            );
        }
        // Before any job was timed, a taken worker still means a wait above a timeout of 0.
        assert!(expected_wait(1, 1, Duration::ZERO) > Duration::ZERO);
        assert_eq!(expected_wait(0, 1, Duration::ZERO), Duration::ZERO);
    }

    #[tokio::test]
    async fn workers_hash_and_check_and_refuse_when_the_wait_would_be_too_long() {
        let hasher = Hasher::new(
            HasherOptions {
                workers: NonZeroUsize::MIN,
                queue_timeout: Duration::ZERO,
                ..HasherOptions::default()
            },
            Arc::new(Metrics::new()),
        )
        .await
        .unwrap();
        let hash = hasher.hash("pw".to_owned()).await.unwrap().unwrap();
        assert_eq!(
            hasher.check(Some(hash.clone()), "pw".to_owned()).await,
            Ok(true)
        );
        assert_eq!(
            hasher.check(Some(hash.clone()), "pW".to_owned()).await,
            Ok(false)
        );
        assert_eq!(hasher.check(None, "pw".to_owned()).await, Ok(false));
        // Eight at once on one worker with no queueing (tasks of this one-thread runtime,
        // started in order): the first runs, the others find the worker taken and are refused.
        let checks: Vec<_> = (0..8)
            .map(|_| {
                let (hasher, hash) = (hasher.clone(), hash.clone());
                tokio::spawn(async move { hasher.check(Some(hash), "pw".to_owned()).await })
            })
            .collect();
        let mut answers = Vec::new();
        for check in checks {
            answers.push(check.await.unwrap());
        }
        let busy = Err(Busy {
            retry_after_secs: 1,
        });
        assert_eq!(answers[0], Ok(true));
        assert!(answers[1..].iter().all(|a| *a == busy), "{answers:?}");
        assert_eq!(hasher.pool.queue.in_flight.load(Ordering::Acquire), 0);
    }
}
