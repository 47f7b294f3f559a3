//! The pool executions run on: a fixed number of threads of its own (never tokio's), fed by a
//! bounded queue. A full queue refuses at once ([`RunError::Busy`]), and the caller's future
//! gives up at the execution's deadline plus a second even if a thread is stuck, so a hostile
//! Action can hold at most its own thread, never the server's.

use std::panic::{AssertUnwindSafe, catch_unwind};
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
}

/// The executions' thread pool.
pub struct Engine {
    queue: SyncSender<Job>,
    limits: Arc<Limits>,
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
        let jobs = Arc::new(Mutex::new(jobs));
        let limits = Arc::new(limits);
        let cache = Arc::new(Cache::default());
        let (started, ids) = mpsc::channel();
        let workers = limits.workers.max(1);
        for i in 0..workers {
            let (jobs, limits, cache, started) = (
                Arc::clone(&jobs),
                Arc::clone(&limits),
                Arc::clone(&cache),
                started.clone(),
            );
            std::thread::Builder::new()
                .name(format!("sigil-actions-{i}"))
                .stack_size(THREAD_STACK)
                .spawn(move || {
                    let _ = started.send(rustix::thread::gettid().as_raw_nonzero().get());
                    drop(started);
                    work(&jobs, &limits, &cache);
                })?;
        }
        // Each thread tells its id first thing.
        let threads = ids.iter().take(workers).collect();
        Ok(Engine {
            queue,
            limits,
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
        let job = Job {
            work,
            deadline: Instant::now() + self.limits.execution,
        };
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(RunError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(RunError::Failed),
        }
        match tokio::time::timeout(self.limits.execution + GRACE, answer).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(RunError::Failed),
            Err(_) => Err(RunError::TimedOut),
        }
    }
}

fn work(jobs: &Mutex<Receiver<Job>>, limits: &Limits, cache: &Arc<Cache>) {
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
    }
}
