//! Connections and the clients each is enabled for: enabling is per client and all-or-nothing,
//! new clients get every database connection, a deleted connection takes its users with it,
//! and the migration that brought enabled clients kept every existing pair.

use sigil_core::ids::{ClientId, ConnectionId};
use sigil_core::model::{
    AppType, ConnectionOptions, Strategy, Upstream, UpstreamSecrets, UserQuery,
};
use sigil_core::{Page, Store, StoreError};
use sigil_store::{Database, MasterKey, SqlStore};

use crate::backends::{on_every_backend, on_every_store};
use crate::fixtures::{NOW, at, client, connection, contains, outcome, raw_bytes, session, user};

const SECRET: &str = "upstream-client-secret-IN-THE-CLEAR";

#[tokio::test]
async fn connections_serve_the_clients_they_are_enabled_for() {
    on_every_store(|store| async move {
        let older = client("Older", AppType::Spa);
        store.create_client(&older).await.unwrap();
        let database = connection("Staff");
        let mut upstream = connection("corp");
        upstream.strategy = Strategy::Oidc;
        upstream.options = ConnectionOptions::default();
        upstream.upstream = Some(Upstream {
            options:
                serde_json::json!({"client_id": "sigil", "discovery_url": "https://idp.example/"})
                    .as_object()
                    .unwrap()
                    .clone(),
            secrets: UpstreamSecrets([("client_secret".to_owned(), SECRET.to_owned())].into()),
        });
        upstream.display_name = Some("Corp".to_owned());
        upstream.show_as_button = true;
        upstream
            .metadata
            .insert("team".to_owned(), "ops".to_owned());
        store.create_connection(&database, &[]).await.unwrap();
        store
            .create_connection(&upstream, std::slice::from_ref(&older.client_id))
            .await
            .unwrap();
        assert_eq!(
            store.connection(&upstream.id).await.unwrap().as_ref(),
            Some(&upstream),
            "display name, button, metadata, options and secrets come back as stored"
        );
        let raw = raw_bytes(
            store.database(),
            "SELECT secrets FROM connections WHERE id = $1",
            upstream.id.as_str(),
        )
        .await
        .unwrap();
        assert!(!contains(&raw, SECRET.as_bytes()), "the secret is sealed");
        assert!(
            !format!("{:?}", upstream.upstream).contains(SECRET),
            "and never in Debug output"
        );

        // A client made later gets every database connection, and nothing else.
        let newer = client("Newer", AppType::RegularWeb);
        store.create_client(&newer).await.unwrap();
        let names = |connections: Vec<sigil_core::model::Connection>| -> Vec<String> {
            connections.into_iter().map(|c| c.name).collect()
        };
        assert_eq!(
            names(store.client_connections(&newer.client_id).await.unwrap()),
            ["Staff"]
        );
        assert_eq!(
            names(store.client_connections(&older.client_id).await.unwrap()),
            ["corp"]
        );
        for (connection, client, enabled) in [
            (&database.id, &newer.client_id, true),
            (&database.id, &older.client_id, false),
            (&upstream.id, &older.client_id, true),
            (&upstream.id, &newer.client_id, false),
        ] {
            assert_eq!(
                store.connection_enabled(connection, client).await.unwrap(),
                enabled,
                "{connection} for {client}"
            );
        }

        // Changes apply all at once, or not at all.
        let nobody = ClientId::from("nobody");
        let refused = store
            .update_connection_clients(
                &upstream.id,
                &[(newer.client_id.clone(), true), (nobody.clone(), true)],
            )
            .await;
        assert_eq!(outcome(&refused), "NotFound");
        assert!(
            !store
                .connection_enabled(&upstream.id, &newer.client_id)
                .await
                .unwrap()
        );
        store
            .update_connection_clients(
                &upstream.id,
                &[
                    (newer.client_id.clone(), true),
                    (newer.client_id.clone(), true),
                    (older.client_id.clone(), false),
                    (nobody.clone(), false),
                ],
            )
            .await
            .unwrap();
        assert_eq!(
            store.connection_clients(&upstream.id).await.unwrap(),
            std::slice::from_ref(&newer.client_id)
        );
        let missing = store
            .update_connection_clients(
                &ConnectionId::from("con_nope"),
                &[(newer.client_id.clone(), true)],
            )
            .await;
        assert!(
            matches!(missing, Err(StoreError::NotFound("connection"))),
            "{missing:?}"
        );

        // An update naming an unknown client changes nothing, options included.
        let mut renamed = upstream.clone();
        renamed.display_name = Some("Renamed".to_owned());
        let refused = store
            .update_connection(&renamed, &[(nobody.clone(), true)])
            .await;
        assert_eq!(outcome(&refused), "NotFound");
        assert_eq!(
            store.connection(&upstream.id).await.unwrap(),
            Some(upstream.clone())
        );
        store
            .update_connection(&renamed, &[(older.client_id.clone(), true)])
            .await
            .unwrap();
        assert_eq!(store.connection(&upstream.id).await.unwrap(), Some(renamed));
        assert!(
            store
                .connection_enabled(&upstream.id, &older.client_id)
                .await
                .unwrap()
        );

        // Creation with an unknown client leaves nothing behind.
        let stray = connection("stray");
        let refused = store.create_connection(&stray, &[nobody]).await;
        assert_eq!(outcome(&refused), "NotFound");
        assert_eq!(store.connection(&stray.id).await.unwrap(), None);

        // A deleted client leaves its connections.
        store.delete_client(&newer.client_id).await.unwrap();
        assert_eq!(
            store.connection_clients(&upstream.id).await.unwrap(),
            std::slice::from_ref(&older.client_id)
        );
    })
    .await;
}

