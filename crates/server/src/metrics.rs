//! `/metrics`: what the server is doing, in the Prometheus (OpenMetrics) text format, on the
//! main listener or on `--metrics-listen` of its own.
//!
//! Every label comes from a closed set: route templates (`other` for paths no route matched),
//! methods, statuses, grant types, algorithms, connection names the store vouched for, cache
//! and key-family names. Never a client, user or address. Request, token and login counts are
//! recorded as they happen; gauges (pool, queue, keys, outbox, process) and the counts other
//! parts keep (cache hits, dropped events) are read when scraped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sigil_core::Store;
use sigil_core::store::Purged;

use crate::App;

/// Whether and where `/metrics` is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsOptions {
    /// Metrics are recorded and served.
    pub enabled: bool,
    /// A listener of their own (`--metrics-listen`); on the main one when `None`.
    pub listen: Option<std::net::SocketAddr>,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            enabled: true,
            listen: None,
        }
    }
}

/// `GET /metrics`.
pub(crate) async fn page<S: Store>(
    axum::extract::State(app): axum::extract::State<App<S>>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match scrape(&app).await {
        Ok(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode the metrics");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    grant_type: &'static str,
    alg: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    result: &'static str,
    connection: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    trigger: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    call: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabels {
    name: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    family: &'static str,
    state: &'static str,
}

fn request_buckets() -> Histogram {
    // 0.5 ms to about 8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// The registry and every metric in it.
pub(crate) struct Metrics {
    enabled: AtomicBool,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    tokens: Family<TokenLabels, Counter>,
    logins: Family<LoginLabels, Counter>,
    actions: Family<ActionLabels, Counter>,
    action_fetches: Family<ActionLabels, Counter>,
    upstream_calls: Family<UpstreamLabels, Counter>,
    mail_deliveries: Family<ResultLabels, Counter>,
    mfa: Family<ResultLabels, Counter>,
    password_queue: Gauge,
    password_refused: Counter,
    password_seconds: Histogram,
    db_connections: Family<NameLabels, Gauge>,
    cache: Family<CacheLabels, Counter>,
    keys: Family<KeyLabels, Gauge>,
    events_dropped: Counter,
    outbox_pending: Gauge,
    purged: Family<NameLabels, Counter>,
    rss_bytes: Gauge,
    cpu_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    open_fds: Gauge,
    /// Scrapes one at a time, so that counters read from elsewhere move forward once.
    scrape: tokio::sync::Mutex<()>,
    /// Password checks refused so far, as the hasher counts them.
    refused_seen: AtomicU64,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("sigil");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by route template, method and status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            request_buckets,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route template",
            durations.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "tokens_issued",
            "Token responses issued at /oauth/token, by grant type and access token algorithm",
            tokens.clone(),
        );
        let actions = Family::<ActionLabels, Counter>::default();
        registry.register(
            "actions_executions",
            "Trigger executions of Actions, by trigger and result (ok, denied, redirected, failed, busy)",
            actions.clone(),
        );
        let action_fetches = Family::<ActionLabels, Counter>::default();
        registry.register(
            "actions_fetches",
            "Requests Actions made with fetch, by trigger and result (answered, failed, refused: not in an egress allow-list or not a public address)",
            action_fetches.clone(),
        );
        let logins = Family::<LoginLabels, Counter>::default();
        registry.register(
            "logins",
            "Logins by result (success, wrong_password, unknown_user, blocked, login_required) and connection",
            logins.clone(),
        );
        let password_queue = Gauge::default();
        registry.register(
            "password_hash_queue",
            "Password checks and hashes admitted and not finished (queued or running)",
            password_queue.clone(),
        );
        let password_refused = Counter::default();
        registry.register(
            "password_hash_refused",
            "Password checks refused with 503 because the wait would be too long",
            password_refused.clone(),
        );
        let password_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 10));
        registry.register(
            "password_hash_duration_seconds",
            "Time a password check or hash took, waiting for a worker included",
            password_seconds.clone(),
        );
        let upstream_calls = Family::<UpstreamLabels, Counter>::default();
        registry.register(
            "upstream_calls",
            "Calls to other identity providers and SMS providers, by call (discovery, keys, \
             token, userinfo, sms_gateway, twilio) and result (ok, unreachable, busy, status, \
             too_large, malformed)",
            upstream_calls.clone(),
        );
        let mfa = Family::<ResultLabels, Counter>::default();
        registry.register(
            "mfa",
            "Second-factor steps by result (required, enrolled, passed, wrong, recovery_passed, recovery_wrong, throttled)",
            mfa.clone(),
        );
        let mail_deliveries = Family::<ResultLabels, Counter>::default();
        registry.register(
            "mail_deliveries",
            "Attempts to deliver queued mail, by result (sent, retry, failed)",
            mail_deliveries.clone(),
        );
        let db_connections = Family::<NameLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database pool connections, by state (in_use, idle)",
            db_connections.clone(),
        );
        let cache = Family::<CacheLabels, Counter>::default();
        registry.register(
            "cache_requests",
            "Hot cache look-ups, by cache and result (hit, miss)",
            cache.clone(),
        );
        let keys = Family::<KeyLabels, Gauge>::default();
        registry.register(
            "signing_keys",
            "Signing keys, by family and state",
            keys.clone(),
        );
        let events_dropped = Counter::default();
        registry.register(
            "tenant_events_dropped",
            "Tenant log events dropped (queue full, or the database refused them)",
            events_dropped.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_pending",
            "Mail messages waiting in the outbox",
            outbox_pending.clone(),
        );
        let purged = Family::<NameLabels, Counter>::default();
        registry.register(
            "purged_rows",
            "Rows the background purge deleted, by kind",
            purged.clone(),
        );
        let process = registry.sub_registry_with_prefix("process");
        let rss_bytes = Gauge::default();
        let cpu_seconds = Counter::<f64, AtomicU64>::default();
        let open_fds = Gauge::default();
        process.register(
            "resident_memory_bytes",
            "Resident memory of this process",
            rss_bytes.clone(),
        );
        process.register(
            "cpu_seconds",
            "CPU time this process used, user and system",
            cpu_seconds.clone(),
        );
        process.register("open_fds", "File descriptors open", open_fds.clone());
        Metrics {
            enabled: AtomicBool::new(true),
            registry,
            requests,
            durations,
            tokens,
            logins,
            actions,
            action_fetches,
            upstream_calls,
            mail_deliveries,
            mfa,
            password_queue,
            password_refused,
            password_seconds,
            db_connections,
            cache,
            keys,
            events_dropped,
            outbox_pending,
            purged,
            rss_bytes,
            cpu_seconds,
            open_fds,
            scrape: tokio::sync::Mutex::new(()),
            refused_seen: AtomicU64::new(0),
        }
    }

    /// Stops recording (`--metrics off`).
    pub(crate) fn disable(&self) {
        self.enabled.store(false, Ordering::Relaxed);
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// A request answered.
    pub(crate) fn request(
        &self,
        route: &str,
        method: &axum::http::Method,
        status: u16,
        seconds: f64,
    ) {
        if !self.enabled() {
            return;
        }
        let method = match method.as_str() {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            "PATCH" => "PATCH",
            "DELETE" => "DELETE",
            "OPTIONS" => "OPTIONS",
            "HEAD" => "HEAD",
            _ => "other",
        };
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method,
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Tokens issued for `grant_type`, the access token signed with `alg`.
    pub(crate) fn token(&self, grant_type: &'static str, alg: &str) {
        if self.enabled() {
            self.tokens
                .get_or_create(&TokenLabels {
                    grant_type,
                    alg: alg.to_owned(),
                })
                .inc();
        }
    }

    /// A login with `result`, at `connection` (empty when not known for sure).
    pub(crate) fn login(&self, result: &'static str, connection: &str) {
        if self.enabled() {
            self.logins
                .get_or_create(&LoginLabels {
                    result,
                    connection: connection.to_owned(),
                })
                .inc();
        }
    }

    /// A second-factor step that ended with `result`.
    pub(crate) fn mfa(&self, result: &'static str) {
        if self.enabled() {
            self.mfa.get_or_create(&ResultLabels { result }).inc();
        }
    }

    /// A trigger execution of Actions that ended with `result`.
    pub(crate) fn action_execution(&self, trigger: &'static str, result: &'static str) {
        if self.enabled() {
            self.actions
                .get_or_create(&ActionLabels { trigger, result })
                .inc();
        }
    }

    /// A request an Action made with `fetch`, with `result` (answered, failed, refused).
    pub(crate) fn action_fetch(&self, trigger: &'static str, result: &'static str) {
        if self.enabled() {
            self.action_fetches
                .get_or_create(&ActionLabels { trigger, result })
                .inc();
        }
    }

    /// A call to another identity provider that ended with `result`.
    pub(crate) fn upstream_call(&self, call: &'static str, result: &'static str) {
        if self.enabled() {
            self.upstream_calls
                .get_or_create(&UpstreamLabels { call, result })
                .inc();
        }
    }

    /// One pass of the mail worker.
    pub(crate) fn mail_pass(&self, pass: &sigil_core::mail::Pass) {
        if self.enabled() {
            for (result, n) in [
                ("sent", pass.sent),
                ("retry", pass.retried),
                ("failed", pass.failed),
            ] {
                if n > 0 {
                    self.mail_deliveries
                        .get_or_create(&ResultLabels { result })
                        .inc_by(u64::from(n));
                }
            }
        }
    }

    /// A password check or hash that took `seconds`, its wait included.
    pub(crate) fn password_hash(&self, seconds: f64) {
        if self.enabled() {
            self.password_seconds.observe(seconds);
        }
    }

    /// Rows the purge deleted.
    pub(crate) fn purged(&self, purged: &Purged) {
        for (name, n) in purged.by_kind() {
            if n > 0 {
                self.purged.get_or_create(&NameLabels { name }).inc_by(n);
            }
        }
    }
}

/// Moves `counter` forward to `total` (a count kept elsewhere), never back.
fn catch_up(counter: &Counter, total: u64) {
    let now = counter.get();
    if total > now {
        counter.inc_by(total - now);
    }
}

/// The text of a scrape: the gauges read now, then everything encoded.
pub(crate) async fn scrape<S: Store>(app: &App<S>) -> Result<String, std::fmt::Error> {
    let metrics = app.metrics();
    let _one_at_a_time = metrics.scrape.lock().await;
    let (open, idle) = app.store().connections();
    let gauge = |name| {
        metrics
            .db_connections
            .get_or_create(&NameLabels { name })
            .clone()
    };
    gauge("in_use").set(i64::from(open.saturating_sub(idle)));
    gauge("idle").set(i64::from(idle));
    let (queued, refused) = app.hasher().load();
    metrics
        .password_queue
        .set(i64::try_from(queued).unwrap_or(i64::MAX));
    let seen = metrics.refused_seen.swap(refused, Ordering::Relaxed);
    if refused > seen {
        metrics.password_refused.inc_by(refused - seen);
    }
    for (cache, hits, misses) in app.cache_stats() {
        let counter = |result| {
            metrics
                .cache
                .get_or_create(&CacheLabels { cache, result })
                .clone()
        };
        catch_up(&counter("hit"), hits);
        catch_up(&counter("miss"), misses);
    }
    catch_up(&metrics.events_dropped, app.events().dropped());
    // What needs the database is skipped (and logged) when the database does not answer.
    match app.store().signing_keys().await {
        Ok(keys) => {
            metrics.keys.clear();
            for key in &keys {
                metrics
                    .keys
                    .get_or_create(&KeyLabels {
                        family: key.family(),
                        state: key.state.as_str(),
                    })
                    .inc();
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the signing keys"),
    }
    match app.store().count_outbox().await {
        Ok(n) => {
            metrics
                .outbox_pending
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count the outbox"),
    }
    let process = process::read();
    metrics
        .rss_bytes
        .set(i64::try_from(process.rss_bytes).unwrap_or(i64::MAX));
    let used = metrics.cpu_seconds.get();
    if process.cpu_seconds > used {
        metrics.cpu_seconds.inc_by(process.cpu_seconds - used);
    }
    metrics
        .open_fds
        .set(i64::try_from(process.open_fds).unwrap_or(i64::MAX));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &metrics.registry)?;
    Ok(text)
}

/// The process's own figures, from `/proc/self` (zeros where that is not there).
mod process {
    pub(super) struct Figures {
        pub(super) rss_bytes: u64,
        pub(super) cpu_seconds: f64,
        pub(super) open_fds: u64,
    }

    /// Linux's page size and clock tick on every platform Sigil ships for (x86-64, arm64).
    const PAGE: u64 = 4096;
    const TICKS_PER_SECOND: f64 = 100.0;

    pub(super) fn read() -> Figures {
        let rss_pages = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0);
        // Fields 14 and 15 (utime, stime) of /proc/self/stat, counted after the command
        // name's closing parenthesis, which may itself hold spaces.
        let ticks = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                let rest = s.rsplit_once(')')?.1;
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let user = fields.get(11)?.parse::<u64>().ok()?;
                let system = fields.get(12)?.parse::<u64>().ok()?;
                Some(user + system)
            })
            .unwrap_or(0);
        let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
        Figures {
            rss_bytes: rss_pages * PAGE,
            cpu_seconds: ticks as f64 / TICKS_PER_SECOND,
            open_fds,
        }
    }
}
