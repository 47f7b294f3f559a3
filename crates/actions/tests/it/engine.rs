//! The engine on real JavaScript: what an Action can ask for, how it fails, and the hostile-code
//! table of `notes/actions.md` §6.4 (loops, memory bombs, deep recursion, regular-expression
//! blow-ups, promises that never settle, prototype pollution, the environment, throwing
//! non-Errors, leaks between Actions and executions), each also showing that other executions
//! are answered meanwhile.

use std::time::Duration;

use serde_json::{Value, json};
use sigil_actions::{Action, ActionError, Command, Engine, Execution, Limits, RunError, Trigger};

/// Held exclusively by the test that measures the process's memory, shared by the tests that
/// would disturb it (requests, their runtimes and bodies).
pub(crate) static MEASURING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

pub(crate) const NOW_MS: i64 = 1_796_000_000_000;

pub(crate) fn limits() -> Limits {
    Limits {
        execution: Duration::from_secs(5),
        slice: Duration::from_millis(500),
        memory: 32 << 20,
        workers: 2,
        queue: 8,
        ..Limits::default()
    }
}

pub(crate) fn action(name: &str, code: &str) -> Action {
    let mut secrets = serde_json::Map::new();
    secrets.insert("API_KEY".to_owned(), json!("s3cret"));
    Action {
        name: name.to_owned(),
        code: code.to_owned(),
        secrets,
        kind: sigil_actions::Kind::Action,
    }
}

pub(crate) fn execution(trigger: Trigger, codes: &[&str]) -> Execution {
    Execution {
        trigger,
        actions: codes
            .iter()
            .enumerate()
            .map(|(i, code)| action(&format!("action {i}"), code))
            .collect(),
        event: json!({
            "user": {
                "user_id": "auth0|1",
                "email": "ann@example.com",
                "app_metadata": {"roles": ["admin", "editor"]},
            },
            "request": {"ip": "127.0.0.1"},
            "transaction": {"protocol": "oidc-basic-profile"},
        }),
        now_ms: NOW_MS,
        resume: false,
        egress: Vec::new(),
    }
}

pub(crate) fn post_login(code: &str) -> Execution {
    execution(Trigger::PostLogin, &[code])
}

pub(crate) fn command(op: &str, args: Value) -> Command {
    Command {
        op: op.to_owned(),
        args: args.as_array().cloned().unwrap_or_default(),
    }
}

pub(crate) async fn run(engine: &Engine, execution: Execution) -> sigil_actions::Outcome {
    engine.run(execution).await.expect("the engine answers")
}

#[tokio::test]
async fn what_an_action_asks_for_is_recorded_in_order() {
    let engine = Engine::start(limits()).unwrap();
    let cases: Vec<(&str, &str, Vec<Command>)> = vec![
        (
            "claims, scopes and metadata",
            r#"exports.onExecutePostLogin = async (event, api) => {
                const ns = 'https://example.com/';
                api.idToken.setCustomClaim(ns + 'roles', event.user.app_metadata.roles);
                api.accessToken.setCustomClaim(ns + 'email', event.user.email);
                api.accessToken.addScope(' read:x ');
                api.accessToken.removeScope('write:x');
                api.user.setAppMetadata('seen', true);
                api.user.setUserMetadata('gone', undefined);
            };"#,
            vec![
                command(
                    "idToken.setCustomClaim",
                    json!(["https://example.com/roles", ["admin", "editor"]]),
                ),
                command(
                    "accessToken.setCustomClaim",
                    json!(["https://example.com/email", "ann@example.com"]),
                ),
                command("accessToken.addScope", json!(["read:x"])),
                command("accessToken.removeScope", json!(["write:x"])),
                command("user.setAppMetadata", json!(["seen", true])),
                command("user.setUserMetadata", json!(["gone", null])),
            ],
        ),
        (
            "awaiting, the clock, secrets, the empty environment",
            r#"exports.onExecutePostLogin = async (event, api) => {
                await Promise.resolve();
                await new Promise((resolve) => resolve());
                api.idToken.setCustomClaim('now', Date.now());
                api.idToken.setCustomClaim('date', new Date().getTime());
                api.idToken.setCustomClaim('performance', [performance.timeOrigin, performance.now()]);
                api.idToken.setCustomClaim('key', event.secrets.API_KEY);
                api.idToken.setCustomClaim('env', Object.keys(process.env).length);
            };"#,
            vec![
                command("idToken.setCustomClaim", json!(["now", NOW_MS])),
                command("idToken.setCustomClaim", json!(["date", NOW_MS])),
                command(
                    "idToken.setCustomClaim",
                    json!(["performance", [NOW_MS, 0]]),
                ),
                command("idToken.setCustomClaim", json!(["key", "s3cret"])),
                command("idToken.setCustomClaim", json!(["env", 0])),
            ],
        ),
        (
            "the event and the api cannot be changed",
            r#"exports.onExecutePostLogin = async (event, api) => {
                event.user.email = 'mallory@example.com';
                api.idToken.setCustomClaim = () => {};
                api.idToken = null;
                api.idToken.setCustomClaim('email', event.user.email);
            };"#,
            vec![command(
                "idToken.setCustomClaim",
                json!(["email", "ann@example.com"]),
            )],
        ),
        (
            "a deny, and what came before it",
            r#"exports.onExecutePostLogin = async (event, api) => {
                api.user.setAppMetadata('tries', 1);
                api.access.deny('Not today');
            };"#,
            vec![
                command("user.setAppMetadata", json!(["tries", 1])),
                command("access.deny", json!(["Not today"])),
            ],
        ),
    ];
    for (what, code, expected) in cases {
        let outcome = run(&engine, post_login(code)).await;
        assert_eq!(outcome.failure().map(|r| &r.error), None, "{what}");
        let commands: Vec<Command> = outcome.commands().cloned().collect();
        assert_eq!(commands, expected, "{what}");
    }
}

