//! [`Guard`]: the issuer's keys, kept fresh, and the validation every token goes through.
//!
//! Keys live in an `Arc` swapped whole under a lock held for a pointer copy, so verification
//! never waits for the network. They are refetched:
//!
//! - in the background, by a task spawned from the first request that finds them older than the
//!   refresh interval (10 minutes by default; 30 seconds after a failed attempt);
//! - at once, when a token names a `kid` the guard does not know (the issuer rotated), at most
//!   once per cool-down (30 seconds by default), so a flood of made-up `kid`s cannot become a
//!   flood of JWKS requests. Requests that meet an unknown `kid` while that fetch is in flight
//!   wait for it instead of failing.
//!
//! A failed fetch is logged and changes nothing: the last good keys keep serving.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sigil_jose::{Algorithm, KeySet, TypPolicy, Validation, Verifier, VerifyError};

use crate::cache::TokenCache;
use crate::claims::Claims;
use crate::clock::{Clock, SystemClock};
use crate::error::{GuardError, Rejection};
use crate::jwks::{self, Remote};

/// The algorithms accepted when none are configured: every asymmetric one. A key whose JWK
/// names an `alg` verifies only that one. HMAC is never accepted from a JWKS: a verifier that
/// took `HS256` with a public key as the secret would accept tokens anyone can forge.
pub const DEFAULT_ALGORITHMS: [Algorithm; 10] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::EdDSA,
];

/// Validates bearer tokens for one API. Cheap to clone; clones share the keys and the cache.
#[derive(Clone, Debug)]
pub struct Guard {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `None` for a guard built on a fixed key set.
    remote: Option<Remote>,
    validation: Validation,
    realm: String,
    clock: Arc<dyn Clock>,
    refresh_interval: i64,
    cooldown: i64,
    keys: RwLock<Arc<Keys>>,
    /// Held while a fetch is in flight.
    fetching: tokio::sync::Mutex<()>,
    /// When the background refresh is next due (Unix seconds).
    refresh_due: AtomicI64,
    /// When an unknown `kid` last caused a fetch.
    kid_fetch_at: AtomicI64,
    cache: Option<TokenCache>,
}

#[derive(Debug)]
struct Keys {
    verifier: Verifier,
    kids: Vec<Option<String>>,
    /// Counts key sets: cached tokens are served only by the set that verified them.
    generation: u64,
}

impl std::fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// How a [`Guard`] is set up. Start with [`Guard::builder`].
#[must_use]
pub struct GuardBuilder {
    issuer: Option<String>,
    jwks_url: Option<String>,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway: u64,
    strict: bool,
    realm: Option<String>,
    refresh_interval: Duration,
    cooldown: Duration,
    timeout: Duration,
    cache_capacity: usize,
    clock: Arc<dyn Clock>,
    http: Option<reqwest::Client>,
}

impl Guard {
    /// A builder with the defaults: every asymmetric algorithm, 5 s leeway, `typ` `JWT` or
    /// `at+jwt` (or none), keys refreshed every 10 minutes, a 30 s cool-down for unknown `kid`s,
    /// 5 s network timeout, no token cache.
    pub fn builder() -> GuardBuilder {
        GuardBuilder {
            issuer: None,
            jwks_url: None,
            audiences: Vec::new(),
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            leeway: 5,
            strict: false,
            realm: None,
            refresh_interval: Duration::from_secs(600),
            cooldown: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            cache_capacity: 0,
            clock: Arc::new(SystemClock),
            http: None,
        }
    }
}

