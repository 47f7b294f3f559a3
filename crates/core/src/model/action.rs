//! Actions (tenant code run at login, signup and exchange), their deployed versions and their
//! bindings to triggers, in Auth0's shapes. Secret values are plain here; the store seals them
//! under the master key, and the Management API never returns them.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::UnixTime;
use crate::ids::{ActionId, ActionVersionId, BindingId};

/// The triggers Sigil runs Actions at, by Auth0's ids.
pub const TRIGGERS: [&str; 5] = [
    "post-login",
    "credentials-exchange",
    "pre-user-registration",
    "post-user-registration",
    "post-change-password",
];

/// The runtime Sigil reports (it runs one engine whatever an Action names).
pub const RUNTIME: &str = "node22";

/// A trigger an Action supports: `{"id": "post-login", "version": "v3"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRef {
    /// The trigger's id.
    pub id: String,
    /// Its version.
    pub version: String,
}

/// An npm dependency an Action declares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The package.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Where it comes from (dropped once built, as Auth0 does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_url: Option<String>,
}

/// A secret of an Action: write-only through the API, sealed at rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionSecret {
    /// Its name (`event.secrets.<name>`).
    pub name: String,
    /// Its value.
    pub value: Zeroizing<String>,
    /// When it was last set.
    pub updated_at: UnixTime,
}

/// Whether an Action's code builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildStatus {
    /// It compiles and exports a handler for each supported trigger: it can be deployed.
    Built,
    /// It does not; [`BuildError`]s say why.
    Failed,
}

impl BuildStatus {
    /// Auth0's lower-case name (`built`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            BuildStatus::Built => "built",
            BuildStatus::Failed => "failed",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<BuildStatus> {
        match name {
            "built" => Some(BuildStatus::Built),
            "failed" => Some(BuildStatus::Failed),
            _ => None,
        }
    }
}

/// Why a build failed, as Auth0's `{id, msg, url}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildError {
    /// A stable code (`syntax_error`, `missing_handler`, `unsupported_dependency`).
    pub id: String,
    /// What is wrong.
    pub msg: String,
    /// Where to read more (empty).
    #[serde(default)]
    pub url: String,
}

/// The code of an Action, its draft or a deployed version: what is built and run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionCode {
    /// The triggers it supports.
    pub supported_triggers: Vec<TriggerRef>,
    /// Its CommonJS source.
    pub code: String,
    /// Its declared dependencies.
    pub dependencies: Vec<Dependency>,
    /// The runtime it names (`node22`, `node18`).
    pub runtime: String,
    /// Its secrets.
    pub secrets: Vec<ActionSecret>,
    /// Whether it builds.
    pub status: BuildStatus,
    /// Why not.
    pub errors: Vec<BuildError>,
}

/// An Action: its draft, and which version is deployed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// Its id.
    pub id: ActionId,
    /// Its name, unique in the tenant.
    pub name: String,
    /// The draft: what is edited, tested, and deployed as the next version.
    pub draft: ActionCode,
    /// When it was created.
    pub created_at: UnixTime,
    /// When its draft last changed.
    pub updated_at: UnixTime,
    /// When its deployed version was deployed (none before the first deploy).
    pub deployed_at: Option<UnixTime>,
}

/// A deployed version of an Action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionVersion {
    /// Its id.
    pub id: ActionVersionId,
    /// The Action.
    pub action_id: ActionId,
    /// 1, 2, … in the order deployed.
    pub number: u32,
    /// What was deployed.
    pub code: ActionCode,
    /// Whether it is the one that runs.
    pub deployed: bool,
    /// When it was deployed.
    pub created_at: UnixTime,
}

/// An Action bound to a trigger: the trigger runs the Action's deployed version, in the order
/// of its bindings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// Its id.
    pub id: BindingId,
    /// The trigger.
    pub trigger_id: String,
    /// The Action.
    pub action_id: ActionId,
    /// The name shown for it.
    pub display_name: String,
    /// When it was made.
    pub created_at: UnixTime,
}

/// A bound Action as its trigger runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundAction {
    /// The binding.
    pub binding: Binding,
    /// The Action's name.
    pub name: String,
    /// Its deployed version.
    pub version: ActionVersion,
}

/// An execution of an asynchronous trigger (`post-user-registration`, `post-change-password`)
/// waiting in the store's durable queue: it runs at least once, after the flow that queued it
/// has answered, and is tried again later when it fails.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuedTrigger {
    /// Its id.
    pub id: String,
    /// Auth0's trigger id.
    pub trigger_id: String,
    /// Auth0's `event` for the trigger, as it was when queued.
    pub event: serde_json::Value,
    /// Times it was taken to run so far.
    pub attempts: u32,
    /// When it is due (again); while it runs, when its lease ends.
    pub next_at: UnixTime,
    /// When it was queued.
    pub created_at: UnixTime,
}

/// One execution of a trigger's Actions, as `/actions/executions/{id}` shows it and as the
/// success events' `details.actions.executions` refer to it. Kept [`EXECUTION_DAYS`] days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionExecution {
    /// Its id.
    pub id: String,
    /// Auth0's trigger id.
    pub trigger_id: String,
    /// Auth0's status: `final` once it ran to its end, `partial` when an Action sent the user
    /// away (the rest runs after `/continue`, as an execution of its own).
    pub status: String,
    /// One per Action that ran, in order.
    pub results: Vec<ExecutionResult>,
    /// When it began, in milliseconds since the epoch.
    pub created_ms: i64,
    /// When it ended, in milliseconds since the epoch.
    pub updated_ms: i64,
}

/// Days an execution's record is kept (Auth0's: "Execution logs are retained for 10 days").
pub const EXECUTION_DAYS: i64 = 10;

/// What one Action of an execution did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionResult {
    /// The Action's name.
    pub action_name: String,
    /// Its failure, as Auth0 shows one (`{id, msg, url}`), if it failed.
    pub error: Option<serde_json::Value>,
    /// When it began, in milliseconds since the epoch.
    pub started_ms: i64,
    /// When it ended, in milliseconds since the epoch.
    pub ended_ms: i64,
}
