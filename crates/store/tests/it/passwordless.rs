//! Passwordless codes and SMS users: only the newest code of a recipient lives; racing tries
//! never get more than the limit between them; a code is used up once, only with its digest;
//! an expired code takes no tries; phone numbers are unique per connection.

use sigil_core::ids::{ClientId, UserId};
use sigil_core::model::{Connection, ConnectionOptions, PasswordlessCode, Strategy, User};
use sigil_core::{Conflict, Store, StoreError, SystemRng};

use crate::backends::on_every_store;
use crate::fixtures::at;

fn code(connection: &Connection, digest: u8, expires_at: i64) -> PasswordlessCode {
    PasswordlessCode {
        connection_id: connection.id.clone(),
        recipient: "+14155550123".to_owned(),
        digest: [digest; 32],
        client_id: ClientId::from("app"),
        attempts: 0,
        created_at: at(0),
        expires_at: at(expires_at),
    }
}

fn sms_connection() -> Connection {
    Connection::new(
        sigil_core::ids::ConnectionId::generate(&SystemRng),
        "sms",
        Strategy::Sms,
        ConnectionOptions::default(),
        at(0),
    )
}

fn sms_user(connection: &Connection, id: &str, phone: &str) -> User {
    User {
        phone_number: Some(phone.to_owned()),
        phone_verified: true,
        mfa_enrolled_at: None,
        ..User::first(UserId(format!("sms|{id}")), connection, at(0))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_tries_never_pass_the_limit_and_a_code_is_used_once() {
    on_every_store(|store| async move {
        let connection = sms_connection();
        store.create_connection(&connection, &[]).await.unwrap();
        let recipient = "+14155550123";
        store
            .put_passwordless_code(&code(&connection, 1, 180))
            .await
            .unwrap();
        let mut tries = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let (store, id) = (store.clone(), connection.id.clone());
            tries.spawn(async move {
                store
                    .try_passwordless_code(&id, recipient, at(1), 3)
                    .await
                    .unwrap()
            });
        }
        let granted: Vec<u32> = tries
            .join_all()
            .await
            .into_iter()
            .flatten()
            .map(|c| c.attempts)
            .collect();
        let mut sorted = granted.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            vec![1, 2, 3],
            "12 racing tries, 3 allowed: {granted:?}"
        );

        // A new code replaces it, its tries from 0; the old digest no longer uses anything up.
        store
            .put_passwordless_code(&code(&connection, 2, 180))
            .await
            .unwrap();
        assert!(
            !store
                .consume_passwordless_code(&connection.id, recipient, &[1; 32])
                .await
                .unwrap()
        );
        let tried = store
            .try_passwordless_code(&connection.id, recipient, at(1), 3)
            .await
            .unwrap();
        assert_eq!(tried.map(|c| (c.attempts, c.digest)), Some((1, [2; 32])));
        // Racing uses: exactly one wins.
        let mut uses = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let (store, id) = (store.clone(), connection.id.clone());
            uses.spawn(async move {
                store
                    .consume_passwordless_code(&id, recipient, &[2; 32])
                    .await
                    .unwrap()
            });
        }
        let won = tries_won(uses.join_all().await);
        assert_eq!(won, 1);
        assert!(
            store
                .try_passwordless_code(&connection.id, recipient, at(1), 3)
                .await
                .unwrap()
                .is_none()
        );

        // An expired code takes no try.
        store
            .put_passwordless_code(&code(&connection, 3, 180))
            .await
            .unwrap();
        assert!(
            store
                .try_passwordless_code(&connection.id, recipient, at(180), 3)
                .await
                .unwrap()
                .is_none()
        );
        // Purged once expired; gone with its connection too.
        let purged = store
            .purge_expired(
                at(181),
                &sigil_core::store::Retention {
                    logs_before: at(0),
                    jobs_before: at(0),
                    mail_before: at(0),
                },
                100,
            )
            .await
            .unwrap();
        assert_eq!(purged.passwordless_codes, 1);
        store
            .put_passwordless_code(&code(&connection, 4, 180))
            .await
            .unwrap();
        store.delete_connection(&connection.id).await.unwrap();
        assert!(
            store
                .try_passwordless_code(&connection.id, recipient, at(1), 3)
                .await
                .unwrap()
                .is_none()
        );
    })
    .await;
}

fn tries_won(results: Vec<bool>) -> usize {
    results.into_iter().filter(|won| *won).count()
}

#[tokio::test]
async fn phone_numbers_find_sms_users_and_are_unique_per_connection() {
    on_every_store(|store| async move {
        let connection = sms_connection();
        store.create_connection(&connection, &[]).await.unwrap();
        let user = sms_user(&connection, "aaaaaaaaaaaaaaaaaaaaaaaa", "+14155550123");
        store.create_user(&user).await.unwrap();
        let found = store
            .user_by_phone(&connection.id, "+14155550123")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, user);
        assert!(
            store
                .user_by_phone(&connection.id, "+14155550124")
                .await
                .unwrap()
                .is_none()
        );
        let twin = sms_user(&connection, "bbbbbbbbbbbbbbbbbbbbbbbb", "+14155550123");
        assert!(matches!(
            store.create_user(&twin).await,
            Err(StoreError::Conflict(Conflict::PhoneNumber))
        ));
        let mut changed = found.clone();
        changed.phone_verified = false;
        store.update_user(&changed).await.unwrap();
        assert!(
            !store
                .user(&user.user_id)
                .await
                .unwrap()
                .unwrap()
                .phone_verified
        );
    })
    .await;
}
