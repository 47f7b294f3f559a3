//! The purge every node runs in the background (core's `housekeeping::purge`): every
//! `every`, give or take a tenth so that nodes started together spread their runs, as of the
//! app's clock. A failed run is logged and tried again at the next tick.

use std::time::Duration;

use sigil_core::Store;
use sigil_core::housekeeping::{self, RetentionDays};

use crate::App;

/// When and what the background purge deletes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Housekeeping {
    /// Time between two runs.
    pub every: Duration,
    /// How long finished jobs and tenant log events are kept.
    pub retention: RetentionDays,
}

impl Default for Housekeeping {
    fn default() -> Self {
        Housekeeping {
            every: Duration::from_secs(60),
            retention: RetentionDays::default(),
        }
    }
}

/// Runs the purge for ever; the caller aborts the task at shutdown.
pub(crate) async fn run<S: Store + Clone>(app: App<S>, plan: Housekeeping) {
    loop {
        tokio::time::sleep(jittered(&app, plan.every)).await;
        let now = app.now();
        match housekeeping::purge(app.store(), now, plan.retention).await {
            Ok(purged) if purged.total() > 0 => {
                app.metrics().purged(&purged);
                tracing::info!(?purged, "purged expired rows");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "housekeeping failed; trying again later"),
        }
    }
}

/// `every`, plus or minus up to a tenth.
fn jittered<S: Store>(app: &App<S>, every: Duration) -> Duration {
    let mut byte = [0u8];
    app.rng().fill(&mut byte);
    // 0..=255 spread over -10%..+10%.
    let factor = 0.9 + 0.2 * f64::from(byte[0]) / 255.0;
    every.mul_f64(factor)
}
