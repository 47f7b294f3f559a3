//! One trigger execution, on the calling thread: a fresh QuickJS runtime with its memory and
//! stack limits and an interrupt handler holding the deadlines; a fresh context per Action (so
//! one Action's changes to the built-ins never reach the next), the prelude, the Action's
//! CommonJS module, its handler driven until its promise settles; the runtime dropped at the
//! end. Nothing of one execution survives into another. A runtime may be prepared before its
//! execution ([`Prepared`]: made, its first context created and the prelude set up to its
//! `begin`), so that the execution does not wait for that; it still serves that one execution
//! only.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use rquickjs::context::EvalOptions;
use rquickjs::convert::Coerced;
use rquickjs::loader::{BuiltinLoader, BuiltinResolver};
use rquickjs::promise::PromiseState;
use rquickjs::{
    ArrayBuffer, CatchResultExt, CaughtError, Context, Ctx, Function, Object, Persistent, Runtime,
    Value,
};
use serde::Deserialize;
use tokio::time::Instant;

use crate::cache::{self, Cache};
use crate::fetch::Net;
use crate::outside::{Outside, Woke};
use crate::priority::{self, DEMOTE_AFTER};
use crate::{
    ActionError, ActionRun, BuildProblem, Command, Execution, Kind, Limits, Outcome, Trigger,
};
use crate::{bytecode, natives};

/// The handler a `post-login` Action resumes in after `api.redirect.sendUserTo`.
const CONTINUE_HANDLER: &str = "onContinuePostLogin";
/// What the prelude is asked to run for a legacy Rule (the module's export is the function).
const RULE_HANDLER: &str = "(rule)";
/// What the prelude is asked to run for a profile script (the module's export is the function).
const PROFILE_HANDLER: &str = "(profile)";

/// What the prelude hands back at the end of an Action.
#[derive(Deserialize)]
struct Recorded {
    commands: Vec<Command>,
    logs: String,
    stopped: bool,
}

/// Why the interrupt handler stopped the script, if it did.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    None,
    Slice,
    Execution,
}

/// A runtime with `limits`, and the cells its interrupt handler reads and sets.
struct Guarded {
    runtime: Runtime,
    /// When the current stretch of continuous JavaScript began.
    slice_started: Rc<Cell<Instant>>,
    /// When the execution began.
    began: Rc<Cell<Instant>>,
    /// When the execution must end.
    deadline: Rc<Cell<Instant>>,
    /// Why the handler stopped the script, if it did.
    stop: Rc<Cell<Stop>>,
}

fn guarded(limits: &Limits) -> rquickjs::Result<Guarded> {
    let started = Instant::now();
    let deadline = Rc::new(Cell::new(started + limits.execution));
    let runtime = Runtime::new()?;
    // `import` resolves nothing: no module of the host's, nor the prelude's own pieces, which
    // every context holds as modules (a resolver that knows no name refuses before QuickJS
    // looks among the modules already loaded).
    runtime.set_loader(BuiltinResolver::default(), BuiltinLoader::default());
    runtime.set_memory_limit(limits.memory);
    runtime.set_max_stack_size(limits.stack);
    let slice_started = Rc::new(Cell::new(started));
    let began = Rc::new(Cell::new(started));
    let stop = Rc::new(Cell::new(Stop::None));
    {
        let (slice_started, stop, slice, deadline, began) = (
            Rc::clone(&slice_started),
            Rc::clone(&stop),
            limits.slice,
            Rc::clone(&deadline),
            Rc::clone(&began),
        );
        // The start of the execution the thread was lowered for (not a preparation's).
        let mut lowered_for = None;
        // Polled by QuickJS every few thousand operations, and by its regular expressions.
        runtime.set_interrupt_handler(Some(Box::new(move || {
            let now = Instant::now();
            // An execution that runs long gives way to the server's threads.
            let start = began.get();
            if lowered_for != Some(start) && now.duration_since(start) >= DEMOTE_AFTER {
                priority::lower();
                lowered_for = Some(start);
            }
            let why = if now >= deadline.get() {
                Stop::Execution
            } else if now.duration_since(slice_started.get()) >= slice {
                Stop::Slice
            } else {
                return false;
            };
            stop.set(why);
            true
        })));
    }
    Ok(Guarded {
        runtime,
        slice_started,
        began,
        deadline,
        stop,
    })
}

