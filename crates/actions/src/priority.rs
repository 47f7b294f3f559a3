//! The engine threads' scheduling priority (Linux keeps a nice value per thread). A request
//! waits for its execution, so an execution starts at the server's own priority and is woken
//! as quickly as the server's threads; what a worker does for no one in particular (freeing the
//! last runtime, preparing the next) runs at [`BACKGROUND_NICE`], and so does an execution once
//! it has run for [`DEMOTE_AFTER`] (a CPU-bound Action, hostile or not): when the CPU is
//! scarce, the server's own threads go first.
//!
//! Best effort: a thread can always lower its priority, but raising it back needs room in
//! `RLIMIT_NICE` (or `CAP_SYS_NICE`); without it, a worker stays at [`BACKGROUND_NICE`] once it
//! has been lowered, as every worker did before executions were told apart.

use std::time::Duration;

use rustix::process::{getpriority_process, setpriority_process};
use rustix::thread::gettid;

/// The nice value of a worker's background work, and of an execution that runs long.
pub(crate) const BACKGROUND_NICE: i32 = 10;

/// How long an execution runs at the server's priority before it is lowered.
pub(crate) const DEMOTE_AFTER: Duration = Duration::from_millis(10);

/// A worker thread's own priority, read when it starts.
pub(crate) struct Priority {
    base: i32,
}

impl Priority {
    /// The calling thread's priority as it is now.
    pub(crate) fn of_this_thread() -> Priority {
        Priority {
            base: getpriority_process(Some(gettid())).unwrap_or(0),
        }
    }

    /// Runs `work` lowered (see [`lower`]), then puts the thread back to its own priority.
    pub(crate) fn background<T>(&self, work: impl FnOnce() -> T) -> T {
        lower();
        let done = work();
        self.restore();
        done
    }

    /// Puts the thread back to its own priority (after an execution [`lower`]ed it).
    pub(crate) fn restore(&self) {
        let _ = setpriority_process(Some(gettid()), self.base);
    }
}

/// Lowers the calling thread to [`BACKGROUND_NICE`] (never raises it).
pub(crate) fn lower() {
    let me = Some(gettid());
    let now = getpriority_process(me).unwrap_or(0);
    if now < BACKGROUND_NICE {
        let _ = setpriority_process(me, BACKGROUND_NICE);
    }
}

/// The nice value of a thread stuck past its execution's deadline: the lowest there is.
pub(crate) const STUCK_NICE: i32 = 19;

/// Lowers the thread `tid` of this process (a worker stuck in the engine's own code, where no
/// interrupt reaches it) to [`STUCK_NICE`], so it runs only when nothing else wants the CPU.
pub(crate) fn lower_stuck(tid: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(tid) {
        let _ = setpriority_process(Some(pid), STUCK_NICE);
    }
}