impl GuardBuilder {
    /// The issuer, exactly as tokens carry it in `iss` (Auth0's and Sigil's end in `/`). Without
    /// [`GuardBuilder::jwks_url`], its OpenID Connect discovery document names the JWKS.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Fetch the keys from this URL instead of discovering it; the issuer is then only the
    /// `iss` string tokens must carry.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// An audience the API answers to (Auth0's API identifier). Tokens must have one of the
    /// configured audiences in `aud`. At least one is required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The algorithms accepted, replacing [`DEFAULT_ALGORITHMS`]. HMAC algorithms are refused
    /// when the guard is built: a JWKS carries no shared secrets.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock skew tolerated on `exp` and `nbf`, in seconds (default 5).
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// RFC 9068 mode: `typ` must be `at+jwt`, and `iss`, `exp`, `aud`, `sub`, `client_id`,
    /// `iat` and `jti` must all be present (§2.2). Auth0's tokens (`typ: JWT`, no `client_id`)
    /// fail it; an API that chose the RFC 9068 dialect at Sigil passes.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// The `realm` of the `WWW-Authenticate` challenge (default: the first audience).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// How old the keys may get before a background refresh (default 10 minutes).
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// The least time between two fetches caused by unknown `kid`s (default 30 seconds).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The time limit of each request to the issuer (default 5 seconds).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Remember up to `capacity` verified tokens (default 0: off). See the crate docs for when
    /// it pays.
    pub fn token_cache(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// The clock (default: the system's).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The HTTP client used to reach the issuer (default: one of the guard's own, with the
    /// configured timeout).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Discovers the JWKS (unless given) and fetches it. Fails, saying why, if the issuer
    /// cannot be reached or its keys cannot be used: an API should not start unable to accept
    /// any token.
    pub async fn build(self) -> Result<Guard, GuardError> {
        let mut issuer = self.required_issuer()?;
        let http = match &self.http {
            Some(client) => client.clone(),
            None => jwks::client(self.timeout)?,
        };
        let jwks_url = match &self.jwks_url {
            Some(url) => url.clone(),
            None => {
                let (discovered, jwks_url) = jwks::discover(&http, &issuer).await?;
                issuer = discovered;
                jwks_url
            }
        };
        let remote = Remote::new(http, jwks_url);
        let keys = remote.keys().await?;
        self.finish(issuer, Some(remote), keys)
    }

    /// A guard on a fixed JWK Set document, never refreshed: for tests, benchmarks and APIs
    /// whose issuer's keys are configured by hand.
    pub fn build_with_jwks(self, jwks: &[u8]) -> Result<Guard, GuardError> {
        let issuer = self.required_issuer()?;
        let keys = jwks::key_set(jwks, "(given)")?;
        self.finish(issuer, None, keys)
    }

    fn required_issuer(&self) -> Result<String, GuardError> {
        let Some(issuer) = self.issuer.clone().filter(|i| !i.is_empty()) else {
            return Err(GuardError::Config(
                "the guard needs the issuer its tokens come from (e.g. https://tenant.example.com/)"
                    .to_owned(),
            ));
        };
        Ok(issuer)
    }

    fn finish(
        self,
        issuer: String,
        remote: Option<Remote>,
        keys: KeySet,
    ) -> Result<Guard, GuardError> {
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err(GuardError::Config(
                "the guard needs the API's audience (its identifier, e.g. https://api.example.com/)"
                    .to_owned(),
            ));
        }
        if let Some(alg) = self.algorithms.iter().find(|a| a.is_symmetric()) {
            return Err(GuardError::Config(format!(
                "{alg} needs a shared secret, which a JWKS never holds; allow asymmetric algorithms only"
            )));
        }
        if self.algorithms.is_empty() {
            return Err(GuardError::Config(
                "the guard needs at least one algorithm".to_owned(),
            ));
        }
        let mut validation = Validation::new(self.algorithms.iter().copied())
            .issuer(issuer)
            .leeway(self.leeway);
        validation.audiences = self.audiences.clone();
        if self.strict {
            validation.typ = TypPolicy::Require(vec!["at+jwt".to_owned()]);
            validation.required_claims = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"]
                .map(str::to_owned)
                .to_vec();
        }
        let now = self.clock.now().0;
        let refresh_interval = seconds(self.refresh_interval).max(1);
        let realm = self.realm.unwrap_or_else(|| self.audiences[0].clone());
        Ok(Guard {
            inner: Arc::new(Inner {
                keys: RwLock::new(Arc::new(Keys::new(keys, &validation, 0))),
                remote,
                validation,
                realm,
                clock: self.clock,
                refresh_interval,
                cooldown: seconds(self.cooldown),
                fetching: tokio::sync::Mutex::new(()),
                refresh_due: AtomicI64::new(now.saturating_add(refresh_interval)),
                kid_fetch_at: AtomicI64::new(i64::MIN),
                cache: (self.cache_capacity > 0).then(|| TokenCache::new(self.cache_capacity)),
            }),
        })
    }
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl Keys {
    fn new(keys: KeySet, validation: &Validation, generation: u64) -> Self {
        let kids = keys
            .keys()
            .iter()
            .map(|k| k.kid().map(str::to_owned))
            .collect();
        Keys {
            verifier: Verifier::new(keys, validation.clone()),
            kids,
            generation,
        }
    }
}

impl Guard {
    /// Verifies a bearer token: signature with the issuer's keys, `alg` in the allow-list,
    /// `iss` exact, `aud` holding the API, `exp`/`nbf` with leeway, `typ`, required claims.
    /// Checks no scope: see [`crate::Requirement`].
    pub async fn verify(&self, token: &str) -> Result<Arc<Claims>, Rejection> {
        let now = self.inner.clock.now();
        self.refresh_if_due(now.0);
        let mut keys = self.keys();
        let cached = self.inner.cache.as_ref().map(|_| TokenCache::key(token));
        if let (Some(cache), Some(key)) = (&self.inner.cache, &cached)
            && let Some(claims) = cache.get(key, keys.generation, now.0)
        {
            return Ok(claims);
        }
        let verified = match keys.verifier.verify::<Claims>(token, now) {
            Err(VerifyError::UnknownKid(_) | VerifyError::NoKey(_))
                if self.fetch_for_unknown_kid(now.0).await =>
            {
                keys = self.keys();
                keys.verifier.verify::<Claims>(token, now)
            }
            other => other,
        }
        .map_err(|e| Rejection::InvalidToken(e.to_string()))?;
        let claims = Arc::new(verified.claims);
        if let (Some(cache), Some(key)) = (&self.inner.cache, cached) {
            cache.insert(key, claims.clone(), keys.generation, now.0);
        }
        Ok(claims)
    }