#[tokio::test]
async fn a_deleted_connection_takes_its_users_and_only_them() {
    on_every_store(|store| async move {
        let staff = connection("Staff");
        let other = connection("Other");
        let app = client("App", AppType::Spa);
        for c in [&staff, &other] {
            store.create_connection(c, &[]).await.unwrap();
        }
        store.create_client(&app).await.unwrap();
        let sam = user(&staff, "sam@example.com");
        let ola = user(&other, "ola@example.com");
        for u in [&sam, &ola] {
            store.create_user(u).await.unwrap();
        }
        let sams_session = session(&sam.user_id, at(3600));
        store.create_session(&sams_session).await.unwrap();

        store.delete_connection(&staff.id).await.unwrap();
        assert_eq!(store.connection(&staff.id).await.unwrap(), None);
        assert_eq!(store.user(&sam.user_id).await.unwrap(), None);
        assert_eq!(store.session(&sams_session.id).await.unwrap(), None);
        assert!(store.user(&ola.user_id).await.unwrap().is_some());
        let left = store
            .list_users(&UserQuery::default(), Page::first())
            .await
            .unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(
            names_of(store.client_connections(&app.client_id).await.unwrap()),
            ["Other"]
        );
        let again = store.delete_connection(&staff.id).await;
        assert!(
            matches!(again, Err(StoreError::NotFound("connection"))),
            "{again:?}"
        );
    })
    .await;
}

fn names_of(connections: Vec<sigil_core::model::Connection>) -> Vec<String> {
    connections.into_iter().map(|c| c.name).collect()
}

#[tokio::test]
async fn connections_stay_enabled_for_the_clients_that_existed_before_enabled_clients() {
    on_every_backend(|f| async move {
        f.db.migrate_to(16).await.unwrap();
        for sql in [
            "INSERT INTO connections (id, name, strategy, options, created_at, updated_at) \
             VALUES ('con_a', 'A', 'auth0', '{}', 0, 0), ('con_b', 'B', 'auth0', '{}', 0, 0)",
            "INSERT INTO clients (client_id, name, app_type, is_first_party, settings, created_at, \
             updated_at) VALUES ('c1', 'One', 'spa', TRUE, '{}', 0, 0), \
             ('c2', 'Two', 'spa', TRUE, '{}', 0, 0)",
        ] {
            match &f.db {
                Database::Sqlite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
                Database::Postgres(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
            }
            .unwrap();
        }
        f.db.migrate().await.unwrap();
        let (key, _) = MasterKey::generate().unwrap();
        let store = SqlStore::open(f.db.clone(), key, sigil_core::UnixTime(NOW))
            .await
            .unwrap();
        for id in ["con_a", "con_b"] {
            assert_eq!(
                store
                    .connection_clients(&ConnectionId::from(id))
                    .await
                    .unwrap(),
                [ClientId::from("c1"), ClientId::from("c2")],
                "{id}"
            );
        }
        f
    })
    .await;
}