/// A runtime made ahead of an execution, with its first context and the prelude set up in it
/// up to `begin` (loading the prelude and running its first step is most of an execution's
/// cost), and the module the first Action is expected to be compiled (not run): a worker makes
/// the next one while it waits for work. Each is used for one execution only, then dropped,
/// like any other.
pub(crate) struct Prepared {
    // Dropped in this order: the handles, their context, then the runtime.
    begin: Persistent<Function<'static>>,
    /// The expected first Action's module source and its compiled (never run) definition.
    compiled: Option<(String, Persistent<Function<'static>>)>,
    context: Context,
    guard: Guarded,
}

/// A [`Prepared`] runtime under `limits`, for an execution like `expected` when the worker can
/// tell (the last it ran): its trigger's api part is loaded too, and its first Action's module
/// compiled. Another trigger loads its own part, and other code compiles, when it runs.
pub(crate) fn prepare(limits: &Limits, expected: Option<&Execution>) -> rquickjs::Result<Prepared> {
    let guard = guarded(limits)?;
    let context = Context::full(&guard.runtime)?;
    let (begin, compiled) = context.with(|ctx| {
        let begin = set_up(&ctx, expected.map(|e| e.trigger))?;
        // Compiling runs none of the tenant's code; code that does not compile is left to the
        // execution, which reports it.
        let compiled = expected
            .and_then(|e| e.actions.first())
            .map(|action| module_source(&action.code, action.kind))
            .and_then(|source| {
                let define = compile_module(&ctx, source.clone()).ok()?;
                Some((source, Persistent::save(&ctx, define)))
            });
        Ok::<_, rquickjs::Error>((Persistent::save(&ctx, begin), compiled))
    })?;
    Ok(Prepared {
        begin,
        compiled,
        context,
        guard,
    })
}

/// An Action's CommonJS module as Node wraps it; a Rule's function as the module's export.
fn module_source(code: &str, kind: Kind) -> String {
    if matches!(kind, Kind::Rule | Kind::ProfileScript) {
        let function = code.trim_end().trim_end_matches(';');
        format!(
            "(function (exports, require, module, __filename, __dirname) {{\nmodule.exports = (\n{function}\n);\n}})"
        )
    } else {
        format!("(function (exports, require, module, __filename, __dirname) {{\n{code}\n}})")
    }
}

/// The function that defines a module of [`module_source`], compiled in `ctx`: sloppy mode
/// unless the Action asks for strict, as Node runs a CommonJS module.
fn compile_module<'js>(ctx: &Ctx<'js>, source: String) -> rquickjs::Result<Function<'js>> {
    let mut options = EvalOptions::default();
    options.strict = false;
    options.filename = Some("action.js".to_owned());
    ctx.eval_with_options(source, options)
}

/// The prelude's first step in `ctx`, whose built-ins and globals nothing has touched yet (the
/// trigger's api part loaded too when `expected` has one): the prelude's `begin`.
fn set_up<'js>(ctx: &Ctx<'js>, expected: Option<Trigger>) -> rquickjs::Result<Function<'js>> {
    let prelude = bytecode::load(ctx, bytecode::PRELUDE)?;
    let ready = match expected {
        Some(trigger) if bytecode::has(trigger.id()) => {
            Some((trigger.id(), bytecode::load(ctx, trigger.id())?))
        }
        _ => None,
    };
    let (ready_name, ready) = ready.unzip();
    prelude.call((natives::natives(ctx)?, ready_name, ready))
}

impl Guarded {
    /// `error`, or why the interrupt handler stopped the script when it did.
    fn explain(&self, error: ActionError) -> ActionError {
        match self.stop.get() {
            Stop::Execution => ActionError::TimedOut,
            Stop::Slice => ActionError::Busy,
            Stop::None => error,
        }
    }
}

