//! A running Sigil for one test, with a tenant, a signing key, an API, clients and a grant.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sigil_core::ids::{ClientGrantId, ClientId, ResourceServerId};
use sigil_core::model::{
    AppType, Client, ClientGrant, ClientSettings, GrantType, KeyState, ResourceServer,
    ResourceServerScope, SigningKeyRecord, TenantSettings,
};
use sigil_core::secret::ClientSecret;
use sigil_core::{ManualClock, Store, SystemRng, UnixTime};
use sigil_jose::{Algorithm, KeySet, KeySpec, PrivateKey, Validation, Verifier};
use sigil_server::App;
use sigil_store::{Database, MasterKey, SqlStore};

pub(crate) const NOW: i64 = 1_800_000_000;
pub(crate) const API: &str = "https://api.example.com/";

static NEXT: AtomicU64 = AtomicU64::new(0);

pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) store: SqlStore,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) http: reqwest::Client,
    /// A machine client with a grant for [`API`] (`read:a write:a`).
    pub(crate) machine: (ClientId, ClientSecret),
    /// A confidential client without the client_credentials grant type.
    pub(crate) web: (ClientId, ClientSecret),
    /// A machine client without any grant.
    pub(crate) ungranted: (ClientId, ClientSecret),
}

pub(crate) fn signing_key(now: i64) -> SigningKeyRecord {
    let key = PrivateKey::generate(KeySpec::for_algorithm(Algorithm::RS256)).unwrap();
    SigningKeyRecord {
        kid: key.thumbprint(),
        alg: Algorithm::RS256,
        state: KeyState::Current,
        private_pkcs8: key.to_pkcs8_der().unwrap(),
        created_at: UnixTime(now),
        current_since: Some(UnixTime(now)),
        previous_since: None,
        revoked_at: None,
    }
}

async fn client(
    store: &SqlStore,
    app_type: AppType,
    grants: Vec<GrantType>,
) -> (ClientId, ClientSecret) {
    let id = ClientId::generate(&SystemRng);
    let secret = ClientSecret::generate(&SystemRng);
    let mut settings = ClientSettings::for_type(app_type);
    settings.grant_types = grants;
    store
        .create_client(&Client {
            client_id: id.clone(),
            name: format!("{app_type:?}"),
            app_type,
            is_first_party: true,
            secret_digest: Some(secret.digest()),
            signing_secret: None,
            settings,
            created_at: UnixTime(NOW),
            updated_at: UnixTime(NOW),
        })
        .await
        .unwrap();
    (id, secret)
}

async fn api(store: &SqlStore, identifier: &str, scopes: &[&str]) {
    let mut api = ResourceServer::new(
        ResourceServerId::generate(&SystemRng),
        identifier.to_owned(),
        identifier.to_owned(),
        UnixTime(NOW),
    );
    api.scopes = scopes
        .iter()
        .map(|s| ResourceServerScope {
            value: (*s).to_owned(),
            description: String::new(),
        })
        .collect();
    store.create_resource_server(&api).await.unwrap();
}

async fn grant(store: &SqlStore, client: &ClientId, audience: &str, scope: &[&str]) {
    store
        .create_client_grant(&ClientGrant {
            id: ClientGrantId::generate(&SystemRng),
            client_id: client.clone(),
            audience: audience.to_owned(),
            scope: scope.iter().map(|s| (*s).to_owned()).collect(),
            created_at: UnixTime(NOW),
        })
        .await
        .unwrap();
}

impl TestApp {
    pub(crate) async fn start() -> TestApp {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "sigil_server_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Database::connect(&format!("sqlite://{}", dir.join("sigil.db").display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let (key, _) = MasterKey::generate().unwrap();
        let store = SqlStore::open(db, key, UnixTime(NOW)).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        store
            .put_tenant_settings(
                &TenantSettings {
                    issuer: base.clone(),
                    ..TenantSettings::default()
                },
                UnixTime(NOW),
            )
            .await
            .unwrap();
        store.create_signing_key(&signing_key(NOW)).await.unwrap();
        api(&store, API, &["read:a", "write:a", "delete:a"]).await;
        api(&store, &format!("{base}api/v2/"), &["read:users"]).await;
        let machine = client(
            &store,
            AppType::NonInteractive,
            vec![GrantType::ClientCredentials],
        )
        .await;
        grant(&store, &machine.0, API, &["read:a", "write:a"]).await;
        grant(
            &store,
            &machine.0,
            &format!("{base}api/v2/"),
            &["read:users"],
        )
        .await;
        let web = client(
            &store,
            AppType::RegularWeb,
            vec![GrantType::AuthorizationCode],
        )
        .await;
        grant(&store, &web.0, API, &["read:a"]).await;
        let ungranted = client(
            &store,
            AppType::NonInteractive,
            vec![GrantType::ClientCredentials],
        )
        .await;
        let clock = Arc::new(ManualClock::new(UnixTime(NOW)));
        let app = App::new(
            store.clone(),
            base.clone(),
            clock.clone(),
            Arc::new(SystemRng),
        )
        .await
        .unwrap();
        tokio::spawn(sigil_server::serve(listener, app, std::future::pending()));
        TestApp {
            base,
            store,
            clock,
            http: reqwest::Client::new(),
            machine,
            web,
            ungranted,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    /// A verifier for RS256 tokens from this issuer for `audience`, with the JWKS as served now.
    pub(crate) async fn verifier(&self, audience: &str) -> Verifier {
        let jwks = self
            .http
            .get(self.url(".well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let (keys, skipped) = KeySet::from_jwks(&jwks).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        Verifier::new(
            keys,
            Validation::new([Algorithm::RS256])
                .issuer(self.base.clone())
                .audience(audience),
        )
    }
}