#[tokio::test]
async fn a_deny_or_a_failure_stops_the_actions_after_it() {
    let engine = Engine::start(limits()).unwrap();
    let claim =
        "exports.onExecutePostLogin = async (e, api) => { api.idToken.setCustomClaim('x', 1); };";
    let deny = "exports.onExecutePostLogin = async (e, api) => { api.access.deny('no'); };";
    let throws = "exports.onExecutePostLogin = async () => { throw new Error('boom'); };";
    for (what, codes, ran, stopped_by) in [
        ("all run", vec![claim, claim], 2, None),
        ("a deny stops", vec![claim, deny, claim], 2, Some(1)),
        ("a failure stops", vec![throws, claim], 1, Some(0)),
    ] {
        let outcome = run(&engine, execution(Trigger::PostLogin, &codes)).await;
        assert_eq!(outcome.runs.len(), ran, "{what}");
        let stopped = outcome.runs.iter().position(|r| r.stopped);
        assert_eq!(stopped, stopped_by, "{what}");
    }
}

#[tokio::test]
async fn console_output_is_captured_and_capped() {
    let engine = Engine::start(Limits {
        log_chars: 100,
        ..limits()
    })
    .unwrap();
    let outcome = run(
        &engine,
        post_login(
            r#"exports.onExecutePostLogin = async (event) => {
                console.log('hello', event.user.email, {a: 1}, [2]);
                console.error(new Error('shown'));
                for (let i = 0; i < 100; i++) console.log('line ' + i);
            };"#,
        ),
    )
    .await;
    let logs = &outcome.runs[0].logs;
    assert!(
        logs.starts_with("hello ann@example.com {\"a\":1} [2]\nError: shown\n"),
        "{logs}"
    );
    assert!(
        logs.contains("console output cut at 100 characters"),
        "{logs}"
    );
    assert!(logs.len() < 200, "{logs}");

    // An Action that breaks the prelude's own cutting still gets no more than the cap.
    let outcome = run(
        &engine,
        post_login(
            r#"exports.onExecutePostLogin = async () => {
                String.prototype.substring = function () { return 'x'.repeat(1 << 20); };
                for (let i = 0; i < 10; i++) console.log('line ' + i + ' '.repeat(20));
            };"#,
        ),
    )
    .await;
    let logs = &outcome.runs[0].logs;
    assert!(
        logs.len() < 100 + 256 + 64,
        "{} characters kept",
        logs.len()
    );
}

#[tokio::test]
async fn failures_are_reported_never_raised() {
    let engine = Engine::start(limits()).unwrap();
    let threw = |needle: &'static str| move |e: &ActionError| matches!(e, ActionError::Threw(text) if text.contains(needle));
    let is = |expected: ActionError| move |e: &ActionError| *e == expected;
    let cases: Vec<(&str, String, Check)> = vec![
        (
            "an Error",
            handler("throw new Error('boom');"),
            Box::new(threw("Error: boom")),
        ),
        ("a non-Error", handler("throw 42;"), Box::new(threw("42"))),
        (
            "a rejected promise",
            handler("await Promise.reject('nope');"),
            Box::new(threw("nope")),
        ),
        (
            "a syntax error",
            "exports.onExecutePostLogin = async (".to_owned(),
            Box::new(threw("SyntaxError")),
        ),
        (
            "no handler",
            "exports.somethingElse = 1;".to_owned(),
            Box::new(threw("does not export onExecutePostLogin")),
        ),
        (
            "the scope claim",
            handler("api.idToken.setCustomClaim('scope', 'admin');"),
            Box::new(threw("The \"scope\" claim cannot be set.")),
        ),
        (
            "a claim JSON cannot hold",
            handler("api.idToken.setCustomClaim('n', 10n);"),
            Box::new(threw("BigInt")),
        ),
        (
            "a module",
            handler("require('fs');"),
            Box::new(threw("Cannot find module 'fs'")),
        ),
        (
            "a multi-factor provider Sigil does not offer",
            handler("api.multifactor.enable('duo');"),
            Box::new(threw("provider duo is not supported by Sigil")),
        ),
        (
            "an endless loop",
            handler("while (true) {}"),
            Box::new(is(ActionError::Busy)),
        ),
        (
            "an endless loop in a promise job",
            handler("await null; for (;;) {}"),
            Box::new(is(ActionError::Busy)),
        ),
        (
            "a regular-expression blow-up",
            handler("/^(a+)+$/.test('a'.repeat(40) + 'b');"),
            Box::new(is(ActionError::Busy)),
        ),
        (
            "a memory bomb",
            handler("const a = []; for (;;) a.push('x'.repeat(1 << 16) + a.length);"),
            Box::new(is(ActionError::OutOfMemory)),
        ),
        (
            "deep recursion",
            handler("const f = (n) => f(n + 1) + 1; f(0);"),
            Box::new(threw("stack")),
        ),
        (
            "a promise nothing settles",
            handler("await new Promise(() => {});"),
            Box::new(is(ActionError::NeverSettled)),
        ),
    ];
    for (what, code, expected) in cases {
        let outcome = run(&engine, post_login(&code)).await;
        let failed = outcome
            .failure()
            .unwrap_or_else(|| panic!("{what}: no failure"));
        let error = failed.error.as_ref().unwrap();
        assert!(expected(error), "{what}: {error:?}");
        assert!(failed.stopped && failed.commands.is_empty(), "{what}");
    }
}

