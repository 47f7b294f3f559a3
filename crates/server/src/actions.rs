//! The flows' tenant code: [`ActionRunner`] for the app. What a trigger runs (its bindings and
//! their deployed versions) is read from the store at most every [`CACHE_TTL`] seconds per
//! trigger and at once after a change through this node, so a trigger nobody bound costs a
//! map lookup; a bound one runs on the Actions engine's own threads.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::json;
use serde_json::{Map, Value};
use sigil_actions::{ActionError, Execution, HostPattern, Kind, RunError, Trigger};
use sigil_core::actions::{ActionRunner, Command, FAILED, Failure, TriggerRun};
use sigil_core::model::action::TRIGGERS;
use sigil_core::model::{
    ActionExecution, BoundAction, BuildError, ExecutionResult, LogType, NewLogEvent, QueuedTrigger,
    Rule,
};
use sigil_core::oauth::{ErrorCode, FlowError, OAuthError};
use sigil_core::{Store, StoreError, UnixTime};

use crate::App;
use crate::cache::CACHE_TTL;
use crate::metrics::Metrics;

/// What a trigger runs: its bound Actions (for `post-login`, after the enabled legacy Rules,
/// which read the rules-configs), and the hosts the tenant lets them `fetch` from.
#[derive(Default)]
pub(crate) struct Bound {
    rules: Vec<Rule>,
    configuration: Map<String, Value>,
    actions: Vec<BoundAction>,
    egress: Vec<HostPattern>,
}

impl Bound {
    fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.actions.is_empty()
    }

    /// The secret values the Action (or Rule) `name` sees: never to be logged.
    fn secrets(&self, name: &str) -> Vec<&str> {
        let rule = self.rules.iter().any(|r| r.name == name);
        self.actions
            .iter()
            .filter(|b| b.name == name)
            .flat_map(|b| b.version.code.secrets.iter().map(|s| s.value.as_str()))
            .chain(
                self.configuration
                    .values()
                    .filter(|_| rule)
                    .filter_map(Value::as_str),
            )
            .collect()
    }
}

/// A trigger's [`Bound`], and when it was read.
type Read = (UnixTime, Arc<Bound>);

/// Each trigger's bound Actions, as read last, and when.
#[derive(Default)]
pub(crate) struct BoundCache {
    read: RwLock<HashMap<&'static str, Read>>,
}

impl BoundCache {
    fn fresh(&self, trigger: &'static str, now: UnixTime) -> Option<Arc<Bound>> {
        let read = self.read.read().ok()?;
        let (at, bound) = read.get(trigger)?;
        (now.0 - at.0 < CACHE_TTL && now.0 >= at.0).then(|| Arc::clone(bound))
    }

    fn put(&self, trigger: &'static str, now: UnixTime, bound: Arc<Bound>) {
        if let Ok(mut read) = self.read.write() {
            read.insert(trigger, (now, bound));
        }
    }

    /// Forgets what was read: a binding, a deployed version or the tenant's settings changed
    /// through this node.
    pub(crate) fn forget(&self) {
        if let Ok(mut read) = self.read.write() {
            read.clear();
        }
    }
}

impl<S: Store> App<S> {
    /// The hosts the tenant lets its Actions `fetch` from (within the operator's list).
    pub(crate) async fn tenant_egress(&self) -> Result<Vec<HostPattern>, StoreError> {
        let settings = self.store().tenant_settings().await?.unwrap_or_default();
        // Checked when set; an entry that no longer parses is left out, never widened.
        Ok(settings
            .actions_egress
            .iter()
            .filter_map(|entry| entry.parse::<HostPattern>().ok())
            .collect())
    }

    async fn bound(&self, trigger: &'static str) -> Result<Arc<Bound>, FlowError> {
        let now = self.now();
        if let Some(bound) = self.bound_cache().fresh(trigger, now) {
            return Ok(bound);
        }
        let actions = self.store().bound_actions(trigger).await?;
        let mut bound = Bound {
            actions,
            ..Bound::default()
        };
        if trigger == "post-login" {
            bound.rules = self.store().list_rules().await?;
            bound.rules.retain(|r| r.enabled);
            if !bound.rules.is_empty() {
                bound.configuration = self
                    .store()
                    .rules_configs()
                    .await?
                    .into_iter()
                    .map(|c| (c.key, Value::String(c.value.to_string())))
                    .collect();
            }
        }
        if !bound.is_empty() {
            bound.egress = self.tenant_egress().await?;
        }
        let bound = Arc::new(bound);
        self.bound_cache().put(trigger, now, Arc::clone(&bound));
        Ok(bound)
    }
}

