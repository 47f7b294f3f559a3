//! The pool executions run on: a fixed number of threads of its own (never tokio's), fed by a
//! bounded queue. A full queue refuses at once ([`RunError::Busy`]), and the caller's future
//! gives up at the execution's deadline plus a second even if a thread is stuck, so a hostile
//! Action can hold at most its own thread, never the server's.
//!
//! A thread can be stuck: QuickJS polls its interrupt in the interpreter's loop, not inside
//! every built-in, so a built-in made to loop a billion times (`new Array(1e9).join('x')`)
//! runs on past every deadline. When a caller gives up on its execution, the thread that holds
//! it is lowered to the lowest priority and another takes its place in the pool (at most as
//! many stand-ins as the pool has threads); the stuck one leaves the pool when its built-in
//! ends. So the other executions go on, and the stuck code only ever has the CPU nobody else
//! wants.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::bytecode;
use crate::cache::Cache;
use crate::fetch::Net;
use crate::priority::Priority;
use crate::{BuildProblem, Execution, Kind, Limits, Outcome, Trigger, sandbox};

/// How long past the execution's own deadline the caller waits for a thread.
const GRACE: Duration = Duration::from_secs(1);
/// Each worker's stack: QuickJS's own stack cap sits well inside it.
const THREAD_STACK: usize = 8 << 20;

/// Why an execution did not run to its end.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// Every thread is taken and the queue is full.
    #[error("the Actions engine is busy")]
    Busy,
    /// No answer by the deadline (a thread may be stuck).
    #[error("the Actions engine did not answer in time")]
    TimedOut,
    /// The engine is shut down, or its thread failed.
    #[error("the Actions engine failed")]
    Failed,
}

/// What a thread of the pool is asked to do.
enum Work {
    Run(Execution, oneshot::Sender<Outcome>),
    Build(
        String,
        Vec<Trigger>,
        Kind,
        oneshot::Sender<Vec<BuildProblem>>,
    ),
}

impl Work {
    fn abandoned(&self) -> bool {
        match self {
            Work::Run(_, reply) => reply.is_closed(),
            Work::Build(_, _, _, reply) => reply.is_closed(),
        }
    }
}

struct Job {
    work: Work,
    deadline: Instant,
    /// Who has the job: [`QUEUED`], the thread's id while it runs, [`DONE`], or [`RETIRED`]
    /// (its caller gave up while it ran: the thread leaves the pool when it is done).
    holder: Arc<AtomicI32>,
}

/// [`Job::holder`]'s states besides a thread's id.
const QUEUED: i32 = 0;
const DONE: i32 = -1;
const RETIRED: i32 = -2;

/// What every thread of the pool shares.
struct Shared {
    jobs: Mutex<Receiver<Job>>,
    limits: Arc<Limits>,
    cache: Arc<Cache>,
    /// Threads standing in for stuck ones, at most [`Limits::workers`].
    stand_ins: AtomicUsize,
}

/// The executions' thread pool.
pub struct Engine {
    queue: SyncSender<Job>,
    limits: Arc<Limits>,
    shared: Arc<Shared>,
    threads: Vec<i32>,
}

impl Engine {
    /// Starts `limits.workers` threads (at least one).
    pub fn start(limits: Limits) -> std::io::Result<Engine> {
        if !bytecode::ready() {
            return Err(std::io::Error::other(
                "the Actions engine could not compile its prelude",
            ));
        }
        let (queue, jobs) = mpsc::sync_channel(limits.queue);
        let limits = Arc::new(limits);
        let shared = Arc::new(Shared {
            jobs: Mutex::new(jobs),
            limits: Arc::clone(&limits),
            cache: Arc::new(Cache::default()),
            stand_ins: AtomicUsize::new(0),
        });
        let (started, ids) = mpsc::channel();
        let workers = limits.workers.max(1);
        for i in 0..workers {
            spawn_worker(&shared, format!("sigil-actions-{i}"), Some(started.clone()))?;
        }
        // Each thread tells its id first thing.
        let threads = ids.iter().take(workers).collect();
        Ok(Engine {
            queue,
            limits,
            shared,
            threads,
        })
    }

    /// The system's ids of the pool's threads (for `/proc/self/task/{id}`).
    pub fn thread_ids(&self) -> &[i32] {
        &self.threads
    }