/// Runs `execution` to its end under `limits`, in `prepared` when given (else in a runtime made
/// now), its requests on `net` (none: `fetch` fails). Never panics on the tenant's code; an
/// engine failure (the runtime cannot be made) is reported as the first Action's error.
pub(crate) fn run(
    limits: &Limits,
    execution: &Execution,
    prepared: Option<Prepared>,
    net: Option<&Net>,
    cache: &Arc<Cache>,
) -> (Outcome, Option<Spent>) {
    let prepared = match prepared.map_or_else(|| prepare(limits, None), Ok) {
        Ok(prepared) => prepared,
        Err(e) => return (engine_failure(execution, e), None),
    };
    let Prepared {
        begin,
        compiled,
        context: first,
        guard,
    } = prepared;
    let began = Instant::now();
    guard.began.set(began);
    guard.deadline.set(began + limits.execution);
    let runtime = &guard.runtime;
    let mut warm = Some((first, begin, compiled));
    let mut outside = Outside::new(execution.egress.clone());
    let mut runs = Vec::with_capacity(execution.actions.len());
    let mut last = None;
    for (index, action) in execution.actions.iter().enumerate() {
        let began = Instant::now();
        guard.slice_started.set(began);
        guard.stop.set(Stop::None);
        let made = match warm.take() {
            Some((context, begin, compiled)) => Ok((context, Some(begin), compiled)),
            None => Context::full(runtime).map(|context| (context, None, None)),
        };
        let run = match made {
            Ok((context, begin, compiled)) => {
                let event = event_for(&execution.event, &action.secrets);
                let result = context.with(|ctx| {
                    let begin = match begin {
                        Some(saved) => saved.restore(&ctx),
                        None => set_up(&ctx, Some(execution.trigger)),
                    }
                    .map_err(|e| (engine(e), String::new()))?;
                    let compiled = match compiled {
                        Some((source, saved)) => Some((
                            source,
                            saved
                                .restore(&ctx)
                                .map_err(|e| (engine(e), String::new()))?,
                        )),
                        None => None,
                    };
                    // After a redirect, the Action that sent the user away resumes.
                    let handler = if action.kind == Kind::Rule {
                        RULE_HANDLER
                    } else if action.kind == Kind::ProfileScript {
                        PROFILE_HANDLER
                    } else if execution.resume && index == 0 {
                        CONTINUE_HANDLER
                    } else {
                        execution.trigger.handler()
                    };
                    let mut driver = Driver {
                        guard: &guard,
                        outside: &mut outside,
                        net,
                        cache,
                    };
                    run_action(
                        &ctx,
                        (begin, compiled),
                        limits,
                        execution,
                        handler,
                        action,
                        &event,
                        &mut driver,
                    )
                });
                let fetches = outside.end_action();
                let stopping = !matches!(&result, Ok(r) if !r.stopped);
                if stopping || index + 1 == execution.actions.len() {
                    // The last one: dropped after the caller has its answer.
                    last = Some(context);
                } else {
                    // What the action left behind goes with its context.
                    drop(context);
                    runtime.run_gc();
                }
                match result {
                    Ok(recorded) => ActionRun {
                        name: action.name.clone(),
                        commands: recorded.commands,
                        logs: recorded.logs,
                        stopped: recorded.stopped,
                        error: None,
                        fetches,
                        took: began.elapsed(),
                    },
                    Err((error, logs)) => ActionRun {
                        name: action.name.clone(),
                        commands: Vec::new(),
                        logs,
                        stopped: true,
                        error: Some(guard.explain(error)),
                        fetches,
                        took: began.elapsed(),
                    },
                }
            }
            Err(e) => ActionRun {
                name: action.name.clone(),
                commands: Vec::new(),
                logs: String::new(),
                stopped: true,
                error: Some(ActionError::Engine(e.to_string())),
                fetches: Vec::new(),
                took: began.elapsed(),
            },
        };
        let stopped = run.stopped;
        runs.push(run);
        if stopped {
            break;
        }
    }
    (
        Outcome { runs },
        Some(Spent {
            _context: last,
            _guard: guard,
        }),
    )
}

/// What an execution leaves to drop: its last context, then its runtime. The worker drops it
/// after it has sent the answer, so that no caller waits for QuickJS to free its memory.
pub(crate) struct Spent {
    // Dropped in this order.
    _context: Option<Context>,
    _guard: Guarded,
}