impl<S: Store> ActionRunner for App<S> {
    fn queued(&self) {
        self.trigger_queue().notify_one();
    }

    async fn is_bound(&self, trigger: &'static str) -> Result<bool, FlowError> {
        Ok(!self.bound(trigger).await?.is_empty())
    }

    async fn run_from<E: FnOnce() -> Value + Send>(
        &self,
        trigger: &'static str,
        resume: Option<&str>,
        event: E,
    ) -> Result<Option<TriggerRun>, FlowError> {
        let read = self.bound(trigger).await?;
        let bound = &read.actions;
        if read.is_empty() && resume.is_none() {
            return Ok(None);
        }
        // The legacy Rules run first, once per login (not again after a redirect).
        let rules = if resume.is_none() {
            read.rules.as_slice()
        } else {
            &[]
        };
        // A login back from a redirect goes on from the Action that sent it, as bound now.
        let from = match resume {
            None => 0,
            Some(name) => bound.iter().position(|b| b.name == name).ok_or_else(|| {
                OAuthError::new(
                    ErrorCode::AccessDenied,
                    "the Action this login was waiting for is no longer bound; log in again",
                )
            })?,
        };
        let bound = &bound[from..];
        let Some(engine_trigger) = Trigger::from_id(trigger) else {
            tracing::error!(trigger, "the Actions engine has no such trigger");
            return Err(OAuthError::new(ErrorCode::ServerError, FAILED).into());
        };
        let execution = Execution {
            trigger: engine_trigger,
            actions: rules
                .iter()
                .map(|r| sigil_actions::Action {
                    name: r.name.clone(),
                    code: r.script.clone(),
                    secrets: read.configuration.clone(),
                    kind: Kind::Rule,
                })
                .chain(bound.iter().map(|b| {
                    sigil_actions::Action {
                        name: b.name.clone(),
                        code: b.version.code.code.clone(),
                        secrets: b
                            .version
                            .code
                            .secrets
                            .iter()
                            .map(|s| (s.name.clone(), Value::String(s.value.to_string())))
                            .collect::<Map<String, Value>>(),
                        kind: Kind::Action,
                    }
                }))
                .collect(),
            event: event(),
            now_ms: self.now().0.saturating_mul(1000),
            resume: resume.is_some(),
            egress: read.egress.clone(),
        };
        let started_ms = self.now().0.saturating_mul(1000);
        let outcome = match self.actions().run(execution).await {
            Ok(outcome) => outcome,
            Err(RunError::Busy) => {
                self.metrics().action_execution(trigger, "busy");
                return Err(OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "too many Actions are running; try again shortly",
                )
                .into());
            }
            Err(e) => {
                self.metrics().action_execution(trigger, "failed");
                tracing::error!(trigger, error = %e, "the Actions engine did not answer");
                return Err(OAuthError::new(ErrorCode::AccessDenied, FAILED).into());
            }
        };
        let failure = outcome.failure().map(|run| Failure {
            action: run.name.clone(),
            error: run
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        });
        let result = if outcome.failure().is_some() {
            "failed"
        } else if outcome.commands().any(|c| c.op == "redirect.sendUserTo") {
            "redirected"
        } else if outcome.runs.iter().any(|r| r.stopped) {
            "denied"
        } else {
            "ok"
        };
        self.metrics().action_execution(trigger, result);
        tracing::debug!(trigger, result, actions = outcome.runs.len(), "Actions ran");
        log_fetches(self.metrics(), trigger, &outcome);
        let execution_id = sigil_core::ids::uuid(self.rng());
        if let Some(run) = outcome.failure() {
            let error = run.error.as_ref();
            let binding = bound.iter().find(|b| b.name == run.name);
            // An Action may put its own secrets into its error or its console: never into logs.
            let secrets = read.secrets(&run.name);
            let text = redacted(
                &error.map(ToString::to_string).unwrap_or_default(),
                &secrets,
            );
            let logs = redacted(&run.logs, &secrets);
            tracing::warn!(trigger, action = %run.name, error = %text, "an Action failed");
            let class = error_class(error);
            let details = json!({
                    "trigger_id": trigger,
                    "execution_id": execution_id,
                    "action_name": run.name,
                    "action_id": binding.map(|b| b.version.action_id.as_str()),
                    "version_id": binding.map(|b| b.version.id.as_str()),
                    "binding_id": binding.map(|b| b.binding.id.as_str()),
                    "error_class": class,
                    "action_error": {"message": text},
                    "logs": logs,
            });
            self.log_event(NewLogEvent {
                description: Some(format!("The Action {} failed", run.name)),
                details: details.as_object().cloned().unwrap_or_default(),
                ..NewLogEvent::new(LogType::ACTIONS_EXECUTION_FAILED, self.now())
            });
        }
        self.events().record_execution(execution_record(
            &execution_id,
            trigger,
            result,
            started_ms,
            &outcome,
            &read,
        ));
        Ok(Some(TriggerRun {
            commands: outcome
                .commands()
                .map(|c| Command {
                    op: c.op.clone(),
                    args: c.args.clone(),
                })
                .collect(),
            failure,
            executed: outcome.runs.iter().map(|r| r.name.clone()).collect(),
            execution_id: Some(execution_id),
        }))
    }
}

