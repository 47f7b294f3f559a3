//! Every record kind goes in and comes back equal; unique values collide with the right
//! [`Conflict`]; updates replace what the contract says and nothing else; deletes take what
//! hangs off the record; listings page and filter; secrets are never on disk in the clear.

use std::collections::BTreeSet;

use serde_json::json;
use sigil_core::ids::{ClientGrantId, ConnectionId, ConsentId, FamilyId, LogId, UserId};
use sigil_core::mfa::totp::TotpSecret;
use sigil_core::model::connection::DEFAULT_DATABASE_CONNECTION;
use sigil_core::model::{
    AppType, Authenticator, AuthenticatorKind, AuthenticatorSecret, AuthorizationCode, Branding,
    BrandingColors, BrandingFont, BruteForceMode, BruteForceSettings, ClientCredential,
    ClientGrant, Consent, DeviceStatus, GrantType, Identity, JsonObject, JwtConfiguration,
    KeyState, LogEvent, LogQuery, LogType, MfaFactor, MfaPolicy, MfaSettings, NewLogEvent,
    PasswordPolicy, RefreshTokenPolicy, ResourceServerScope, SigningKeyRecord, TenantFlags,
    TenantSettings, TicketKind, TokenDialect, TokenEndpointAuthMethod, User, UserQuery,
};
use sigil_core::model::{DeliveryStatus, UserSort, UserSortField};
use sigil_core::password::{PasswordAlgorithm, PasswordHash};
use sigil_core::secret::{ClientSecret, Token};
use sigil_core::{Page, Store, SystemRng};
use sigil_jose::{Algorithm, KeySpec, PrivateKey};

use crate::backends::on_every_store;
use crate::fixtures::{
    api, at, check, child_of, client, code, connection, contains, device_code, outcome,
    password_hash, permission, raw_bytes, refresh_token, role, rsa_signing_key, session,
    signing_key, ticket, token, user, world,
};

fn object(value: serde_json::Value) -> JsonObject {
    value.as_object().cloned().expect("a JSON object")
}

// --- Tenant and connections ---

#[tokio::test]
async fn tenant_settings_are_absent_then_stored_then_replaced() {
    on_every_store(|store| async move {
        assert_eq!(store.tenant_settings().await.unwrap(), None);
        let first = TenantSettings {
            issuer: "https://id.example/".to_owned(),
            friendly_name: "Example Corp".to_owned(),
            picture_url: Some("https://id.example/logo.png".to_owned()),
            support_email: Some("help@example.com".to_owned()),
            default_audience: Some("https://api.example/".to_owned()),
            default_directory: Some(DEFAULT_DATABASE_CONNECTION.to_owned()),
            session_lifetime: 24,
            idle_session_lifetime: 2,
            device_code_lifetime: 600,
            allowed_logout_urls: vec!["https://app.example/bye".to_owned()],
            flags: TenantFlags {
                allow_legacy_tokeninfo_endpoint: true,
                allow_legacy_delegation_grant_types: false,
                allow_legacy_ro_grant_types: true,
                disable_signup: true,
            },
            branding: Branding {
                colors: BrandingColors {
                    primary: Some("#0059d6".to_owned()),
                    page_background: None,
                },
                logo_url: Some("https://cdn.example/logo.png".to_owned()),
                favicon_url: None,
                font: Some(BrandingFont {
                    url: "https://cdn.example/font.woff2".to_owned(),
                }),
            },
            actions_egress: vec!["*.example.com".to_owned()],
            mfa: MfaSettings {
                factors: vec![MfaFactor::Otp, MfaFactor::RecoveryCode],
                policies: vec![MfaPolicy::AllApplications],
            },
            brute_force: BruteForceSettings {
                max_attempts: 3,
                mode: BruteForceMode::PerIdentifier,
                allowlist: vec!["192.0.2.0/24".to_owned()],
                ..BruteForceSettings::default()
            },
            suspicious_ip: sigil_core::model::SuspiciousIpSettings {
                shields: vec![sigil_core::model::ThrottleShield::Block],
                pre_login: sigil_core::model::ThrottleStage {
                    max_attempts: 7,
                    rate: 1000,
                },
                ..Default::default()
            },
            breached_passwords: sigil_core::model::BreachedPasswordSettings {
                enabled: true,
                shields: vec![sigil_core::model::BreachShield::Block],
                pre_user_registration: vec![sigil_core::model::StageShield::AdminNotification],
                pre_change_password: Vec::new(),
            },
        };
        store.put_tenant_settings(&first, at(0)).await.unwrap();
        assert_eq!(store.tenant_settings().await.unwrap(), Some(first.clone()));
        let second = TenantSettings {
            friendly_name: "Renamed".to_owned(),
            picture_url: None,
            ..first
        };
        store.put_tenant_settings(&second, at(10)).await.unwrap();
        assert_eq!(store.tenant_settings().await.unwrap(), Some(second));
    })
    .await;
}

#[tokio::test]
async fn connections_round_trip_and_names_are_unique() {
    on_every_store(|store| async move {
        let mut db = connection(DEFAULT_DATABASE_CONNECTION);
        db.options.password_policy = PasswordPolicy::Excellent;
        db.options.min_length = Some(12);
        db.options.requires_username = true;
        let other = connection("Another-Database");
        store.create_connection(&db, &[]).await.unwrap();
        store.create_connection(&other, &[]).await.unwrap();

        assert_eq!(store.connection(&db.id).await.unwrap(), Some(db.clone()));
        assert_eq!(
            store.connection_by_name(&db.name).await.unwrap(),
            Some(db.clone())
        );
        assert_eq!(
            store
                .connection(&ConnectionId::from("con_missing"))
                .await
                .unwrap(),
            None
        );
        assert_eq!(store.connection_by_name("missing").await.unwrap(), None);
        // By name: "Another-Database" < "Username-Password-Authentication".
        assert_eq!(
            store.list_connections().await.unwrap(),
            vec![other.clone(), db.clone()]
        );

        let same_name = connection(DEFAULT_DATABASE_CONNECTION);
        let same_id = sigil_core::model::Connection {
            name: "Third".to_owned(),
            ..other.clone()
        };
        check(
            &store,
            &[
                (
                    "a second connection with a taken name",
                    outcome(&store.create_connection(&same_name, &[]).await),
                    "Conflict(Connection)",
                ),
                (
                    "a second connection with a taken id",
                    outcome(&store.create_connection(&same_id, &[]).await),
                    "Conflict(Connection)",
                ),
            ],
        );

        let mut updated = db.clone();
        updated.options.disable_signup = true;
        updated.options.brute_force_protection = false;
        updated.updated_at = at(10);
        store.update_connection(&updated, &[]).await.unwrap();
        assert_eq!(store.connection(&db.id).await.unwrap(), Some(updated));
        assert_eq!(store.list_connections().await.unwrap().len(), 2);
    })
    .await;
}

// --- Users ---

/// A user with every field set, and a linked secondary identity holding upstream tokens.
fn full_user(connection: &sigil_core::model::Connection, email: &str) -> User {
    let mut u = user(connection, email);
    u.email_verified = true;
    u.username = Some("ada".to_owned());
    u.name = Some("Ada Lovelace".to_owned());
    u.given_name = Some("Ada".to_owned());
    u.family_name = Some("Lovelace".to_owned());
    u.nickname = Some("countess".to_owned());
    u.picture = Some("https://img.example/ada.png".to_owned());
    u.user_metadata = object(json!({
        "theme": "dark",
        "languages": ["en", "fr"],
        "address": {"city": "London", "zip": null},
        "score": 42,
        "ratio": 1.5,
        "unicode": "Ωμέγα ✓",
    }));
    u.app_metadata = object(json!({"plan": "gold", "roles": [], "flags": {"beta": true}}));
    u.last_login = Some(at(-100));
    u.last_ip = Some("198.51.100.1".to_owned());
    u.logins_count = 7;
    u.password = Some(password_hash());
    u.last_password_reset = Some(at(-50));
    u.identities.push(Identity {
        provider: "oidc".to_owned(),
        user_id: "upstream-1234".to_owned(),
        connection: "corporate-oidc".to_owned(),
        is_social: false,
        access_token: Some(Token::new(
            "upstream-access-token-IN-THE-CLEAR-0123456789".to_owned(),
        )),
        refresh_token: Some(Token::new(
            "upstream-refresh-token-IN-THE-CLEAR-0123456789".to_owned(),
        )),
        expires_in: Some(3600),
        profile_data: Some(object(
            json!({"email": "ada@corp.example", "groups": ["eng"]}),
        )),
    });
    u
}

#[tokio::test]
async fn users_round_trip_with_identities_metadata_and_password() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let ada = full_user(&w.connection, "Ada.Lovelace@Example.com");
        store.create_user(&ada).await.unwrap();

        assert_eq!(store.user(&ada.user_id).await.unwrap(), Some(ada.clone()));
        assert_eq!(
            store
                .user_by_email(&w.connection.id, "ada.lovelace@EXAMPLE.com")
                .await
                .unwrap(),
            Some(ada.clone()),
            "email lookups ignore case"
        );
        assert_eq!(
            store
                .user_by_username(&w.connection.id, "ADA")
                .await
                .unwrap(),
            Some(ada.clone()),
            "username lookups ignore case"
        );
        // The world's user, made by `User::new_database`, round-trips as well.
        assert_eq!(
            store.user(&w.user.user_id).await.unwrap(),
            Some(w.user.clone())
        );

        let other = connection("Another-Database");
        store.create_connection(&other, &[]).await.unwrap();
        assert_eq!(
            store
                .user_by_email(&other.id, "ada.lovelace@example.com")
                .await
                .unwrap(),
            None,
            "lookups stay inside their connection"
        );
        assert_eq!(
            store
                .user(&UserId::from("auth0|000000000000000000000000"))
                .await
                .unwrap(),
            None
        );

        // Upstream tokens are sealed, not stored as they came.
        for column in [
            "SELECT access_token FROM user_identities WHERE identity_id = $1",
            "SELECT refresh_token FROM user_identities WHERE identity_id = $1",
        ] {
            let raw = raw_bytes(store.database(), column, "upstream-1234")
                .await
                .expect("a sealed token");
            assert!(
                !contains(&raw, b"IN-THE-CLEAR"),
                "{column}: stored in the clear"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn emails_usernames_and_ids_are_unique_per_connection_ignoring_case() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let other = connection("Another-Database");
        store.create_connection(&other, &[]).await.unwrap();
        let alice = user(&w.connection, "Alice@Example.com");
        store.create_user(&alice).await.unwrap();
        let mut with_username = user(&w.connection, "bob@example.com");
        with_username.username = Some("Bobby".to_owned());
        store.create_user(&with_username).await.unwrap();
        let emile = user(&w.connection, "Émile@Exemple.fr");
        store.create_user(&emile).await.unwrap();

        let mut same_username = user(&w.connection, "robert@example.com");
        same_username.username = Some("BOBBY".to_owned());
        let mut no_email_1 = user(&w.connection, "x@example.com");
        no_email_1.email = None;
        let mut no_email_2 = user(&w.connection, "y@example.com");
        no_email_2.email = None;
        let same_id = User {
            email: Some("someone-else@example.com".to_owned()),
            ..alice.clone()
        };
        check(
            &store,
            &[
                (
                    "same email, other case, same connection",
                    outcome(
                        &store
                            .create_user(&user(&w.connection, "alice@EXAMPLE.COM"))
                            .await,
                    ),
                    "Conflict(Email)",
                ),
                (
                    "same email with surrounding spaces (normalized() trims)",
                    outcome(
                        &store
                            .create_user(&user(&w.connection, " alice@example.com "))
                            .await,
                    ),
                    "Conflict(Email)",
                ),
                (
                    "same non-ASCII email, other case (É/é)",
                    outcome(
                        &store
                            .create_user(&user(&w.connection, "émile@exemple.FR"))
                            .await,
                    ),
                    "Conflict(Email)",
                ),
                (
                    "same username, other case",
                    outcome(&store.create_user(&same_username).await),
                    "Conflict(Username)",
                ),
                (
                    "same user id",
                    outcome(&store.create_user(&same_id).await),
                    "Conflict(UserId)",
                ),
                (
                    "same email in another connection",
                    outcome(&store.create_user(&user(&other, "alice@example.com")).await),
                    "Ok",
                ),
                (
                    "a first user without an email",
                    outcome(&store.create_user(&no_email_1).await),
                    "Ok",
                ),
                (
                    "a second user without an email",
                    outcome(&store.create_user(&no_email_2).await),
                    "Ok",
                ),
                (
                    "a user of a connection that does not exist",
                    outcome(
                        &store
                            .create_user(&user(&connection("Nowhere"), "n@example.com"))
                            .await,
                    ),
                    "NotFound",
                ),
            ],
        );
        assert_eq!(
            store
                .user_by_email(&w.connection.id, "ÉMILE@EXEMPLE.FR")
                .await
                .unwrap()
                .map(|u| u.user_id),
            Some(emile.user_id),
            "non-ASCII emails are found ignoring case"
        );
        let in_default = UserQuery {
            connection_id: Some(w.connection.id.clone()),
            ..UserQuery::default()
        };
        // world, alice, bob, émile and the two without an email.
        assert_eq!(store.count_users(&in_default).await.unwrap(), 6);
    })
    .await;
}

