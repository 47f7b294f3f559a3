//! A running Sigil for one test, with the messages API registered and two machine clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use sigil_core::ids::{ClientGrantId, ClientId, ResourceServerId};
use sigil_core::model::{
    AppType, Client, ClientGrant, ClientSettings, GrantType, KeyState, ResourceServer,
    ResourceServerScope, SigningKeyRecord, TenantSettings,
};
use sigil_core::secret::ClientSecret;
use sigil_core::{Clock, ManualClock, Store, SystemRng, UnixTime};
use sigil_server::{App, KEYS_TTL, Secrets};
use sigil_store::{Database, MasterKey, SqlStore};

pub(crate) const NOW: i64 = 1_800_000_000;
/// The example API's identifier.
pub(crate) const MESSAGES: &str = "https://messages.example.com/";
/// Another API at the same Sigil.
pub(crate) const OTHER: &str = "https://other.example.com/";

static NEXT: AtomicU64 = AtomicU64::new(0);

pub(crate) struct Sigil {
    pub(crate) issuer: String,
    pub(crate) store: SqlStore,
    pub(crate) clock: Arc<ManualClock>,
    http: reqwest::Client,
    /// Granted `read:messages write:messages` on [`MESSAGES`], and [`OTHER`].
    pub(crate) writer: (ClientId, ClientSecret),
    /// Granted `read:messages` only.
    pub(crate) reader: (ClientId, ClientSecret),
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Sigil {
    pub(crate) async fn start() -> Sigil {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "messages_api_{}_{}",
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
        let issuer = format!("http://{}/", listener.local_addr().unwrap());
        store
            .put_tenant_settings(
                &TenantSettings {
                    issuer: issuer.clone(),
                    ..TenantSettings::default()
                },
                UnixTime(NOW),
            )
            .await
            .unwrap();
        store
            .create_signing_key(
                &SigningKeyRecord::generate_rs256(KeyState::Current, UnixTime(NOW)).unwrap(),
            )
            .await
            .unwrap();
        api(&store, MESSAGES, &["read:messages", "write:messages"]).await;
        api(&store, OTHER, &["read:messages"]).await;
        let writer = machine(&store).await;
        grant(
            &store,
            &writer.0,
            MESSAGES,
            &["read:messages", "write:messages"],
        )
        .await;
        grant(&store, &writer.0, OTHER, &["read:messages"]).await;
        let reader = machine(&store).await;
        grant(&store, &reader.0, MESSAGES, &["read:messages"]).await;
        let clock = Arc::new(ManualClock::new(UnixTime(NOW)));
        let app = App::new(
            store.clone(),
            issuer.clone(),
            clock.clone(),
            Arc::new(SystemRng),
            Secrets::derive(|purpose| store.derived_key(purpose)),
            None,
            sigil_server::HasherOptions::default(),
            sigil_server::ActionLimits::default(),
        )
        .await
        .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(sigil_server::serve(
            listener,
            app,
            sigil_server::ServeOptions::default(),
            async {
                let _ = stopped.await;
            },
        ));
        Sigil {
            issuer,
            store,
            clock,
            http: reqwest::Client::new(),
            writer,
            reader,
            stop: Some(stop),
            stopped: Some(served),
        }
    }

    /// An access token for `audience` by client credentials.
    pub(crate) async fn token(&self, client: &(ClientId, ClientSecret), audience: &str) -> String {
        let response: Value = self
            .http
            .post(format!("{}oauth/token", self.issuer))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client.0.as_str()),
                ("client_secret", client.1.expose()),
                ("audience", audience),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {response}"))
            .to_owned()
    }

    /// The published JWKS.
    pub(crate) async fn jwks(&self) -> Value {
        self.http
            .get(format!("{}.well-known/jwks.json", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Rotates the RSA keys (`sigil keys rotate`): a new key signs from now on, the old one is
    /// published as previous. Returns the new kid once Sigil signs with it.
    pub(crate) async fn rotate(&self) -> String {
        let next = SigningKeyRecord::generate_rs256(KeyState::Next, self.clock.now()).unwrap();
        self.store
            .rotate_signing_keys(&next, self.clock.now())
            .await
            .unwrap();
        // Sigil rereads its keys after KEYS_TTL seconds.
        self.clock.advance(KEYS_TTL + 1);
        next.kid
    }

    /// Revokes a previous key (`sigil keys revoke KID`): it leaves the JWKS.
    pub(crate) async fn revoke(&self, kid: &str) {
        self.store
            .revoke_signing_key(kid, self.clock.now())
            .await
            .unwrap();
        self.clock.advance(KEYS_TTL + 1);
    }

    /// Stops the server; its port then refuses connections.
    pub(crate) async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.stopped.take() {
            served.await.unwrap().unwrap();
        }
    }
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

async fn machine(store: &SqlStore) -> (ClientId, ClientSecret) {
    let id = ClientId::generate(&SystemRng);
    let secret = ClientSecret::generate(&SystemRng);
    let mut settings = ClientSettings::for_type(AppType::NonInteractive);
    settings.grant_types = vec![GrantType::ClientCredentials];
    store
        .create_client(&Client {
            client_id: id.clone(),
            name: "machine".to_owned(),
            app_type: AppType::NonInteractive,
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
