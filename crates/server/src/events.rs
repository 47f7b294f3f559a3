//! The tenant log's writer: events are queued (bounded) and written by one task in batches,
//! each batch one transaction (gathered for up to 100 ms, at most 1,024 events), so a login
//! never waits for its event. When the queue is full
//! an event is dropped and counted (with a warning at the 1st, 2nd, 4th, 8th, … drop, so a
//! flood cannot flood the log too); `flush` writes everything queued before it, at shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sigil_core::Store;
use sigil_core::events::Events;
use sigil_core::ids::ClientId;
use sigil_core::model::{ActionExecution, NewLogEvent};
use tokio::sync::{mpsc, oneshot};

/// Events waiting to be written, at most.
pub(crate) const QUEUE: usize = 10_000;
/// Events written in one transaction, at most.
const BATCH: usize = 1024;
/// How long the writer gathers events after the first one before it writes them.
const LINGER: Duration = Duration::from_millis(100);

enum Message {
    Event(Box<NewLogEvent>),
    Execution(Box<ActionExecution>),
    Flush(oneshot::Sender<()>),
}

/// The queue's sending side, shared by every request.
pub(crate) struct EventQueue {
    sender: mpsc::Sender<Message>,
    enabled: AtomicBool,
    dropped: Arc<AtomicU64>,
}

impl EventQueue {
    /// A queue and its writer, spawned on the current runtime, writing to `store`.
    pub(crate) fn start<S: Store + Clone>(store: S) -> Self {
        let (queue, receiver) = EventQueue::bounded(QUEUE);
        tokio::spawn(write(store, receiver, Arc::clone(&queue.dropped)));
        queue
    }

    /// A queue of `capacity` events and the receiving end its writer reads.
    fn bounded(capacity: usize) -> (Self, mpsc::Receiver<Message>) {
        let (sender, receiver) = mpsc::channel(capacity);
        let queue = EventQueue {
            sender,
            enabled: AtomicBool::new(true),
            dropped: Arc::new(AtomicU64::new(0)),
        };
        (queue, receiver)
    }

    /// Stops queueing events (`sigil serve --tenant-events off`).
    pub(crate) fn disable(&self) {
        self.enabled.store(false, Ordering::Relaxed);
    }

    /// Events dropped so far, because the queue was full or the database refused them.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits (at most `limit`) until every event queued so far is written.
    pub(crate) async fn flush(&self, limit: Duration) {
        let (done, written) = oneshot::channel();
        let flushed = async {
            if self.sender.send(Message::Flush(done)).await.is_ok() {
                let _ = written.await;
            }
        };
        if tokio::time::timeout(limit, flushed).await.is_err() {
            tracing::warn!("tenant log events were still being written at shutdown");
        }
    }
}

impl EventQueue {
    /// Queues the record of an Actions' execution, written with the events around it (even
    /// when the events themselves are switched off: the flows' events refer to it).
    pub(crate) fn record_execution(&self, execution: ActionExecution) {
        if self
            .sender
            .try_send(Message::Execution(Box::new(execution)))
            .is_err()
        {
            count_drop(&self.dropped, 1, "the tenant log's queue is full");
        }
    }
}

impl Events for EventQueue {
    fn emit(&self, event: NewLogEvent) {
        if !self.enabled.load(Ordering::Relaxed) {
            return;
        }
        if self
            .sender
            .try_send(Message::Event(Box::new(event)))
            .is_err()
        {
            count_drop(&self.dropped, 1, "the tenant log's queue is full");
        }
    }
}

fn count_drop(dropped: &AtomicU64, n: u64, why: &str) {
    let before = dropped.fetch_add(n, Ordering::Relaxed);
    let after = before + n;
    // Warn when the count crosses a power of two.
    if before == 0 || (before.leading_zeros() != after.leading_zeros()) {
        tracing::warn!(dropped = after, "tenant log events dropped: {why}");
    }
}

async fn write<S: Store>(store: S, mut receiver: mpsc::Receiver<Message>, dropped: Arc<AtomicU64>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut executions = Vec::new();
    let mut waiting = Vec::new();
    while let Some(first) = receiver.recv().await {
        // Gather for up to LINGER after the first event (fewer, larger transactions: each
        // commit is a disk sync), or until the batch is full or someone waits for a flush.
        let deadline = tokio::time::Instant::now() + LINGER;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Event(event) => batch.push(*event),
                Message::Execution(execution) => executions.push(*execution),
                Message::Flush(done) => waiting.push(done),
            }
            if batch.len() + executions.len() >= BATCH || !waiting.is_empty() {
                break;
            }
            next = match receiver.try_recv() {
                Ok(message) => Some(message),
                Err(_) => tokio::time::timeout_at(deadline, receiver.recv())
                    .await
                    .ok()
                    .flatten(),
            };
        }
        if !batch.is_empty() {
            name_clients(&store, &mut batch).await;
            if let Err(e) = store.append_logs(&batch).await {
                tracing::error!(error = %e, events = batch.len(), "cannot write tenant log events");
                count_drop(&dropped, batch.len() as u64, "the database refused them");
            }
            batch.clear();
        }
        if !executions.is_empty() {
            if let Err(e) = store.record_executions(&executions).await {
                tracing::error!(error = %e, executions = executions.len(), "cannot record Actions' executions");
                count_drop(
                    &dropped,
                    executions.len() as u64,
                    "the database refused them",
                );
            }
            executions.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Fills in `client_name` where a handler knew only the `client_id` (the hosted pages carry
/// just the id in their transaction): one read per client in the batch, here, off the
/// request's path. A client that cannot be read keeps its event unnamed.
async fn name_clients<S: Store>(store: &S, batch: &mut [NewLogEvent]) {
    let mut names: HashMap<ClientId, Option<String>> = HashMap::new();
    for event in batch.iter_mut() {
        let (Some(id), None) = (&event.client_id, &event.client_name) else {
            continue;
        };
        if !names.contains_key(id) {
            let name = store.client(id).await.ok().flatten().map(|c| c.name);
            names.insert(id.clone(), name);
        }
        event.client_name = names.get(id).cloned().flatten();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> NewLogEvent {
        NewLogEvent::new("s", sigil_core::UnixTime(0))
    }

    /// A writer that cannot keep up: once the queue is full, events are dropped and counted at
    /// once; emitting never waits (it is not async: there is nothing to wait on).
    #[tokio::test]
    async fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (queue, mut receiver) = EventQueue::bounded(3);
        for _ in 0..8 {
            queue.emit(event());
        }
        assert_eq!(queue.dropped(), 5);
        // What was queued is still there for the writer, in order.
        for _ in 0..3 {
            assert!(matches!(receiver.try_recv(), Ok(Message::Event(_))));
        }
        assert!(receiver.try_recv().is_err());
        // Switched off, nothing is queued and nothing counts as dropped.
        queue.disable();
        queue.emit(event());
        assert_eq!(queue.dropped(), 5);
        assert!(receiver.try_recv().is_err());
    }
}
