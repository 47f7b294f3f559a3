//! Tenant code, Auth0 Actions, in a sandbox. The only crate that knows the JavaScript engine
//! (QuickJS-NG through rquickjs; why that engine: `notes/actions.md` §5).
//!
//! An [`Execution`] runs the Actions bound to a trigger, in order, on an [`Engine`]: a fixed
//! pool of threads of its own, fed by a bounded queue. Each execution gets a fresh runtime with
//! hard limits enforced from Rust ([`Limits`]): a memory cap, a stack cap, an interrupt after a
//! stretch of continuous JavaScript and at the execution's deadline, and, outside the engine,
//! a deadline the caller's future enforces even if a thread hangs in C. Each Action gets a
//! fresh context: no filesystem, no environment, no process, no modules, `Date` from the
//! server's clock, `console` captured and capped. An Action acts only through `api.*` calls,
//! which are recorded as [`Command`]s for the caller to apply: this crate decides nothing
//! about tokens, users or logins.

mod bytecode;
mod cache;
mod engine;
mod fetch;
mod natives;
mod outside;
mod priority;
mod sandbox;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

pub use engine::{Engine, RunError};
pub use outside::{CONCURRENT, Call, REQUESTS};
pub use sigil_core::egress::{Egress, HostPattern};

/// The modules `require` gives an Action (also as `node:<name>`); anything else, and any npm
/// package, is refused when the Action is built.
pub const MODULES: [&str; 4] = ["axios", "buffer", "crypto", "querystring"];

/// The modules `code` requires by a literal name (`require('axios')`) that are not in
/// [`MODULES`], in order of appearance. A computed name cannot be seen here; it fails when the
/// `require` runs.
pub fn unknown_modules(code: &str) -> Vec<String> {
    let mut unknown: Vec<String> = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("require") {
        rest = &rest[at + "require".len()..];
        let Some(args) = rest.trim_start().strip_prefix('(') else {
            continue;
        };
        let args = args.trim_start();
        let Some(quote) = args
            .chars()
            .next()
            .filter(|c| matches!(c, '\'' | '"' | '`'))
        else {
            continue;
        };
        let Some(end) = args[1..].find(quote) else {
            continue;
        };
        let name = &args[1..1 + end];
        let bare = name.strip_prefix("node:").unwrap_or(name);
        if !MODULES.contains(&bare) && !unknown.iter().any(|u| u == name) {
            unknown.push(name.to_owned());
        }
    }
    unknown
}

/// The points of a login (or signup, or exchange) where Actions run, as Auth0 names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// After a user proved who they are, before tokens are issued.
    PostLogin,
    /// In `client_credentials`, before the machine's token is issued.
    CredentialsExchange,
    /// Before a new user is stored.
    PreUserRegistration,
    /// After a new user was stored (asynchronous).
    PostUserRegistration,
    /// After a password was changed (asynchronous).
    PostChangePassword,
}

impl Trigger {
    /// Every trigger.
    pub const ALL: [Trigger; 5] = [
        Trigger::PostLogin,
        Trigger::CredentialsExchange,
        Trigger::PreUserRegistration,
        Trigger::PostUserRegistration,
        Trigger::PostChangePassword,
    ];

    /// Auth0's id (`post-login`, …).
    pub fn id(self) -> &'static str {
        match self {
            Trigger::PostLogin => "post-login",
            Trigger::CredentialsExchange => "credentials-exchange",
            Trigger::PreUserRegistration => "pre-user-registration",
            Trigger::PostUserRegistration => "post-user-registration",
            Trigger::PostChangePassword => "post-change-password",
        }
    }

    /// The trigger with Auth0's id `id`.
    pub fn from_id(id: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|t| t.id() == id)
    }

    /// The export an Action handles this trigger with.
    pub fn handler(self) -> &'static str {
        match self {
            Trigger::PostLogin => "onExecutePostLogin",
            Trigger::CredentialsExchange => "onExecuteCredentialsExchange",
            Trigger::PreUserRegistration => "onExecutePreUserRegistration",
            Trigger::PostUserRegistration => "onExecutePostUserRegistration",
            Trigger::PostChangePassword => "onExecutePostChangePassword",
        }
    }
}

/// The hard limits of every execution.
#[derive(Clone, Debug)]
pub struct Limits {
    /// All the Actions of one trigger execution together (Auth0: 20 s).
    pub execution: Duration,
    /// Continuous JavaScript without a pause before it is interrupted.
    pub slice: Duration,
    /// Bytes of memory one runtime may allocate.
    pub memory: usize,
    /// Bytes of stack JavaScript may use.
    pub stack: usize,
    /// Characters of `console` output kept per Action.
    pub log_chars: usize,
    /// Threads running executions.
    pub workers: usize,
    /// Executions waiting for a thread, at most; more are refused at once.
    pub queue: usize,
    /// The operator's egress allow-list: what `fetch` may ever reach (each tenant narrows it
    /// with its own list, [`Execution::egress`]). Empty by default: no egress.
    pub egress: Arc<Egress>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            execution: Duration::from_secs(20),
            slice: Duration::from_secs(1),
            memory: 64 << 20,
            stack: 512 << 10,
            log_chars: 64 << 10,
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            queue: 64,
            egress: Arc::default(),
        }
    }
}