fn engine_failure(execution: &Execution, e: rquickjs::Error) -> Outcome {
    Outcome {
        runs: execution
            .actions
            .first()
            .map(|action| ActionRun {
                name: action.name.clone(),
                commands: Vec::new(),
                logs: String::new(),
                stopped: true,
                error: Some(ActionError::Engine(e.to_string())),
                fetches: Vec::new(),
                took: std::time::Duration::ZERO,
            })
            .into_iter()
            .collect(),
    }
}

/// The event as this Action sees it: its own secrets in `event.secrets`.
fn event_for(
    event: &serde_json::Value,
    secrets: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let mut event = event.clone();
    if let Some(object) = event.as_object_mut() {
        object.insert(
            "secrets".to_owned(),
            serde_json::Value::Object(secrets.clone()),
        );
    }
    event.to_string()
}

/// The prelude begun in `ctx` (`begin`, its first step done) for an execution of `trigger`,
/// and the Action's module loaded (its top-level code run): the prelude's handle,
/// or the error with what the module logged.
#[allow(clippy::too_many_arguments)] // one call's inputs, each used once
fn load<'js>(
    ctx: &Ctx<'js>,
    begin: Function<'js>,
    limits: &Limits,
    trigger: Trigger,
    handler: &str,
    now_ms: i64,
    (source, compiled): (String, Option<(String, Function<'js>)>),
    event: &str,
    outside: &Outside,
    cache: &Arc<Cache>,
) -> Result<Object<'js>, (ActionError, String)> {
    let no_logs = |e| (e, String::new());
    // The host's functions for this execution alone.
    let host = Object::new(ctx.clone())
        .and_then(|host| {
            outside.natives(ctx, &host)?;
            cache::natives(ctx, &host, cache, trigger, now_ms)?;
            Ok(host)
        })
        .map_err(|e| no_logs(engine(e)))?;
    let handle: Object = begin
        .call((
            trigger.id(),
            handler,
            event,
            now_ms as f64,
            limits.log_chars as f64,
            host,
        ))
        .catch(ctx)
        .map_err(|e| no_logs(engine(e)))?;
    let failed = |error: ActionError| {
        (
            error,
            finish(ctx, &handle, limits.log_chars)
                .map(|r| r.logs)
                .unwrap_or_default(),
        )
    };
    let module: Object = handle.get("module").map_err(|e| failed(engine(e)))?;
    let exports: Value = module.get("exports").map_err(|e| failed(engine(e)))?;
    let require: Value = handle.get("require").map_err(|e| failed(engine(e)))?;
    // Compiled ahead when the worker expected this very module.
    let define = match compiled {
        Some((expected, define)) if expected == source => define,
        _ => compile_module(ctx, source)
            .catch(ctx)
            .map_err(|e| failed(thrown(e)))?,
    };
    define
        .call::<_, Value>((exports, require, module, "/action.js", "/"))
        .catch(ctx)
        .map_err(|e| failed(thrown(e)))?;
    Ok(handle)
}

/// What the Action recorded, from the prelude's handle.
/// The prelude caps the console at `log_chars` itself, with string methods the Action can
/// replace; this is the cap the Action cannot reach (the prelude's own note of the cut fits in
/// the slack).
fn finish<'js>(
    ctx: &Ctx<'js>,
    handle: &Object<'js>,
    log_chars: usize,
) -> Result<Recorded, ActionError> {
    const SLACK: usize = 256;
    let finish: Function = handle
        .get("finish")
        .map_err(|e| ActionError::Engine(e.to_string()))?;
    let json: String = finish.call(()).catch(ctx).map_err(thrown)?;
    let mut recorded: Recorded =
        serde_json::from_str(&json).map_err(|e| ActionError::Engine(e.to_string()))?;
    if let Some((cut, _)) = recorded.logs.char_indices().nth(log_chars + SLACK) {
        recorded.logs.truncate(cut);
        recorded.logs.push_str("\n[console output cut]\n");
    }
    Ok(recorded)
}

/// What drives an Action's promise while its JavaScript waits: the outside world, and the
/// guard whose slice restarts after each wait.
struct Driver<'a> {
    guard: &'a Guarded,
    outside: &'a mut Outside,
    net: Option<&'a Net>,
    cache: &'a Arc<Cache>,
}

