//! Brute-force protection's counters: racing attempts on one counter, on every backend, get
//! exactly the threshold between them; a counter past its lifetime starts again; clearing and
//! listing by identifier.

use std::sync::Arc;

use sigil_core::Store;
use sigil_core::model::LoginCounter;
use tokio::sync::Barrier;

use crate::backends::on_every_store;
use crate::fixtures::{at, world};

#[tokio::test]
async fn racing_attempts_get_exactly_the_threshold_and_old_counters_start_again() {
    on_every_store(|store| async move {
        let backend = store.database().backend();
        let w = world(&store).await;
        let counter = |ip: &str| LoginCounter {
            connection_id: w.connection.id.clone(),
            identifier: "kate@example.com".to_owned(),
            ip: ip.to_owned(),
        };
        const RACERS: usize = 30;
        let barrier = Arc::new(Barrier::new(RACERS));
        let mut racers = Vec::new();
        for _ in 0..RACERS {
            let (store, barrier, counter) = (store.clone(), barrier.clone(), counter("192.0.2.1"));
            racers.push(tokio::spawn(async move {
                barrier.wait().await;
                store
                    .reserve_login_attempt(&counter, 10, at(100), at(0))
                    .await
                    .unwrap()
            }));
        }
        let mut counts = Vec::new();
        for racer in racers {
            counts.extend(racer.await.unwrap());
        }
        counts.sort_unstable();
        assert_eq!(counts, (1..=10).collect::<Vec<u32>>(), "{backend:?}");
        // Another address has its own counter.
        let other = store
            .reserve_login_attempt(&counter("198.51.100.1"), 10, at(100), at(0))
            .await
            .unwrap();
        assert_eq!(other, Some(1));
        // Listed at the threshold only, by identifier.
        let blocked = store
            .login_failures(&["kate@example.com".to_owned()], 10, at(0))
            .await
            .unwrap();
        assert_eq!(blocked.len(), 1, "{backend:?}");
        assert_eq!(
            (blocked[0].counter.ip.as_str(), blocked[0].count),
            ("192.0.2.1", 10)
        );
        // A counter whose last failure is past the lifetime starts again at one.
        let again = store
            .reserve_login_attempt(&counter("192.0.2.1"), 10, at(200), at(100))
            .await
            .unwrap();
        assert_eq!(again, Some(1), "{backend:?}");
        // Clearing one address, then all.
        let cleared = store
            .clear_login_failures(
                Some(&w.connection.id),
                "kate@example.com",
                Some("192.0.2.1"),
            )
            .await
            .unwrap();
        assert_eq!(cleared, 1);
        let cleared = store
            .clear_login_failures(None, "kate@example.com", None)
            .await
            .unwrap();
        assert_eq!(cleared, 1);
        assert!(
            store
                .login_failures(&["kate@example.com".to_owned()], 1, at(0))
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}