impl<S: Store> sigil_core::management::actions::ActionBuilder for App<S> {
    async fn build(&self, code: &str, triggers: &[String]) -> Result<Vec<BuildError>, String> {
        build_on(self.actions(), code, triggers).await
    }

    fn modules(&self) -> &'static [&'static str] {
        &sigil_actions::MODULES
    }
}

/// Builds `code` on `engine` for the triggers named by Auth0's ids: what the server and the CLI
/// both use.
pub async fn build_on(
    engine: &sigil_actions::Engine,
    code: &str,
    triggers: &[String],
) -> Result<Vec<BuildError>, String> {
    let triggers: Vec<Trigger> = triggers
        .iter()
        .filter_map(|id| Trigger::from_id(id))
        .collect();
    let problems = engine
        .build(code.to_owned(), triggers)
        .await
        .map_err(|e| e.to_string())?;
    Ok(problems
        .into_iter()
        .map(|p| BuildError {
            id: p.id.to_owned(),
            msg: p.message,
            url: String::new(),
        })
        .collect())
}

/// What `/actions/executions/{id}` shows of an execution that began at `started_ms`: each
/// Action's span and, for the one that failed, Auth0's error (its text without the Action's
/// secrets).
fn execution_record(
    id: &str,
    trigger: &str,
    result: &str,
    started_ms: i64,
    outcome: &sigil_actions::Outcome,
    bound: &Bound,
) -> ActionExecution {
    let mut at = started_ms;
    let results = outcome
        .runs
        .iter()
        .map(|run| {
            let ended = at + i64::try_from(run.took.as_millis()).unwrap_or(i64::MAX);
            let error = run.error.as_ref().map(|error| {
                let secrets = bound.secrets(&run.name);
                json!({
                    "id": error_class(Some(error)),
                    "msg": redacted(&error.to_string(), &secrets),
                    "url": "",
                })
            });
            let result = ExecutionResult {
                action_name: run.name.clone(),
                error,
                started_ms: at,
                ended_ms: ended,
            };
            at = ended;
            result
        })
        .collect();
    ActionExecution {
        id: id.to_owned(),
        trigger_id: trigger.to_owned(),
        status: if result == "redirected" {
            "partial"
        } else {
            "final"
        }
        .to_owned(),
        results,
        created_ms: started_ms,
        updated_ms: at,
    }
}

/// Auth0's `error_class` of an Action's failure: the tenant's error, or its time or memory
/// running out.
fn error_class(error: Option<&ActionError>) -> &'static str {
    match error {
        Some(ActionError::TimedOut | ActionError::Busy) => "action_timeout",
        Some(ActionError::Engine(_)) => "platform_error",
        _ => "action_error",
    }
}