    /// The limits every execution runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Runs `execution` on a thread of the pool.
    pub async fn run(&self, execution: Execution) -> Result<Outcome, RunError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Work::Run(execution, reply), answer).await
    }

    /// Checks on a thread of the pool that `code` builds for `triggers` (see [`BuildProblem`]):
    /// its top-level code runs under the same limits as an execution.
    pub async fn build(
        &self,
        code: String,
        triggers: Vec<Trigger>,
    ) -> Result<Vec<BuildProblem>, RunError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Work::Build(code, triggers, Kind::Action, reply), answer)
            .await
    }

    /// Checks on a thread of the pool that `code` is a legacy Rule: one function expression
    /// that compiles (see [`Kind::Rule`]).
    pub async fn build_rule(&self, code: String) -> Result<Vec<BuildProblem>, RunError> {
        let (reply, answer) = oneshot::channel();
        let work = Work::Build(code, vec![Trigger::PostLogin], Kind::Rule, reply);
        self.submit(work, answer).await
    }

    /// Checks on a thread of the pool that `code` is a profile script: one function expression
    /// that compiles (see [`Kind::ProfileScript`]).
    pub async fn build_profile_script(&self, code: String) -> Result<Vec<BuildProblem>, RunError> {
        let (reply, answer) = oneshot::channel();
        let work = Work::Build(code, vec![Trigger::PostLogin], Kind::ProfileScript, reply);
        self.submit(work, answer).await
    }

    async fn submit<T>(&self, work: Work, answer: oneshot::Receiver<T>) -> Result<T, RunError> {
        let holder = Arc::new(AtomicI32::new(QUEUED));
        let job = Job {
            work,
            deadline: Instant::now() + self.limits.execution,
            holder: Arc::clone(&holder),
        };
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(RunError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(RunError::Failed),
        }
        match tokio::time::timeout(self.limits.execution + GRACE, answer).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(RunError::Failed),
            Err(_) => {
                self.replace_stuck(&holder);
                Err(RunError::TimedOut)
            }
        }
    }

    /// After a caller gave up: if a thread still runs its job, that thread is stuck where no
    /// interrupt reaches it. It is lowered and, while there is room for a stand-in, retired
    /// from the pool (it leaves when its job ends) and a stand-in takes its place.
    fn replace_stuck(&self, holder: &AtomicI32) {
        let tid = holder.load(Ordering::Acquire);
        if tid <= QUEUED {
            // Still queued (it is dropped unrun), or it ended meanwhile.
            return;
        }
        crate::priority::lower_stuck(tid);
        let stand_ins = &self.shared.stand_ins;
        let room = stand_ins
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limits.workers.max(1)).then_some(n + 1)
            })
            .is_ok();
        let retired = room
            && holder
                .compare_exchange(tid, RETIRED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
        if room && !retired {
            // It ended meanwhile: no stand-in needed.
            stand_ins.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        tracing::warn!(
            thread = tid,
            stand_in = retired,
            "an Action's execution holds its thread past its deadline (in a built-in no \
             interrupt reaches); the thread is lowered to nice 19"
        );
        if retired
            && spawn_worker(&self.shared, format!("sigil-actions-stand-in-{tid}"), None).is_err()
        {
            // No thread could be made: the pool is one short until the stuck one is done.
            tracing::error!("cannot start a thread for the Actions engine");
        }
    }
}

/// Starts a thread of the pool named `name`; it sends its id to `started` first thing.
fn spawn_worker(
    shared: &Arc<Shared>,
    name: String,
    started: Option<mpsc::Sender<i32>>,
) -> std::io::Result<()> {
    let shared = Arc::clone(shared);
    std::thread::Builder::new()
        .name(name)
        .stack_size(THREAD_STACK)
        .spawn(move || {
            if let Some(started) = started {
                let _ = started.send(rustix::thread::gettid().as_raw_nonzero().get());
            }
            work(&shared);
        })?;
    Ok(())
}

fn work(shared: &Shared) {
    let (jobs, limits, cache) = (&shared.jobs, &*shared.limits, &shared.cache);
    let me = rustix::thread::gettid().as_raw_nonzero().get();
    // Executions at the thread's own priority, the rest lowered (see `priority`).
    let priority = Priority::of_this_thread();
    // The next execution's runtime, made while this thread waits (see `sandbox::Prepared`).
    let mut next = priority.background(|| sandbox::prepare(limits, None).ok());
    // Where this thread's executions wait for their timers and requests. Without it (the
    // system refused a runtime), `fetch` and timers fail and the rest works.
    let net = Net::new(Arc::clone(&limits.egress)).ok();
    loop {
        let job = {
            let Ok(jobs) = jobs.lock() else { return };
            match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        // The caller has gone, or its time ran out while the job waited: nothing to run.
        if job.work.abandoned() || Instant::now() >= job.deadline {
            continue;
        }
        job.holder.store(me, Ordering::Release);
        let holder = Arc::clone(&job.holder);
        let mut limits = limits.clone();
        limits.execution = job.deadline.saturating_duration_since(Instant::now());
        // A panic in the engine loses this job (its caller sees `Failed`), not the thread.
        match job.work {
            Work::Run(execution, reply) => {
                let prepared = next.take();
                let spent = match catch_unwind(AssertUnwindSafe(|| {
                    sandbox::run(&limits, &execution, prepared, net.as_ref(), cache)
                })) {
                    Ok((outcome, spent)) => {
                        let _ = reply.send(outcome);
                        // The caller's task was just woken, often onto this core: it goes
                        // first, before this thread frees the spent runtime and prepares the
                        // next (measured: the reply reached the request 100 µs later without
                        // this, 34 µs with it, at the median on 2 cores).
                        std::thread::yield_now();
                        spent
                    }
                    Err(_) => None,
                };
                // After the answer: the spent runtime freed, and the next one made. The
                // execution it ran last is the likeliest next: its trigger's api part is
                // loaded ahead too, and its first Action's module compiled.
                next = priority.background(|| {
                    let _ = catch_unwind(AssertUnwindSafe(|| drop(spent)));
                    sandbox::prepare(&limits, Some(&execution)).ok()
                });
            }
            Work::Build(code, triggers, kind, reply) => {
                if let Ok(problems) = catch_unwind(AssertUnwindSafe(|| {
                    sandbox::build(&limits, &code, &triggers, kind)
                })) {
                    let _ = reply.send(problems);
                }
                priority.restore();
            }
        }
        // Retired while it ran (its caller gave up, a stand-in took its place): it leaves.
        if holder
            .compare_exchange(me, DONE, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            tracing::info!(
                thread = me,
                "a stuck Actions thread is done and leaves the pool"
            );
            shared.stand_ins.fetch_sub(1, Ordering::AcqRel);
            return;
        }
    }
}