#[tokio::test]
async fn updates_replace_profile_metadata_password_and_flags_only() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let grace = user(&w.connection, "grace@example.com");
        store.create_user(&grace).await.unwrap();
        store
            .record_login(&grace.user_id, Some("192.0.2.1"), at(5))
            .await
            .unwrap();
        let before = store.user(&grace.user_id).await.unwrap().unwrap();

        let mut changed = before.clone();
        changed.email = Some("Grace.Hopper@Navy.example".to_owned());
        changed.email_verified = true;
        changed.username = Some("amazing-grace".to_owned());
        changed.name = Some("Grace Hopper".to_owned());
        changed.given_name = Some("Grace".to_owned());
        changed.family_name = Some("Hopper".to_owned());
        changed.nickname = None;
        changed.picture = Some("https://img.example/grace.png".to_owned());
        changed.user_metadata = object(json!({"theme": "light"}));
        changed.app_metadata = object(json!({"rank": "rear admiral"}));
        changed.blocked = true;
        changed.password = Some(PasswordHash {
            algorithm: PasswordAlgorithm::Bcrypt,
            encoded: "$2b$10$abcdefghijklmnopqrstuuJ5y9Wq7nQ1uWnG6Yb1cWx3m8R2s4Tz6".to_owned(),
        });
        changed.last_password_reset = Some(at(10));
        changed.updated_at = at(10);
        // Neither identities nor the login counter are the update's to change.
        changed.logins_count = 99;
        changed.identities.push(Identity {
            provider: "oidc".to_owned(),
            user_id: "smuggled".to_owned(),
            connection: "corporate-oidc".to_owned(),
            is_social: false,
            access_token: None,
            refresh_token: None,
            expires_in: None,
            profile_data: None,
        });
        store.update_user(&changed).await.unwrap();

        let expected = User {
            logins_count: before.logins_count,
            identities: before.identities.clone(),
            ..changed.clone()
        };
        assert_eq!(
            store.user(&grace.user_id).await.unwrap(),
            Some(expected.clone())
        );
        assert_eq!(
            store
                .user_by_email(&w.connection.id, "grace.hopper@navy.example")
                .await
                .unwrap(),
            Some(expected.clone()),
            "the new email is found"
        );
        assert_eq!(
            store
                .user_by_email(&w.connection.id, "grace@example.com")
                .await
                .unwrap(),
            None,
            "the old email is free"
        );
        assert_eq!(
            store
                .user_by_username(&w.connection.id, "Amazing-Grace")
                .await
                .unwrap(),
            Some(expected.clone())
        );

        let own_in_capitals = User {
            email: Some("GRACE.HOPPER@NAVY.EXAMPLE".to_owned()),
            ..expected.clone()
        };
        store.update_user(&own_in_capitals).await.unwrap();
        assert_eq!(
            store.user(&grace.user_id).await.unwrap(),
            Some(own_in_capitals.clone()),
            "a user's own email in other case is no conflict, and is stored as given"
        );
        let expected = own_in_capitals;
        let to_taken = User {
            email: Some("WORLD@example.com".to_owned()),
            ..expected.clone()
        };
        let missing = user(&w.connection, "missing@example.com");
        check(
            &store,
            &[
                (
                    "changing the email to another user's, other case",
                    outcome(&store.update_user(&to_taken).await),
                    "Conflict(Email)",
                ),
                (
                    "updating a user that does not exist",
                    outcome(&store.update_user(&missing).await),
                    "NotFound",
                ),
            ],
        );
        assert_eq!(
            store.user(&grace.user_id).await.unwrap(),
            Some(expected),
            "a refused update changes nothing"
        );
    })
    .await;
}

#[tokio::test]
async fn a_reset_password_and_a_verified_email_change_only_themselves() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let id = &w.user.user_id;
        // Another writer changed the user after the reset page read it.
        let mut changed = store.user(id).await.unwrap().unwrap();
        changed.given_name = Some("Changed Meanwhile".to_owned());
        changed.user_metadata = object(json!({"theme": "dark"}));
        store.update_user(&changed).await.unwrap();

        let new = PasswordHash {
            algorithm: PasswordAlgorithm::Argon2,
            encoded: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".to_owned(),
        };
        store.set_password(id, &new, at(50)).await.unwrap();
        store.mark_email_verified(id, at(60)).await.unwrap();

        let now = store.user(id).await.unwrap().unwrap();
        assert_eq!(now.password, Some(new));
        assert_eq!(now.last_password_reset, Some(at(50)));
        assert!(now.email_verified);
        assert_eq!(now.updated_at, at(60));
        assert_eq!(
            now.given_name, changed.given_name,
            "the other write is kept"
        );
        assert_eq!(now.user_metadata, changed.user_metadata);

        let nobody = UserId::from("auth0|nobody");
        assert_eq!(
            outcome(&store.set_password(&nobody, &password_hash(), at(1)).await),
            "NotFound"
        );
        assert_eq!(
            outcome(&store.mark_email_verified(&nobody, at(1)).await),
            "NotFound"
        );
    })
    .await;
}

#[tokio::test]
async fn a_password_is_upgraded_only_while_it_is_unchanged() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let id = &w.user.user_id;
        let old = PasswordHash {
            algorithm: PasswordAlgorithm::Bcrypt,
            encoded: "$2b$04$abcdefghijklmnopqrstuuAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        };
        let mut user = w.user.clone();
        user.password = Some(old.clone());
        store.update_user(&user).await.unwrap();
        let new = PasswordHash {
            algorithm: PasswordAlgorithm::Argon2,
            encoded: "$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3".to_owned(),
        };
        assert!(store.upgrade_password(id, &old, &new).await.unwrap());
        assert_eq!(
            store.user(id).await.unwrap().unwrap().password,
            Some(new.clone())
        );
        // The hash changed meanwhile: a second upgrade from the old one changes nothing.
        let other = PasswordHash {
            algorithm: PasswordAlgorithm::Argon2,
            encoded: "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXI$b3RoZXI".to_owned(),
        };
        assert!(!store.upgrade_password(id, &old, &other).await.unwrap());
        assert_eq!(store.user(id).await.unwrap().unwrap().password, Some(new));
        assert!(
            !store
                .upgrade_password(&sigil_core::ids::UserId::from("auth0|nobody"), &old, &other)
                .await
                .unwrap()
        );
    })
    .await;
}

#[tokio::test]
async fn record_login_counts_logins_atomically() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let id = &w.user.user_id;
        store
            .record_login(id, Some("198.51.100.1"), at(10))
            .await
            .unwrap();
        store
            .record_login(id, Some("198.51.100.2"), at(20))
            .await
            .unwrap();
        let after = store.user(id).await.unwrap().unwrap();
        assert_eq!(
            (
                after.logins_count,
                after.last_login,
                after.last_ip.as_deref()
            ),
            (2, Some(at(20)), Some("198.51.100.2"))
        );
        assert_eq!(
            User {
                logins_count: 0,
                last_login: None,
                last_ip: None,
                ..after
            },
            w.user,
            "nothing else changed"
        );
    })
    .await;
}

#[tokio::test]
async fn deleting_a_user_takes_everything_that_hangs_off_it() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let doomed = full_user(&w.connection, "doomed@example.com");
        store.create_user(&doomed).await.unwrap();
        let id = &doomed.user_id;

        let s = session(id, at(3600));
        store.create_session(&s).await.unwrap();
        let family = FamilyId::generate(&SystemRng);
        let rt = refresh_token(&w.client.client_id, id, &family, None);
        store.create_refresh_token(&rt).await.unwrap();
        let c = code(&w.client.client_id, id, at(60));
        store.create_code(&c).await.unwrap();
        let t = ticket(id, TicketKind::PasswordReset, at(600));
        store.create_ticket(&t).await.unwrap();
        let audience = "https://api.example/";
        store.create_resource_server(&api(audience)).await.unwrap();
        let r = role("member");
        store.create_role(&r).await.unwrap();
        store
            .assign_user_roles(id, std::slice::from_ref(&r.id))
            .await
            .unwrap();
        store
            .add_user_permissions(id, &[permission(audience, "read:things")])
            .await
            .unwrap();
        let consent = Consent {
            id: ConsentId::generate(&SystemRng),
            user_id: id.clone(),
            client_id: w.client.client_id.clone(),
            audience: audience.to_owned(),
            scope: vec!["read:things".to_owned()],
            created_at: at(0),
            updated_at: at(0),
        };
        store.put_consent(&consent).await.unwrap();

        store.delete_user(id).await.unwrap();

        assert_eq!(store.user(id).await.unwrap(), None);
        assert_eq!(store.session(&s.id).await.unwrap(), None, "session");
        assert_eq!(
            store.refresh_token(&rt.digest).await.unwrap(),
            None,
            "refresh token"
        );
        assert_eq!(
            outcome(&store.redeem_code(&c.digest, at(1)).await),
            "NotFound",
            "authorization code"
        );
        assert_eq!(store.ticket(&t.digest).await.unwrap(), None, "ticket");
        assert_eq!(
            store.role_users(&r.id, Page::first()).await.unwrap(),
            Vec::<UserId>::new(),
            "role membership"
        );
        assert_eq!(
            store
                .consent(id, &w.client.client_id, audience)
                .await
                .unwrap(),
            None,
            "consent"
        );
        // Its email and identity are free again; the role and other users stay.
        let again = full_user(&w.connection, "doomed@example.com");
        store.create_user(&again).await.unwrap();
        assert_eq!(store.role(&r.id).await.unwrap(), Some(r));
        assert_eq!(store.user(&w.user.user_id).await.unwrap(), Some(w.user));
    })
    .await;
}