/// The rest of the hostile-code table of `notes/actions.md` (H2, H6–H9, H13–H16, H27, H28):
/// each is stopped or refused inside its own execution, with an error of its own, and never
/// raised (no panic, no crash), while another execution is answered beside it; the engine
/// then runs the next execution as before. (H7's
/// `join`, which no interrupt reaches, has a test of its own below.)
#[tokio::test]
async fn the_hostile_code_table_is_contained() {
    // Some rows take much memory for a moment: not while memory is measured.
    let _shared = MEASURING.read().await;
    let engine = Engine::start(limits()).unwrap();
    let threw = |needle: &'static str| move |e: &ActionError| matches!(e, ActionError::Threw(text) if text.contains(needle));
    let stopped = |e: &ActionError| {
        matches!(
            e,
            ActionError::Busy | ActionError::OutOfMemory | ActionError::TimedOut
        ) || matches!(e, ActionError::Threw(text) if text.contains("RangeError") || text.contains("out of memory") || text.contains("InternalError"))
    };
    // (row, the Action's body, what its failure must be)
    let cases: Vec<(&str, String, Check)> = vec![
        (
            "H2 a loop that catches the interrupt",
            handler("for (;;) { try { while (true) {} } catch (e) {} }"),
            Box::new(|e: &ActionError| *e == ActionError::Busy),
        ),
        (
            "H6 catching out-of-memory in a loop",
            handler(
                "const a = []; for (;;) { try { a.push(new ArrayBuffer(1 << 24)); } catch (e) {} }",
            ),
            Box::new(stopped),
        ),
        (
            "H7 a string of 2^30 characters",
            handler("api.idToken.setCustomClaim('x', 'x'.repeat(2 ** 30).length);"),
            Box::new(stopped),
        ),
        (
            "H7 indexOf over 2^32-1 indices",
            handler(
                "Array.prototype.indexOf.call({ length: 2 ** 32 - 1 }, 1); throw new Error('finished');",
            ),
            Box::new(|e: &ActionError| {
                *e == ActionError::Busy
                    || matches!(e, ActionError::Threw(t) if t.contains("finished"))
            }),
        ),
        (
            "H8 JSON nested a million deep",
            handler("JSON.parse('['.repeat(1e6));"),
            Box::new(|e: &ActionError| matches!(e, ActionError::Threw(_))),
        ),
        (
            "H9 a claim nested 100,000 deep",
            handler(
                "const o = {}; let p = o; for (let i = 0; i < 1e5; i++) { p.x = {}; p = p.x; } api.idToken.setCustomClaim('https://x/deep', o);",
            ),
            Box::new(|e: &ActionError| matches!(e, ActionError::Threw(_) | ActionError::Busy)),
        ),
        (
            "H13 a claim name that is an object",
            handler("api.idToken.setCustomClaim({ toString() { return 'sub'; } }, 'x');"),
            Box::new(threw("A claim name must be a string.")),
        ),
        (
            "H13 a claim name whose conversion throws",
            handler(
                "api.idToken.setCustomClaim({ [Symbol.toPrimitive]() { throw new Error('gotcha'); } }, 'x');",
            ),
            Box::new(threw("A claim name must be a string.")),
        ),
        (
            "H14 a getter that loops while the claim is converted",
            handler("api.idToken.setCustomClaim('https://x/g', { get v() { while (true) {} } });"),
            Box::new(|e: &ActionError| *e == ActionError::Busy),
        ),
        (
            "H15 throw null",
            handler("throw null;"),
            Box::new(threw("null")),
        ),
        (
            "H15 throw undefined",
            handler("throw undefined;"),
            Box::new(threw("undefined")),
        ),
        (
            "H15 throw an object",
            handler("throw { message: 1 };"),
            Box::new(|e: &ActionError| matches!(e, ActionError::Threw(_))),
        ),
        (
            "H15 throw a Proxy whose traps throw",
            handler("throw new Proxy({}, { get() { throw 1; } });"),
            Box::new(|e: &ActionError| matches!(e, ActionError::Threw(_))),
        ),
        (
            "H15 reject with a Symbol",
            handler("return Promise.reject(Symbol('s'));"),
            Box::new(|e: &ActionError| matches!(e, ActionError::Threw(_))),
        ),
    ];
    for (what, code, expected) in cases {
        // While it runs, another execution is answered on the pool's other thread: one that
        // runs until it is stopped (Busy) ends after that one.
        let order = std::sync::Mutex::new(Vec::new());
        let (outcome, other) = tokio::join!(
            async {
                let outcome = run(&engine, post_login(&code)).await;
                order.lock().unwrap().push("hostile");
                outcome
            },
            async {
                let claim = claim_of(&engine, what, "1 + 1").await;
                order.lock().unwrap().push("other");
                claim
            },
        );
        assert_eq!(other, json!(2), "{what}");
        let failed = outcome
            .failure()
            .unwrap_or_else(|| panic!("{what}: no failure"));
        let error = failed.error.as_ref().unwrap();
        assert!(expected(error), "{what}: {error:?}");
        assert!(failed.stopped, "{what}");
        if *error == ActionError::Busy {
            assert_eq!(order.lock().unwrap()[0], "other", "{what}");
        }
        // The engine is whole: the next execution runs as ever.
        assert_eq!(claim_of(&engine, what, "1 + 1").await, json!(2), "{what}");
    }

    // H16: nothing of the host can be reached; H28: a rejection nobody awaits after the
    // handler has answered does not fail the login.
    expect_claims(
        &engine,
        vec![
            ("H16 std", "typeof globalThis.std", json!("undefined")),
            ("H16 os", "typeof globalThis.os", json!("undefined")),
            (
                "H16 the global object's process",
                "typeof new Function('return this')().process.env.SIGIL_MASTER_KEY",
                json!("undefined"),
            ),
            (
                "H27 the cache called with the wrong types answers, never panics",
                "['success', 'error'].includes(api.cache.set(1, {}, 'x').type)",
                json!(true),
            ),
            (
                "H28 an unhandled rejection",
                "(Promise.reject(new Error('x')), 'answered')",
                json!("answered"),
            ),
        ],
    )
    .await;
}

/// H7's other half: a built-in made to loop a billion times (`Array.prototype.join`) never
/// polls QuickJS's interrupt, so its thread runs on past every deadline. The caller gives up
/// at the deadline plus a second; the stuck thread is lowered to nice 19 and a stand-in takes
/// its place, so the next execution runs at once even on a pool of one thread.
#[tokio::test]
async fn a_built_in_that_never_polls_the_interrupt_holds_only_a_lowered_thread() {
    let _shared = MEASURING.read().await;
    let engine = Engine::start(Limits {
        execution: Duration::from_secs(2),
        workers: 1,
        ..limits()
    })
    .unwrap();
    let stuck = handler("api.idToken.setCustomClaim('x', new Array(1e9).join('x').length);");
    let answer = engine.run(post_login(&stuck)).await;
    assert_eq!(answer.err(), Some(RunError::TimedOut));
    // The pool's one thread is still in `join`, at the lowest priority.
    let threads = engine_threads(&engine);
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0].1, 19, "{threads:?}");
    // Its stand-in answers the next execution.
    assert_eq!(claim_of(&engine, "after", "1 + 1").await, json!(2));
}

/// What a failure must look like.
type Check = Box<dyn Fn(&ActionError) -> bool>;

fn handler(body: &str) -> String {
    format!("exports.onExecutePostLogin = async (event, api) => {{ {body} }};")
}

