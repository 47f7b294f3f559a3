//! Housekeeping: what expired (codes, sessions, refresh tokens, tickets, device codes,
//! client-assertion `jti`s) or is past its retention (finished jobs and their export files,
//! tenant log events, mail sent or given up on) is deleted, batch after batch, so that no table grows for ever and no
//! single statement holds its locks for long. Several nodes purging at once only share the
//! work.

use crate::UnixTime;
use crate::store::{Purged, Retention, Store, StoreError};

/// Rows of each kind one statement deletes at most.
pub const BATCH: u32 = 500;

/// Batches one [`purge`] runs at most; a larger backlog is left to the next run.
pub const MAX_ROUNDS: u32 = 100;

/// How long finished records are kept, in days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionDays {
    /// Tenant log events (Auth0 keeps them 1 to 30 days, by plan).
    pub logs: u32,
    /// Finished Management API jobs, with an export's file.
    pub jobs: u32,
    /// Mail sent or given up on (its sealed body holds used or expired links).
    pub mail: u32,
}

impl Default for RetentionDays {
    fn default() -> Self {
        RetentionDays {
            logs: 30,
            jobs: 7,
            mail: 7,
        }
    }
}

impl RetentionDays {
    /// The horizons as of `now`.
    pub fn as_of(&self, now: UnixTime) -> Retention {
        let days = |n: u32| UnixTime(now.0 - i64::from(n) * 86_400);
        Retention {
            logs_before: days(self.logs),
            jobs_before: days(self.jobs),
            mail_before: days(self.mail),
        }
    }
}

/// Deletes what expired by `now` or is past `retention`, in batches of [`BATCH`] per kind,
/// until nothing is left or [`MAX_ROUNDS`] batches ran; returns what went.
pub async fn purge(
    store: &impl Store,
    now: UnixTime,
    retention: RetentionDays,
) -> Result<Purged, StoreError> {
    let horizons = retention.as_of(now);
    let mut purged = Purged::default();
    for _ in 0..MAX_ROUNDS {
        let round = store.purge_expired(now, &horizons, BATCH).await?;
        purged += round;
        if !round.any_full(BATCH) {
            break;
        }
    }
    Ok(purged)
}