    fn keys(&self) -> Arc<Keys> {
        self.inner
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The realm of this guard's challenges.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// The issuer tokens must come from (as discovered, when discovery corrected a trailing
    /// slash).
    pub fn issuer(&self) -> &str {
        self.inner.validation.issuer.as_deref().unwrap_or_default()
    }

    /// The `kid`s of the keys in use.
    pub fn kids(&self) -> Vec<Option<String>> {
        self.keys().kids.clone()
    }

    /// Fetches the JWKS now (after the fetch in flight, if any) and swaps it in; tokens cached
    /// under the old keys are verified again. On failure the keys in use stay, and the error
    /// says why. A guard on fixed keys has nothing to fetch.
    pub async fn refresh(&self) -> Result<(), GuardError> {
        let Some(remote) = &self.inner.remote else {
            return Ok(());
        };
        let _fetching = self.inner.fetching.lock().await;
        let result = remote.keys().await;
        let now = self.inner.clock.now().0;
        match result {
            Ok(keys) => {
                let changed = {
                    let mut current = self.inner.keys.write().unwrap_or_else(|e| e.into_inner());
                    let keys = Keys::new(keys, &self.inner.validation, current.generation + 1);
                    let changed = current.kids != keys.kids;
                    *current = Arc::new(keys);
                    changed
                };
                if changed {
                    tracing::info!(jwks = %remote.jwks_url, kids = ?self.kids(), "signing keys changed");
                }
                if let Some(cache) = &self.inner.cache {
                    cache.clear();
                }
                self.inner.refresh_due.store(
                    now.saturating_add(self.inner.refresh_interval),
                    Ordering::SeqCst,
                );
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWKS refresh failed; the keys in use stay");
                let retry = self.inner.cooldown.min(self.inner.refresh_interval);
                self.inner
                    .refresh_due
                    .store(now.saturating_add(retry), Ordering::SeqCst);
                Err(e)
            }
        }
    }

    /// Starts a background refresh if one is due. Exactly one caller wins the due time.
    fn refresh_if_due(&self, now: i64) {
        let due = self.inner.refresh_due.load(Ordering::Relaxed);
        if now < due || self.inner.remote.is_none() {
            return;
        }
        // Whoever moves the due time on starts the refresh; the others carry on.
        let later = now.saturating_add(self.inner.cooldown.max(1));
        if self
            .inner
            .refresh_due
            .compare_exchange(due, later, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let guard = self.clone();
        runtime.spawn(async move {
            let _ = guard.refresh().await;
        });
    }

    /// A token named a `kid` the guard does not know: refetch unless the cool-down forbids it,
    /// or wait for a fetch already in flight. Says whether the keys may have changed.
    async fn fetch_for_unknown_kid(&self, now: i64) -> bool {
        if self.inner.remote.is_none() {
            return false;
        }
        let last = self.inner.kid_fetch_at.load(Ordering::Relaxed);
        let allowed = now >= last.saturating_add(self.inner.cooldown)
            && self
                .inner
                .kid_fetch_at
                .compare_exchange(last, now, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok();
        if allowed {
            return self.refresh().await.is_ok();
        }
        if self.inner.fetching.try_lock().is_err() {
            drop(self.inner.fetching.lock().await);
            return true;
        }
        false
    }
}
