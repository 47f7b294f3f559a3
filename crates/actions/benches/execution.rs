//! What one execution costs on the engine, with criterion: S6 (Auth0's credentials-exchange
//! example, `notes/actions.md`) on one worker thread,
//!
//! - `s6/idle`: the execution alone, the worker having had the time to prepare its next runtime
//!   (a pause between executions, not timed): the latency a request sees on a quiet server;
//! - `s6/back-to-back`: one execution after the other, so each also waits for the runtime the
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

fn s6() -> Execution {
    Execution {
        trigger: Trigger::CredentialsExchange,
        actions: vec![Action {
            name: "S6".to_owned(),
            code: S6.to_owned(),
            secrets: serde_json::Map::new(),
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
    let run = |engine: &Engine| {
        let outcome = runtime.block_on(engine.run(s6())).unwrap();
        assert!(outcome.failure().is_none());
    };
    let mut group = c.benchmark_group("s6");
    group.bench_function("idle", |b| {
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                std::thread::sleep(Duration::from_millis(3));
                let started = tokio::time::Instant::now();
                run(&engine);
                spent += started.elapsed();
            }
            spent
        })
    });
    group.bench_function("back-to-back", |b| b.iter(|| run(&engine)));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(5));
    targets = execution
}
criterion_main!(benches);
