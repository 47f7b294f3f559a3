//! `/api/v2/grants`: users' consents, listed by user, client or API, and withdrawn.

use reqwest::StatusCode;
use serde_json::json;
use sigil_core::ids::ConsentId;
use sigil_core::model::Consent;
use sigil_core::{Store, SystemRng, UnixTime};

use crate::app::{API, NOW, RBAC_API, TestApp};
use crate::management::{assert_error, audience, call, token_for};

#[tokio::test]
async fn consents_are_listed_and_withdrawn() {
    let app = TestApp::start().await;
    for (client, api, scope) in [(&app.spa, API, "read:a"), (&app.native, RBAC_API, "read:r")] {
        app.store
            .put_consent(&Consent {
                id: ConsentId::generate(&SystemRng),
                user_id: app.ann.clone(),
                client_id: client.clone(),
                audience: api.to_owned(),
                scope: vec![scope.to_owned()],
                created_at: UnixTime(NOW),
                updated_at: UnixTime(NOW),
            })
            .await
            .unwrap();
    }
    let token = token_for(&app, &audience(&app), &["read:grants", "delete:grants"]).await;
    let t = Some(token.as_str());
    let ann = app.ann.as_str().replace('|', "%7C");

    let (status, all) = call(&app, "GET", "/grants", t, None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let (_, spa) = call(
        &app,
        "GET",
        &format!("/grants?client_id={}", app.spa.as_str()),
        t,
        None,
    )
    .await;
    assert_eq!(spa[0]["clientID"], app.spa.as_str());
    assert_eq!(spa[0]["scope"], json!(["read:a"]));
    assert_eq!(spa[0]["user_id"], app.ann.as_str());
    let (_, rbac) = call(
        &app,
        "GET",
        &format!(
            "/grants?user_id={ann}&audience={}",
            RBAC_API.replace(':', "%3A").replace('/', "%2F")
        ),
        t,
        None,
    )
    .await;
    assert_eq!(rbac.as_array().unwrap().len(), 1, "{rbac}");
    assert_eq!(rbac[0]["audience"], RBAC_API);

    let id = spa[0]["id"].as_str().unwrap();
    let (status, _) = call(&app, "DELETE", &format!("/grants/{id}"), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &call(&app, "DELETE", &format!("/grants/{id}"), t, None).await,
        404,
        "inexistent_grant",
    );
    let (status, _) = call(&app, "DELETE", &format!("/grants?user_id={ann}"), t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(call(&app, "GET", "/grants", t, None).await.1, json!([]));
    assert_error(
        &call(&app, "GET", "/grants?scope=x", t, None).await,
        400,
        "invalid_query_string",
    );
    let reader = token_for(&app, &audience(&app), &["read:grants"]).await;
    assert_error(
        &call(&app, "DELETE", "/grants/x", Some(&reader), None).await,
        403,
        "insufficient_scope",
    );
}