#[tokio::test]
async fn linked_accounts_join_their_primary_and_come_back_on_unlink() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let primary = w.user.user_id.clone();
        let mut second = user(&w.connection, "second@example.com");
        second.user_metadata = object(json!({"lang": "fr"}));
        store.create_user(&second).await.unwrap();
        let third = user(&w.connection, "third@example.com");
        store.create_user(&third).await.unwrap();
        let (s2, s3) = (&second.user_id, &third.user_id);

        // What the secondary held as a user goes; a ticket (its password) stays.
        let s = session(s2, at(3600));
        store.create_session(&s).await.unwrap();
        let family = FamilyId::generate(&SystemRng);
        let rt = refresh_token(&w.client.client_id, s2, &family, None);
        store.create_refresh_token(&rt).await.unwrap();
        let r = role("member");
        store.create_role(&r).await.unwrap();
        store
            .assign_user_roles(s2, std::slice::from_ref(&r.id))
            .await
            .unwrap();
        let t = ticket(s2, TicketKind::PasswordReset, at(600));
        store.create_ticket(&t).await.unwrap();

        let link = |p: &UserId, q: &UserId| {
            let (store, p, q) = (store.clone(), p.clone(), q.clone());
            async move { format!("{:?}", store.link_user(&p, &q, at(10)).await.unwrap()) }
        };
        let nobody = UserId::from("auth0|nobody");
        assert_eq!(link(&primary, &primary).await, "Err(Same)");
        assert_eq!(link(&nobody, s2).await, "Err(NoPrimary)");
        assert_eq!(link(&primary, &nobody).await, "Err(NoSecondary)");
        assert_eq!(link(&primary, s2).await, "Ok(())");
        // Never a chain, never twice.
        assert_eq!(link(&primary, s2).await, "Err(NoSecondary)");
        assert_eq!(link(s2, s3).await, "Err(NoPrimary)");
        assert_eq!(link(s3, &primary).await, "Err(SecondaryHasLinks)");

        let joined = store.user(&primary).await.unwrap().unwrap();
        assert_eq!(joined.identities.len(), 2);
        assert_eq!(joined.identities[0].profile_data, None);
        let linked = &joined.identities[1];
        assert_eq!(linked.user_id, s2.local_part());
        assert_eq!(
            linked.profile_data.as_ref().unwrap()["email"],
            "second@example.com"
        );
        // The linked account is no user of its own: not found by id, not listed, not counted,
        // not deletable; but found by its email (its credentials log in as the primary).
        assert_eq!(store.user(s2).await.unwrap(), None);
        let account = store.account(s2).await.unwrap().unwrap();
        assert_eq!(account.linked_to.as_ref(), Some(&primary));
        assert_eq!(account.email.as_deref(), Some("second@example.com"));
        assert_eq!(
            store.account(&primary).await.unwrap(),
            store.user(&primary).await.unwrap(),
            "a user is an account too"
        );
        let all = UserQuery::default();
        let listed: Vec<UserId> = store
            .list_users(&all, Page::first())
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.user_id)
            .collect();
        assert!(!listed.contains(s2), "{listed:?}");
        assert_eq!(store.count_users(&all).await.unwrap(), 2);
        assert_eq!(outcome(&store.delete_user(s2).await), "NotFound");
        let by_email = store
            .user_by_email(&w.connection.id, "SECOND@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_email.linked_to.as_ref(), Some(&primary));
        assert!(by_email.user_metadata.is_empty(), "metadata goes at link");
        assert_eq!(store.session(&s.id).await.unwrap(), None, "session");
        assert_eq!(store.refresh_token(&rt.digest).await.unwrap(), None);
        assert_eq!(
            store.role_users(&r.id, Page::first()).await.unwrap(),
            Vec::<UserId>::new()
        );
        assert!(store.ticket(&t.digest).await.unwrap().is_some(), "ticket");

        // Unlinking by the identity: only from its primary, once.
        let (provider, local) = (&linked.provider, &linked.user_id);
        assert_eq!(store.unlink_user(s3, provider, local).await.unwrap(), None);
        assert_eq!(
            store.unlink_user(&primary, provider, local).await.unwrap(),
            Some(s2.clone())
        );
        assert_eq!(
            store.unlink_user(&primary, provider, local).await.unwrap(),
            None
        );
        let back = store.user(s2).await.unwrap().unwrap();
        assert_eq!(back.linked_to, None);
        assert_eq!(back.identities.len(), 1);
        assert_eq!(back.identities[0].profile_data, None);
        assert_eq!(
            store
                .user(&primary)
                .await
                .unwrap()
                .unwrap()
                .identities
                .len(),
            1
        );
        assert_eq!(store.count_users(&all).await.unwrap(), 3);

        // Deleting a primary takes the accounts linked to it.
        assert_eq!(link(&primary, s3).await, "Ok(())");
        store.delete_user(&primary).await.unwrap();
        assert_eq!(store.user(s3).await.unwrap(), None);
        assert!(store.user(s2).await.unwrap().is_some());
    })
    .await;
}

#[tokio::test]
async fn users_list_oldest_first_in_pages_and_filter_by_query() {
    on_every_store(|store| async move {
        let a = connection(DEFAULT_DATABASE_CONNECTION);
        let b = connection("Another-Database");
        store.create_connection(&a, &[]).await.unwrap();
        store.create_connection(&b, &[]).await.unwrap();
        let mut everyone = Vec::new();
        for i in 0..10 {
            let (conn, team) = if i < 7 {
                (&a, if i % 2 == 0 { "Team Red" } else { "Team Blue" })
            } else {
                (&b, "Team Red")
            };
            let mut u = user(conn, &format!("user{i}@example.com"));
            u.name = Some(team.to_owned());
            u.created_at = at(i);
            u.updated_at = at(i);
            everyone.push(u);
        }
        // Stored newest first, so that "oldest first" is the store's doing.
        for u in everyone.iter().rev() {
            store.create_user(u).await.unwrap();
        }

        let all = UserQuery::default();
        let pages: Vec<Vec<User>> = [
            store.list_users(&all, Page::new(0, 4)).await.unwrap(),
            store.list_users(&all, Page::new(1, 4)).await.unwrap(),
            store.list_users(&all, Page::new(2, 4)).await.unwrap(),
            store.list_users(&all, Page::new(3, 4)).await.unwrap(),
        ]
        .into();
        assert_eq!(pages[0], everyone[0..4]);
        assert_eq!(pages[1], everyone[4..8]);
        assert_eq!(pages[2], everyone[8..10]);
        assert!(pages[3].is_empty(), "paging ends with an empty page");

        let ids = |users: Vec<User>| users.into_iter().map(|u| u.user_id).collect::<Vec<_>>();
        let pick = |is: &[usize]| {
            is.iter()
                .map(|&i| everyone[i].user_id.clone())
                .collect::<Vec<_>>()
        };
        let queries = [
            (
                "everyone",
                all.clone(),
                pick(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
            ),
            (
                "connection b",
                UserQuery {
                    connection_id: Some(b.id.clone()),
                    ..UserQuery::default()
                },
                pick(&[7, 8, 9]),
            ),
            (
                "email, other case",
                UserQuery {
                    email: Some("USER3@Example.COM".to_owned()),
                    ..UserQuery::default()
                },
                pick(&[3]),
            ),
            (
                "name, exactly",
                UserQuery {
                    name: Some("Team Blue".to_owned()),
                    ..UserQuery::default()
                },
                pick(&[1, 3, 5]),
            ),
            (
                "name and connection",
                UserQuery {
                    connection_id: Some(a.id.clone()),
                    name: Some("Team Red".to_owned()),
                    ..UserQuery::default()
                },
                pick(&[0, 2, 4, 6]),
            ),
            (
                "user id",
                UserQuery {
                    user_id: Some(everyone[5].user_id.clone()),
                    ..UserQuery::default()
                },
                pick(&[5]),
            ),
            (
                "nobody",
                UserQuery {
                    email: Some("nobody@example.com".to_owned()),
                    ..UserQuery::default()
                },
                pick(&[]),
            ),
        ];
        for (case, query, want) in queries {
            let listed = ids(store.list_users(&query, Page::first()).await.unwrap());
            assert_eq!(listed, want, "list: {case}");
            let counted = store.count_users(&query).await.unwrap();
            assert_eq!(counted, want.len() as u64, "count: {case}");
        }

        // Sorted: by email descending (user9 … user0), and by last login with the users who
        // never logged in last, on both backends alike.
        let sorted = |field, descending| UserQuery {
            sort: Some(UserSort { field, descending }),
            ..UserQuery::default()
        };
        let by_email = ids(store
            .list_users(&sorted(UserSortField::Email, true), Page::first())
            .await
            .unwrap());
        assert_eq!(by_email, pick(&[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]));
        store
            .record_login(&everyone[4].user_id, None, at(50))
            .await
            .unwrap();
        store
            .record_login(&everyone[2].user_id, None, at(60))
            .await
            .unwrap();
        let by_login = ids(store
            .list_users(&sorted(UserSortField::LastLogin, false), Page::new(0, 3))
            .await
            .unwrap());
        assert_eq!(
            by_login,
            pick(&[4, 2, 0]),
            "logged in first, then the rest oldest first"
        );
        let by_login_desc = ids(store
            .list_users(&sorted(UserSortField::LastLogin, true), Page::new(0, 2))
            .await
            .unwrap());
        assert_eq!(
            by_login_desc,
            pick(&[2, 4]),
            "never-logged-in users last either way"
        );
    })
    .await;
}

#[tokio::test]
async fn users_made_in_the_same_second_page_without_gaps_or_repeats() {
    on_every_store(|store| async move {
        let conn = connection(DEFAULT_DATABASE_CONNECTION);
        store.create_connection(&conn, &[]).await.unwrap();
        let mut made = BTreeSet::new();
        for i in 0..10 {
            let u = user(&conn, &format!("tie{i}@example.com"));
            store.create_user(&u).await.unwrap();
            made.insert(u.user_id);
        }
        let mut listed = Vec::new();
        for page in 0..4 {
            let users = store
                .list_users(&UserQuery::default(), Page::new(page, 3))
                .await
                .unwrap();
            listed.extend(users.into_iter().map(|u| u.user_id));
        }
        assert_eq!(listed.len(), 10, "{listed:?}");
        assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), made);
    })
    .await;
}

