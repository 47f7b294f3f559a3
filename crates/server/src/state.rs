//! What every handler shares: the store, the issuer, the clock and randomness, and the signing
//! keys, parsed once and reloaded from the store at most [`KEYS_TTL`] seconds after a change
//! (so `sigil keys rotate` run beside a live server takes effect within that bound).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use sigil_core::authorize::TransactionKey;
use sigil_core::ids::ClientId;
use sigil_core::keyring::KeyRing;
use sigil_core::mfa::remember;
use sigil_core::oauth::{FlowError, MfaTokenKey, RefreshKey, UserinfoKey};
use sigil_core::passwordless::CodeKey;
use sigil_core::{Clock, Rng, Store, StoreError, UnixTime};

use crate::cache::{Cached, HotCache};
use crate::events::EventQueue;
use crate::hasher::{Hasher, HasherOptions};
use crate::metrics::Metrics;
use crate::pages::Pages;
use sigil_core::events::Events as _;
use sigil_core::events::Origin;
use sigil_core::model::{LogType, NewLogEvent};

/// Seconds a loaded key ring is used before the store is asked again.
pub const KEYS_TTL: i64 = 5;

/// The application state; cheap to clone.
pub struct App<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for App<S> {
    fn clone(&self) -> Self {
        App {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<S> {
    store: S,
    hasher: Hasher,
    /// Tenant code (Actions): its own bounded pool of threads.
    actions: sigil_actions::Engine,
    /// Each trigger's bound Actions, as read last.
    bound: crate::actions::BoundCache,
    /// Rings when this node queued an execution of an asynchronous trigger.
    trigger_queue: tokio::sync::Notify,
    secrets: Secrets,
    opaque: Arc<UserinfoKey>,
    mfa: Arc<MfaTokenKey>,
    cache: HotCache,
    pages: Pages,
    issuer: String,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
    keys: RwLock<Loaded>,
    /// Set when shutdown begins, so that `/readyz` turns load balancers away first.
    draining: AtomicBool,
    /// The tenant log's queue.
    events: EventQueue,
    /// The issuer's host, for log events.
    hostname: Option<String>,
    /// What `/metrics` shows.
    metrics: Arc<Metrics>,
    /// Calls to other identity providers.
    upstreams: crate::upstream::Upstreams,
    /// Passwordless connections' SMS providers.
    sms: crate::sms::SmsClient,
    /// The operator's GeoIP database, when one is set (`sigil serve --geoip-db`).
    geoip: RwLock<Option<Arc<crate::geoip::GeoIp>>>,
    /// Work running after its request was answered ([`App::detach`]).
    detached: tokio_util::task::TaskTracker,
}

#[derive(Clone)]
struct Loaded {
    ring: Arc<KeyRing>,
    at: UnixTime,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store failed.
    #[error("cannot read the signing keys: {0}")]
    Store(#[from] StoreError),
    /// A stored key does not parse.
    #[error("a stored signing key is unusable: {0}")]
    Key(#[from] sigil_jose::KeyError),
    /// A key family the tenant's APIs or applications sign with could not be made.
    #[error("cannot make a signing key family: {0}")]
    Family(#[from] sigil_core::key_family::EnsureError),
    /// The client for other identity providers could not be made.
    #[error("cannot make the client for other identity providers: {0}")]
    Upstreams(String),
    /// The password checker could not be set up.
    #[error("cannot set up password checks: {0}")]
    Hasher(String),
    /// The Actions engine's threads could not be started.
    #[error("cannot start the Actions engine: {0}")]
    Actions(String),
    /// A page template does not parse.
    #[error("a page template is broken: {0}")]
    Pages(#[from] minijinja::Error),
}

/// The keys the server needs that every node must share: derived from the master key.
#[derive(Debug)]
pub struct Secrets {
    /// Derives refresh-token successors.
    pub refresh: RefreshKey,
    /// Seals login transactions.
    pub transactions: TransactionKey,
    /// Derives the key of opaque access tokens (bound to the issuer when the state is made).
    pub userinfo_seed: zeroize::Zeroizing<[u8; 32]>,
    /// Derives the key of `mfa_token`s (bound to the issuer when the state is made).
    pub mfa_seed: zeroize::Zeroizing<[u8; 32]>,
    /// Digests passwordless codes.
    pub passwordless: CodeKey,
}

impl Secrets {
    /// Both keys from `derive`, which maps a purpose to 32 secret bytes (`SqlStore::derived_key`).
    pub fn derive(derive: impl Fn(&str) -> zeroize::Zeroizing<[u8; 32]>) -> Self {
        Secrets {
            refresh: RefreshKey::new(&derive("refresh token successors")),
            transactions: TransactionKey::new(&derive("login transactions")),
            userinfo_seed: derive("opaque access tokens"),
            mfa_seed: derive("mfa tokens"),
            passwordless: CodeKey::new(&derive("passwordless codes")),
        }
    }
}

impl<S: Store + Clone> App<S> {
    /// The state for `issuer` (ending in `/`), with the keys loaded from `store` and the tenant
    /// log's writer started on the current runtime; the hosted
    /// pages' templates replaced by the `*.html` files of `templates`, when given; password
    /// workers as `passwords` says; tenant code (Actions) under `actions`' limits.
    #[allow(clippy::too_many_arguments)] // The server's inputs; grouping them would only rename them.
    pub async fn new(
        store: S,
        issuer: String,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
        secrets: Secrets,
        templates: Option<&std::path::Path>,
        passwords: HasherOptions,
        actions: sigil_actions::Limits,
    ) -> Result<Self, StartError> {
        let opaque = Arc::new(UserinfoKey::new(&secrets.userinfo_seed, &issuer));
        let mfa = Arc::new(MfaTokenKey::new(&secrets.mfa_seed, &issuer));
        let at = clock.now();
        // A tenant whose PS256 APIs or applications predate the PS256 family gets it now.
        for key in sigil_core::key_family::ensure_in_use(&store, at).await? {
            tracing::info!(kid = %key.kid, alg = %key.alg, state = key.state.as_str(), "made a signing key for an algorithm in use");
        }
        let ring = KeyRing::from_records(
            &store.signing_keys().await?,
            &issuer,
            opaque.clone(),
            mfa.clone(),
        )?;
        let metrics = Arc::new(Metrics::new());
        let hasher = Hasher::new(passwords, Arc::clone(&metrics))
            .await
            .map_err(StartError::Hasher)?;
        let events = EventQueue::start(store.clone());
        let actions = sigil_actions::Engine::start(actions)
            .map_err(|e| StartError::Actions(e.to_string()))?;
        let upstreams = crate::upstream::Upstreams::new(Some(Arc::clone(&metrics)))
            .map_err(StartError::Upstreams)?;
        let sms = crate::sms::SmsClient::new(Arc::clone(&clock), Arc::clone(&metrics))
            .map_err(StartError::Upstreams)?;
        Ok(App {
            inner: Arc::new(Inner {
                store,
                hasher,
                actions,
                bound: crate::actions::BoundCache::default(),
                trigger_queue: tokio::sync::Notify::new(),
                events,
                metrics,
                hostname: url::Url::parse(&issuer)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned)),
                secrets,
                opaque,
                mfa,
                cache: HotCache::new(),
                pages: Pages::new(templates)?,
                issuer,
                clock,
                rng,
                keys: RwLock::new(Loaded {
                    ring: Arc::new(ring),
                    at,
                }),
                draining: AtomicBool::new(false),
                upstreams,
                sms,
                geoip: RwLock::new(None),
                detached: tokio_util::task::TaskTracker::new(),
            }),
        })
    }
}

impl<S: Store> App<S> {
    /// Where logins and token exchanges leave their tenant log events.
    pub(crate) fn events(&self) -> &EventQueue {
        &self.inner.events
    }

    /// Queues a tenant log event, and counts it in `/metrics` when it is a login's.
    pub(crate) fn log_event(&self, event: NewLogEvent) {
        let log_type = event.log_type.as_ref().map(|t| t.as_str());
        if let Some(result) = log_type.and_then(mfa_result) {
            self.inner.metrics.mfa(result);
        }
        if let Some(result) = log_type.and_then(login_result) {
            // A connection the store vouched for (it has an id), never one a request named.
            let connection = event
                .connection_id
                .as_ref()
                .and(event.connection.as_deref())
                .unwrap_or("");
            self.inner.metrics.login(result, connection);
        }
        self.inner.events.emit(event);
    }

    /// What `/metrics` shows.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub(crate) fn shared_metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.inner.metrics)
    }

    /// The hot cache's hits and misses per map.
    pub(crate) fn cache_stats(&self) -> [(&'static str, u64, u64); 4] {
        self.inner.cache.stats()
    }

    /// Calls to other identity providers.
    pub(crate) fn upstreams(&self) -> &crate::upstream::Upstreams {
        &self.inner.upstreams
    }

    /// What the operator decided about other identity providers (`sigil serve
    /// --federation-allow-http-loopback`, `--federation-endpoint`).
    pub fn set_federation_policy(&self, policy: sigil_core::federation::Policy) {
        self.inner.upstreams.set_policy(policy);
    }

    /// Passwordless connections' SMS providers.
    pub(crate) fn sms(&self) -> &crate::sms::SmsClient {
        &self.inner.sms
    }

    /// Where Twilio's API is (`sigil serve --twilio-url`; Twilio's own by default).
    pub fn set_twilio_url(&self, base: url::Url) {
        self.inner.sms.set_twilio(base);
    }

    /// Stops recording metrics (`sigil serve --metrics off`).
    pub fn disable_metrics(&self) {
        self.inner.metrics.disable();
    }

    /// What a log event says about a request from `ip` with `headers`.
    pub(crate) fn origin(&self, ip: std::net::IpAddr, headers: &axum::http::HeaderMap) -> Origin {
        Origin {
            ip: Some(ip.to_string()),
            user_agent: headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            hostname: self.inner.hostname.clone(),
            language: crate::pages::language(headers),
            geoip: self.geoip(ip),
            remembered: crate::routes::authorize::cookie(headers, remember::COOKIE).and_then(
                |value| {
                    remember::RememberedBrowser::open(&value, self.transaction_key(), self.now())
                },
            ),
        }
    }

    /// Locates addresses from now on with `database` (`sigil serve --geoip-db`).
    pub fn set_geoip(&self, database: crate::geoip::GeoIp) {
        if let Ok(mut slot) = self.inner.geoip.write() {
            *slot = Some(Arc::new(database));
        }
    }

    /// Where `ip` is, in Auth0's `event.request.geoip` names; `{}` without a GeoIP database.
    pub(crate) fn geoip(&self, ip: std::net::IpAddr) -> sigil_core::model::JsonObject {
        let database = self.inner.geoip.read().ok().and_then(|slot| slot.clone());
        database.map(|db| db.locate(ip)).unwrap_or_default()
    }

    /// Runs `work` after the request is answered, off its path: for work whose duration would
    /// tell the caller something (whether a user exists). A failure is logged once, as `what`.
    /// [`App::flush_events`] waits for it.
    pub(crate) fn detach<F>(&self, what: &'static str, work: F)
    where
        F: std::future::Future<Output = Result<(), sigil_core::oauth::FlowError>> + Send + 'static,
    {
        self.inner.detached.spawn(async move {
            if let Err(e) = work.await {
                tracing::error!(error = %e, "{what}");
            }
        });
    }

    /// Finishes the work detached from answered requests, then writes every tenant log event
    /// queued so far (waiting at most 5 seconds for each): at shutdown, and in tests before
    /// they read the log or the outbox.
    pub async fn flush_events(&self) {
        let limit = std::time::Duration::from_secs(5);
        let detached = &self.inner.detached;
        detached.close();
        if tokio::time::timeout(limit, detached.wait()).await.is_err() {
            tracing::warn!("work detached from answered requests was still running");
        }
        detached.reopen();
        self.inner.events.flush(limit).await;
    }

    /// Writes no more tenant log events for logins and token exchanges (`sigil serve
    /// --tenant-events off`).
    pub fn disable_tenant_events(&self) {
        self.inner.events.disable();
    }

    pub(crate) fn store(&self) -> &S {
        &self.inner.store
    }

    /// The store through the hot-path cache, as of `now`.
    pub(crate) fn directory(&self, now: UnixTime) -> Cached<'_, S> {
        Cached {
            store: &self.inner.store,
            cache: &self.inner.cache,
            now,
        }
    }

    /// The origins browsers may call from, through the cache (see `cache.rs`).
    pub(crate) async fn origins(&self) -> Result<Arc<HashSet<String>>, StoreError> {
        self.inner
            .cache
            .origins(&self.inner.store, self.now())
            .await
    }

    /// Drops what this node cached about `client` (and the origin set), after a change made
    /// here; other nodes see it within `CACHE_TTL`.
    pub(crate) fn forget_client(&self, client: &ClientId) {
        self.inner.cache.forget_client(client);
    }

    pub(crate) fn refresh_key(&self) -> &RefreshKey {
        &self.inner.secrets.refresh
    }

    pub(crate) fn transaction_key(&self) -> &TransactionKey {
        &self.inner.secrets.transactions
    }

    /// What core's MFA steps that mail or check a code work with, for a request from `origin`.
    pub(crate) fn mfa_effects<'a>(
        &'a self,
        keys: &'a KeyRing,
        origin: &'a sigil_core::events::Origin,
    ) -> sigil_core::mfa::Effects<'a> {
        sigil_core::mfa::Effects {
            keys: keys.mfa_tokens(),
            rng: self.rng(),
            events: self,
            origin,
            now: self.now(),
        }
    }

    /// The key passwordless codes are digested under.
    pub(crate) fn code_key(&self) -> &CodeKey {
        &self.inner.secrets.passwordless
    }

    pub(crate) fn pages(&self) -> &Pages {
        &self.inner.pages
    }

    /// Whether cookies must be `Secure` (the issuer is https).
    pub(crate) fn secure_cookies(&self) -> bool {
        self.inner.issuer.starts_with("https://")
    }

    pub(crate) fn hasher(&self) -> &Hasher {
        &self.inner.hasher
    }

    /// The Actions engine.
    pub(crate) fn actions(&self) -> &sigil_actions::Engine {
        &self.inner.actions
    }

    /// What each trigger runs, as read last.
    pub(crate) fn bound_cache(&self) -> &crate::actions::BoundCache {
        &self.inner.bound
    }

    /// Rings when this node queued an execution of an asynchronous trigger.
    pub(crate) fn trigger_queue(&self) -> &tokio::sync::Notify {
        &self.inner.trigger_queue
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.inner.clock.now()
    }

    /// Now in Unix milliseconds (the Management API's rate limits count within a second).
    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub(crate) fn rng(&self) -> &dyn Rng {
        self.inner.rng.as_ref()
    }

    pub(crate) fn shared_rng(&self) -> Arc<dyn Rng> {
        Arc::clone(&self.inner.rng)
    }

    /// Marks the node as shutting down: `/readyz` answers 503 from now on.
    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::Relaxed);
    }

    /// Whether shutdown has begun.
    pub(crate) fn draining(&self) -> bool {
        self.inner.draining.load(Ordering::Relaxed)
    }

    /// The key ring, reloaded when older than [`KEYS_TTL`].
    pub(crate) async fn keys(&self) -> Result<Arc<KeyRing>, FlowError> {
        let now = self.now();
        let loaded = self.read_keys();
        if now.0 - loaded.at.0 < KEYS_TTL {
            return Ok(loaded.ring);
        }
        match self.reload_keys().await {
            // The database is out of reach: the ring in memory is what this node served a
            // moment ago (every node serves a ring up to KEYS_TTL old anyway), so tokens are
            // still signed and verified with it; the next reload is tried in a second.
            Err(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "cannot reload the signing keys; using those in memory");
                if let Ok(mut slot) = self.inner.keys.write() {
                    slot.at = UnixTime(now.0 - KEYS_TTL + 1);
                }
                Ok(loaded.ring)
            }
            reloaded => reloaded,
        }
    }