/// Runs one Action in `ctx`: its result, or its error with what it logged before it.
#[allow(clippy::too_many_arguments)] // one call's inputs, each used once
fn run_action<'js>(
    ctx: &Ctx<'js>,
    (begin, compiled): (Function<'js>, Option<(String, Function<'js>)>),
    limits: &Limits,
    execution: &Execution,
    handler: &str,
    action: &crate::Action,
    event: &str,
    driver: &mut Driver<'_>,
) -> Result<Recorded, (ActionError, String)> {
    let handle = load(
        ctx,
        begin,
        limits,
        execution.trigger,
        handler,
        execution.now_ms,
        (module_source(&action.code, action.kind), compiled),
        event,
        driver.outside,
        driver.cache,
    )?;
    let failed = |error: ActionError| {
        (
            error,
            finish(ctx, &handle, limits.log_chars)
                .map(|r| r.logs)
                .unwrap_or_default(),
        )
    };
    let start: Function = handle.get("start").map_err(|e| failed(engine(e)))?;
    let returned: Value = start.call(()).catch(ctx).map_err(|e| failed(thrown(e)))?;
    if let Some(promise) = returned.as_promise() {
        loop {
            match promise.state() {
                PromiseState::Resolved => break,
                PromiseState::Rejected => {
                    let reason = match promise.result::<Value>() {
                        Some(Err(rquickjs::Error::Exception)) => describe(&ctx.catch()),
                        Some(Err(e)) => e.to_string(),
                        _ => "the handler's promise was rejected".to_owned(),
                    };
                    return Err(failed(classify(reason)));
                }
                // Run the next job (a job that throws has rejected its promise, or was
                // interrupted, which the caller sees in `stop`); none left: wait for a timer
                // or a request; nothing pending either: nothing can settle the promise.
                PromiseState::Pending => {
                    if ctx.execute_pending_job() {
                        continue;
                    }
                    let woke = driver.outside.wait(driver.net, driver.guard.deadline.get());
                    driver.guard.slice_started.set(Instant::now());
                    let delivered = match woke {
                        Woke::Idle => return Err(failed(ActionError::NeverSettled)),
                        Woke::TimedOut => return Err(failed(ActionError::TimedOut)),
                        Woke::Timer(id) => handle
                            .get::<_, Function>("fire")
                            .and_then(|fire| fire.call::<_, ()>((id,))),
                        Woke::Fetched(id, result) => {
                            handle.get::<_, Function>("settle").and_then(|settle| {
                                // The body as text (invalid UTF-8 replaced, as `text()` in
                                // Node) and as its bytes, for `arrayBuffer()`.
                                let (error, reply, body, bytes) = match result {
                                    Ok(reply) => {
                                        let text =
                                            String::from_utf8_lossy(&reply.body).into_owned();
                                        let json = reply_json(&reply);
                                        let bytes = ArrayBuffer::new(ctx.clone(), reply.body)?;
                                        (None, Some(json), text, Some(bytes))
                                    }
                                    Err(why) => (Some(why), None, String::new(), None),
                                };
                                settle.call::<_, ()>((id, error, reply, body, bytes))
                            })
                        }
                    };
                    // A timer's callback that throws fails the Action, as an uncaught
                    // exception would in Node.
                    if let Err(e) = delivered.catch(ctx) {
                        return Err(failed(thrown(e)));
                    }
                }
            }
        }
    }
    finish(ctx, &handle, limits.log_chars).map_err(|e| (e, String::new()))
}

/// A reply's status, URL and headers, as JSON for the prelude's `Response`.
fn reply_json(reply: &crate::fetch::Reply) -> String {
    serde_json::json!({
        "status": reply.status,
        "statusText": reply.status_text,
        "url": reply.url,
        "headers": reply.headers,
        "redirected": reply.redirected,
    })
    .to_string()
}

fn engine(e: impl std::fmt::Display) -> ActionError {
    ActionError::Engine(e.to_string())
}