#[tokio::test]
async fn nothing_leaks_between_actions_or_executions() {
    let engine = Engine::start(limits()).unwrap();
    let polluter = r#"exports.onExecutePostLogin = async (event, api) => {
        Object.prototype.polluted = 'yes';
        Array.prototype.map = () => 'hijacked';
        JSON.stringify = () => '{"commands":[{"op":"access.deny","args":["forged"]}],"logs":"","stopped":true}';
        globalThis.leaked = 'yes';
        api.idToken.setCustomClaim('first', true);
    };"#;
    let witness = r#"exports.onExecutePostLogin = async (event, api) => {
        api.idToken.setCustomClaim('clean', ({}).polluted === undefined
            && [1].map((x) => x + 1)[0] === 2
            && typeof globalThis.leaked === 'undefined');
    };"#;
    // In one execution, Action after Action.
    let outcome = run(&engine, execution(Trigger::PostLogin, &[polluter, witness])).await;
    let commands: Vec<Command> = outcome.commands().cloned().collect();
    assert_eq!(
        commands,
        vec![
            command("idToken.setCustomClaim", json!(["first", true])),
            command("idToken.setCustomClaim", json!(["clean", true])),
        ]
    );
    // And from one execution to the next.
    run(&engine, post_login(polluter)).await;
    let outcome = run(&engine, post_login(witness)).await;
    assert_eq!(
        outcome.commands().cloned().collect::<Vec<_>>(),
        vec![command("idToken.setCustomClaim", json!(["clean", true]))]
    );
}

#[tokio::test]
async fn the_triggers_each_get_their_own_api() {
    let engine = Engine::start(limits()).unwrap();
    let cases = [
        (
            Trigger::CredentialsExchange,
            "exports.onExecuteCredentialsExchange = async (event, api) => {
                api.accessToken.setCustomClaim('tier', 'gold');
                api.access.deny('invalid_request', 'no machines today');
            };",
            vec![
                command("accessToken.setCustomClaim", json!(["tier", "gold"])),
                command(
                    "access.deny",
                    json!(["invalid_request", "no machines today"]),
                ),
            ],
        ),
        (
            Trigger::PreUserRegistration,
            "exports.onExecutePreUserRegistration = async (event, api) => {
                api.user.setUserMetadata('plan', 'free');
                api.access.deny('blocked_domain', 'Sign up with your work address.');
            };",
            vec![
                command("user.setUserMetadata", json!(["plan", "free"])),
                command(
                    "access.deny",
                    json!(["blocked_domain", "Sign up with your work address."]),
                ),
            ],
        ),
    ];
    for (trigger, code, expected) in cases {
        let outcome = run(&engine, execution(trigger, &[code])).await;
        assert_eq!(outcome.failure().map(|r| &r.error), None, "{trigger:?}");
        assert_eq!(
            outcome.commands().cloned().collect::<Vec<_>>(),
            expected,
            "{trigger:?}"
        );
    }
    // A post-login-only call is not there for a machine.
    let outcome = run(
        &engine,
        execution(
            Trigger::CredentialsExchange,
            &["exports.onExecuteCredentialsExchange = async (e, api) => { api.idToken.setCustomClaim('x', 1); };"],
        ),
    )
    .await;
    assert!(outcome.failure().is_some());
}

/// While a hostile Action spins on one thread, the other thread answers every other execution;
/// the hostile one ends with its slice, and a full queue refuses at once instead of waiting.
#[tokio::test]
async fn a_hostile_action_holds_only_its_own_thread() {
    let engine = std::sync::Arc::new(
        Engine::start(Limits {
            slice: Duration::from_secs(2),
            workers: 2,
            queue: 2,
            ..limits()
        })
        .unwrap(),
    );
    let hostile = {
        let engine = std::sync::Arc::clone(&engine);
        tokio::spawn(async move { engine.run(post_login(&handler("for (;;) {}"))).await })
    };
    let benign = handler("api.idToken.setCustomClaim('ok', true);");
    for i in 0..20 {
        let outcome = run(&engine, post_login(&benign)).await;
        assert!(outcome.failure().is_none(), "benign execution {i}");
        assert!(
            !hostile.is_finished(),
            "the hostile one ended before benign execution {i}"
        );
    }
    let outcome = hostile.await.unwrap().unwrap();
    assert_eq!(outcome.runs[0].error, Some(ActionError::Busy));

    // Both threads taken and the queue full: refused at once.
    let spinning: Vec<_> = (0..4)
        .map(|_| {
            let engine = std::sync::Arc::clone(&engine);
            tokio::spawn(async move { engine.run(post_login(&handler("for (;;) {}"))).await })
        })
        .collect();
    // Let the spawned ones reach the queue first (this test's runtime has one thread).
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let mut refused = false;
    for _ in 0..50 {
        if matches!(engine.run(post_login(&benign)).await, Err(RunError::Busy)) {
            refused = true;
            break;
        }
    }
    assert!(refused, "a full queue must refuse");
    for task in spinning {
        let _ = task.await;
    }
}

/// `engine`'s threads as `/proc` shows them: state (`R` running, `S` sleeping, …) and nice
/// value (Linux keeps one per thread).
#[cfg(target_os = "linux")]
fn engine_threads(engine: &Engine) -> Vec<(char, i32)> {
    let mut threads = Vec::new();
    for id in engine.thread_ids() {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{id}/stat")).unwrap();
        // After the name in parentheses: state is field 3, nice field 19 (proc(5)).
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let state = fields[0].chars().next().unwrap();
        threads.push((state, fields[16].parse::<i32>().unwrap()));
    }
    threads
}

