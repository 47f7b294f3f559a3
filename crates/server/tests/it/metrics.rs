//! `/metrics`: after a scripted run the counters say exactly what happened, the exposition is
//! well formed OpenMetrics text, and unknown paths never make new label values.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::json;

use crate::app::{API, Body, TestApp, post};
use crate::password::login;

pub(crate) async fn scrape(app: &TestApp) -> String {
    app.server.flush_events().await;
    let response = app.http.get(app.url("metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    response.text().await.unwrap()
}

/// Every sample of the exposition, `name{labels}` → value; the text is checked line by line
/// as it is read (`# HELP`/`# TYPE`/`# UNIT` comments, samples, one `# EOF` at the end).
pub(crate) fn samples(text: &str) -> HashMap<String, f64> {
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.pop(), Some("# EOF"), "the exposition ends with # EOF");
    let mut samples = HashMap::new();
    for line in lines {
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap();
            assert!(["HELP", "TYPE", "UNIT"].contains(&kind), "{line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        assert!(
            series[..name_end]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "{line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "{line}");
        }
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        samples.insert(series.to_owned(), value);
    }
    samples
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn counters_say_exactly_what_a_scripted_run_did() {
    let app = TestApp::start().await;
    let machine = || {
        Body::Form(vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", app.machine.0.to_string()),
            ("client_secret", app.machine.1.expose().to_owned()),
            ("audience", API.into()),
        ])
    };
    for _ in 0..100 {
        let (status, _, _) = post(&app, machine(), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    for _ in 0..7 {
        let (status, _, _) = post(&app, login(&app, json!({"password": "wrong"})), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _, _) = post(&app, login(&app, json!({})), None).await;
    assert_eq!(status, StatusCode::OK);
    for i in 0..3 {
        let body = Body::Json(json!({"grant_type": "refresh_token",
                                     "refresh_token": format!("replayed-{i}"),
                                     "client_id": app.native.to_string()}));
        let (status, _, _) = post(&app, body, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let text = scrape(&app).await;
    let samples = samples(&text);
    let route = |status: u16| {
        format!(
            "sigil_http_requests_total{{route=\"/oauth/token\",method=\"POST\",status=\"{status}\"}}"
        )
    };
    assert_eq!(value(&samples, &route(200)), 101.0, "{text}");
    assert_eq!(value(&samples, &route(403)), 10.0, "{text}");
    assert_eq!(
        value(
            &samples,
            "sigil_tokens_issued_total{grant_type=\"client_credentials\",alg=\"RS256\"}"
        ),
        100.0
    );
    assert_eq!(
        value(
            &samples,
            "sigil_tokens_issued_total{grant_type=\"password\",alg=\"dir\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "sigil_logins_total{result=\"wrong_password\",connection=\"\"}"
        ),
        7.0,
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            "sigil_logins_total{result=\"success\",connection=\"Username-Password-Authentication\"}"
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            "sigil_http_request_duration_seconds_count{route=\"/oauth/token\"}"
        ),
        111.0
    );
    // The client-credentials path reads clients, APIs and grants through the hot cache.
    assert!(
        value(
            &samples,
            "sigil_cache_requests_total{cache=\"clients\",result=\"hit\"}"
        ) >= 99.0
    );
    assert_eq!(
        value(&samples, "sigil_password_hash_duration_seconds_count"),
        8.0
    );
    assert_eq!(
        value(
            &samples,
            "sigil_signing_keys{family=\"rsa\",state=\"current\"}"
        ),
        1.0,
        "{text}"
    );
    assert!(value(&samples, "sigil_process_resident_memory_bytes") > 0.0);
    assert!(value(&samples, "sigil_db_connections{name=\"idle\"}") >= 0.0);
    assert_eq!(value(&samples, "sigil_tenant_events_dropped_total"), 0.0);
}

#[tokio::test]
async fn unknown_paths_are_all_one_route_other() {
    let app = TestApp::start().await;
    for i in 0..200 {
        let response = app
            .http
            .get(app.url(&format!("no/such/{i}/path?x={i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let text = scrape(&app).await;
    let routes: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("sigil_http_requests_total{"))
        .collect();
    assert_eq!(
        routes,
        ["sigil_http_requests_total{route=\"other\",method=\"GET\",status=\"404\"} 200"],
        "{text}"
    );
}