/// Each request the Actions made, for the operator: counted by result, refused ones logged as
/// warnings naming the host to add to an allow-list; never headers or bodies.
fn log_fetches(metrics: &Metrics, trigger: &'static str, outcome: &sigil_actions::Outcome) {
    for run in &outcome.runs {
        for call in &run.fetches {
            let refused = call.error.as_deref().filter(|e| {
                e.starts_with("address not allowed") || e.contains("egress allow-list")
            });
            let result = match (refused, &call.error) {
                (Some(_), _) => "refused",
                (None, Some(_)) => "failed",
                (None, None) => "answered",
            };
            metrics.action_fetch(trigger, result);
            if let Some(why) = refused {
                tracing::warn!(trigger, action = %run.name, method = %call.method, origin = %call.origin, why, "an Action's request was refused");
            } else {
                tracing::debug!(trigger, action = %run.name, method = %call.method, origin = %call.origin, status = call.status, error = call.error.as_deref(), millis = call.millis, "an Action made a request");
            }
        }
    }
}

/// `text` with every secret value of `secrets` (of 4 characters or more) replaced.
fn redacted(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| s.chars().count() >= 4)
        .fold(text.to_owned(), |text, secret| {
            text.replace(secret, "[secret]")
        })
}

/// Seconds a node holds a queued execution it took before another may take it.
const LEASE: i64 = 60;
/// Times a queued execution is tried before it is given up (each failure is in the tenant log).
const ATTEMPTS: u32 = 5;
/// Queued executions taken at once.
const CLAIM: u32 = 16;

/// Runs the queued executions of the asynchronous triggers for ever, as they fall due: at once
/// when this node queued one, else every second (for those queued elsewhere, and retries).
/// The caller aborts the task at shutdown; what was taken and not settled is taken again when
/// its lease ends (at least once).
pub(crate) async fn run_queue<S: Store + Clone>(app: App<S>) {
    loop {
        let _ = tokio::time::timeout(Duration::from_secs(1), app.trigger_queue().notified()).await;
        loop {
            let now = app.now();
            let claimed = app
                .store()
                .claim_queued_triggers(now, UnixTime(now.0 + LEASE), CLAIM)
                .await;
            let claimed = match claimed {
                Ok(claimed) if !claimed.is_empty() => claimed,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the Actions queue; trying again later");
                    break;
                }
            };
            for queued in claimed {
                app.run_queued(queued).await;
            }
        }
    }
}

impl<S: Store> App<S> {
    /// Runs one queued execution and settles it: gone when it ran (or nothing is bound any
    /// more, or it failed [`ATTEMPTS`] times), due again later when it failed.
    async fn run_queued(&self, queued: QueuedTrigger) {
        let Some(trigger) = TRIGGERS.into_iter().find(|t| *t == queued.trigger_id) else {
            tracing::warn!(trigger = %queued.trigger_id, "a queued execution of an unknown trigger is dropped");
            self.settle(&queued.id, None).await;
            return;
        };
        let event = queued.event;
        let ran = match self.run(trigger, move || event).await {
            Ok(Some(run)) => run.failure.is_none(),
            Ok(None) => true,
            Err(e) => {
                tracing::warn!(trigger, error = %e, "a queued execution could not run");
                false
            }
        };
        let retry_at = if ran {
            None
        } else if queued.attempts >= ATTEMPTS {
            tracing::warn!(
                trigger,
                attempts = queued.attempts,
                "a queued execution failed every time and is given up"
            );
            None
        } else {
            // 30 s, 1 min, 2 min, 4 min.
            let wait = 30_i64 << queued.attempts.saturating_sub(1).min(8);
            Some(UnixTime(self.now().0 + wait))
        };
        self.settle(&queued.id, retry_at).await;
    }

    async fn settle(&self, id: &str, retry_at: Option<UnixTime>) {
        if let Err(e) = self.store().settle_queued_trigger(id, retry_at).await {
            // Taken again once its lease ends: at least once.
            tracing::warn!(error = %e, "cannot settle a queued execution");
        }
    }
}
