//! Password hashing and checks on tokio's blocking pool, at most one per core at a time: argon2id takes
//! tens of milliseconds and 19 MiB each, so a login storm queues here instead of exhausting
//! memory or starving the async threads that serve every other endpoint.

use std::sync::Arc;

use sigil_core::SystemRng;
use sigil_core::password::{PasswordHash, Passwords};
use tokio::sync::Semaphore;

/// The server's [`Passwords`].
#[derive(Clone)]
pub(crate) struct Hasher {
    permits: Arc<Semaphore>,
    /// Checked when there is no user or no password, so that the answer takes as long.
    decoy: Arc<PasswordHash>,
}

impl Hasher {
    /// A checker with one permit per core and a fresh decoy hash.
    pub(crate) async fn new() -> Result<Self, String> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let decoy = tokio::task::spawn_blocking(|| {
            let mut random = [0u8; 24];
            sigil_core::Rng::fill(&SystemRng, &mut random);
            PasswordHash::argon2id(&sigil_core::ids::to_hex(&random), &SystemRng)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        Ok(Hasher {
            permits: Arc::new(Semaphore::new(cores)),
            decoy: Arc::new(decoy),
        })
    }
}

impl Passwords for Hasher {
    async fn hash(&self, password: String) -> Option<PasswordHash> {
        let _permit = self.permits.acquire().await.ok()?;
        tokio::task::spawn_blocking(move || PasswordHash::argon2id(&password, &SystemRng).ok())
            .await
            .ok()
            .flatten()
    }

    async fn check(&self, hash: Option<PasswordHash>, password: String) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let (hash, real) = match hash {
            Some(hash) => (hash, true),
            None => ((*self.decoy).clone(), false),
        };
        let checked = tokio::task::spawn_blocking(move || hash.verify(&password)).await;
        // An algorithm Sigil cannot check yet (`None`) fails closed.
        real && matches!(checked, Ok(Some(true)))
    }
}
