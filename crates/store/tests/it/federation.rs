//! Logins gone to another identity provider: taken once, only by the browser they are bound
//! to, only before they expire; sealed at rest; purged when their callback never came; gone
//! with their connection.

use sigil_core::ids::ConnectionId;
use sigil_core::model::FederationTransaction;
use sigil_core::secret::SecretDigest;
use sigil_core::store::Retention;
use sigil_core::{Store, UnixTime};

use crate::backends::on_every_store;
use crate::fixtures::{at, contains, raw_bytes, world};

/// A transaction for `connection`, expiring at `expires_at`, with fresh random digests.
pub(crate) fn transaction(
    connection: &ConnectionId,
    expires_at: UnixTime,
) -> FederationTransaction {
    let random = || {
        let mut bytes = [0u8; 32];
        sigil_core::Rng::fill(&sigil_core::SystemRng, &mut bytes);
        SecretDigest(bytes)
    };
    FederationTransaction {
        state_digest: random(),
        binding_digest: random(),
        connection_id: connection.clone(),
        login: "sealed-login-transaction-IN-THE-CLEAR".to_owned(),
        nonce: Some("nonce-IN-THE-CLEAR".to_owned()),
        code_verifier: Some("verifier-IN-THE-CLEAR".to_owned()),
        expires_at,
    }
}

#[tokio::test]
async fn a_login_gone_upstream_comes_back_once_to_its_own_browser() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let tx = transaction(&w.connection.id, at(600));
        store.create_federation_transaction(&tx).await.unwrap();

        let sealed = raw_bytes(
            store.database(),
            "SELECT sealed FROM federation_transactions WHERE connection_id = $1",
            w.connection.id.as_str(),
        )
        .await
        .unwrap();
        for clear in ["sealed-login-transaction", "nonce-IN", "verifier-IN"] {
            assert!(
                !contains(&sealed, clear.as_bytes()),
                "{clear} is stored in the clear"
            );
        }

        let other_browser = SecretDigest([7; 32]);
        for (case, state, binding, now) in [
            ("another browser", &tx.state_digest, &other_browser, at(1)),
            (
                "an unknown state",
                &other_browser,
                &tx.binding_digest,
                at(1),
            ),
            (
                "once expired",
                &tx.state_digest,
                &tx.binding_digest,
                at(600),
            ),
        ] {
            assert_eq!(
                store
                    .take_federation_transaction(state, binding, now)
                    .await
                    .unwrap(),
                None,
                "{case}"
            );
        }
        // Those tries left it for its own browser; that take is the only one.
        assert_eq!(
            store
                .take_federation_transaction(&tx.state_digest, &tx.binding_digest, at(599))
                .await
                .unwrap(),
            Some(tx.clone())
        );
        assert_eq!(
            store
                .take_federation_transaction(&tx.state_digest, &tx.binding_digest, at(599))
                .await
                .unwrap(),
            None,
            "a replayed callback"
        );

        // Purged once expired; gone with its connection.
        let stale = transaction(&w.connection.id, at(10));
        let live = transaction(&w.connection.id, at(900));
        for t in [&stale, &live] {
            store.create_federation_transaction(t).await.unwrap();
        }
        let purged = store
            .purge_expired(
                at(11),
                &Retention {
                    logs_before: at(0),
                    jobs_before: at(0),
                    mail_before: at(0),
                },
                100,
            )
            .await
            .unwrap();
        assert_eq!(purged.federation_transactions, 1);
        store.delete_connection(&w.connection.id).await.unwrap();
        assert_eq!(
            store
                .take_federation_transaction(&live.state_digest, &live.binding_digest, at(12))
                .await
                .unwrap(),
            None
        );
    })
    .await;
}

/// A user of the `oidc` connection `connection` whose upstream id is `id`.
fn federated(
    connection: &sigil_core::model::Connection,
    id: &str,
    email: &str,
) -> sigil_core::model::User {
    let mut user = crate::fixtures::user(connection, email);
    user.user_id = sigil_core::ids::UserId(format!("oidc|{}|{id}", connection.name));
    user.identities[0].provider = "oidc".to_owned();
    user.identities[0].user_id = format!("{}|{id}", connection.name);
    user.idp_attributes = serde_json::json!({"locale": "fr"})
        .as_object()
        .unwrap()
        .clone();
    user
}

#[tokio::test]
async fn federated_users_share_emails_and_keep_their_providers_tokens_sealed() {
    on_every_store(|store| async move {
        let mut corp = crate::fixtures::connection("corp");
        corp.strategy = sigil_core::model::Strategy::Oidc;
        corp.upstream = Some(sigil_core::model::Upstream::default());
        store.create_connection(&corp, &[]).await.unwrap();
        // Two upstream accounts may vouch for one address: both are users.
        let first = federated(&corp, "alice", "shared@example.com");
        let second = federated(&corp, "alice2", "shared@example.com");
        store.create_user(&first).await.unwrap();
        store.create_user(&second).await.unwrap();
        // A database connection's emails stay unique.
        let staff = crate::fixtures::connection("Staff");
        store.create_connection(&staff, &[]).await.unwrap();
        store
            .create_user(&crate::fixtures::user(&staff, "one@example.com"))
            .await
            .unwrap();
        let again = store
            .create_user(&crate::fixtures::user(&staff, "ONE@example.com"))
            .await;
        assert!(
            matches!(
                again,
                Err(sigil_core::StoreError::Conflict(
                    sigil_core::Conflict::Email
                ))
            ),
            "{again:?}"
        );

        // A later login: profile and tokens in one write; the tokens sealed at rest.
        let mut later = store.account(&first.user_id).await.unwrap().unwrap();
        assert!(later.is_federated());
        assert_eq!(later.idp_attributes, first.idp_attributes);
        later.name = Some("Alice B".to_owned());
        later.identities[0].access_token = Some(sigil_core::secret::Token::new(
            "idp-access-IN-THE-CLEAR".to_owned(),
        ));
        later.identities[0].expires_in = Some(3599);
        store.update_federated_user(&later).await.unwrap();
        let read = store.account(&first.user_id).await.unwrap().unwrap();
        assert_eq!(read.name.as_deref(), Some("Alice B"));
        assert_eq!(read.identities[0].expires_in, Some(3599));
        assert_eq!(
            read.identities[0].access_token.as_ref().map(|t| t.expose()),
            Some("idp-access-IN-THE-CLEAR")
        );
        let raw = raw_bytes(
            store.database(),
            "SELECT access_token FROM user_identities WHERE user_id = $1",
            first.user_id.as_str(),
        )
        .await
        .unwrap();
        assert!(!contains(&raw, b"idp-access-IN-THE-CLEAR"));
        let mut gone = later.clone();
        gone.user_id = sigil_core::ids::UserId("oidc|corp|nobody".to_owned());
        assert!(matches!(
            store.update_federated_user(&gone).await,
            Err(sigil_core::StoreError::NotFound(_))
        ));
    })
    .await;
}