/// One Action, as deployed.
#[derive(Clone, Debug)]
pub struct Action {
    /// Its name, for the execution record.
    pub name: String,
    /// Its CommonJS source, or a Rule's function.
    pub code: String,
    /// Its secrets, as `event.secrets` (a Rule's: the rules-configs, as `configuration`).
    pub secrets: Map<String, Value>,
    /// An Action, or a legacy Rule.
    pub kind: Kind,
}

/// What an [`Action`]'s code is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    /// An Auth0 Action: a CommonJS module exporting the trigger's handler.
    #[default]
    Action,
    /// A legacy Auth0 Rule, `function (user, context, callback)`, run in `post-login` before
    /// the Actions: it gets `user` and `context` made from the event, `configuration` and
    /// `UnauthorizedError`; what it puts in `context.idToken` and `context.accessToken` becomes
    /// claims, and `callback(error)` a deny with the error's message.
    Rule,
    /// A custom OAuth 2.0 connection's profile script, `function (accessToken, ctx,
    /// callback)` (Auth0's `options.scripts.fetchUserProfile`): its event is
    /// `{access_token, ctx}`, a `request` global is there as in Auth0's sandbox, and
    /// `callback(null, profile)` becomes one `profile` command.
    ProfileScript,
}

/// The Actions bound to a trigger, run on one event.
#[derive(Clone, Debug)]
pub struct Execution {
    /// Which trigger: which handler is called, and which `api` it gets.
    pub trigger: Trigger,
    /// In the binding's order.
    pub actions: Vec<Action>,
    /// Auth0's `event` for the trigger, without `secrets` (each Action gets its own).
    pub event: Value,
    /// The server's clock, in milliseconds since the epoch: `Date.now()` inside the execution.
    pub now_ms: i64,
    /// A `post-login` login coming back through `/continue`: the first Action is the one that
    /// sent the user away, and its `onContinuePostLogin` runs (nothing when it exports none)
    /// instead of its `onExecutePostLogin`; the others run as usual.
    pub resume: bool,
    /// The tenant's egress allow-list: the hosts its `fetch` may reach, within the operator's
    /// [`Limits::egress`].
    pub egress: Vec<HostPattern>,
}

/// An `api.*` call an Action made, with its arguments as JSON (e.g.
/// `accessToken.setCustomClaim` with `["https://example.com/roles", ["admin"]]`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Command {
    /// The call, without `api.`.
    pub op: String,
    /// Its arguments.
    pub args: Vec<Value>,
}

/// Why an Action failed. The text of [`ActionError::Threw`] is the tenant's: it goes into the
/// execution record and the tenant log, never to the application or the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// It threw, or its promise was rejected.
    #[error("{0}")]
    Threw(String),
    /// The execution's time ran out.
    #[error("the execution took longer than its limit")]
    TimedOut,
    /// It ran JavaScript without a pause for longer than a slice.
    #[error("the Action ran without a pause for longer than its limit")]
    Busy,
    /// It used more memory than the limit.
    #[error("the Action used more memory than its limit")]
    OutOfMemory,
    /// Its handler returned a promise that nothing can settle.
    #[error("the Action's handler returned a promise that never settles")]
    NeverSettled,
    /// The engine failed (not the tenant's code).
    #[error("the engine failed: {0}")]
    Engine(String),
}

/// Why an Action's code does not build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildProblem {
    /// A stable code: `syntax_error`, `load_error` (its top-level code failed),
    /// `missing_handler`, `engine_error`.
    pub id: &'static str,
    /// What is wrong, for the tenant.
    pub message: String,
}

/// What one Action did.
#[derive(Clone, Debug)]
pub struct ActionRun {
    /// The Action's name.
    pub name: String,
    /// Its `api.*` calls, in order (none when it failed).
    pub commands: Vec<Command>,
    /// Its `console` output.
    pub logs: String,
    /// Whether it ended the flow: a deny, or a failure. No Action runs after it.
    pub stopped: bool,
    /// Its failure.
    pub error: Option<ActionError>,
    /// Its requests, in the order they were made.
    pub fetches: Vec<Call>,
    /// How long it ran.
    pub took: Duration,
}

/// What an execution did: one entry per Action that ran.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// In order; the last one may have stopped the flow.
    pub runs: Vec<ActionRun>,
}

impl Outcome {
    /// The failed Action, if one failed.
    pub fn failure(&self) -> Option<&ActionRun> {
        self.runs.iter().find(|run| run.error.is_some())
    }

    /// Every command, in order.
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        self.runs.iter().flat_map(|run| run.commands.iter())
    }
}