#[tokio::test]
async fn import_reports_each_row_and_never_aborts_the_batch() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let first = user(&w.connection, "first@example.com");
        let second = user(&w.connection, "second@example.com");
        let mut with_username = user(&w.connection, "third@example.com");
        with_username.username = Some("Third".to_owned());
        let mut same_username = user(&w.connection, "fourth@example.com");
        same_username.username = Some("THIRD".to_owned());
        let batch = [
            first.clone(),
            user(&w.connection, "WORLD@EXAMPLE.COM"), // taken before the import
            second.clone(),
            user(&w.connection, "First@Example.com"), // taken earlier in this batch
            User {
                email: Some("fifth@example.com".to_owned()),
                ..second.clone()
            }, // same user id as an earlier row
            with_username.clone(),
            same_username,
            user(&w.connection, "last@example.com"),
        ];
        // The last user brings an authenticator app (`mfa_factors`), and so does a refused row.
        let factor = |user: &User| Authenticator {
            id: format!("totp|dev_{}", user.user_id.local_part()),
            user_id: user.user_id.clone(),
            kind: AuthenticatorKind::Totp,
            name: None,
            secret: AuthenticatorSecret::Totp(TotpSecret::generate(&SystemRng)),
            confirmed_at: Some(at(0)),
            created_at: at(0),
            last_auth_at: None,
        };
        let mut entries: Vec<(User, Vec<Authenticator>)> =
            batch.iter().map(|u| (u.clone(), Vec::new())).collect();
        entries[1].1.push(factor(&batch[1]));
        entries[7].1.push(factor(&batch[7]));
        let results = store.import_users(&entries).await.unwrap();
        use sigil_core::Conflict::{Email, UserId as Id, Username};
        assert_eq!(
            results,
            vec![
                Ok(()),
                Err(Email),
                Ok(()),
                Err(Email),
                Err(Id),
                Ok(()),
                Err(Username),
                Ok(()),
            ]
        );
        for (u, result) in batch.iter().zip(&results) {
            let stored = store
                .user_by_email(&w.connection.id, u.email.as_deref().unwrap())
                .await
                .unwrap();
            if result.is_ok() {
                let stored = stored.unwrap();
                let enrolled = store.authenticators(&u.user_id).await.unwrap();
                assert_eq!(
                    (stored.mfa_enrolled_at, enrolled.len()),
                    if *u == batch[7] {
                        (Some(at(0)), 1)
                    } else {
                        (None, 0)
                    },
                    "{:?}",
                    u.email
                );
                let stored = User {
                    mfa_enrolled_at: None,
                    ..stored
                };
                assert_eq!(&stored, u, "imported as given");
            } else {
                assert_ne!(stored.as_ref(), Some(u), "a refused row is not stored");
            }
        }
        assert_eq!(store.count_users(&UserQuery::default()).await.unwrap(), 5);
        assert!(
            store
                .authenticators(&batch[1].user_id)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.import_users(&[]).await.unwrap(), Vec::new());
    })
    .await;
}

// --- Clients ---

#[tokio::test]
async fn clients_round_trip_with_the_secret_digested_and_the_signing_secret_sealed() {
    on_every_store(|store| async move {
        let secret = ClientSecret::generate(&SystemRng);
        let public_pem = PrivateKey::generate(KeySpec::P256)
            .unwrap()
            .public_key()
            .unwrap()
            .to_pem()
            .unwrap();
        let mut web = client("Regular Web App", AppType::RegularWeb);
        web.is_first_party = false;
        web.secret_digest = Some(secret.digest());
        web.signing_secret = Some(secret.clone());
        let s = &mut web.settings;
        s.description = Some("A web app, ünïcode included".to_owned());
        s.logo_uri = Some("https://app.example/logo.svg".to_owned());
        s.callbacks = vec![
            "https://app.example/callback".to_owned(),
            "http://localhost:3000/callback".to_owned(),
        ];
        s.allowed_logout_urls = vec!["https://app.example/".to_owned()];
        s.web_origins = vec!["https://app.example".to_owned()];
        s.allowed_origins = vec!["https://other.example".to_owned()];
        s.grant_types = vec![GrantType::AuthorizationCode, GrantType::DeviceCode];
        s.token_endpoint_auth_method = TokenEndpointAuthMethod::PrivateKeyJwt;
        s.jwt_configuration = JwtConfiguration {
            alg: Algorithm::HS256,
            lifetime_in_seconds: 3600,
        };
        s.refresh_token = RefreshTokenPolicy {
            leeway: 30,
            ..RefreshTokenPolicy::rotating()
        };
        s.client_metadata
            .insert("tier".to_owned(), "premium".to_owned());
        s.client_metadata
            .insert("owner".to_owned(), "team-x".to_owned());
        s.credentials = vec![ClientCredential {
            id: "cred_0123456789abcdef".to_owned(),
            name: Some("deploy key".to_owned()),
            kid: Some("deploy-2024".to_owned()),
            alg: Algorithm::ES256,
            pem: public_pem,
            created_at: at(-10),
        }];
        s.oidc_conformant = false;
        let spa = client("Single Page App", AppType::Spa);
        let m2m = client("Machine", AppType::NonInteractive);
        for c in [&web, &spa, &m2m] {
            store.create_client(c).await.unwrap();
        }
        for c in [&web, &spa, &m2m] {
            assert_eq!(store.client(&c.client_id).await.unwrap().as_ref(), Some(c));
        }
        assert_eq!(spa.secret_digest, None, "a public client has no secret");
        assert_eq!(
            store
                .client(&sigil_core::ids::ClientId::from("missing"))
                .await
                .unwrap(),
            None
        );
        let same_id = client("Impostor", AppType::Spa);
        let same_id = sigil_core::model::Client {
            client_id: web.client_id.clone(),
            ..same_id
        };
        check(
            &store,
            &[(
                "a second client with a taken client_id",
                outcome(&store.create_client(&same_id).await),
                "Conflict(Client)",
            )],
        );

        let db = store.database();
        let id = web.client_id.as_str();
        let sealed = raw_bytes(
            db,
            "SELECT signing_secret FROM clients WHERE client_id = $1",
            id,
        )
        .await
        .expect("a sealed signing secret");
        assert!(
            !contains(&sealed, secret.expose().as_bytes()),
            "clients.signing_secret holds the secret in the clear"
        );
        let digest = raw_bytes(
            db,
            "SELECT secret_digest FROM clients WHERE client_id = $1",
            id,
        )
        .await
        .expect("a digest");
        assert_eq!(
            digest,
            secret.digest().0.to_vec(),
            "secret_digest is the 32-byte SHA-256"
        );
        let none = raw_bytes(
            db,
            "SELECT signing_secret FROM clients WHERE client_id = $1",
            spa.client_id.as_str(),
        )
        .await;
        assert_eq!(none, None);
    })
    .await;
}

#[tokio::test]
async fn clients_list_in_pages_update_and_delete_with_their_grants() {
    on_every_store(|store| async move {
        let mut clients = Vec::new();
        for (i, kind) in [AppType::Spa, AppType::Native, AppType::RegularWeb]
            .into_iter()
            .enumerate()
        {
            let mut c = client(&format!("App {i}"), kind);
            c.created_at = at(i as i64);
            c.updated_at = at(i as i64);
            clients.push(c);
        }
        for c in clients.iter().rev() {
            store.create_client(c).await.unwrap();
        }
        assert_eq!(
            store.list_clients(Page::new(0, 2)).await.unwrap(),
            clients[0..2]
        );
        assert_eq!(
            store.list_clients(Page::new(1, 2)).await.unwrap(),
            clients[2..3]
        );
        assert!(
            store
                .list_clients(Page::new(2, 2))
                .await
                .unwrap()
                .is_empty()
        );

        // Rotate the secret, switch to HS256 ID tokens and rename.
        let secret = ClientSecret::generate(&SystemRng);
        let mut updated = clients[2].clone();
        updated.name = "Renamed".to_owned();
        updated.secret_digest = Some(secret.digest());
        updated.signing_secret = Some(secret);
        updated.settings.callbacks = vec!["https://new.example/cb".to_owned()];
        updated.settings.jwt_configuration.alg = Algorithm::HS256;
        updated.updated_at = at(50);
        store.update_client(&updated).await.unwrap();
        assert_eq!(
            store.client(&updated.client_id).await.unwrap(),
            Some(updated.clone())
        );
        // And back: the sealed secret goes away.
        let plain = sigil_core::model::Client {
            signing_secret: None,
            updated_at: at(60),
            ..updated.clone()
        };
        store.update_client(&plain).await.unwrap();
        assert_eq!(
            store.client(&plain.client_id).await.unwrap(),
            Some(plain.clone())
        );

        let audience = "https://api.example/";
        store.create_resource_server(&api(audience)).await.unwrap();
        let grant = ClientGrant {
            id: ClientGrantId::generate(&SystemRng),
            client_id: plain.client_id.clone(),
            audience: audience.to_owned(),
            scope: vec!["read:things".to_owned()],
            created_at: at(0),
        };
        store.create_client_grant(&grant).await.unwrap();
        let conn = connection(DEFAULT_DATABASE_CONNECTION);
        store.create_connection(&conn, &[]).await.unwrap();
        let u = user(&conn, "someone@example.com");
        store.create_user(&u).await.unwrap();
        let c = code(&plain.client_id, &u.user_id, at(60));
        store.create_code(&c).await.unwrap();
        let family = FamilyId::generate(&SystemRng);
        let rt = refresh_token(&plain.client_id, &u.user_id, &family, None);
        store.create_refresh_token(&rt).await.unwrap();

        store.delete_client(&plain.client_id).await.unwrap();
        assert_eq!(store.client(&plain.client_id).await.unwrap(), None);
        assert_eq!(
            store.refresh_token(&rt.digest).await.unwrap(),
            None,
            "its refresh token"
        );
        assert_eq!(
            outcome(&store.redeem_code(&c.digest, at(1)).await),
            "NotFound",
            "its code"
        );
        assert_eq!(
            store.user(&u.user_id).await.unwrap(),
            Some(u),
            "its users stay"
        );
        assert_eq!(
            store.client_grant(&grant.id).await.unwrap(),
            None,
            "its grant"
        );
        assert_eq!(
            store
                .client_grant_for(&plain.client_id, audience)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store.list_clients(Page::first()).await.unwrap(),
            clients[0..2]
        );
    })
    .await;
}

#[tokio::test]
async fn client_origins_are_every_clients_web_and_allowed_origins_once() {
    on_every_store(|store| async move {
        assert!(store.client_origins().await.unwrap().is_empty());
        let mut spa = client("SPA", AppType::Spa);
        spa.settings.web_origins = vec![
            "https://b.example".to_owned(),
            "https://a.example".to_owned(),
        ];
        spa.settings.allowed_origins = vec!["https://cors.example".to_owned()];
        let mut other = client("Other SPA", AppType::Spa);
        other.settings.web_origins = vec!["https://a.example".to_owned()];
        let machine = client("Machine", AppType::NonInteractive);
        for c in [&spa, &other, &machine] {
            store.create_client(c).await.unwrap();
        }
        assert_eq!(
            store.client_origins().await.unwrap(),
            [
                "https://a.example",
                "https://b.example",
                "https://cors.example"
            ]
        );
        store.delete_client(&spa.client_id).await.unwrap();
        assert_eq!(store.client_origins().await.unwrap(), ["https://a.example"]);
    })
    .await;
}

// --- APIs and client grants ---

