//! Users' multi-factor authenticators: a pending enrolment replaced by the next and confirmed
//! once, at most one confirmed of each kind, the TOTP secret sealed (never in the row as
//! given), a TOTP step taken once however many racers carry it, the recovery code used up by
//! the one request that replaces it, deletion, and forgotten browsers.

use std::sync::Arc;

use sigil_core::ids::UserId;
use sigil_core::mfa::totp::TotpSecret;
use sigil_core::model::{
    Authenticator, AuthenticatorKind, AuthenticatorSecret, BrowserMemory, OobCode,
};
use sigil_core::secret::SecretDigest;
use sigil_core::{Conflict, Store, StoreError, SystemRng, UnixTime};
use tokio::sync::Barrier;

use crate::backends::on_every_store;
use crate::fixtures::{at, raw_bytes, world};

fn totp(
    id: &str,
    user: &UserId,
    confirmed: Option<UnixTime>,
    secret: &TotpSecret,
) -> Authenticator {
    Authenticator {
        id: id.to_owned(),
        user_id: user.clone(),
        kind: AuthenticatorKind::Totp,
        name: None,
        secret: AuthenticatorSecret::Totp(secret.clone()),
        confirmed_at: confirmed,
        created_at: at(0),
        last_auth_at: None,
    }
}

#[tokio::test]
async fn an_enrolment_is_pending_until_confirmed_and_one_of_each_kind_is_kept() {
    on_every_store(|store| async move {
        let backend = store.database().backend();
        let w = world(&store).await;
        let user = &w.user.user_id;
        let first = TotpSecret::generate(&SystemRng);
        let second = TotpSecret::generate(&SystemRng);
        store
            .put_authenticator(&totp("totp|dev_a", user, None, &first))
            .await
            .unwrap();
        // A second pending enrolment replaces the first.
        store
            .put_authenticator(&totp("totp|dev_b", user, None, &second))
            .await
            .unwrap();
        let listed = store.authenticators(user).await.unwrap();
        assert_eq!(listed.len(), 1, "{backend:?}");
        assert_eq!(
            store.authenticator("totp|dev_b").await.unwrap().as_ref(),
            Some(&listed[0])
        );
        assert_eq!(store.authenticator("totp|dev_a").await.unwrap(), None);
        assert_eq!(
            (listed[0].id.as_str(), listed[0].totp()),
            ("totp|dev_b", Some(&second))
        );
        assert!(!listed[0].confirmed());
        // The secret is sealed at rest: its bytes are nowhere in the table.
        let raw = raw_bytes(
            store.database(),
            "SELECT secret FROM authenticators WHERE id = $1",
            "totp|dev_b",
        )
        .await
        .expect("a sealed secret");
        assert!(
            !raw.windows(second.bytes().len())
                .any(|w| w == second.bytes()),
            "{backend:?}: the secret is stored in the clear"
        );
        // Confirmed once.
        assert!(
            store
                .confirm_authenticator(user, "totp|dev_b", at(5))
                .await
                .unwrap()
        );
        assert!(
            !store
                .confirm_authenticator(user, "totp|dev_b", at(6))
                .await
                .unwrap()
        );
        assert!(
            !store
                .confirm_authenticator(user, "totp|dev_a", at(6))
                .await
                .unwrap()
        );
        let confirmed = store.authenticators(user).await.unwrap();
        assert_eq!(confirmed[0].confirmed_at, Some(at(5)), "{backend:?}");
        // A confirmed one is never replaced.
        let refused = store
            .put_authenticator(&totp("totp|dev_c", user, None, &first))
            .await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(Conflict::Authenticator))),
            "{backend:?}: {refused:?}"
        );
        // Deleted one by one, or all at once (forgetting the browsers too).
        assert!(
            !store
                .delete_authenticator(user, "totp|dev_a")
                .await
                .unwrap()
        );
        assert!(
            store
                .delete_authenticator(user, "totp|dev_b")
                .await
                .unwrap()
        );
        store
            .put_authenticator(&totp("totp|dev_d", user, Some(at(7)), &first))
            .await
            .unwrap();
        let code = SecretDigest::of("N3BGPZZWJ85JLCNPZBDW6QXC");
        store
            .replace_recovery_code(user, "recovery-code|dev_r", None, &code, at(7))
            .await
            .unwrap();
        assert_eq!(store.authenticators(user).await.unwrap().len(), 2);
        let memory = |forgotten: Option<UnixTime>, used: Option<UnixTime>| BrowserMemory {
            forgotten_at: forgotten,
            used_at: used,
        };
        assert_eq!(
            store.remembered_browsers(user).await.unwrap(),
            memory(None, None)
        );
        store.remembered_browser_used(user, at(6)).await.unwrap();
        assert_eq!(
            store.remembered_browsers(user).await.unwrap(),
            memory(None, Some(at(6)))
        );
        assert_eq!(store.delete_authenticators(user, at(8)).await.unwrap(), 2);
        assert!(store.authenticators(user).await.unwrap().is_empty());
        assert_eq!(
            store.remembered_browsers(user).await.unwrap(),
            memory(Some(at(8)), Some(at(6)))
        );
        store.forget_browsers(user, at(9)).await.unwrap();
        store.remembered_browser_used(user, at(10)).await.unwrap();
        assert_eq!(
            store.remembered_browsers(user).await.unwrap(),
            memory(Some(at(9)), Some(at(10)))
        );
    })
    .await;
}

