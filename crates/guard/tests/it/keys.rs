//! The issuer's keys over time: rotation, the unknown-`kid` cool-down, background refresh, and
//! an issuer that goes down.

use std::time::Duration;

use sigil_guard::Guard;
use sigil_jose::Algorithm;

use crate::issuer::{Answer, Api, Issuer, Key, clock};

/// Waits (5 s at most) until the guard uses exactly the keys `kids`: a spawned refresh finishes
/// on its own time, after the issuer has answered.
async fn until_keys(guard: &Guard, kids: &[&str]) {
    let want: Vec<Option<String>> = kids.iter().map(|k| Some((*k).to_owned())).collect();
    tokio::time::timeout(Duration::from_secs(5), async {
        while guard.kids() != want {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the guard has {:?}, not {want:?}", guard.kids()));
}

#[tokio::test]
async fn a_rotation_is_picked_up_and_unknown_kids_refetch_once_per_cooldown() {
    let first = Key::new(Algorithm::RS256, "rs-1");
    let issuer = Issuer::start(&[&first]).await;
    let clock = clock();
    let guard = issuer.guard(&clock).build().await.unwrap();
    let api = Api::start(&guard).await;
    assert_eq!(issuer.fetches(), 1, "one fetch at start-up");

    // The issuer rotates: the first token naming the new kid makes the guard refetch.
    let second = Key::new(Algorithm::ES256, "es-2");
    issuer.publish(&[&first, &second]);
    assert_eq!(
        api.call("/any", &second.sign(&issuer.claims()))
            .await
            .status,
        200
    );
    assert_eq!(issuer.fetches(), 2);
    assert_eq!(
        api.call("/any", &first.sign(&issuer.claims())).await.status,
        200
    );

    // A flood of made-up kids within the cool-down: all refused, not one more fetch.
    let bogus: Vec<String> = (0..40)
        .map(|i| Key::new(Algorithm::ES256, &format!("bogus-{i}")).sign(&issuer.claims()))
        .collect();
    let answers = flood(&api, &bogus).await;
    assert!(
        answers
            .iter()
            .all(|a| a.status == 401 && a.error() == "invalid_token")
    );
    assert_eq!(issuer.fetches(), 2, "no fetch within the cool-down");

    // After the cool-down, one more fetch for the next flood, and no more.
    clock.advance(30);
    let answers = flood(&api, &bogus).await;
    assert!(answers.iter().all(|a| a.status == 401));
    assert_eq!(issuer.fetches(), 3, "exactly one fetch per cool-down");
}

/// Calls `/any` with each token at once.
async fn flood(api: &Api, tokens: &[String]) -> Vec<Answer> {
    let mut set = tokio::task::JoinSet::new();
    for token in tokens {
        let (api, token) = (api.clone(), token.clone());
        set.spawn(async move { api.call("/any", &token).await });
    }
    set.join_all().await
}

#[tokio::test]
async fn keys_older_than_the_interval_are_refreshed_in_the_background() {
    let first = Key::new(Algorithm::RS256, "rs-1");
    let issuer = Issuer::start(&[&first]).await;
    let clock = clock();
    let guard = issuer
        .guard(&clock)
        .refresh_interval(Duration::from_secs(600))
        .build()
        .await
        .unwrap();
    let api = Api::start(&guard).await;
    let old = first.sign(&issuer.claims());

    // The issuer withdraws the first key (its grace is over). Until the interval has passed,
    // the guard does not ask.
    let second = Key::new(Algorithm::RS256, "rs-2");
    issuer.publish(&[&second]);
    clock.advance(599);
    assert_eq!(api.call("/any", &old).await.status, 200);
    assert_eq!(issuer.fetches(), 1);

    // Then the next request is answered with the keys at hand and starts a refresh; once it
    // has landed, the withdrawn key's tokens are refused.
    clock.advance(1);
    assert_eq!(api.call("/any", &old).await.status, 200);
    until_keys(&guard, &["rs-2"]).await;
    assert_eq!(issuer.fetches(), 2);
    let answer = api.call("/any", &old).await;
    assert_eq!(
        (answer.status, answer.error().as_str()),
        (401, "invalid_token")
    );
    assert_eq!(
        api.call("/any", &second.sign(&issuer.claims()))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn an_issuer_that_goes_down_leaves_the_last_good_keys_serving() {
    let first = Key::new(Algorithm::RS256, "rs-1");
    let issuer = Issuer::start(&[&first]).await;
    let clock = clock();
    let guard = issuer.guard(&clock).build().await.unwrap();
    let api = Api::start(&guard).await;
    let token = first.sign(&issuer.claims());

    issuer.set_down(true);
    // A forced refresh fails and says why; a due background refresh fails quietly.
    let error = guard.refresh().await.unwrap_err().to_string();
    assert!(error.contains("503"), "{error}");
    clock.advance(600);
    assert_eq!(api.call("/any", &token).await.status, 200);
    issuer.wait_for_fetches(3).await;
    assert_eq!(api.call("/any", &token).await.status, 200);
    assert_eq!(guard.kids(), [Some("rs-1".to_owned())]);

    // An unknown kid while the issuer is down: refused, the keys unchanged.
    let second = Key::new(Algorithm::RS256, "rs-2");
    issuer.publish(&[&first, &second]);
    assert_eq!(
        api.call("/any", &second.sign(&issuer.claims()))
            .await
            .status,
        401
    );
    assert_eq!(api.call("/any", &token).await.status, 200);

    // Back up: after the cool-down, the new key is fetched on demand.
    issuer.set_down(false);
    clock.advance(30);
    assert_eq!(
        api.call("/any", &second.sign(&issuer.claims()))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_jwks_without_usable_keys_never_replaces_good_ones() {
    let first = Key::new(Algorithm::RS256, "rs-1");
    let issuer = Issuer::start(&[&first]).await;
    let clock = clock();
    let guard = issuer.guard(&clock).build().await.unwrap();
    for (body, reason) in [
        (r#"{"keys":[]}"#, "has no key that can verify"),
        ("<html>", "is not usable"),
        (
            r#"{"keys":[{"kty":"RSA","kid":"weak","n":"AQAB","e":"AQAB"}]}"#,
            "has no key",
        ),
    ] {
        issuer.serve_raw_jwks(body);
        let error = guard.refresh().await.unwrap_err().to_string();
        assert!(error.contains(reason), "{body}: {error}");
        assert_eq!(guard.kids(), [Some("rs-1".to_owned())], "{body}");
    }
}