#[tokio::test]
async fn resource_servers_round_trip_are_unique_update_and_delete_with_what_hangs_off_them() {
    on_every_store(|store| async move {
        let mut orders = api("https://orders.example/");
        orders.name = "Orders".to_owned();
        orders.is_system = true;
        orders.scopes = vec![
            ResourceServerScope {
                value: "read:orders".to_owned(),
                description: "Read orders".to_owned(),
            },
            ResourceServerScope {
                value: "write:orders".to_owned(),
                description: String::new(),
            },
        ];
        orders.signing_alg = Algorithm::PS256;
        orders.token_lifetime = 600;
        orders.token_lifetime_for_web = 300;
        orders.enforce_policies = true;
        orders.token_dialect = TokenDialect::Rfc9068ProfileAuthz;
        orders.allow_offline_access = true;
        orders.skip_consent_for_verifiable_first_party_clients = false;
        let mut plain = api("https://plain.example/");
        plain.created_at = at(1);
        plain.updated_at = at(1);
        store.create_resource_server(&orders).await.unwrap();
        store.create_resource_server(&plain).await.unwrap();

        assert_eq!(
            store.resource_server(&orders.id).await.unwrap(),
            Some(orders.clone())
        );
        assert_eq!(
            store
                .resource_server_by_identifier("https://orders.example/")
                .await
                .unwrap(),
            Some(orders.clone())
        );
        assert_eq!(
            store
                .resource_server_by_identifier("https://missing.example/")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store.list_resource_servers(Page::new(0, 1)).await.unwrap(),
            vec![orders.clone()]
        );
        assert_eq!(
            store.list_resource_servers(Page::new(1, 1)).await.unwrap(),
            vec![plain.clone()]
        );

        let same_identifier = api("https://orders.example/");
        let same_id = sigil_core::model::ResourceServer {
            identifier: "https://third.example/".to_owned(),
            ..plain.clone()
        };
        check(
            &store,
            &[
                (
                    "a second API with a taken identifier",
                    outcome(&store.create_resource_server(&same_identifier).await),
                    "Conflict(ResourceServer)",
                ),
                (
                    "a second API with a taken id",
                    outcome(&store.create_resource_server(&same_id).await),
                    "Conflict(ResourceServer)",
                ),
            ],
        );

        let mut updated = orders.clone();
        updated.name = "Orders v2".to_owned();
        updated.scopes.pop();
        updated.token_dialect = TokenDialect::AccessToken;
        updated.enforce_policies = false;
        updated.updated_at = at(30);
        store.update_resource_server(&updated).await.unwrap();
        assert_eq!(
            store.resource_server(&orders.id).await.unwrap(),
            Some(updated.clone())
        );

        // Deleting the API takes its grants and the role and user permissions on it.
        let w = world(&store).await;
        let grant = ClientGrant {
            id: ClientGrantId::generate(&SystemRng),
            client_id: w.client.client_id.clone(),
            audience: orders.identifier.clone(),
            scope: vec!["read:orders".to_owned()],
            created_at: at(0),
        };
        store.create_client_grant(&grant).await.unwrap();
        let r = role("clerk");
        store.create_role(&r).await.unwrap();
        let on_orders = permission(&orders.identifier, "read:orders");
        let on_plain = permission(&plain.identifier, "read:plain");
        store
            .add_role_permissions(&r.id, &[on_orders.clone(), on_plain.clone()])
            .await
            .unwrap();
        store
            .add_user_permissions(&w.user.user_id, &[on_orders.clone(), on_plain.clone()])
            .await
            .unwrap();

        store.delete_resource_server(&orders.id).await.unwrap();
        assert_eq!(store.resource_server(&orders.id).await.unwrap(), None);
        assert_eq!(
            store.client_grant(&grant.id).await.unwrap(),
            None,
            "its grant"
        );
        assert_eq!(
            store.role_permissions(&r.id).await.unwrap(),
            vec![on_plain.clone()],
            "role permissions"
        );
        assert_eq!(
            store.user_permissions(&w.user.user_id).await.unwrap(),
            vec![on_plain],
            "user permissions"
        );
        assert_eq!(
            store.list_resource_servers(Page::first()).await.unwrap(),
            vec![plain]
        );
    })
    .await;
}

#[tokio::test]
async fn client_grants_round_trip_one_per_client_and_api_and_need_both() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let machine = client("Machine", AppType::NonInteractive);
        store.create_client(&machine).await.unwrap();
        let (one, two) = ("https://one.example/", "https://two.example/");
        store.create_resource_server(&api(one)).await.unwrap();
        store.create_resource_server(&api(two)).await.unwrap();
        let grant = |client: &sigil_core::model::Client, audience: &str, n: i64| ClientGrant {
            id: ClientGrantId::generate(&SystemRng),
            client_id: client.client_id.clone(),
            audience: audience.to_owned(),
            scope: vec!["read:a".to_owned(), "write:a".to_owned()],
            created_at: at(n),
        };
        let m1 = grant(&machine, one, 0);
        let m2 = grant(&machine, two, 1);
        let w1 = grant(&w.client, one, 2);
        for g in [&m1, &m2, &w1] {
            store.create_client_grant(g).await.unwrap();
        }
        assert_eq!(store.client_grant(&m1.id).await.unwrap(), Some(m1.clone()));
        assert_eq!(
            store
                .client_grant_for(&machine.client_id, one)
                .await
                .unwrap(),
            Some(m1.clone())
        );
        assert_eq!(
            store
                .client_grant_for(&machine.client_id, "https://missing.example/")
                .await
                .unwrap(),
            None
        );

        let missing_client = sigil_core::model::Client {
            client_id: sigil_core::ids::ClientId::from("no-such-client"),
            ..machine.clone()
        };
        check(
            &store,
            &[
                (
                    "a second grant for the same client and API",
                    outcome(&store.create_client_grant(&grant(&machine, one, 9)).await),
                    "Conflict(ClientGrant)",
                ),
                (
                    "a grant for a client that does not exist",
                    outcome(
                        &store
                            .create_client_grant(&grant(&missing_client, one, 9))
                            .await,
                    ),
                    "NotFound",
                ),
                (
                    "a grant for an API that does not exist",
                    outcome(
                        &store
                            .create_client_grant(&grant(&machine, "https://missing.example/", 9))
                            .await,
                    ),
                    "NotFound",
                ),
            ],
        );

        let listings = [
            ("all", None, None, vec![&m1, &m2, &w1]),
            ("one client", Some(&machine.client_id), None, vec![&m1, &m2]),
            ("one API", None, Some(one), vec![&m1, &w1]),
            ("both", Some(&w.client.client_id), Some(one), vec![&w1]),
            ("none", Some(&w.client.client_id), Some(two), vec![]),
        ];
        for (case, client, audience, want) in listings {
            let got = store
                .list_client_grants(client, audience, Page::first())
                .await
                .unwrap();
            assert_eq!(got, want.into_iter().cloned().collect::<Vec<_>>(), "{case}");
        }
        assert_eq!(
            store
                .list_client_grants(None, None, Page::new(1, 2))
                .await
                .unwrap(),
            vec![w1.clone()]
        );

        let scope = vec!["read:a".to_owned()];
        store.update_client_grant(&m1.id, &scope).await.unwrap();
        assert_eq!(
            store.client_grant(&m1.id).await.unwrap(),
            Some(ClientGrant {
                scope,
                ..m1.clone()
            })
        );
        store.delete_client_grant(&m1.id).await.unwrap();
        assert_eq!(store.client_grant(&m1.id).await.unwrap(), None);
        assert_eq!(
            store
                .client_grant_for(&machine.client_id, one)
                .await
                .unwrap(),
            None
        );
        // The slot is free again.
        store
            .create_client_grant(&grant(&machine, one, 10))
            .await
            .unwrap();
    })
    .await;
}

// --- Roles and permissions ---

#[tokio::test]
async fn roles_permissions_and_effective_permissions() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let user = &w.user.user_id;
        let (one, two) = ("https://one.example/", "https://two.example/");
        store.create_resource_server(&api(one)).await.unwrap();
        store.create_resource_server(&api(two)).await.unwrap();
        let viewer = role("viewer");
        let admin = role("admin");
        let editor = role("editor");
        for r in [&viewer, &admin, &editor] {
            store.create_role(r).await.unwrap();
        }
        assert_eq!(store.role(&admin.id).await.unwrap(), Some(admin.clone()));
        assert_eq!(
            store.list_roles(Page::first()).await.unwrap(),
            vec![admin.clone(), editor.clone(), viewer.clone()],
            "by name"
        );
        assert_eq!(
            store.list_roles(Page::new(1, 2)).await.unwrap(),
            vec![viewer.clone()]
        );
        check(
            &store,
            &[(
                "a second role with a taken name",
                outcome(&store.create_role(&role("admin")).await),
                "Conflict(Role)",
            )],
        );
        let renamed = sigil_core::model::Role {
            name: "administrator".to_owned(),
            description: "Everything".to_owned(),
            ..admin.clone()
        };
        store.update_role(&renamed).await.unwrap();
        assert_eq!(store.role(&admin.id).await.unwrap(), Some(renamed.clone()));

        // Role permissions: adding twice keeps one, listing is sorted.
        let p = permission;
        store
            .add_role_permissions(
                &admin.id,
                &[p(two, "read:y"), p(one, "write:x"), p(one, "read:x")],
            )
            .await
            .unwrap();
        store
            .add_role_permissions(&admin.id, &[p(one, "read:x")])
            .await
            .unwrap();
        assert_eq!(
            store.role_permissions(&admin.id).await.unwrap(),
            vec![p(one, "read:x"), p(one, "write:x"), p(two, "read:y")]
        );
        store
            .remove_role_permissions(&admin.id, &[p(one, "write:x")])
            .await
            .unwrap();
        assert_eq!(
            store.role_permissions(&admin.id).await.unwrap(),
            vec![p(one, "read:x"), p(two, "read:y")]
        );
        store
            .add_role_permissions(&editor.id, &[p(one, "edit:x"), p(one, "read:x")])
            .await
            .unwrap();

        // User roles: assigning twice keeps one, listing is by name.
        store
            .assign_user_roles(user, &[editor.id.clone(), admin.id.clone()])
            .await
            .unwrap();
        store
            .assign_user_roles(user, std::slice::from_ref(&admin.id))
            .await
            .unwrap();
        assert_eq!(
            store.user_roles(user).await.unwrap(),
            vec![renamed.clone(), editor.clone()]
        );
        assert_eq!(
            store.role_users(&admin.id, Page::first()).await.unwrap(),
            vec![user.clone()]
        );

        // Direct permissions.
        store
            .add_user_permissions(user, &[p(one, "delete:x"), p(one, "read:x")])
            .await
            .unwrap();
        store
            .add_user_permissions(user, &[p(one, "delete:x")])
            .await
            .unwrap();
        assert_eq!(
            store.user_permissions(user).await.unwrap(),
            vec![p(one, "delete:x"), p(one, "read:x")]
        );

        // Effective: the union for one audience, sorted, without repeats.
        let effective = |aud: &'static str| {
            let store = store.clone();
            let user = user.clone();
            async move { store.effective_permissions(&user, aud).await.unwrap() }
        };
        assert_eq!(effective(one).await, ["delete:x", "edit:x", "read:x"]);
        assert_eq!(effective(two).await, ["read:y"]);
        assert_eq!(
            effective("https://none.example/").await,
            Vec::<String>::new()
        );

        store
            .remove_user_roles(user, std::slice::from_ref(&editor.id))
            .await
            .unwrap();
        assert_eq!(effective(one).await, ["delete:x", "read:x"]);
        store
            .remove_user_permissions(user, &[p(one, "read:x")])
            .await
            .unwrap();
        assert_eq!(
            effective(one).await,
            ["delete:x", "read:x"],
            "read:x still comes through the admin role"
        );
        store.delete_role(&admin.id).await.unwrap();
        assert_eq!(store.role(&admin.id).await.unwrap(), None);
        assert_eq!(store.user_roles(user).await.unwrap(), Vec::new());
        assert_eq!(
            effective(one).await,
            ["delete:x"],
            "the role's grants are gone"
        );
        assert_eq!(effective(two).await, Vec::<String>::new());

        // Role members page.
        let mut members = BTreeSet::new();
        for i in 0..3 {
            let u = crate::fixtures::user(&w.connection, &format!("member{i}@example.com"));
            store.create_user(&u).await.unwrap();
            store
                .assign_user_roles(&u.user_id, std::slice::from_ref(&viewer.id))
                .await
                .unwrap();
            members.insert(u.user_id);
        }
        let page0 = store.role_users(&viewer.id, Page::new(0, 2)).await.unwrap();
        let page1 = store.role_users(&viewer.id, Page::new(1, 2)).await.unwrap();
        assert_eq!((page0.len(), page1.len()), (2, 1));
        let listed: BTreeSet<UserId> = page0.into_iter().chain(page1).collect();
        assert_eq!(listed, members, "the pages cover every member once");
    })
    .await;
}

