//! What must happen once happens once, decided by the database: racing redemptions,
//! rotations, signups, key rotations (within each key family), ticket and device-code
//! consumption each have exactly one winner, and the losers get the contract's error (never a
//! backend failure such as "database is locked"); racing login counts, consents, session
//! touches and role assignments lose no update. Then the single-use values' refusals one by
//! one: expired, used, unknown, revoked.
//!
//! The races run on a multi-threaded runtime; every racer waits at a barrier and then fires,
//! so they reach the database together.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sigil_core::ids::{ClientGrantId, ConsentId, FamilyId};
use sigil_core::model::{
    AppType, ClientGrant, Consent, DeviceStatus, KeyState, TicketKind, User, UserQuery,
};
use sigil_core::store::Result;
use sigil_core::{Page, Store, SystemRng};
use sigil_jose::Algorithm;
use sigil_store::SqlStore;
use tokio::sync::Barrier;

use crate::backends::on_every_store;
use crate::fixtures::{
    api, at, check, child_of, client, code, connection, device_code, outcome, refresh_token, role,
    rsa_signing_key, session, signing_key, ticket, token, user, world,
};

/// Runs `racers` copies of `op` (given their index) at once and returns their results in
/// index order.
async fn race<T, F, Fut>(store: &SqlStore, racers: usize, op: F) -> Vec<Result<T>>
where
    T: Send + 'static,
    F: Fn(SqlStore, usize) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(racers));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..racers {
        let attempt = op(store.clone(), i);
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            barrier.wait().await;
            (i, attempt.await)
        });
    }
    let mut results: Vec<(usize, Result<T>)> = tasks.join_all().await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// How many results had each outcome.
fn tally<T>(results: &[Result<T>]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in results {
        *counts.entry(outcome(r)).or_insert(0) += 1;
    }
    counts
}

fn expect(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|&(k, n)| (k.to_owned(), n)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_redeemed_by_50_racers_has_exactly_one_winner() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let c = code(&w.client.client_id, &w.user.user_id, at(60));
        store.create_code(&c).await.unwrap();
        let digest = c.digest.clone();
        let results = race(&store, 50, |s, _| {
            let digest = digest.clone();
            async move { s.redeem_code(&digest, at(1)).await }
        })
        .await;
        assert_eq!(
            tally(&results),
            expect(&[("Ok", 1), ("AlreadyUsed", 49)]),
            "{:?}",
            store.database().backend()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_rotated_by_20_racers_has_exactly_one_winner_and_one_child() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let family = FamilyId::generate(&SystemRng);
        let parent = refresh_token(&w.client.client_id, &w.user.user_id, &family, None);
        store.create_refresh_token(&parent).await.unwrap();
        let children: Vec<_> = (0..20).map(|_| child_of(&parent, at(10))).collect();
        let results = race(&store, 20, |s, i| {
            let old = parent.digest.clone();
            let new = children[i].clone();
            async move { s.rotate_refresh_token(&old, &new, at(10)).await }
        })
        .await;
        let backend = store.database().backend();
        assert_eq!(
            tally(&results),
            expect(&[("Ok", 1), ("AlreadyUsed", 19)]),
            "{backend:?}"
        );
        let mut stored = Vec::new();
        for (i, child) in children.iter().enumerate() {
            if store.refresh_token(&child.digest).await.unwrap().is_some() {
                stored.push(i);
            }
        }
        let winner: Vec<usize> = (0..20).filter(|&i| results[i].is_ok()).collect();
        assert_eq!(
            stored, winner,
            "{backend:?}: exactly the winner's child is stored"
        );
        assert_eq!(
            store
                .refresh_token(&parent.digest)
                .await
                .unwrap()
                .unwrap()
                .used_at,
            Some(at(10))
        );
    })
    .await;
}

