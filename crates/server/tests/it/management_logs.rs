//! `/api/v2/logs`: paging, search, checkpoints, one event, a user's events.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sigil_core::Store;
use sigil_core::model::NewLogEvent;

use crate::app::{NOW, TestApp};
use crate::management::{assert_error, audience, call, token_for};

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|l| l["log_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn logs_are_paged_searched_and_read_from_checkpoints() {
    let app = TestApp::start().await;
    // Three events of Ann's logins, the machine's token (seccft), then three API writes (sapi).
    for _ in 0..3 {
        let mut event = NewLogEvent::new("s", sigil_core::UnixTime(NOW));
        event.user_id = Some(app.ann.clone());
        event.description = Some("Successful login".to_owned());
        app.store.append_log(&event).await.unwrap();
    }
    let token = token_for(
        &app,
        &audience(&app),
        &["read:logs", "create:roles", "read:logs_users"],
    )
    .await;
    // The token exchange's event is written off the request's path: wait for it.
    app.server.flush_events().await;
    let t = Some(token.as_str());
    for name in ["a", "b", "c"] {
        let (status, _) = call(&app, "POST", "/roles", t, Some(json!({"name": name}))).await;
        assert_eq!(status, StatusCode::OK);
    }

    // Newest first, by page; totals.
    let (status, all) = call(&app, "GET", "/logs", t, None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let all_ids = ids(&all);
    assert_eq!(all_ids.len(), 7, "{all}");
    assert_eq!(all[0]["type"], "sapi");
    assert_eq!(all[0]["description"], "Create a role");
    assert!(all[0]["date"].as_str().unwrap().ends_with('Z'), "{all}");
    assert_eq!(all[3]["type"], "seccft");
    assert_eq!(all[6]["type"], "s");
    let (_, totals) = call(
        &app,
        "GET",
        "/logs?include_totals=true&per_page=4&page=1",
        t,
        None,
    )
    .await;
    assert_eq!(
        (totals["total"].clone(), totals["length"].clone()),
        (json!(7), json!(3)),
        "{totals}"
    );

    // Search by type and user.
    let (_, sapi) = call(&app, "GET", "/logs?q=type%3Asapi", t, None).await;
    assert_eq!(sapi.as_array().unwrap().len(), 3, "{sapi}");
    // auth0-python 5 and later name it `search`; both at once are refused.
    let (_, searched) = call(&app, "GET", "/logs?search=type%3Asapi", t, None).await;
    assert_eq!(searched, sapi);
    let both = "/logs?q=type%3Asapi&search=type%3As";
    let (status, _) = call(&app, "GET", both, t, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, anns) = call(
        &app,
        "GET",
        &format!(
            "/logs?q=user_id%3A%22{}%22",
            app.ann.as_str().replace('|', "%7C")
        ),
        t,
        None,
    )
    .await;
    assert_eq!(anns.as_array().unwrap().len(), 3, "{anns}");

    // Checkpoints: oldest first, each call after the last id seen, until an empty page.
    let mut seen = Vec::new();
    let mut from: Option<String> = None;
    loop {
        let path = match &from {
            Some(id) => format!("/logs?from={id}&take=4"),
            None => "/logs?take=4".to_owned(),
        };
        let (status, batch) = call(&app, "GET", &path, t, None).await;
        assert_eq!(status, StatusCode::OK, "{batch}");
        let batch = ids(&batch);
        if batch.is_empty() {
            break;
        }
        from = batch.last().cloned();
        seen.extend(batch);
    }
    let mut newest_first = all_ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first, "every event once, oldest first");

    // One event; a user's events.
    let (_, one) = call(&app, "GET", &format!("/logs/{}", all_ids[0]), t, None).await;
    assert_eq!(one["log_id"], all_ids[0].as_str());
    assert_eq!(one["details"]["request"]["method"], "POST");
    let (_, of_ann) = call(
        &app,
        "GET",
        &format!("/users/{}/logs", app.ann.as_str().replace('|', "%7C")),
        t,
        None,
    )
    .await;
    assert_eq!(of_ann.as_array().unwrap().len(), 3);

    for (path, status, code) in [
        ("/logs/00000000000000099999", 404, "inexistent_log"),
        ("/users/auth0%7Cnobody/logs", 404, "inexistent_user"),
        ("/logs?q=ip%3A1.2.3.4", 400, "invalid_query_string"),
        ("/logs?sort=date%3A1", 400, "invalid_query_string"),
        ("/logs?take=101", 400, "invalid_query_string"),
        ("/logs?take=5&page=1", 400, "invalid_query_string"),
    ] {
        assert_error(&call(&app, "GET", path, t, None).await, status, code);
    }
    let roles_only = token_for(&app, &audience(&app), &["read:roles"]).await;
    assert_error(
        &call(&app, "GET", "/logs", Some(&roles_only), None).await,
        403,
        "insufficient_scope",
    );
}
