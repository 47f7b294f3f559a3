//! What one execution costs on the engine, with criterion: S6 (Auth0's credentials-exchange
//! example, `notes/actions.md`) and S1 (its post-login example: roles into both tokens) on one
//! worker thread,
//!
//! - `<case>/idle`: the execution alone, the worker having had the time to prepare its next runtime
//!   (a pause between executions, not timed): the latency a request sees on a quiet server;
//! - `<case>/back-to-back`: one execution after the other, so each also waits for the runtime the
//!   worker prepares after the last one (context, prelude compiled) and for the last one's
//!   memory to be freed: the engine's throughput on one thread.
//!
//! `cargo bench -p sigil-actions` (under a minute); `-- --quick` for a few seconds.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use sigil_actions::{Action, Engine, Execution, Limits, Trigger};

const S6: &str = r#"exports.onExecuteCredentialsExchange = async (event, api) => {
  api.accessToken.setCustomClaim("https://my-api.exampleco.com/request-ip", event.request.ip);
};"#;

const S1: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://my-app.example.com';
  if (event.authorization) {
    api.idToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
    api.accessToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
  }
};"#;

fn s1() -> Execution {
    Execution {
        trigger: Trigger::PostLogin,
        actions: vec![Action {
            name: "S1".to_owned(),
            code: S1.to_owned(),
            secrets: serde_json::Map::new(),
            kind: sigil_actions::Kind::Action,
        }],
        event: json!({
            "user": {"user_id": "auth0|1", "email": "ann@example.com", "app_metadata": {}, "user_metadata": {}},
            "authorization": {"roles": ["admin", "editor"]},
            "request": {"ip": "127.0.0.1", "hostname": "id.example.com", "user_agent": "bench"},
            "client": {"client_id": "abc", "name": "app", "metadata": {}},
            "transaction": {"protocol": "oauth2-refresh-token", "requested_scopes": ["openid"]},
            "stats": {"logins_count": 3},
            "tenant": {"id": "default"},
        }),
        now_ms: 1_800_000_000_000,
        resume: false,
        egress: Vec::new(),
    }
}

fn s6() -> Execution {
    Execution {
        trigger: Trigger::CredentialsExchange,
        actions: vec![Action {
            name: "S6".to_owned(),
            code: S6.to_owned(),
            secrets: serde_json::Map::new(),
            kind: sigil_actions::Kind::Action,
        }],
        event: json!({
            "request": {"ip": "127.0.0.1", "hostname": "id.example.com", "user_agent": "bench"},
            "client": {"client_id": "abc", "name": "machine", "metadata": {}},
            "resource_server": {"identifier": "https://api.example.com/"},
            "transaction": {"requested_scopes": ["read:a"]},
            "tenant": {"id": "default"},
            "accessToken": {"customClaims": {}, "scope": ["read:a"]},
        }),
        now_ms: 1_800_000_000_000,
        resume: false,
        egress: Vec::new(),
    }
}

fn execution(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = Engine::start(Limits {
        workers: 1,
        ..Limits::default()
    })
    .unwrap();
    for (name, execution) in [("s6", s6 as fn() -> Execution), ("s1", s1)] {
        let run = || {
            let outcome = runtime.block_on(engine.run(execution())).unwrap();
            assert!(outcome.failure().is_none());
        };
        let mut group = c.benchmark_group(name);
        group.bench_function("idle", |b| {
            b.iter_custom(|iterations| {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    std::thread::sleep(Duration::from_millis(3));
                    let started = tokio::time::Instant::now();
                    run();
                    spent += started.elapsed();
                }
                spent
            })
        });
        group.bench_function("back-to-back", |b| b.iter(run));
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(5));
    targets = execution
}
criterion_main!(benches);