/// `email` with the case of each letter flipped where bit `i` of `variant` is set.
fn recased(email: &str, variant: usize) -> String {
    email
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if (variant >> (i % 20)) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_signups_with_one_email_in_any_case_have_exactly_one_winner() {
    on_every_store(|store| async move {
        let conn = connection("Racing-Database");
        store.create_connection(&conn, &[]).await.unwrap();
        let signups: Vec<User> = (0..20)
            .map(|i| user(&conn, &recased("race.winner@example.com", i * 7919)))
            .collect();
        let results = race(&store, 20, |s, i| {
            let u = signups[i].clone();
            async move { s.create_user(&u).await }
        })
        .await;
        let backend = store.database().backend();
        assert_eq!(
            tally(&results),
            expect(&[("Ok", 1), ("Conflict(Email)", 19)]),
            "{backend:?}"
        );
        let only = UserQuery {
            connection_id: Some(conn.id.clone()),
            ..UserQuery::default()
        };
        assert_eq!(store.count_users(&only).await.unwrap(), 1, "{backend:?}");
        let winner = results.iter().position(Result::is_ok).unwrap();
        assert_eq!(
            store
                .user_by_email(&conn.id, "RACE.WINNER@EXAMPLE.COM")
                .await
                .unwrap()
                .map(|u| u.user_id),
            Some(signups[winner].user_id.clone())
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_links_never_make_a_chain() {
    // Five accounts, each racer linking one into the next (and the last into the first):
    // whatever wins, no account is both linked and linked to.
    on_every_store(|store| async move {
        let conn = connection("Linking-Database");
        store.create_connection(&conn, &[]).await.unwrap();
        let people: Vec<User> = (0..5)
            .map(|i| user(&conn, &format!("link{i}@example.com")))
            .collect();
        for p in &people {
            store.create_user(p).await.unwrap();
        }
        let results = race(&store, 5, |s, i| {
            let (primary, secondary) = (
                people[i].user_id.clone(),
                people[(i + 1) % 5].user_id.clone(),
            );
            async move { s.link_user(&primary, &secondary, at(1)).await }
        })
        .await;
        let backend = store.database().backend();
        let linked: Vec<bool> = results.iter().map(|r| matches!(r, Ok(Ok(())))).collect();
        assert!(linked.contains(&true), "{backend:?}: {results:?}");
        for p in &people {
            let email = p.email.as_deref().unwrap();
            let now = store.user_by_email(&conn.id, email).await.unwrap().unwrap();
            let has_links = now.identities.len() > 1;
            assert!(
                !(has_links && now.linked_to.is_some()),
                "{backend:?}: {} is linked and linked to",
                p.user_id
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_logins_are_all_counted() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let id = w.user.user_id.clone();
        let results = race(&store, 20, |s, i| {
            let id = id.clone();
            async move {
                let ip = format!("198.51.100.{i}");
                s.record_login(&id, Some(&ip), at(10)).await
            }
        })
        .await;
        let backend = store.database().backend();
        assert_eq!(tally(&results), expect(&[("Ok", 20)]), "{backend:?}");
        let after = store.user(&id).await.unwrap().unwrap();
        assert_eq!(after.logins_count, 20, "{backend:?}: a lost update");
        assert_eq!(after.last_login, Some(at(10)));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_consents_make_one_record() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let consents: Vec<Consent> = (0..10)
            .map(|i| Consent {
                id: ConsentId::generate(&SystemRng),
                user_id: w.user.user_id.clone(),
                client_id: w.client.client_id.clone(),
                audience: "https://api.example/".to_owned(),
                scope: vec![format!("scope:{i}")],
                created_at: at(i),
                updated_at: at(i),
            })
            .collect();
        let results = race(&store, 10, |s, i| {
            let c = consents[i].clone();
            async move { s.put_consent(&c).await }
        })
        .await;
        let backend = store.database().backend();
        assert_eq!(tally(&results), expect(&[("Ok", 10)]), "{backend:?}");
        let stored = store
            .list_consents(Some(&w.user.user_id), None, Page::first())
            .await
            .unwrap();
        assert_eq!(stored.len(), 1, "{backend:?}: {stored:?}");
        let ids: BTreeSet<_> = results.into_iter().map(|r| r.unwrap().id).collect();
        assert_eq!(
            ids,
            BTreeSet::from([stored[0].id.clone()]),
            "{backend:?}: every upsert reports the one record's id"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_touches_of_one_session_keep_every_client() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let s = session(&w.user.user_id, at(3600));
        store.create_session(&s).await.unwrap();
        let mut apps = Vec::new();
        for i in 0..10 {
            let c = client(&format!("App {i}"), AppType::Spa);
            store.create_client(&c).await.unwrap();
            apps.push(c.client_id);
        }
        let results = race(&store, 10, |st, i| {
            let (id, app) = (s.id.clone(), apps[i].clone());
            async move { st.touch_session(&id, at(10), at(1800), Some(&app)).await }
        })
        .await;
        let backend = store.database().backend();
        assert_eq!(tally(&results), expect(&[("Ok", 10)]), "{backend:?}");
        let listed: BTreeSet<_> = store
            .session(&s.id)
            .await
            .unwrap()
            .unwrap()
            .clients
            .into_iter()
            .collect();
        let want: BTreeSet<_> = apps.into_iter().collect();
        assert_eq!(listed, want, "{backend:?}: a touch lost another's client");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_grants_and_role_assignments_settle_on_one_row() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let audience = "https://api.example/";
        store.create_resource_server(&api(audience)).await.unwrap();
        let grants: Vec<ClientGrant> = (0..10)
            .map(|_| ClientGrant {
                id: ClientGrantId::generate(&SystemRng),
                client_id: w.client.client_id.clone(),
                audience: audience.to_owned(),
                scope: vec!["read:x".to_owned()],
                created_at: at(0),
            })
            .collect();
        let results = race(&store, 10, |s, i| {
            let g = grants[i].clone();
            async move { s.create_client_grant(&g).await }
        })
        .await;
        let backend = store.database().backend();
        assert_eq!(
            tally(&results),
            expect(&[("Ok", 1), ("Conflict(ClientGrant)", 9)]),
            "{backend:?}"
        );

        let r = role("member");
        store.create_role(&r).await.unwrap();
        let results = race(&store, 10, |s, _| {
            let (user, role) = (w.user.user_id.clone(), r.id.clone());
            async move { s.assign_user_roles(&user, &[role]).await }
        })
        .await;
        assert_eq!(
            tally(&results),
            expect(&[("Ok", 10)]),
            "{backend:?}: assigning a held role is not an error"
        );
        assert_eq!(store.user_roles(&w.user.user_id).await.unwrap(), vec![r]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_rotations_of_two_key_families_keep_one_current_and_one_next_key_each() {
    const PER_FAMILY: usize = 4;
    on_every_store(|store| async move {
        let backend = store.database().backend();
        for key in [
            rsa_signing_key(KeyState::Current),
            rsa_signing_key(KeyState::Next),
            signing_key(KeyState::Current),
            signing_key(KeyState::Next),
        ] {
            store.create_signing_key(&key).await.unwrap();
        }
        // Even racers rotate the RSA family, odd ones the P-256 family, all at once.
        let fresh: Vec<_> = (0..2 * PER_FAMILY)
            .map(|i| {
                if i % 2 == 0 {
                    rsa_signing_key(KeyState::Next)
                } else {
                    signing_key(KeyState::Next)
                }
            })
            .collect();
        let results = race(&store, 2 * PER_FAMILY, |s, i| {
            let next = fresh[i].clone();
            async move { s.rotate_signing_keys(&next, at(100)).await }
        })
        .await;
        let keys = store.signing_keys().await.unwrap();
        for (name, alg, parity) in [("RSA", Algorithm::RS256, 0), ("P-256", Algorithm::ES256, 1)] {
            let mine: Vec<_> = results
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == parity)
                .map(|(_, r)| outcome(r))
                .collect();
            let ok = mine.iter().filter(|o| *o == "Ok").count();
            assert!(
                ok >= 1,
                "{backend:?} {name}: no rotation succeeded: {mine:?}"
            );
            assert!(
                mine.iter()
                    .all(|o| o == "Ok" || o == "Conflict(SigningKey)"),
                "{backend:?} {name}: a lost race must be a conflict, not a failure: {mine:?}"
            );
            let family: Vec<_> = keys.iter().filter(|k| k.alg == alg).collect();
            let count = |state| family.iter().filter(|k| k.state == state).count();
            assert_eq!(
                (count(KeyState::Current), count(KeyState::Next)),
                (1, 1),
                "{backend:?} {name}: one current and one next key"
            );
            assert_eq!(
                count(KeyState::Previous),
                ok,
                "{backend:?} {name}: one retired per rotation"
            );
            assert_eq!(
                family.len(),
                2 + ok,
                "{backend:?} {name}: only winners' keys are stored"
            );
            // Only this family's winners stored keys: each stored newcomer is one of its racers.
            let newcomers: BTreeSet<&str> = fresh
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == parity)
                .map(|(_, k)| k.kid.as_str())
                .collect();
            let stored_newcomers = family
                .iter()
                .filter(|k| newcomers.contains(k.kid.as_str()))
                .count();
            assert_eq!(stored_newcomers, ok, "{backend:?} {name}: newcomers stored");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_key_rotations_never_make_two_current_keys() {
    on_every_store(|store| async move {
        store
            .create_signing_key(&signing_key(KeyState::Current))
            .await
            .unwrap();
        let fresh: Vec<_> = (0..10).map(|_| signing_key(KeyState::Next)).collect();
        let results = race(&store, 10, |s, i| {
            let next = fresh[i].clone();
            async move { s.rotate_signing_keys(&next, at(100)).await }
        })
        .await;
        let backend = store.database().backend();
        let counts = tally(&results);
        let ok = counts.get("Ok").copied().unwrap_or(0);
        assert!(ok >= 1, "{backend:?}: no rotation succeeded: {counts:?}");
        assert!(
            counts
                .keys()
                .all(|k| k == "Ok" || k == "Conflict(SigningKey)"),
            "{backend:?}: a lost race must be a conflict, not a failure: {counts:?}"
        );
        let keys = store.signing_keys().await.unwrap();
        let count = |state| keys.iter().filter(|k| k.state == state).count();
        assert_eq!(count(KeyState::Current), 1, "{backend:?}: current keys");
        assert_eq!(
            count(KeyState::Next),
            0,
            "{backend:?}: no next key was ever waiting"
        );
        assert_eq!(
            count(KeyState::Previous),
            ok,
            "{backend:?}: one retired per rotation"
        );
        assert_eq!(
            keys.len(),
            1 + ok,
            "{backend:?}: only winners' keys are stored"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ticket_consumed_by_20_racers_has_exactly_one_winner() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let t = ticket(&w.user.user_id, TicketKind::EmailVerification, at(600));
        store.create_ticket(&t).await.unwrap();
        let results = race(&store, 20, |s, _| {
            let digest = t.digest.clone();
            async move {
                s.consume_ticket(&digest, TicketKind::EmailVerification, at(1))
                    .await
            }
        })
        .await;
        assert_eq!(
            tally(&results),
            expect(&[("Ok", 1), ("AlreadyUsed", 19)]),
            "{:?}",
            store.database().backend()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approved_device_code_polled_by_20_racers_is_consumed_once() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let d = device_code(&w.client.client_id, at(900));
        store.create_device_code(&d).await.unwrap();
        let yes = DeviceStatus::Approved(w.user.user_id.clone());
        store
            .decide_device_code(&d.user_code, &yes, at(5))
            .await
            .unwrap();
        let results = race(&store, 20, |s, _| {
            let digest = d.digest.clone();
            async move { s.poll_device_code(&digest, at(10)).await }
        })
        .await;
        let backend = store.database().backend();
        assert_eq!(
            tally(&results),
            expect(&[("Ok", 1), ("AlreadyUsed", 19)]),
            "{backend:?}"
        );
        let winner = results.into_iter().find_map(Result::ok).unwrap();
        assert_eq!(
            (winner.status, winner.consumed_at),
            (yes, None),
            "{backend:?}: the winning poll sees the approval, not yet consumed"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_assertion_presented_by_20_racers_is_accepted_once() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let results = race(&store, 20, |s, _| {
            let client = w.client.client_id.clone();
            async move {
                s.record_client_assertion(&client, "jti-1", at(300), at(1))
                    .await
            }
        })
        .await;
        assert_eq!(
            tally(&results),
            expect(&[("Ok", 1), ("AlreadyUsed", 19)]),
            "{:?}",
            store.database().backend()
        );
    })
    .await;
}

#[tokio::test]
async fn client_assertions_refuse_a_live_jti_and_take_over_an_expired_one() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let other = client("Other", AppType::NonInteractive);
        store.create_client(&other).await.unwrap();
        let (c, o) = (&w.client.client_id, &other.client_id);
        let mut cases = Vec::new();
        for (case, client, jti, expires_at, now, want) in [
            ("a first jti", c, "a", at(60), at(0), "Ok"),
            ("the same jti again", c, "a", at(120), at(30), "AlreadyUsed"),
            (
                "the same jti, its last second",
                c,
                "a",
                at(120),
                at(59),
                "AlreadyUsed",
            ),
            ("another client's same jti", o, "a", at(60), at(0), "Ok"),
            ("another jti", c, "b", at(60), at(0), "Ok"),
            ("the first jti once expired", c, "a", at(200), at(60), "Ok"),
            (
                "and again within its new life",
                c,
                "a",
                at(200),
                at(100),
                "AlreadyUsed",
            ),
        ] {
            let got = store
                .record_client_assertion(client, jti, expires_at, now)
                .await;
            cases.push((case, outcome(&got), want));
        }
        let gone = sigil_core::ids::ClientId::from("no-such-client");
        cases.push((
            "an unknown client",
            outcome(
                &store
                    .record_client_assertion(&gone, "a", at(60), at(0))
                    .await,
            ),
            "NotFound",
        ));
        check(&store, &cases);
        // Deleting a client forgets its assertions with it.
        store.delete_client(o).await.unwrap();
        store.create_client(&other).await.unwrap();
        assert_eq!(
            outcome(&store.record_client_assertion(o, "a", at(60), at(1)).await),
            "Ok"
        );
    })
    .await;
}

#[tokio::test]
async fn codes_refuse_expired_used_and_unknown() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let (c, u) = (&w.client.client_id, &w.user.user_id);
        let expired = code(c, u, at(60));
        let used = code(c, u, at(60));
        for x in [&expired, &used] {
            store.create_code(x).await.unwrap();
        }
        check(
            &store,
            &[
                (
                    "a code after its lifetime",
                    outcome(&store.redeem_code(&expired.digest, at(61)).await),
                    "Expired",
                ),
                (
                    "a code, first time",
                    outcome(&store.redeem_code(&used.digest, at(1)).await),
                    "Ok",
                ),
                (
                    "a code, second time",
                    outcome(&store.redeem_code(&used.digest, at(2)).await),
                    "AlreadyUsed",
                ),
                (
                    "a code, third time",
                    outcome(&store.redeem_code(&used.digest, at(3)).await),
                    "AlreadyUsed",
                ),
                (
                    "a code never issued",
                    outcome(&store.redeem_code(&token().digest(), at(1)).await),
                    "NotFound",
                ),
            ],
        );
    })
    .await;
}

#[tokio::test]
async fn refresh_rotation_refuses_revoked_expired_used_and_unknown_tokens() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let (c, u) = (&w.client.client_id, &w.user.user_id);
        let family = || FamilyId::generate(&SystemRng);
        let revoked = refresh_token(c, u, &family(), None);
        let expired = refresh_token(c, u, &family(), Some(at(100)));
        let mut idled = refresh_token(c, u, &family(), None);
        idled.idle_expires_at = Some(at(50));
        let rotated = refresh_token(c, u, &family(), None);
        for t in [&revoked, &expired, &idled, &rotated] {
            store.create_refresh_token(t).await.unwrap();
        }
        assert!(
            store
                .revoke_refresh_token(&revoked.digest, at(1))
                .await
                .unwrap()
        );
        let first_child = child_of(&rotated, at(2));
        store
            .rotate_refresh_token(&rotated.digest, &first_child, at(2))
            .await
            .unwrap();

        let attempts = [
            ("a revoked token", &revoked, "Revoked"),
            ("a token past its absolute end", &expired, "Expired"),
            ("a token past its idle end", &idled, "Expired"),
            ("a token rotated already", &rotated, "AlreadyUsed"),
        ];
        let mut cases = Vec::new();
        let mut refused_children = Vec::new();
        for (case, old, want) in attempts {
            let child = child_of(old, at(200));
            let got = outcome(
                &store
                    .rotate_refresh_token(&old.digest, &child, at(200))
                    .await,
            );
            cases.push((case, got, want));
            refused_children.push(child);
        }
        let unknown = child_of(&revoked, at(200));
        cases.push((
            "a token never issued",
            outcome(
                &store
                    .rotate_refresh_token(&token().digest(), &unknown, at(200))
                    .await,
            ),
            "NotFound",
        ));
        refused_children.push(unknown);
        check(&store, &cases);
        for child in refused_children {
            assert_eq!(
                store.refresh_token(&child.digest).await.unwrap(),
                None,
                "a refused rotation stores no new token"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn revoking_a_family_revokes_every_token_in_it() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let (c, u) = (&w.client.client_id, &w.user.user_id);

        // A rotation chain: reuse of the first token is detected, the family goes.
        let family = FamilyId::generate(&SystemRng);
        let t0 = refresh_token(c, u, &family, None);
        store.create_refresh_token(&t0).await.unwrap();
        let t1 = child_of(&t0, at(10));
        store
            .rotate_refresh_token(&t0.digest, &t1, at(10))
            .await
            .unwrap();
        let t2 = child_of(&t1, at(20));
        store
            .rotate_refresh_token(&t1.digest, &t2, at(20))
            .await
            .unwrap();
        let bystander = refresh_token(c, u, &FamilyId::generate(&SystemRng), None);
        store.create_refresh_token(&bystander).await.unwrap();

        store.revoke_refresh_family(&family, at(30)).await.unwrap();
        for t in [&t0, &t1, &t2] {
            let stored = store.refresh_token(&t.digest).await.unwrap().unwrap();
            assert!(stored.revoked_at.is_some(), "generation {}", t.generation);
        }
        check(
            &store,
            &[(
                "rotating the family's newest token",
                outcome(
                    &store
                        .rotate_refresh_token(&t2.digest, &child_of(&t2, at(40)), at(40))
                        .await,
                ),
                "Revoked",
            )],
        );
        assert_eq!(
            store
                .refresh_token(&bystander.digest)
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            None,
            "other families are untouched"
        );

        // The count: tokens that were live (here none used, one revoked already).
        let family = FamilyId::generate(&SystemRng);
        let live_a = refresh_token(c, u, &family, None);
        let live_b = refresh_token(c, u, &family, None);
        let dead = refresh_token(c, u, &family, None);
        for t in [&live_a, &live_b, &dead] {
            store.create_refresh_token(t).await.unwrap();
        }
        assert!(
            store
                .revoke_refresh_token(&dead.digest, at(1))
                .await
                .unwrap()
        );
        assert_eq!(
            store.revoke_refresh_family(&family, at(50)).await.unwrap(),
            2
        );
        assert_eq!(
            store.revoke_refresh_family(&family, at(60)).await.unwrap(),
            0
        );
        assert_eq!(
            store
                .revoke_refresh_family(&FamilyId::from("no-such-family"), at(60))
                .await
                .unwrap(),
            0
        );
    })
    .await;
}

#[tokio::test]
async fn tickets_and_device_codes_refuse_reuse_expiry_and_unknown_values() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let kind = TicketKind::PasswordReset;
        let t = ticket(&w.user.user_id, kind, at(600));
        let old = ticket(&w.user.user_id, kind, at(60));
        for x in [&t, &old] {
            store.create_ticket(x).await.unwrap();
        }
        let pending = device_code(&w.client.client_id, at(900));
        let stale = device_code(&w.client.client_id, at(60));
        for d in [&pending, &stale] {
            store.create_device_code(d).await.unwrap();
        }
        let yes = DeviceStatus::Approved(w.user.user_id.clone());
        check(
            &store,
            &[
                (
                    "a ticket, first time",
                    outcome(&store.consume_ticket(&t.digest, kind, at(1)).await),
                    "Ok",
                ),
                (
                    "a ticket, second time",
                    outcome(&store.consume_ticket(&t.digest, kind, at(2)).await),
                    "AlreadyUsed",
                ),
                (
                    "a ticket after its lifetime",
                    outcome(&store.consume_ticket(&old.digest, kind, at(61)).await),
                    "Expired",
                ),
                (
                    "a ticket never issued",
                    outcome(&store.consume_ticket(&token().digest(), kind, at(1)).await),
                    "NotFound",
                ),
                (
                    "deciding a device code after its lifetime",
                    outcome(
                        &store
                            .decide_device_code(&stale.user_code, &yes, at(61))
                            .await,
                    ),
                    "Expired",
                ),
                (
                    "deciding a user code never issued",
                    outcome(&store.decide_device_code("NONE-NONE", &yes, at(1)).await),
                    "NotFound",
                ),
                (
                    "polling a device code never issued",
                    outcome(&store.poll_device_code(&token().digest(), at(1)).await),
                    "NotFound",
                ),
                (
                    "deciding a pending device code",
                    outcome(
                        &store
                            .decide_device_code(&pending.user_code, &yes, at(1))
                            .await,
                    ),
                    "Ok",
                ),
                (
                    "deciding it again",
                    outcome(
                        &store
                            .decide_device_code(&pending.user_code, &DeviceStatus::Denied, at(2))
                            .await,
                    ),
                    "AlreadyUsed",
                ),
            ],
        );
        assert_eq!(
            store
                .device_code_by_user_code(&stale.user_code)
                .await
                .unwrap()
                .unwrap()
                .status,
            DeviceStatus::Pending,
            "an expired device code cannot be approved"
        );
    })
    .await;
}

/// Eight writers append events (one at a time and in batches) while a reader walks the log
/// by checkpoint (`logs_from`, as `/api/v2/logs?from=` and log streams do): it sees every
/// event exactly once, in id order, although ids are given out before their transactions
/// commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_walking_checkpoints_sees_every_concurrently_written_event_once() {
    const WRITERS: usize = 8;
    const ROUNDS: usize = 40;
    on_every_store(|store| async move {
        let expected = WRITERS * ROUNDS / 2 * 4;
        let reader = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut seen: Vec<(String, String)> = Vec::new();
                let mut from: Option<sigil_core::ids::LogId> = None;
                for _ in 0..100_000 {
                    let page = store
                        .logs_from(&Default::default(), from.as_ref(), 7)
                        .await
                        .unwrap();
                    for event in &page {
                        seen.push((
                            event.log_id.0.clone(),
                            event.event.description.clone().unwrap_or_default(),
                        ));
                    }
                    if let Some(last) = page.last() {
                        from = Some(last.log_id.clone());
                    }
                    if seen.len() >= expected {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                seen
            })
        };
        let written = race(&store, WRITERS, |store, writer| async move {
            for round in 0..ROUNDS {
                let event = |n: usize| sigil_core::model::NewLogEvent {
                    date_ms: at(0).0 * 1000,
                    description: Some(format!("{writer}-{round}-{n}")),
                    ..sigil_core::model::NewLogEvent::default()
                };
                if round % 2 == 0 {
                    store.append_log(&event(0)).await?;
                } else {
                    store.append_logs(&[event(0), event(1), event(2)]).await?;
                }
            }
            Ok(())
        })
        .await;
        for result in written {
            result.unwrap();
        }
        let seen = reader.await.unwrap();
        let backend = store.database().backend();
        assert_eq!(seen.len(), expected, "{backend:?}: events seen");
        let descriptions: BTreeSet<&str> = seen.iter().map(|(_, d)| d.as_str()).collect();
        assert_eq!(descriptions.len(), expected, "{backend:?}: each seen once");
        let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "{backend:?}: in id order");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_federation_transaction_taken_by_16_racers_goes_to_one() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let tx = crate::federation::transaction(&w.connection.id, at(600));
        store.create_federation_transaction(&tx).await.unwrap();
        let results = race(&store, 16, |s, _| {
            let (state, binding) = (tx.state_digest.clone(), tx.binding_digest.clone());
            async move { s.take_federation_transaction(&state, &binding, at(1)).await }
        })
        .await;
        let taken: Vec<_> = results.into_iter().filter_map(|r| r.unwrap()).collect();
        assert_eq!(taken, vec![tx], "{:?}", store.database().backend());
    })
    .await;
}
