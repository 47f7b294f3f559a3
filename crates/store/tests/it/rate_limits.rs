//! Rate-limit buckets (`Store::take_rate_limit`): a bucket lets its burst through at once,
//! refills with time, keeps buckets apart, takes back what is given back, and lets exactly its
//! burst through when many racers (the nodes of a cluster) take from it at the same moment.

use std::sync::Arc;

use sigil_core::Store;
use sigil_core::rate_limit::RateLimit;
use tokio::sync::Barrier;

use crate::backends::on_every_store;

const LIMIT: RateLimit = RateLimit::per_second(10, 5);
const T0: i64 = 1_800_000_000_000;

#[tokio::test]
async fn a_bucket_lets_its_burst_through_then_refills_with_time() {
    on_every_store(|store| async move {
        let backend = store.database().backend();
        let take = |key: &'static str, now: i64| {
            let store = store.clone();
            async move { store.take_rate_limit(key, LIMIT, now).await.unwrap() }
        };
        for i in 0..10 {
            let taken = take("a", T0).await;
            assert!(taken.allowed, "{backend:?}: request {i} of the burst");
            assert_eq!(taken.full_at_ms, T0 + 200 * (i + 1), "{backend:?}");
        }
        let refused = take("a", T0).await;
        assert!(!refused.allowed, "{backend:?}: the burst is spent");
        assert_eq!(
            refused.full_at_ms,
            T0 + 2000,
            "{backend:?}: a refusal costs nothing"
        );
        assert!(
            take("b", T0).await.allowed,
            "{backend:?}: buckets are apart"
        );
        // One interval later, one more; then refused again.
        assert!(take("a", T0 + 200).await.allowed, "{backend:?}");
        assert!(!take("a", T0 + 200).await.allowed, "{backend:?}");
        // Long after, full again: a whole burst, counted from now.
        let later = T0 + 60_000;
        let first = take("a", later).await;
        assert_eq!(
            (first.allowed, first.full_at_ms),
            (true, later + 200),
            "{backend:?}"
        );
        // Another shape on the same bucket is read with its own numbers (the store keeps only
        // the time).
        let wide = RateLimit::per_second(100, 5);
        assert!(
            store
                .take_rate_limit("a", wide, later)
                .await
                .unwrap()
                .allowed
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_racers_on_one_bucket_get_exactly_its_burst() {
    on_every_store(|store| async move {
        let racers = 60;
        let barrier = Arc::new(Barrier::new(racers));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..racers {
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            tasks.spawn(async move {
                barrier.wait().await;
                store.take_rate_limit("shared", LIMIT, T0).await
            });
        }
        let results = tasks.join_all().await;
        let allowed = results
            .iter()
            .filter(|r| {
                r.as_ref()
                    .expect("no backend failure under the race")
                    .allowed
            })
            .count();
        assert_eq!(allowed, 10, "{:?}", store.database().backend());
    })
    .await;
}

#[tokio::test]
async fn a_request_given_back_can_be_taken_again() {
    on_every_store(|store| async move {
        let backend = store.database().backend();
        for _ in 0..10 {
            assert!(store.take_rate_limit("g", LIMIT, T0).await.unwrap().allowed);
        }
        assert!(!store.take_rate_limit("g", LIMIT, T0).await.unwrap().allowed);
        // Two given back: two more at the same moment, then refused again.
        for _ in 0..2 {
            store.give_back_rate_limit("g", LIMIT).await.unwrap();
        }
        for i in 0..2 {
            let taken = store.take_rate_limit("g", LIMIT, T0).await.unwrap();
            assert!(taken.allowed, "{backend:?}: given back {i}");
        }
        assert!(!store.take_rate_limit("g", LIMIT, T0).await.unwrap().allowed);
        // A bucket nobody took from is not made more than full.
        store
            .give_back_rate_limit("untouched", LIMIT)
            .await
            .unwrap();
        for _ in 0..10 {
            assert!(
                store
                    .take_rate_limit("untouched", LIMIT, T0)
                    .await
                    .unwrap()
                    .allowed
            );
        }
        assert!(
            !store
                .take_rate_limit("untouched", LIMIT, T0)
                .await
                .unwrap()
                .allowed
        );
    })
    .await;
}