// --- Consents ---

#[tokio::test]
async fn consents_upsert_keeps_id_and_creation_time_and_replaces_scopes() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let other_client = client("Other", AppType::RegularWeb);
        store.create_client(&other_client).await.unwrap();
        let audience = "https://api.example/";
        let first = Consent {
            id: ConsentId::generate(&SystemRng),
            user_id: w.user.user_id.clone(),
            client_id: w.client.client_id.clone(),
            audience: audience.to_owned(),
            scope: vec!["openid".to_owned(), "read:x".to_owned()],
            created_at: at(0),
            updated_at: at(0),
        };
        assert_eq!(store.put_consent(&first).await.unwrap(), first);
        assert_eq!(
            store
                .consent(&w.user.user_id, &w.client.client_id, audience)
                .await
                .unwrap(),
            Some(first.clone())
        );

        let again = Consent {
            id: ConsentId::generate(&SystemRng),
            scope: vec!["openid".to_owned(), "write:x".to_owned()],
            created_at: at(50),
            updated_at: at(50),
            ..first.clone()
        };
        let expected = Consent {
            id: first.id.clone(),
            created_at: first.created_at,
            ..again.clone()
        };
        assert_eq!(store.put_consent(&again).await.unwrap(), expected);
        assert_eq!(
            store
                .consent(&w.user.user_id, &w.client.client_id, audience)
                .await
                .unwrap(),
            Some(expected.clone())
        );

        let elsewhere = Consent {
            id: ConsentId::generate(&SystemRng),
            client_id: other_client.client_id.clone(),
            ..first.clone()
        };
        store.put_consent(&elsewhere).await.unwrap();
        let user = Some(&w.user.user_id);
        let listed = store
            .list_consents(user, None, Page::first())
            .await
            .unwrap();
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert_eq!(
            store
                .list_consents(None, Some(&other_client.client_id), Page::first())
                .await
                .unwrap(),
            vec![elsewhere.clone()]
        );
        assert_eq!(
            store
                .list_consents(user, Some(&w.client.client_id), Page::first())
                .await
                .unwrap(),
            vec![expected.clone()]
        );
        store.delete_consent(&expected.id).await.unwrap();
        assert_eq!(
            store
                .consent(&w.user.user_id, &w.client.client_id, audience)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .list_consents(None, None, Page::first())
                .await
                .unwrap(),
            vec![elsewhere]
        );
    })
    .await;
}

// --- Runtime state ---

#[tokio::test]
async fn sessions_round_trip_and_touching_adds_the_client_once() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let other_client = client("Other", AppType::RegularWeb);
        store.create_client(&other_client).await.unwrap();
        let s = session(&w.user.user_id, at(3600));
        store.create_session(&s).await.unwrap();
        assert_eq!(store.session(&s.id).await.unwrap(), Some(s.clone()));
        assert_eq!(
            store.session_by_cookie(&s.cookie_digest).await.unwrap(),
            Some(s.clone())
        );
        assert_eq!(
            store.session_by_cookie(&token().digest()).await.unwrap(),
            None
        );

        let first = &w.client.client_id;
        store
            .touch_session(&s.id, at(10), at(1800), Some(first))
            .await
            .unwrap();
        store
            .touch_session(&s.id, at(20), at(1810), Some(first))
            .await
            .unwrap();
        let touched = store.session(&s.id).await.unwrap().unwrap();
        assert_eq!(
            touched,
            sigil_core::model::Session {
                last_seen_at: at(20),
                idle_expires_at: at(1810),
                clients: vec![first.clone()],
                ..s.clone()
            }
        );
        store
            .touch_session(&s.id, at(30), at(1820), Some(&other_client.client_id))
            .await
            .unwrap();
        store
            .touch_session(&s.id, at(40), at(1830), None)
            .await
            .unwrap();
        let touched = store.session(&s.id).await.unwrap().unwrap();
        let clients: BTreeSet<_> = touched.clients.iter().cloned().collect();
        assert_eq!(touched.clients.len(), 2, "{:?}", touched.clients);
        assert_eq!(
            clients,
            BTreeSet::from([first.clone(), other_client.client_id.clone()])
        );
        assert_eq!(
            (touched.last_seen_at, touched.idle_expires_at),
            (at(40), at(1830))
        );

        // Methods recorded beyond the login: one per name, the latest time, oldest first; an
        // unknown session records nothing; they end with their session.
        let mfa = "https://mfa.example.com";
        for (name, when) in [(mfa, 50), ("https://other.example.com", 60), (mfa, 70)] {
            store
                .record_session_method(&s.id, name, at(when))
                .await
                .unwrap();
        }
        assert_eq!(
            store.session_methods(&s.id).await.unwrap(),
            vec![
                ("https://other.example.com".to_owned(), at(60)),
                (mfa.to_owned(), at(70))
            ]
        );
        let unknown = sigil_core::ids::SessionId::generate(&SystemRng);
        store
            .record_session_method(&unknown, mfa, at(80))
            .await
            .unwrap();
        assert_eq!(store.session_methods(&unknown).await.unwrap(), vec![]);

        store.delete_session(&s.id).await.unwrap();
        assert_eq!(store.session(&s.id).await.unwrap(), None);
        assert_eq!(store.session_methods(&s.id).await.unwrap(), vec![]);
        for _ in 0..2 {
            store
                .create_session(&session(&w.user.user_id, at(3600)))
                .await
                .unwrap();
        }
        assert_eq!(
            store.delete_user_sessions(&w.user.user_id).await.unwrap(),
            2
        );
        assert_eq!(
            store.delete_user_sessions(&w.user.user_id).await.unwrap(),
            0
        );
        let holder = session(&w.user.user_id, at(3600));
        store.create_session(&holder).await.unwrap();
        let same_cookie = sigil_core::model::Session {
            id: sigil_core::ids::SessionId::generate(&SystemRng),
            ..holder.clone()
        };
        check(
            &store,
            &[(
                "a second session with a taken cookie",
                outcome(&store.create_session(&same_cookie).await),
                "Conflict(Token)",
            )],
        );
    })
    .await;
}

#[tokio::test]
async fn codes_come_back_as_stored_when_redeemed() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let mut minimal = code(&w.client.client_id, &w.user.user_id, at(60));
        minimal.session_id = None;
        minimal.audience = None;
        minimal.nonce = None;
        minimal.code_challenge = None;
        minimal.scope = Vec::new();
        let mut full = code(&w.client.client_id, &w.user.user_id, at(60));
        full.actions = Some(sigil_core::actions::PostLogin {
            id_token: vec![(
                "https://e.com/roles".to_owned(),
                serde_json::json!(["admin"]),
            )],
            access_token: vec![("tier".to_owned(), serde_json::json!({"level": 2}))],
            add_scopes: vec!["read:x".to_owned()],
            remove_scopes: vec!["write:x".to_owned()],
            redirect: None,
            executions: vec!["e1".to_owned()],
            record_methods: Vec::new(),
            multifactor: None,
            amr: vec!["mfa".to_owned()],
            acr: Some("http://schemas.openid.net/pape/policies/2007/06/multi-factor".to_owned()),
        });
        for c in [&full, &minimal] {
            store.create_code(c).await.unwrap();
            let redeemed = store.redeem_code(&c.digest, at(1)).await.unwrap();
            // Whether the returned record shows the redemption time is not the contract's.
            assert_eq!(
                &AuthorizationCode {
                    used_at: None,
                    ..redeemed
                },
                c
            );
        }
    })
    .await;
}

#[tokio::test]
async fn refresh_tokens_round_trip_rotate_touch_and_revoke() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let (client_id, user_id) = (&w.client.client_id, &w.user.user_id);
        let family = FamilyId::generate(&SystemRng);
        let first = refresh_token(client_id, user_id, &family, Some(at(86_400)));
        store.create_refresh_token(&first).await.unwrap();
        assert_eq!(
            store.refresh_token(&first.digest).await.unwrap(),
            Some(first.clone())
        );
        assert_eq!(store.refresh_token(&token().digest()).await.unwrap(), None);

        let second = child_of(&first, at(10));
        assert_eq!(
            store
                .rotate_refresh_token(&first.digest, &second, at(10))
                .await
                .unwrap(),
            first,
            "rotation returns the old token as it was"
        );
        assert_eq!(
            store.refresh_token(&first.digest).await.unwrap(),
            Some(sigil_core::model::RefreshToken {
                used_at: Some(at(10)),
                ..first.clone()
            })
        );
        assert_eq!(
            store.refresh_token(&second.digest).await.unwrap(),
            Some(second.clone())
        );

        // A non-rotating token's idle end moves.
        let mut lasting = refresh_token(client_id, user_id, &FamilyId::generate(&SystemRng), None);
        lasting.audience = None;
        lasting.session_id = None;
        store.create_refresh_token(&lasting).await.unwrap();
        assert_eq!(
            store.refresh_token(&lasting.digest).await.unwrap(),
            Some(lasting.clone())
        );
        store
            .touch_refresh_token(&lasting.digest, Some(at(5000)))
            .await
            .unwrap();
        assert_eq!(
            store
                .refresh_token(&lasting.digest)
                .await
                .unwrap()
                .unwrap()
                .idle_expires_at,
            Some(at(5000))
        );

        assert!(
            store
                .revoke_refresh_token(&second.digest, at(20))
                .await
                .unwrap()
        );
        assert!(
            !store
                .revoke_refresh_token(&second.digest, at(21))
                .await
                .unwrap(),
            "revoked already"
        );
        assert!(
            !store
                .revoke_refresh_token(&token().digest(), at(21))
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .refresh_token(&second.digest)
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            Some(at(20))
        );

        // A user's tokens, for one client, then for all. (Another user, so that every token
        // counted is plainly live: neither rotated away nor revoked.)
        let owner = user(&w.connection, "owner@example.com");
        store.create_user(&owner).await.unwrap();
        let other = client("Other", AppType::RegularWeb);
        store.create_client(&other).await.unwrap();
        let mut owned = Vec::new();
        for c in [client_id, client_id, &other.client_id] {
            let t = refresh_token(c, &owner.user_id, &FamilyId::generate(&SystemRng), None);
            store.create_refresh_token(&t).await.unwrap();
            owned.push(t);
        }
        assert_eq!(
            store
                .revoke_user_refresh_tokens(&owner.user_id, Some(&other.client_id), at(30))
                .await
                .unwrap(),
            1
        );
        let revoked_at = |t: &sigil_core::model::RefreshToken| {
            let store = store.clone();
            let digest = t.digest.clone();
            async move {
                store
                    .refresh_token(&digest)
                    .await
                    .unwrap()
                    .expect("the token is still stored")
                    .revoked_at
            }
        };
        assert_eq!(revoked_at(&owned[2]).await, Some(at(30)));
        assert_eq!(revoked_at(&owned[0]).await, None);
        assert_eq!(
            store
                .revoke_user_refresh_tokens(&owner.user_id, None, at(40))
                .await
                .unwrap(),
            2
        );
        assert_eq!(revoked_at(&owned[0]).await, Some(at(40)));
        assert_eq!(revoked_at(&owned[1]).await, Some(at(40)));
        assert_eq!(
            revoked_at(&owned[2]).await,
            Some(at(30)),
            "revoked once, at first"
        );
        assert_eq!(
            revoked_at(&lasting).await,
            None,
            "other users' tokens are untouched"
        );
    })
    .await;
}