/// An execution runs at the server's own priority (a request waits for it), and is lowered to
/// nice 10 once it has run for 10 ms (a CPU-bound Action gives way to the server's threads);
/// a worker is back at the server's priority once it waits again.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_long_execution_gives_way_to_the_servers_threads() {
    let own = rustix::process::getpriority_process(None).unwrap();
    // Raising a thread back needs the right to (root, or room in RLIMIT_NICE): without it, a
    // worker once lowered stays lowered.
    let me = Some(rustix::thread::gettid());
    rustix::process::setpriority_process(me, own + 1).unwrap();
    let waiting = if rustix::process::setpriority_process(me, own).is_ok() {
        own
    } else {
        10
    };
    let engine = std::sync::Arc::new(
        Engine::start(Limits {
            workers: 2,
            ..limits()
        })
        .unwrap(),
    );
    // Both threads have started once an execution has run on each.
    for _ in 0..2 {
        assert!(
            run(&engine, post_login(&handler("")))
                .await
                .failure()
                .is_none()
        );
    }
    let spinning = {
        let engine = std::sync::Arc::clone(&engine);
        tokio::spawn(async move { run(&engine, post_login(&handler("for (;;) {}"))).await })
    };
    // The spin lasts its slice (500 ms): long enough to be seen running, lowered.
    let mut seen = Vec::new();
    while !spinning.is_finished() {
        seen.extend(
            engine_threads(&engine)
                .into_iter()
                .filter(|(state, _)| *state == 'R'),
        );
        if seen.iter().any(|(_, nice)| *nice == 10) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        seen.iter().any(|(_, nice)| *nice == 10),
        "no running engine thread at nice 10: {seen:?}"
    );
    let outcome = spinning.await.unwrap();
    assert_eq!(
        outcome.runs[0].error,
        Some(sigil_actions::ActionError::Busy)
    );
    // Back at the server's priority once waiting for work (after preparing the next runtime).
    let mut threads = engine_threads(&engine);
    for _ in 0..400 {
        if threads.len() == 2
            && threads
                .iter()
                .all(|(state, nice)| *state == 'S' && *nice == waiting)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        threads = engine_threads(&engine);
    }
    assert!(
        threads.len() == 2 && threads.iter().all(|(_, nice)| *nice == waiting),
        "{threads:?}"
    );
}

/// Memory an Action took is given back when its execution ends: ten bombs in a row do not
/// keep ten limits' worth.
#[tokio::test]
async fn memory_returns_after_a_memory_bomb() {
    let _alone = MEASURING.write().await;
    let engine = Engine::start(Limits {
        workers: 1,
        ..limits()
    })
    .unwrap();
    let bomb = handler("const a = []; for (;;) a.push('x'.repeat(1 << 16) + a.length);");
    run(&engine, post_login(&bomb)).await;
    let before = resident_bytes();
    for _ in 0..10 {
        let outcome = run(&engine, post_login(&bomb)).await;
        assert_eq!(outcome.runs[0].error, Some(ActionError::OutOfMemory));
    }
    let after = resident_bytes();
    let limit = limits().memory as u64;
    assert!(
        after < before + 2 * limit,
        "resident memory grew from {before} to {after} bytes"
    );
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test]
async fn a_build_finds_syntax_errors_missing_handlers_and_hostile_top_level_code() {
    let engine = Engine::start(limits()).unwrap();
    let both = [Trigger::PostLogin, Trigger::CredentialsExchange];
    let cases: Vec<(&str, &str, &[Trigger], Vec<&str>)> = vec![
        (
            "builds",
            "exports.onExecutePostLogin = async () => {};",
            &[Trigger::PostLogin],
            vec![],
        ),
        (
            "a syntax error",
            "exports.onExecutePostLogin = (",
            &[Trigger::PostLogin],
            vec!["syntax_error"],
        ),
        (
            "one handler of two",
            "exports.onExecutePostLogin = async () => {};",
            &both,
            vec!["missing_handler"],
        ),
        (
            "top-level code that throws",
            "throw new Error('at load');",
            &[Trigger::PostLogin],
            vec!["load_error"],
        ),
        (
            "top-level code that spins",
            "for (;;) {}",
            &[Trigger::PostLogin],
            vec!["load_error"],
        ),
        (
            "a module",
            "require('fs');",
            &[Trigger::PostLogin],
            vec!["load_error"],
        ),
    ];
    for (what, code, triggers, expected) in cases {
        let problems = engine
            .build(code.to_owned(), triggers.to_vec())
            .await
            .unwrap();
        let ids: Vec<&str> = problems.iter().map(|p| p.id).collect();
        assert_eq!(ids, expected, "{what}: {problems:?}");
    }
    let spins = engine
        .build("for (;;) {}".to_owned(), vec![Trigger::PostLogin])
        .await
        .unwrap();
    assert!(spins[0].message.contains("without a pause"), "{spins:?}");
}

#[tokio::test]
async fn a_redirect_signs_a_session_token_and_resumes_in_on_continue_post_login() {
    let engine = Engine::start(limits()).unwrap();
    let code = r#"
        exports.onExecutePostLogin = async (event, api) => {
          const token = api.redirect.encodeToken({ secret: event.secrets.API_KEY, payload: { email: event.user.email } });
          api.redirect.sendUserTo('https://tenant.example/terms', { query: { session_token: token, n: 1 } });
        };
        exports.onContinuePostLogin = async (event, api) => {
          const payload = api.redirect.validateToken({ secret: event.secrets.API_KEY });
          api.user.setUserMetadata('accepted', payload.accepted);
        };"#;
    let mut first = execution(
        Trigger::PostLogin,
        &[code, "exports.onExecutePostLogin = async () => {};"],
    );
    first.event["request"]["hostname"] = json!("login.example");
    let outcome = run(&engine, first.clone()).await;
    assert!(outcome.failure().is_none(), "{:?}", outcome.runs);
    // The redirecting Action stops the trigger: the next one waits for the user's return.
    assert_eq!(outcome.runs.len(), 1);
    let commands: Vec<&Command> = outcome.commands().collect();
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert_eq!(commands[0].op, "redirect.sendUserTo");
    assert_eq!(commands[0].args[0], "https://tenant.example/terms");
    assert_eq!(commands[0].args[1]["n"], "1");
    let token = commands[0].args[1]["session_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = token.split('.').collect();
    let payload: Value = serde_json::from_slice(
        &base64_simd::URL_SAFE_NO_PAD
            .decode_to_vec(parts[1].as_bytes())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        payload,
        json!({"iat": NOW_MS / 1000, "iss": "login.example", "sub": "auth0|1",
               "exp": NOW_MS / 1000 + 900, "ip": "127.0.0.1", "email": "ann@example.com"})
    );

    // Back: a token the Action's own encodeToken made, with the state and a field added, is
    // the test page's answer (signed with the same secret through a second Action run).
    let sign = r#"
        exports.onExecutePostLogin = async (event, api) => {
          api.idToken.setCustomClaim('t', api.redirect.encodeToken({ secret: event.secrets.API_KEY,
            payload: { state: 'st-1', accepted: 'yes' } }));
        };"#;
    let mut signer = execution(Trigger::PostLogin, &[sign]);
    signer.event["request"]["hostname"] = json!("login.example");
    let signed = run(&engine, signer).await;
    let answer = signed.commands().next().unwrap().args[1]
        .as_str()
        .unwrap()
        .to_owned();
    let back = |token: &str, state: &str| {
        let mut resumed = first.clone();
        resumed.resume = true;
        resumed.event["request"]["query"] = json!({"state": state});
        resumed.event["request"]["body"] = json!({"session_token": token});
        resumed
    };
    let outcome = run(&engine, back(&answer, "st-1")).await;
    assert!(outcome.failure().is_none(), "{:?}", outcome.runs);
    assert_eq!(
        outcome.runs.len(),
        2,
        "the next Action runs after the return"
    );
    assert_eq!(
        outcome.commands().cloned().collect::<Vec<_>>(),
        [command("user.setUserMetadata", json!(["accepted", "yes"]))]
    );
    for (token, state, why) in [
        (answer.as_str(), "st-2", "its state does not match"),
        (
            &format!("{}x", &answer[..answer.len() - 1]),
            "st-1",
            "its signature does not match",
        ),
        ("not.a.jwt", "st-1", "not a signed JWT"),
    ] {
        let outcome = run(&engine, back(token, state)).await;
        let error = outcome.failure().and_then(|r| r.error.clone());
        assert!(
            matches!(&error, Some(ActionError::Threw(text)) if text.contains("The session token is invalid") && text.contains(why)),
            "{why}: {error:?}"
        );
    }
    // No redirect from a grant without a browser; canRedirect says so.
    let mut grant = post_login(
        "exports.onExecutePostLogin = async (event, api) => {
           if (!api.redirect.canRedirect()) api.idToken.setCustomClaim('can', false);
           api.redirect.sendUserTo('https://tenant.example');
         };",
    );
    grant.event["transaction"]["protocol"] = json!("oauth2-password");
    let outcome = run(&engine, grant).await;
    assert!(
        matches!(&outcome.failure().and_then(|r| r.error.clone()), Some(ActionError::Threw(t)) if t.contains("no browser")),
        "{:?}",
        outcome.runs
    );
}