#[tokio::test]
async fn a_totp_step_and_a_recovery_code_are_taken_once_by_racing_requests() {
    on_every_store(|store| async move {
        let backend = store.database().backend();
        let w = world(&store).await;
        let user = w.user.user_id.clone();
        let secret = TotpSecret::generate(&SystemRng);
        store
            .put_authenticator(&totp("totp|dev_x", &user, Some(at(0)), &secret))
            .await
            .unwrap();
        let old = SecretDigest::of("AAAAAAAAAAAAAAAAAAAAAAAA");
        store
            .replace_recovery_code(&user, "recovery-code|dev_y", None, &old, at(0))
            .await
            .unwrap();

        const RACERS: usize = 8;
        let barrier = Arc::new(Barrier::new(RACERS));
        let mut racers = Vec::new();
        for i in 0..RACERS {
            let (store, barrier, user, old) =
                (store.clone(), barrier.clone(), user.clone(), old.clone());
            racers.push(tokio::spawn(async move {
                barrier.wait().await;
                let step = store
                    .take_totp_step("totp|dev_x", 100, at(1))
                    .await
                    .unwrap();
                let new = SecretDigest::of(&format!("NEW{i:021}"));
                let code = store
                    .replace_recovery_code(&user, "recovery-code|dev_z", Some(&old), &new, at(1))
                    .await
                    .unwrap();
                (step, code)
            }));
        }
        let mut steps = 0;
        let mut codes = 0;
        for racer in racers {
            let (step, code) = racer.await.unwrap();
            steps += usize::from(step);
            codes += usize::from(code);
        }
        assert_eq!((steps, codes), (1, 1), "{backend:?}");
        // An earlier or equal step is refused; a later one is taken.
        assert!(!store.take_totp_step("totp|dev_x", 99, at(2)).await.unwrap());
        assert!(
            !store
                .take_totp_step("totp|dev_x", 100, at(2))
                .await
                .unwrap()
        );
        assert!(
            store
                .take_totp_step("totp|dev_x", 101, at(2))
                .await
                .unwrap()
        );
        let listed = store.authenticators(&user).await.unwrap();
        let otp = listed
            .iter()
            .find(|a| a.kind == AuthenticatorKind::Totp)
            .unwrap();
        assert_eq!(otp.last_auth_at, Some(at(2)), "{backend:?}");
        // The recovery code kept its id; its digest is a new one.
        let recovery = listed
            .iter()
            .find(|a| a.kind == AuthenticatorKind::RecoveryCode)
            .unwrap();
        assert_eq!(recovery.id, "recovery-code|dev_y");
        assert!(!matches!(&recovery.secret, AuthenticatorSecret::RecoveryCode(d) if *d == old));
    })
    .await;
}

#[tokio::test]
async fn a_mailed_code_is_found_until_it_expires_and_used_once_by_racing_requests() {
    on_every_store(|store| async move {
        let backend = store.database().backend();
        let w = world(&store).await;
        let code = OobCode {
            digest: [1; 32],
            user_id: w.user.user_id.clone(),
            authenticator_id: "email|dev_e".to_owned(),
            binding: [2; 32],
            expires_at: at(300),
        };
        store.put_oob_code(&code).await.unwrap();
        assert_eq!(
            store.oob_code(&[1; 32], at(299)).await.unwrap().as_ref(),
            Some(&code),
            "{backend:?}"
        );
        assert_eq!(store.oob_code(&[1; 32], at(300)).await.unwrap(), None);
        assert_eq!(store.oob_code(&[9; 32], at(0)).await.unwrap(), None);
        assert!(!store.consume_oob_code(&[1; 32], &[3; 32]).await.unwrap());

        const RACERS: usize = 8;
        let barrier = Arc::new(Barrier::new(RACERS));
        let mut racers = Vec::new();
        for _ in 0..RACERS {
            let (store, barrier) = (store.clone(), barrier.clone());
            racers.push(tokio::spawn(async move {
                barrier.wait().await;
                store.consume_oob_code(&[1; 32], &[2; 32]).await.unwrap()
            }));
        }
        let mut won = 0;
        for racer in racers {
            won += usize::from(racer.await.unwrap());
        }
        assert_eq!(won, 1, "{backend:?}");
        assert_eq!(store.oob_code(&[1; 32], at(0)).await.unwrap(), None);
    })
    .await;
}