#[tokio::test]
async fn tickets_round_trip_and_are_consumed_by_their_kind() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let reset = ticket(&w.user.user_id, TicketKind::PasswordReset, at(600));
        let mut verify = ticket(&w.user.user_id, TicketKind::EmailVerification, at(600));
        verify.result_url = None;
        for t in [&reset, &verify] {
            store.create_ticket(t).await.unwrap();
            assert_eq!(store.ticket(&t.digest).await.unwrap().as_ref(), Some(t));
        }
        let wrong_kind = store
            .consume_ticket(&reset.digest, TicketKind::EmailVerification, at(1))
            .await;
        assert!(wrong_kind.is_err(), "a reset ticket verified an email");
        assert_eq!(
            store.ticket(&reset.digest).await.unwrap().unwrap().used_at,
            None,
            "the wrong kind does not use the ticket up"
        );
        let used = store
            .consume_ticket(&reset.digest, TicketKind::PasswordReset, at(2))
            .await
            .unwrap();
        assert_eq!(
            sigil_core::model::Ticket {
                used_at: None,
                ..used
            },
            reset
        );
        assert_eq!(
            store.ticket(&reset.digest).await.unwrap().unwrap().used_at,
            Some(at(2))
        );
        assert_eq!(store.ticket(&token().digest()).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn device_codes_round_trip_are_decided_once_and_polled() {
    on_every_store(|store| async move {
        let w = world(&store).await;
        let approved = device_code(&w.client.client_id, at(900));
        let mut denied = device_code(&w.client.client_id, at(900));
        denied.audience = None;
        for d in [&approved, &denied] {
            store.create_device_code(d).await.unwrap();
            assert_eq!(
                store
                    .device_code_by_user_code(&d.user_code)
                    .await
                    .unwrap()
                    .as_ref(),
                Some(d)
            );
        }
        assert_eq!(
            store.device_code_by_user_code("NONE-NONE").await.unwrap(),
            None
        );
        let same_user_code = sigil_core::model::DeviceCode {
            digest: token().digest(),
            ..approved.clone()
        };
        check(
            &store,
            &[(
                "a second device code with a taken user code",
                outcome(&store.create_device_code(&same_user_code).await),
                "Conflict(Token)",
            )],
        );

        // Polls return the record as it was before the poll.
        let poll = store
            .poll_device_code(&approved.digest, at(5))
            .await
            .unwrap();
        assert_eq!(poll, approved);
        let poll = store
            .poll_device_code(&approved.digest, at(10))
            .await
            .unwrap();
        assert_eq!(poll.last_polled_at, Some(at(5)));
        assert_eq!(poll.status, DeviceStatus::Pending);

        let yes = DeviceStatus::Approved(w.user.user_id.clone());
        store
            .decide_device_code(&approved.user_code, &yes, at(12))
            .await
            .unwrap();
        let again = store
            .decide_device_code(&approved.user_code, &DeviceStatus::Denied, at(13))
            .await;
        assert!(again.is_err(), "a device code is decided once");
        let stored = store
            .device_code_by_user_code(&approved.user_code)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, yes, "the first decision stands");

        let winner = store
            .poll_device_code(&approved.digest, at(15))
            .await
            .unwrap();
        assert_eq!(
            (winner.status, winner.consumed_at, winner.last_polled_at),
            (yes, None, Some(at(10)))
        );
        check(
            &store,
            &[(
                "polling a consumed device code",
                outcome(&store.poll_device_code(&approved.digest, at(20)).await),
                "AlreadyUsed",
            )],
        );
        assert!(
            store
                .device_code_by_user_code(&approved.user_code)
                .await
                .unwrap()
                .unwrap()
                .consumed_at
                .is_some()
        );

        store
            .decide_device_code(&denied.user_code, &DeviceStatus::Denied, at(12))
            .await
            .unwrap();
        let poll = store
            .poll_device_code(&denied.digest, at(15))
            .await
            .unwrap();
        assert_eq!(poll.status, DeviceStatus::Denied);
    })
    .await;
}

// --- Signing keys ---

#[tokio::test]
async fn signing_keys_come_back_byte_identical_and_are_sealed_on_disk() {
    on_every_store(|store| async move {
        let mut current = signing_key(KeyState::Current);
        let mut next = signing_key(KeyState::Next);
        next.created_at = at(1);
        store.create_signing_key(&current).await.unwrap();
        store.create_signing_key(&next).await.unwrap();
        assert_eq!(
            store.signing_keys().await.unwrap(),
            vec![current.clone(), next.clone()]
        );

        for key in [&current, &next] {
            let sealed = raw_bytes(
                store.database(),
                "SELECT sealed_key FROM signing_keys WHERE kid = $1",
                &key.kid,
            )
            .await
            .expect("a sealed key");
            let leaked = key
                .private_pkcs8
                .windows(16)
                .any(|window| contains(&sealed, window));
            assert!(
                !leaked,
                "signing_keys.sealed_key holds private key bytes in the clear"
            );
        }

        let second_current = signing_key(KeyState::Current);
        let second_next = signing_key(KeyState::Next);
        let same_kid = sigil_core::model::SigningKeyRecord {
            state: KeyState::Previous,
            ..current.clone()
        };
        check(
            &store,
            &[
                (
                    "a second current key",
                    outcome(&store.create_signing_key(&second_current).await),
                    "Conflict(SigningKey)",
                ),
                (
                    "a second next key",
                    outcome(&store.create_signing_key(&second_next).await),
                    "Conflict(SigningKey)",
                ),
                (
                    "a taken kid",
                    outcome(&store.create_signing_key(&same_kid).await),
                    "Conflict(SigningKey)",
                ),
            ],
        );

        // Rotation with a next key waiting: current → previous, next → current, new → next.
        let mut newest = signing_key(KeyState::Next);
        newest.created_at = at(2);
        store.rotate_signing_keys(&newest, at(100)).await.unwrap();
        current.state = KeyState::Previous;
        current.previous_since = Some(at(100));
        next.state = KeyState::Current;
        next.current_since = Some(at(100));
        assert_eq!(
            store.signing_keys().await.unwrap(),
            vec![current.clone(), next.clone(), newest.clone()]
        );

        // Revoking: the previous key and the next key may go, the current key may not.
        store
            .revoke_signing_key(&newest.kid, at(150))
            .await
            .unwrap();
        let refused = store.revoke_signing_key(&next.kid, at(150)).await;
        assert!(refused.is_err(), "the current key was revoked");
        store
            .revoke_signing_key(&current.kid, at(160))
            .await
            .unwrap();
        current.state = KeyState::Revoked;
        current.revoked_at = Some(at(160));
        newest.state = KeyState::Revoked;
        newest.revoked_at = Some(at(150));
        assert_eq!(
            store.signing_keys().await.unwrap(),
            vec![current.clone(), next.clone(), newest.clone()]
        );

        // Rotation with no next key waiting: the new key becomes current directly.
        let mut direct = signing_key(KeyState::Next);
        direct.created_at = at(3);
        store.rotate_signing_keys(&direct, at(200)).await.unwrap();
        let keys = store.signing_keys().await.unwrap();
        let state_of = |kid: &str| keys.iter().find(|k| k.kid == kid).map(|k| k.state);
        assert_eq!(
            (state_of(&next.kid), state_of(&direct.kid)),
            (Some(KeyState::Previous), Some(KeyState::Current))
        );
        let direct_stored = keys.iter().find(|k| k.kid == direct.kid).unwrap();
        assert_eq!(direct_stored.current_since, Some(at(200)));
        assert_eq!(direct_stored.private_pkcs8, direct.private_pkcs8);
    })
    .await;
}

#[tokio::test]
async fn the_first_rotation_on_an_empty_store_makes_a_current_key() {
    on_every_store(|store| async move {
        let first = signing_key(KeyState::Next);
        store.rotate_signing_keys(&first, at(0)).await.unwrap();
        let keys = store.signing_keys().await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(
            (keys[0].state, keys[0].current_since, &keys[0].private_pkcs8),
            (KeyState::Current, Some(at(0)), &first.private_pkcs8)
        );
    })
    .await;
}