#[tokio::test]
async fn require_offers_crypto_and_querystring_and_a_build_refuses_anything_else() {
    // (axios, the third built-in module, is fetch.rs's.)
    let engine = Engine::start(limits()).unwrap();
    let code = r#"
        const crypto = require('node:crypto');
        const qs = require('querystring');
        exports.onExecutePostLogin = async (event, api) => {
          api.idToken.setCustomClaim('sha256', crypto.createHash('sha256').update('a').update('bc').digest('hex'));
          api.idToken.setCustomClaim('hmac', require('crypto').createHmac('sha256', 'key')
            .update('The quick brown fox jumps over the lazy dog').digest('hex'));
          api.idToken.setCustomClaim('b64', crypto.createHash('sha1').update('abc').digest('base64'));
          api.idToken.setCustomClaim('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()));
          api.idToken.setCustomClaim('random', crypto.randomBytes(8).toString('hex').length);
          api.idToken.setCustomClaim('same', crypto.timingSafeEqual('abc', 'abc') && !crypto.timingSafeEqual('abc', 'abd'));
          api.idToken.setCustomClaim('qs', qs.stringify({ a: 'x y', b: ['1', '2'] }));
          api.idToken.setCustomClaim('parsed', qs.parse('a=x+y&b=1&b=2'));
          try { require('lodash'); } catch (e) { api.idToken.setCustomClaim('lodash', e.message); }
        };"#;
    let outcome = run(&engine, post_login(code)).await;
    assert!(outcome.failure().is_none(), "{:?}", outcome.runs);
    let claims: serde_json::Map<String, Value> = outcome
        .commands()
        .map(|c| (c.args[0].as_str().unwrap().to_owned(), c.args[1].clone()))
        .collect();
    assert_eq!(
        claims["sha256"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        claims["hmac"],
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    );
    assert_eq!(claims["b64"], "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
    assert_eq!(
        (&claims["uuid"], &claims["random"], &claims["same"]),
        (&json!(true), &json!(16), &json!(true))
    );
    assert_eq!(claims["qs"], "a=x%20y&b=1&b=2");
    assert_eq!(claims["parsed"], json!({"a": "x y", "b": ["1", "2"]}));
    assert!(
        claims["lodash"]
            .as_str()
            .unwrap()
            .contains("Cannot find module 'lodash'")
    );

    // At build: a module outside the table is named, wherever the code requires it.
    let problems = engine
        .build(
            "exports.onExecutePostLogin = async () => { const a = require(\"lodash\"); require('axios'); require('crypto'); require('node:fs'); };".to_owned(),
            vec![Trigger::PostLogin],
        )
        .await
        .unwrap();
    let named: Vec<(&str, bool, bool)> = problems
        .iter()
        .map(|p| {
            (
                p.id,
                p.message.contains("'lodash'"),
                p.message.contains("'node:fs'"),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("unsupported_module", true, false),
            ("unsupported_module", false, true)
        ],
        "{problems:?}"
    );
    assert_eq!(
        sigil_actions::unknown_modules(
            "require ( 'querystring' ); require(`node:crypto`); require(name)"
        ),
        Vec::<String>::new()
    );
}

/// `api.cache` keeps a trigger's records for its later executions (on this engine), until they
/// expire by the server's clock, under Auth0's limits and codes.
#[tokio::test]
async fn the_cache_keeps_records_for_later_executions_of_the_same_trigger() {
    let engine = Engine::start(limits()).unwrap();
    let body = |code: &str| {
        format!(
            "exports.onExecutePostLogin = async (event, api) => {{ api.idToken.setCustomClaim('r', {code}); }};\n\
             exports.onExecuteCredentialsExchange = async (event, api) => {{ api.accessToken.setCustomClaim('r', {code}); }};"
        )
    };
    let cases: Vec<(&str, Trigger, i64, &str, Value)> = vec![
        (
            "nothing yet",
            Trigger::PostLogin,
            0,
            "api.cache.get('token')",
            Value::Null,
        ),
        (
            "set with the default life",
            Trigger::PostLogin,
            0,
            "api.cache.set('token', 'abc')",
            json!({"type": "success", "record": {"value": "abc", "expires_at": NOW_MS + 900_000}}),
        ),
        (
            "a later execution reads it",
            Trigger::PostLogin,
            60_000,
            "api.cache.get('token')",
            json!({"value": "abc", "expires_at": NOW_MS + 900_000}),
        ),
        (
            "another trigger does not",
            Trigger::CredentialsExchange,
            60_000,
            "api.cache.get('token')",
            Value::Null,
        ),
        (
            "gone once expired",
            Trigger::PostLogin,
            900_000,
            "api.cache.get('token')",
            Value::Null,
        ),
        (
            "a ttl in milliseconds",
            Trigger::PostLogin,
            0,
            "api.cache.set('short', 1, { ttl: 1000 }).record",
            json!({"value": "1", "expires_at": NOW_MS + 1000}),
        ),
        (
            "a key over 64 bytes",
            Trigger::PostLogin,
            0,
            "api.cache.set('k'.repeat(65), 'v')",
            json!({"type": "error", "code": "CacheKeySizeExceeded"}),
        ),
        (
            "a value over 4 KB",
            Trigger::PostLogin,
            0,
            "api.cache.set('k', 'v'.repeat(4097))",
            json!({"type": "error", "code": "CacheValueSizeExceeded"}),
        ),
        (
            "a life over 24 hours",
            Trigger::PostLogin,
            0,
            "api.cache.set('k', 'v', { ttl: 86400001 })",
            json!({"type": "error", "code": "InvalidExpiry"}),
        ),
        (
            "an expiry in the past",
            Trigger::PostLogin,
            0,
            "api.cache.set('k', 'v', { expires_at: 1 })",
            json!({"type": "error", "code": "ItemAlreadyExpired"}),
        ),
        (
            "delete",
            Trigger::PostLogin,
            0,
            "[api.cache.delete('short'), api.cache.delete('short')]",
            json!([{"type": "success"}, {"type": "error", "code": "CacheKeyDoesNotExist"}]),
        ),
    ];
    for (name, trigger, later_ms, code, want) in cases {
        let mut run = execution(trigger, &[&body(code)]);
        run.now_ms = NOW_MS + later_ms;
        let outcome = engine.run(run).await.unwrap();
        assert!(
            outcome.failure().is_none(),
            "{name}: {:?}",
            outcome.failure()
        );
        let got = outcome.commands().next().map(|c| c.args[1].clone());
        assert_eq!(got, Some(want), "{name}");
    }
}

/// Legacy Rules, `function (user, context, callback)`, on the post-login event: claims by
/// assignment to `context.idToken` / `accessToken`, a deny through `callback(error)` (an
/// `UnauthorizedError` too), `configuration` from the rules-configs, and a Rule that never
/// calls back fails; a build refuses what is not one function.
#[tokio::test]
async fn legacy_rules_run_before_actions_on_the_same_event() {
    let engine = Engine::start(limits()).unwrap();
    let rule = |code: &str| Action {
        name: "rule".to_owned(),
        code: code.to_owned(),
        secrets: serde_json::from_value(json!({"NS": "https://example.com/"})).unwrap(),
        kind: sigil_actions::Kind::Rule,
    };
    let cases: Vec<(&str, &str, Vec<Command>, Option<&str>)> = vec![
        (
            "claims by assignment, then the Action after it runs",
            "function (user, context, callback) {
                context.idToken[configuration.NS + 'roles'] = context.authorization.roles;
                context.accessToken[configuration.NS + 'email'] = user.email;
                callback(null, user, context);
            };",
            vec![
                command(
                    "idToken.setCustomClaim",
                    json!(["https://example.com/roles", []]),
                ),
                command(
                    "accessToken.setCustomClaim",
                    json!(["https://example.com/email", "ann@example.com"]),
                ),
                command("idToken.setCustomClaim", json!(["after", true])),
            ],
            None,
        ),
        (
            "UnauthorizedError denies",
            "function rule(user, context, callback) {
                return callback(new UnauthorizedError('Only staff, ' + user.email));
            }",
            vec![command(
                "access.deny",
                json!(["Only staff, ann@example.com"]),
            )],
            None,
        ),
        (
            "a rule that never calls back fails",
            "function (user, context, callback) { }",
            vec![],
            Some("the Action's handler returned a promise that never settles"),
        ),
        (
            "scopes set in context.accessToken.scope are added and removed",
            "function (user, context, callback) {
                context.accessToken.scope = ['openid', 'read:x'];
                callback(null, user, context);
            }",
            vec![
                command("accessToken.removeScope", json!(["email"])),
                command("accessToken.addScope", json!(["read:x"])),
                command("idToken.setCustomClaim", json!(["after", true])),
            ],
            None,
        ),
        (
            "context.multifactor asks for a second factor",
            "function (user, context, callback) {
                context.multifactor = { provider: 'any', allowRememberBrowser: false };
                callback(null, user, context);
            }",
            vec![
                command("multifactor.enable", json!(["any", false])),
                command("idToken.setCustomClaim", json!(["after", true])),
            ],
            None,
        ),
        (
            "context.multifactor with a provider Sigil does not offer fails loudly",
            "function (user, context, callback) {
                context.multifactor = { provider: 'duo' };
                callback(null, user, context);
            }",
            vec![],
            Some(
                "Error: context.multifactor: provider duo is not supported by Sigil (use any or none)",
            ),
        ),
    ];
    for (name, code, want, failure) in cases {
        let mut run = execution(
            Trigger::PostLogin,
            &[
                "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('after', true); };",
            ],
        );
        run.actions.insert(0, rule(code));
        run.event["transaction"]["requested_scopes"] = json!(["openid", "email"]);
        let outcome = engine.run(run).await.unwrap();
        let got: Vec<Command> = outcome.commands().cloned().collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(
            outcome
                .failure()
                .and_then(|f| f.error.as_ref())
                .map(ToString::to_string)
                .as_deref(),
            failure,
            "{name}"
        );
    }
    for (code, problem) in [
        (
            "function (user, context, callback) { callback(null, user, context); }",
            None,
        ),
        ("function (user, context, callback) {", Some("syntax_error")),
        ("'a string'", Some("not_a_function")),
    ] {
        let problems = engine.build_rule(code.to_owned()).await.unwrap();
        assert_eq!(problems.first().map(|p| p.id), problem, "{code}");
    }
}