fn thrown(e: CaughtError<'_>) -> ActionError {
    match e {
        CaughtError::Exception(exception) => classify(exception_text(&exception)),
        CaughtError::Value(value) => classify(value_text(&value)),
        CaughtError::Error(rquickjs::Error::Allocation) => ActionError::OutOfMemory,
        CaughtError::Error(e) => ActionError::Threw(e.to_string()),
    }
}

fn exception_text(exception: &rquickjs::Exception<'_>) -> String {
    let message = exception.message().unwrap_or_default();
    let name: Option<String> = exception.as_object().get("name").ok();
    match name {
        Some(name) if !name.is_empty() => format!("{name}: {message}"),
        _ => message,
    }
}

fn value_text(value: &Value<'_>) -> String {
    value
        .get::<Coerced<String>>()
        .map_or_else(|_| "a value that cannot be shown".to_owned(), |s| s.0)
}

fn describe(value: &Value<'_>) -> String {
    match value.as_exception() {
        Some(exception) => exception_text(exception),
        None => value_text(value),
    }
}

/// QuickJS reports running out of its memory limit as an exception like any other.
fn classify(text: String) -> ActionError {
    if text.contains("out of memory") {
        ActionError::OutOfMemory
    } else {
        ActionError::Threw(text)
    }
}

/// Whether `code` builds for `triggers`: it compiles, its top-level code runs within the
/// limits, and it exports each trigger's handler. The problems found, none when it builds.
pub(crate) fn build(
    limits: &Limits,
    code: &str,
    triggers: &[Trigger],
    kind: Kind,
) -> Vec<BuildProblem> {
    let problem = |id: &'static str, message: String| vec![BuildProblem { id, message }];
    let guard = match guarded(limits) {
        Ok(guard) => guard,
        Err(e) => return problem("engine_error", e.to_string()),
    };
    let context = match Context::full(&guard.runtime) {
        Ok(context) => context,
        Err(e) => return problem("engine_error", e.to_string()),
    };
    let first = triggers.first().copied().unwrap_or(Trigger::PostLogin);
    context.with(|ctx| {
        let begin = match set_up(&ctx, None) {
            Ok(begin) => begin,
            Err(e) => return problem("engine_error", e.to_string()),
        };
        let outside = Outside::new(Vec::new());
        let handler = match kind {
            Kind::Rule => RULE_HANDLER,
            Kind::ProfileScript => PROFILE_HANDLER,
            Kind::Action => first.handler(),
        };
        let handle = match load(
            &ctx,
            begin,
            limits,
            first,
            handler,
            0,
            (module_source(code, kind), None),
            "{}",
            &outside,
            &Arc::default(),
        ) {
            Ok(handle) => handle,
            Err((error, _)) => {
                let id = match &error {
                    ActionError::Threw(text) if text.starts_with("SyntaxError") => "syntax_error",
                    _ => "load_error",
                };
                return problem(id, guard.explain(error).to_string());
            }
        };
        let exported: Option<Function> = handle.get("exported").ok();
        let exports = |name: &str| {
            exported
                .as_ref()
                .and_then(|f| f.call::<_, bool>((name,)).ok())
                .unwrap_or(false)
        };
        if kind == Kind::Rule && !exports(RULE_HANDLER) {
            return problem(
                "not_a_function",
                "A rule is one function: function (user, context, callback) { … }".to_owned(),
            );
        }
        if kind == Kind::ProfileScript && !exports(PROFILE_HANDLER) {
            return problem(
                "not_a_function",
                "A profile script is one function: function (accessToken, ctx, callback) { … }"
                    .to_owned(),
            );
        }
        let modules = crate::unknown_modules(code)
            .into_iter()
            .map(|name| BuildProblem {
                id: "unsupported_module",
                message: format!(
                    "The code requires '{name}', which Sigil does not offer: Actions get the \
                 built-in modules {} only, and no npm packages.",
                    crate::MODULES.join(" and ")
                ),
            });
        triggers
            .iter()
            .filter(|trigger| kind == Kind::Action && !exports(trigger.handler()))
            .map(|trigger| BuildProblem {
                id: "missing_handler",
                message: format!(
                    "The code does not export {} for the trigger {}.",
                    trigger.handler(),
                    trigger.id()
                ),
            })
            .chain(modules)
            .collect()
    })
}