#[tokio::test]
async fn each_key_family_has_its_own_current_and_next_key_and_rotates_alone() {
    on_every_store(|store| async move {
        let family = |keys: &[SigningKeyRecord], alg: Algorithm| -> Vec<(String, KeyState)> {
            keys.iter()
                .filter(|k| k.alg == alg)
                .map(|k| (k.kid.clone(), k.state))
                .collect()
        };
        let rsa_current = rsa_signing_key(KeyState::Current);
        let mut rsa_next = rsa_signing_key(KeyState::Next);
        rsa_next.created_at = at(1);
        let mut ec_current = signing_key(KeyState::Current);
        ec_current.created_at = at(2);
        let mut ec_next = signing_key(KeyState::Next);
        ec_next.created_at = at(3);
        let mut cases = Vec::new();
        for (what, key) in [
            ("the RSA current key", &rsa_current),
            ("the RSA next key", &rsa_next),
            ("a P-256 current key beside the RSA one", &ec_current),
            ("a P-256 next key beside the RSA one", &ec_next),
        ] {
            cases.push((what, outcome(&store.create_signing_key(key).await), "Ok"));
        }
        for (what, key) in [
            (
                "a second RSA current key",
                rsa_signing_key(KeyState::Current),
            ),
            ("a second P-256 current key", signing_key(KeyState::Current)),
            ("a second P-256 next key", signing_key(KeyState::Next)),
        ] {
            cases.push((
                what,
                outcome(&store.create_signing_key(&key).await),
                "Conflict(SigningKey)",
            ));
        }
        check(&store, &cases);
        let before = store.signing_keys().await.unwrap();
        assert_eq!(
            before,
            vec![
                rsa_current.clone(),
                rsa_next.clone(),
                ec_current.clone(),
                ec_next.clone()
            ]
        );

        // Rotating the P-256 family leaves the RSA family as it was, and the other way round.
        let mut ec_newest = signing_key(KeyState::Next);
        ec_newest.created_at = at(4);
        store
            .rotate_signing_keys(&ec_newest, at(100))
            .await
            .unwrap();
        let after = store.signing_keys().await.unwrap();
        assert_eq!(
            family(&after, Algorithm::RS256),
            family(&before, Algorithm::RS256),
            "the RSA family was touched by a P-256 rotation"
        );
        assert_eq!(
            family(&after, Algorithm::ES256),
            vec![
                (ec_current.kid.clone(), KeyState::Previous),
                (ec_next.kid.clone(), KeyState::Current),
                (ec_newest.kid.clone(), KeyState::Next),
            ]
        );
        let mut rsa_newest = rsa_signing_key(KeyState::Next);
        rsa_newest.created_at = at(5);
        store
            .rotate_signing_keys(&rsa_newest, at(200))
            .await
            .unwrap();
        let last = store.signing_keys().await.unwrap();
        assert_eq!(
            family(&last, Algorithm::ES256),
            family(&after, Algorithm::ES256),
            "the P-256 family was touched by an RSA rotation"
        );
        assert_eq!(
            family(&last, Algorithm::RS256),
            vec![
                (rsa_current.kid.clone(), KeyState::Previous),
                (rsa_next.kid.clone(), KeyState::Current),
                (rsa_newest.kid.clone(), KeyState::Next),
            ]
        );

        // Revoking works by kid in either family; a current key of either stays.
        store
            .revoke_signing_key(&ec_current.kid, at(300))
            .await
            .unwrap();
        store
            .revoke_signing_key(&rsa_current.kid, at(300))
            .await
            .unwrap();
        for current in [&rsa_next.kid, &ec_next.kid] {
            assert!(
                store.revoke_signing_key(current, at(300)).await.is_err(),
                "a current key was revoked"
            );
        }
        let revoked: Vec<String> = store
            .signing_keys()
            .await
            .unwrap()
            .into_iter()
            .filter(|k| k.state == KeyState::Revoked)
            .map(|k| k.kid)
            .collect();
        assert_eq!(revoked, vec![rsa_current.kid, ec_current.kid]);
    })
    .await;
}

// --- Logs ---

#[tokio::test]
async fn logs_append_read_list_newest_first_page_from_checkpoints_and_count() {
    on_every_store(|store| async move {
        let (u1, u2) = (UserId::from("auth0|aaa"), UserId::from("auth0|bbb"));
        let (c1, c2) = (
            sigil_core::ids::ClientId::from("client-one"),
            sigil_core::ids::ClientId::from("client-two"),
        );
        // Twelve events, so that ids cross from one digit to two if they are plain numbers.
        let kinds = [
            LogType::SUCCESS_LOGIN,
            LogType::FAILED_LOGIN_PASSWORD,
            LogType::SUCCESS_EXCHANGE_CODE,
        ];
        let mut events = Vec::new();
        for i in 0..12_i64 {
            let idx = usize::try_from(i).unwrap();
            let event = NewLogEvent {
                date_ms: (at(i).0 * 1000) + 123,
                log_type: Some(LogType::from(kinds[idx % 3])),
                description: Some(format!("event {i}")),
                client_id: Some(if i % 2 == 0 { c1.clone() } else { c2.clone() }),
                client_name: Some("App".to_owned()),
                user_id: Some(if i < 6 { u1.clone() } else { u2.clone() }),
                user_name: Some("someone@example.com".to_owned()),
                connection: Some(DEFAULT_DATABASE_CONNECTION.to_owned()),
                connection_id: Some("con_abc".to_owned()),
                strategy: Some("auth0".to_owned()),
                strategy_type: Some("database".to_owned()),
                audience: (i == 3).then(|| "https://api.example/".to_owned()),
                scope: Some("openid profile".to_owned()),
                ip: Some("203.0.113.9".to_owned()),
                user_agent: Some("curl/8".to_owned()),
                hostname: Some("auth.example.com".to_owned()),
                details: object(json!({"i": i, "nested": {"ok": true}})),
            };
            let id = store.append_log(&event).await.unwrap();
            events.push(LogEvent { log_id: id, event });
        }
        let bare = NewLogEvent {
            date_ms: at(20).0 * 1000,
            ..NewLogEvent::default()
        };
        let bare_id = store.append_log(&bare).await.unwrap();
        events.push(LogEvent {
            log_id: bare_id,
            event: bare,
        });

        for e in &events {
            assert_eq!(store.log(&e.log_id).await.unwrap().as_ref(), Some(e));
        }
        let ids: Vec<&LogId> = events.iter().map(|e| &e.log_id).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "log ids sort in write order: {ids:?}"
        );

        let all = LogQuery::default();
        let newest_first: Vec<LogEvent> = events.iter().rev().cloned().collect();
        assert_eq!(
            store.list_logs(&all, Page::new(0, 5)).await.unwrap(),
            newest_first[0..5]
        );
        assert_eq!(
            store.list_logs(&all, Page::new(2, 5)).await.unwrap(),
            newest_first[10..13]
        );
        assert!(
            store
                .list_logs(&all, Page::new(3, 5))
                .await
                .unwrap()
                .is_empty()
        );

        let pick = |keep: &dyn Fn(&NewLogEvent) -> bool| {
            events
                .iter()
                .filter(|e| keep(&e.event))
                .cloned()
                .collect::<Vec<_>>()
        };
        let logins = LogQuery {
            log_type: Some(LogType::from(LogType::SUCCESS_LOGIN)),
            ..LogQuery::default()
        };
        let queries = [
            (
                "type s",
                logins.clone(),
                pick(&|e| e.log_type.as_ref().map(LogType::as_str) == Some("s")),
            ),
            (
                "user u2",
                LogQuery {
                    user_id: Some(u2.clone()),
                    ..LogQuery::default()
                },
                pick(&|e| e.user_id.as_ref() == Some(&u2)),
            ),
            (
                "client c2 and user u1",
                LogQuery {
                    user_id: Some(u1.clone()),
                    client_id: Some(c2.clone()),
                    ..LogQuery::default()
                },
                pick(&|e| e.user_id.as_ref() == Some(&u1) && e.client_id.as_ref() == Some(&c2)),
            ),
            ("everything", all.clone(), events.clone()),
        ];
        for (case, query, oldest_first) in queries {
            let newest: Vec<LogEvent> = oldest_first.iter().rev().cloned().collect();
            assert_eq!(
                store.list_logs(&query, Page::first()).await.unwrap(),
                newest,
                "list: {case}"
            );
            assert_eq!(
                store.count_logs(&query).await.unwrap(),
                oldest_first.len() as u64,
                "count: {case}"
            );
            // Checkpoint paging, two at a time, walks the whole set oldest first.
            let mut walked = Vec::new();
            let mut from: Option<LogId> = None;
            loop {
                let batch = store.logs_from(&query, from.as_ref(), 2).await.unwrap();
                assert!(batch.len() <= 2, "{case}: take was exceeded");
                let Some(last) = batch.last() else { break };
                from = Some(last.log_id.clone());
                walked.extend(batch);
                assert!(walked.len() <= events.len(), "{case}: paging does not end");
            }
            assert_eq!(walked, oldest_first, "logs_from: {case}");
        }
        assert_eq!(
            store
                .logs_from(&all, Some(&events[4].log_id), 3)
                .await
                .unwrap(),
            events[5..8]
        );
        assert_eq!(store.logs_from(&all, None, 2).await.unwrap(), events[0..2]);
    })
    .await;
}

// --- Outbox ---

#[tokio::test]
async fn outbox_messages_come_back_newest_first_with_sealed_bodies() {
    on_every_store(|store| async move {
        let mail = |to: &str, n: i64| sigil_core::model::OutgoingEmail {
            to: to.to_owned(),
            subject: format!("message {n}"),
            body: format!("open https://sigil.example/u/reset-password?ticket=SECRET{n}"),
            kind: "reset_password".to_owned(),
            html: None,
            from: None,
            created_at: at(n),
        };
        for (to, n) in [
            ("a@example.com", 1),
            ("b@example.com", 2),
            ("a@example.com", 3),
        ] {
            store.queue_email(&mail(to, n)).await.unwrap();
        }
        let all = store.outbox(None, Page::first()).await.unwrap();
        assert_eq!(
            all.iter()
                .map(|m| m.email.subject.as_str())
                .collect::<Vec<_>>(),
            ["message 3", "message 2", "message 1"]
        );
        assert_eq!(all[0].email, mail("a@example.com", 3));
        assert_eq!(
            (all[0].status, all[0].attempts, all[0].next_attempt_at),
            (DeliveryStatus::Queued, 0, at(3)),
            "due at once"
        );
        let to_a = store
            .outbox(Some("a@example.com"), Page::new(0, 1))
            .await
            .unwrap();
        assert_eq!(
            to_a.into_iter().map(|m| m.email).collect::<Vec<_>>(),
            vec![mail("a@example.com", 3)]
        );
        assert_eq!(store.count_outbox().await.unwrap(), 3);
        let sealed = raw_bytes(
            store.database(),
            "SELECT sealed_body FROM outbox WHERE subject = $1",
            "message 1",
        )
        .await
        .unwrap();
        assert!(
            !contains(&sealed, b"SECRET1"),
            "outbox bodies are sealed at rest"
        );
    })
    .await;
}

// --- Management API jobs ---

#[tokio::test]
async fn jobs_are_recorded_and_read_back_whole() {
    on_every_store(|store| async move {
        let mut details = sigil_core::model::JsonObject::new();
        details.insert(
            "summary".to_owned(),
            json!({"failed": 1, "updated": 0, "inserted": 2, "total": 3}),
        );
        let import = sigil_core::model::Job {
            id: sigil_core::ids::JobId::generate(&SystemRng),
            kind: sigil_core::model::JobKind::UsersImport,
            status: "completed".to_owned(),
            connection_id: Some(ConnectionId::from("con_abc")),
            external_id: Some("batch-7".to_owned()),
            created_at: at(5),
            details,
            errors: vec![json!({"user": {"email": "x"}, "errors": [{"code": "INVALID_FORMAT"}]})],
            output: None,
        };
        let export = sigil_core::model::Job {
            id: sigil_core::ids::JobId::generate(&SystemRng),
            kind: sigil_core::model::JobKind::UsersExport,
            status: "completed".to_owned(),
            connection_id: None,
            external_id: None,
            created_at: at(6),
            details: sigil_core::model::JsonObject::new(),
            errors: Vec::new(),
            output: Some("[{\"email\":\"a@example.com\"}]".to_owned()),
        };
        assert!(import.id.as_str().starts_with("job_"));
        store.create_job(&import).await.unwrap();
        store.create_job(&export).await.unwrap();
        assert_eq!(store.job(&import.id).await.unwrap(), Some(import.clone()));
        assert_eq!(store.job(&export.id).await.unwrap(), Some(export));
        assert_eq!(
            store
                .job(&sigil_core::ids::JobId::from("job_missing"))
                .await
                .unwrap(),
            None
        );
        assert!(matches!(
            store.create_job(&import).await,
            Err(sigil_core::StoreError::Conflict(_))
        ));
    })
    .await;
}