/// What a post-login Action that sets the claim `r` to `expression` (awaited) puts there; it
/// must not fail.
async fn claim_of(engine: &Engine, what: &str, expression: &str) -> Value {
    let code = format!(
        "exports.onExecutePostLogin = async (event, api) => {{ api.idToken.setCustomClaim('r', {expression}); }};"
    );
    let outcome = run(engine, post_login(&code)).await;
    assert!(outcome.failure().is_none(), "{what}: {:?}", outcome.runs);
    let claim = outcome.commands().next().map(|c| c.args[1].clone());
    claim.unwrap_or_else(|| panic!("{what}: no claim"))
}

/// Each case's expression, run as [`claim_of`], gives its expected value.
async fn expect_claims(engine: &Engine, cases: Vec<(&str, &str, Value)>) {
    for (what, expression, expected) in cases {
        assert_eq!(claim_of(engine, what, expression).await, expected, "{what}");
    }
}

/// `URL` as WHATWG's (and Node's): parts, a base, `searchParams` that write through to the
/// URL, setters, and Node's error for what is not a URL.
#[tokio::test]
async fn url_parses_as_whatwg_says_and_its_search_params_write_through() {
    let engine = Engine::start(limits()).unwrap();
    let cases: Vec<(&str, &str, Value)> = vec![
        (
            "every part",
            "(() => { const u = new URL('https://user:pw@Example.com:8443/a/../b?x=1#f'); return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash]; })()",
            json!([
                "https://user:pw@example.com:8443/b?x=1#f",
                "https://example.com:8443",
                "https:",
                "user",
                "pw",
                "example.com:8443",
                "example.com",
                "8443",
                "/b",
                "?x=1",
                "#f"
            ]),
        ),
        (
            "relative to a base",
            "new URL('../c?y', 'https://a.example/x/y/z').href",
            json!("https://a.example/x/c?y"),
        ),
        (
            "searchParams write through",
            "(() => { const u = new URL('https://a.example/p?a=1#h'); u.searchParams.set('b', 'x y'); u.searchParams.append('a', '2'); return [u.href, u.searchParams.get('a'), u.search]; })()",
            json!(["https://a.example/p?a=1&b=x+y&a=2#h", "1", "?a=1&b=x+y&a=2"]),
        ),
        (
            "setters",
            "(() => { const u = new URL('https://a.example/p?q=1#h'); u.pathname = 'x/y'; u.hash = ''; u.search = 'z=2'; return [u.href, String(u), JSON.stringify({ u })]; })()",
            json!([
                "https://a.example/x/y?z=2",
                "https://a.example/x/y?z=2",
                "{\"u\":\"https://a.example/x/y?z=2\"}"
            ]),
        ),
        (
            "not a URL",
            "(() => { try { new URL('not a url'); } catch (e) { return [e.name, e.message, e.code]; } })()",
            json!(["TypeError", "Invalid URL", "ERR_INVALID_URL"]),
        ),
        (
            "canParse, default ports, IPv6",
            "[URL.canParse('https://a'), URL.canParse('nope'), new URL('https://a.example:443/').host, new URL('http://[::1]:8080/').hostname]",
            json!([true, false, "a.example", "[::1]"]),
        ),
    ];
    expect_claims(&engine, cases).await;
}