    /// The key ring read from the store now, whatever its age: for a request that needs a
    /// signer the loaded ring lacks (a key family made since, e.g. by the first ES256 API).
    pub(crate) async fn reload_keys(&self) -> Result<Arc<KeyRing>, FlowError> {
        let now = self.now();
        let records = self.inner.store.signing_keys().await?;
        let ring = Arc::new(
            KeyRing::from_records(
                &records,
                self.issuer(),
                Arc::clone(&self.inner.opaque),
                Arc::clone(&self.inner.mfa),
            )
            .map_err(|e| FlowError::Sign(e.to_string()))?,
        );
        if let Ok(mut slot) = self.inner.keys.write() {
            *slot = Loaded {
                ring: Arc::clone(&ring),
                at: now,
            };
        }
        Ok(ring)
    }

    fn read_keys(&self) -> Loaded {
        match self.inner.keys.read() {
            Ok(loaded) => loaded.clone(),
            // A writer panicked while holding the lock; the value it guards is still whole
            // (it is replaced in one assignment).
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// The `sigil_logins_total` result of a login event's type, `None` for other events.
fn login_result(log_type: &str) -> Option<&'static str> {
    Some(match log_type {
        LogType::SUCCESS_LOGIN
        | LogType::SUCCESS_SILENT_AUTH
        | LogType::SUCCESS_EXCHANGE_PASSWORD => "success",
        LogType::FAILED_LOGIN_PASSWORD => "wrong_password",
        LogType::FAILED_LOGIN_USER => "unknown_user",
        LogType::FAILED_LOGIN => "blocked",
        LogType::FAILED_SILENT_AUTH => "login_required",
        _ => return None,
    })
}

/// The metric result of a second-factor event, by its type.
fn mfa_result(log_type: &str) -> Option<&'static str> {
    Some(match log_type {
        LogType::MFA_REQUIRED => "required",
        LogType::MFA_ENROLLED => "enrolled",
        LogType::MFA_SUCCEEDED => "passed",
        LogType::MFA_FAILED => "wrong",
        LogType::MFA_RECOVERY_SUCCEEDED => "recovery_passed",
        LogType::MFA_RECOVERY_FAILED => "recovery_wrong",
        LogType::MFA_TOO_MANY_ATTEMPTS => "throttled",
        _ => return None,
    })
}

/// The core's login steps write their events through the app: queued, and counted in
/// `/metrics` when they are logins'.
impl<S: Store> sigil_core::events::Events for App<S> {
    fn emit(&self, event: NewLogEvent) {
        self.log_event(event);
    }
}
