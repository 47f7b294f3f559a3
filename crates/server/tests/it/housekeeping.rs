//! The background purge of a served Sigil, driven by its clock: once the clock passes their
//! ends, sessions, used client-assertion `jti`s and log events past the retention disappear
//! without a request, and what is still live stays.

use std::time::Duration;

use sigil_core::housekeeping::RetentionDays;
use sigil_core::model::NewLogEvent;
use sigil_core::secret::Token;
use sigil_core::{Store, UnixTime};
use sigil_server::{Housekeeping, ServeOptions};

use crate::app::{NOW, TestApp};
use crate::browser::{Browser, log_in};

const DAY: i64 = 86_400;

#[tokio::test]
async fn the_background_purge_follows_the_clock_and_keeps_what_is_live() {
    let app = TestApp::start_served(ServeOptions {
        housekeeping: Housekeeping {
            every: Duration::from_millis(30),
            retention: RetentionDays {
                logs: 30,
                jobs: 7,
                mail: 7,
            },
        },
        ..ServeOptions::default()
    })
    .await;
    let mut browser = Browser::new();
    log_in(&app, &mut browser, &app.native.to_string()).await;
    let cookie = browser
        .cookie("sigil_session")
        .expect("a session")
        .to_owned();
    let session = || async {
        app.store
            .session_by_cookie(&Token::new(cookie.clone()).digest())
            .await
            .unwrap()
    };
    assert!(session().await.is_some());
    let client = &app.machine.0;
    app.store
        .record_client_assertion(client, "jti-1", UnixTime(NOW + 300), UnixTime(NOW))
        .await
        .unwrap();
    let event = |day: i64| NewLogEvent {
        date_ms: (NOW + day * DAY) * 1000,
        description: Some(format!("day {day}")),
        ..NewLogEvent::default()
    };
    let kept_event = app.store.append_log(&event(400)).await.unwrap();
    let old_event = app.store.append_log(&event(400 - 31)).await.unwrap();

    // A year later: the session, the jti and the month-old event are past their ends.
    app.clock.set(UnixTime(NOW + 400 * DAY));
    let mut gone = false;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        if session().await.is_none() && app.store.log(&old_event).await.unwrap().is_none() {
            gone = true;
            break;
        }
    }
    assert!(gone, "the background purge did not run");
    assert!(
        app.store.log(&kept_event).await.unwrap().is_some(),
        "a live event was purged"
    );
    // The jti's row is gone too, so the same jti is accepted again now.
    app.store
        .record_client_assertion(
            client,
            "jti-1",
            UnixTime(NOW + 400 * DAY + 60),
            UnixTime(NOW + 400 * DAY),
        )
        .await
        .unwrap();
}
