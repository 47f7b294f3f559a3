//! Sigil's key rotation seen from the API, and Sigil going down.

use std::time::Duration;

use sigil_guard::Guard;

use crate::api::{Api, guard_for};
use crate::sigil::{MESSAGES, Sigil};

/// Waits (5 s at most) until the guard's keys satisfy `done`: a background refresh lands when
/// Sigil has answered, not at a time the test controls.
async fn until(guard: &Guard, done: impl Fn(&[Option<String>]) -> bool) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while !done(&guard.kids()) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the guard still has {:?}", guard.kids()));
}

fn kid_of(token: &str) -> String {
    let header = sigil_jose::insecure_decode(token).unwrap().header;
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_rotation_is_picked_up_and_a_retired_key_refused_after_its_grace() {
    let sigil = Sigil::start().await;
    let api = Api::start(&sigil).await;
    let old = sigil.token(&sigil.writer, MESSAGES).await;
    let old_kid = kid_of(&old);
    assert_eq!(api.messages(&old).await.status, 200);

    // `sigil keys rotate`: new tokens carry a kid the API has never seen; the first one makes
    // the guard refetch, with no restart.
    let new_kid = sigil.rotate().await;
    let new = sigil.token(&sigil.writer, MESSAGES).await;
    assert_eq!(kid_of(&new), new_kid);
    assert_eq!(api.messages(&new).await.status, 200);
    // The grace: Sigil still publishes the previous key, so tokens it signed still pass.
    assert_eq!(api.messages(&old).await.status, 200);

    // `sigil keys revoke`: the old key leaves the JWKS. Once the guard's keys are due for a
    // refresh (10 minutes), the next request starts one; after it, the old tokens are refused.
    sigil.revoke(&old_kid).await;
    api.clock.advance(600);
    assert_eq!(
        api.messages(&old).await.status,
        200,
        "keys at hand until refreshed"
    );
    until(&api.guard, |kids| !kids.contains(&Some(old_kid.clone()))).await;
    let answer = api.messages(&old).await;
    assert_eq!(
        (answer.status, answer.error().as_str()),
        (401, "invalid_token")
    );
    assert_eq!(api.messages(&new).await.status, 200);
}

#[tokio::test]
async fn sigil_down_at_start_is_a_clear_error_and_down_later_changes_nothing() {
    let mut sigil = Sigil::start().await;
    let api = Api::start(&sigil).await;
    let token = sigil.token(&sigil.writer, MESSAGES).await;
    sigil.stop().await;

    // The API keeps serving with the keys it has; a refresh fails and says why.
    assert_eq!(api.messages(&token).await.status, 200);
    let error = api.guard.refresh().await.unwrap_err().to_string();
    assert!(error.contains("jwks.json"), "{error}");
    api.clock.advance(3600);
    assert_eq!(api.messages(&token).await.status, 200);
    assert_eq!(api.messages(&token).await.status, 200);

    // A new API cannot start without the issuer.
    let error = guard_for(&sigil, &api.clock)
        .build()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!(
            "cannot fetch {}.well-known/openid-configuration",
            sigil.issuer
        )) && error.contains("Connection refused"),
        "{error}"
    );
}