/// `Buffer` (Node's, the text encodings Actions use), `TextEncoder` and `TextDecoder`.
#[tokio::test]
async fn buffer_and_text_codecs_turn_text_into_bytes_and_back() {
    let engine = Engine::start(limits()).unwrap();
    let cases: Vec<(&str, &str, Value)> = vec![
        (
            "basic auth, the common case",
            "Buffer.from('client:s3cret').toString('base64')",
            json!("Y2xpZW50OnMzY3JldA=="),
        ),
        (
            "every encoding of UTF-8 text",
            "(() => { const b = Buffer.from('h\\u00e9\\u20ac\\ud83d\\ude00'); return [b.length, b.toString('hex'), b.toString('base64'), b.toString('base64url'), b.toString()]; })()",
            json!([
                10,
                "68c3a9e282acf09f9880",
                "aMOp4oKs8J+YgA==",
                "aMOp4oKs8J-YgA",
                "h\u{e9}\u{20ac}\u{1f600}"
            ]),
        ),
        (
            "decoding, lenient as Node's",
            "[Buffer.from('aMOp4oKs8J-YgA', 'base64url').toString(), Buffer.from('aGk', 'base64').toString(), Buffer.from('6869', 'hex').toString('latin1'), Buffer.from([0xff, 0x61]).toString()]",
            json!(["h\u{e9}\u{20ac}\u{1f600}", "hi", "hi", "\u{fffd}a"]),
        ),
        (
            "a Buffer is a Uint8Array",
            "(() => { const b = Buffer.concat([Buffer.from('ab'), Buffer.alloc(2, 'c')]); return [b instanceof Uint8Array, Buffer.isBuffer(b), b.toString(), Buffer.byteLength('\\u20ac'), b.equals(Buffer.from('abcc')), JSON.stringify(Buffer.from('a'))]; })()",
            json!([
                true,
                true,
                "abcc",
                3,
                true,
                "{\"type\":\"Buffer\",\"data\":[97]}"
            ]),
        ),
        (
            "require('buffer'), and an unknown encoding",
            "(() => { try { require('buffer').Buffer.from('a', 'utf16le'); } catch (e) { return [require('node:buffer').Buffer === Buffer, e.message]; } })()",
            json!([true, "Unknown encoding: utf16le"]),
        ),
        (
            "TextEncoder and TextDecoder",
            "(() => { const bytes = new TextEncoder().encode('\\u00e9t\\u00e9'); let fatal; try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xc3])); } catch (e) { fatal = e.name; } return [Array.from(bytes), new TextDecoder().decode(bytes), fatal]; })()",
            json!([[195, 169, 116, 195, 169], "\u{e9}t\u{e9}", "TypeError"]),
        ),
    ];
    expect_claims(&engine, cases).await;
}

/// Dynamic `import` reaches nothing: neither a module of the host's (`fs`) nor the prelude's
/// own pieces, which are loaded in every context as modules.
#[tokio::test]
async fn import_reaches_no_module() {
    let engine = Engine::start(limits()).unwrap();
    for name in ["fs", "prelude", "post-login", "cache", "./prelude"] {
        let expression = format!(
            "await import('{name}').then((m) => 'imported: ' + typeof m.default, () => 'refused')"
        );
        assert_eq!(
            claim_of(&engine, name, &expression).await,
            json!("refused"),
            "{name}"
        );
    }
}
