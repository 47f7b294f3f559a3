//! A running Sigil for one test, with a tenant, a signing key, an API, clients and a grant.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::StatusCode;
use serde_json::Value;
use sigil_core::ids::{ClientGrantId, ClientId, ConnectionId, ResourceServerId, RoleId, UserId};
use sigil_core::model::connection::DEFAULT_DATABASE_CONNECTION;
use sigil_core::model::{
    AppType, Client, ClientGrant, ClientSettings, Connection, ConnectionOptions, GrantType,
    KeyState, NewUser, Permission, ResourceServer, ResourceServerScope, Role, SigningKeyRecord,
    Strategy, TenantSettings, TokenDialect, User,
};
use sigil_core::password::PasswordHash;
use sigil_core::secret::ClientSecret;
use sigil_core::{ManualClock, Store, SystemRng, UnixTime};
use sigil_jose::{Algorithm, KeySet, KeySpec, PrivateKey, SigningKey, Validation, Verifier};
use sigil_server::{App, HasherOptions, Secrets};
use sigil_store::{Database, MasterKey, SqlStore};

pub(crate) const NOW: i64 = 1_800_000_000;
pub(crate) const API: &str = "https://api.example.com/";

static NEXT: AtomicU64 = AtomicU64::new(0);

pub(crate) struct TestApp {
    pub(crate) base: String,
    /// The served app itself (to flush its tenant log events before reading them).
    pub(crate) server: App<SqlStore>,
    pub(crate) store: SqlStore,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) http: reqwest::Client,
    /// A machine client with a grant for [`API`] (`read:a write:a`).
    pub(crate) machine: (ClientId, ClientSecret),
    /// A confidential client without the client_credentials grant type.
    pub(crate) web: (ClientId, ClientSecret),
    /// A machine client without any grant.
    pub(crate) ungranted: (ClientId, ClientSecret),
    /// A public (native) client allowed the password and refresh token grants.
    pub(crate) native: ClientId,
    /// A confidential client allowed the password grants, with HS256 ID tokens.
    pub(crate) backend: (ClientId, ClientSecret),
    /// A single-page app (public) allowed the code, implicit and refresh grants, with
    /// `https://app.example.com` as its web origin.
    pub(crate) spa: ClientId,
    /// `ann@example.com`, password [`PASSWORD`], role `reader` (read:r on [`RBAC_API`]).
    pub(crate) ann: UserId,
}

pub(crate) const PASSWORD: &str = "correct horse battery staple";
/// Every test client's one allowed logout URL.
pub(crate) const LOGOUT_URL: &str = "https://app.example.com/bye";
/// Every test client's one registered callback.
pub(crate) const CALLBACK: &str = "https://app.example.com/callback";
/// The SPA's allowed web origin (the origin of [`CALLBACK`]).
pub(crate) const WEB_ORIGIN: &str = "https://app.example.com";
/// An API that enforces RBAC, puts `permissions` in tokens and allows offline access.
pub(crate) const RBAC_API: &str = "https://rbac.example.com/";

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

/// Signs `claims` with the tenant's current key, as Sigil would: a token whose signature is
/// good, so only its claims can make it fail.
pub(crate) async fn signed_by_tenant(app: &TestApp, claims: Value) -> String {
    let record = app.store.signing_keys().await.unwrap().remove(0);
    let key = PrivateKey::from_pkcs8_der(&record.private_pkcs8).unwrap();
    SigningKey::new(key, Algorithm::RS256)
        .unwrap()
        .with_kid(Some(record.kid))
        .sign(&claims)
        .unwrap()
}

/// A client of `app_type` allowed `grants`, with the test callback and logout URL; server-side
/// web apps get HS256 ID tokens signed with their secret.
pub(crate) async fn client(
    store: &SqlStore,
    app_type: AppType,
    grants: Vec<GrantType>,
) -> (ClientId, ClientSecret) {
    let id = ClientId::generate(&SystemRng);
    let secret = ClientSecret::generate(&SystemRng);
    let mut settings = ClientSettings::for_type(app_type);
    settings.grant_types = grants;
    settings.callbacks = vec![CALLBACK.to_owned()];
    settings.allowed_logout_urls = vec![LOGOUT_URL.to_owned()];
    // Server-side web apps sign their ID tokens with HS256 and their secret.
    let hs256 = app_type == AppType::RegularWeb;
    if hs256 {
        settings.jwt_configuration.alg = Algorithm::HS256;
    }
    store
        .create_client(&Client {
            client_id: id.clone(),
            name: format!("{app_type:?}"),
            app_type,
            is_first_party: true,
            secret_digest: (!app_type.is_public()).then(|| secret.digest()),
            signing_secret: hs256.then(|| secret.clone()),
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

pub(crate) async fn grant(store: &SqlStore, client: &ClientId, audience: &str, scope: &[&str]) {
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

/// The default database connection with Ann (role `reader`) and Bob (blocked), and the RBAC API.
async fn people(store: &SqlStore) -> UserId {
    let connection = Connection::new(
        ConnectionId::generate(&SystemRng),
        DEFAULT_DATABASE_CONNECTION,
        Strategy::Auth0,
        ConnectionOptions::default(),
        UnixTime(NOW),
    );
    store.create_connection(&connection, &[]).await.unwrap();
    let hash = PasswordHash::argon2id(PASSWORD, &SystemRng).unwrap();
    let mut ids = Vec::new();
    for (email, blocked) in [("ann@example.com", false), ("bob@example.com", true)] {
        let mut user = User::new_database(
            UserId::generate_database(&SystemRng),
            &connection,
            NewUser {
                email: email.to_owned(),
                email_verified: true,
                username: None,
                password: Some(hash.clone()),
            },
            UnixTime(NOW),
        );
        user.blocked = blocked;
        store.create_user(&user).await.unwrap();
        ids.push(user.user_id);
    }
    let mut api = ResourceServer::new(
        ResourceServerId::generate(&SystemRng),
        RBAC_API.to_owned(),
        "RBAC".to_owned(),
        UnixTime(NOW),
    );
    api.scopes = ["read:r", "write:r"]
        .iter()
        .map(|s| ResourceServerScope {
            value: (*s).to_owned(),
            description: String::new(),
        })
        .collect();
    api.enforce_policies = true;
    api.token_dialect = TokenDialect::AccessTokenAuthz;
    api.allow_offline_access = true;
    store.create_resource_server(&api).await.unwrap();
    let role = Role {
        id: RoleId::generate(&SystemRng),
        name: "reader".to_owned(),
        description: String::new(),
        created_at: UnixTime(NOW),
    };
    store.create_role(&role).await.unwrap();
    store
        .add_role_permissions(
            &role.id,
            &[Permission {
                resource_server_identifier: RBAC_API.to_owned(),
                permission_name: "read:r".to_owned(),
            }],
        )
        .await
        .unwrap();
    store
        .assign_user_roles(&ids[0], std::slice::from_ref(&role.id))
        .await
        .unwrap();
    ids.swap_remove(0)
}

/// SQLite in `dir`, or, with `SIGIL_SERVER_TEST_BACKEND=postgres`, a new database on the
/// PostgreSQL server of `SIGIL_TEST_DATABASE_URL` (`scripts/with-postgres` starts one; its
/// cluster, databases and all, is deleted when it ends).
async fn database_url(dir: &std::path::Path) -> String {
    if std::env::var("SIGIL_SERVER_TEST_BACKEND").as_deref() != Ok("postgres") {
        return format!("sqlite://{}", dir.join("sigil.db").display());
    }
    use sqlx::Connection as _;
    let admin = std::env::var("SIGIL_TEST_DATABASE_URL").expect(
        "SIGIL_SERVER_TEST_BACKEND=postgres needs SIGIL_TEST_DATABASE_URL (scripts/with-postgres)",
    );
    let name = format!(
        "sigil_srv_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    let (base, _) = admin.rsplit_once('/').expect("a URL with a database name");
    format!("{base}/{name}")
}

impl TestApp {
    pub(crate) async fn start() -> TestApp {
        Self::start_with_templates(None).await
    }

    /// As [`TestApp::start`], with the page templates of `templates` replacing the built-in ones.
    pub(crate) async fn start_with_templates(templates: Option<&std::path::Path>) -> TestApp {
        Self::start_with(templates, HasherOptions::default()).await
    }

    /// As [`TestApp::start`], served with `options`.
    pub(crate) async fn start_served(options: sigil_server::ServeOptions) -> TestApp {
        Self::start_full(None, HasherOptions::default(), options).await
    }

    /// As [`TestApp::start_with_templates`], with password workers as `passwords` says.
    pub(crate) async fn start_with(
        templates: Option<&std::path::Path>,
        passwords: HasherOptions,
    ) -> TestApp {
        Self::start_full(templates, passwords, sigil_server::ServeOptions::default()).await
    }

    /// A served Sigil with the page templates of `templates` (else the built-in ones),
    /// password workers as `passwords` says and the server options `options`.
    pub(crate) async fn start_full(
        templates: Option<&std::path::Path>,
        passwords: HasherOptions,
        options: sigil_server::ServeOptions,
    ) -> TestApp {
        Self::start_all(templates, passwords, options, Default::default()).await
    }

    /// As [`TestApp::start`], with Actions run under `limits`.
    pub(crate) async fn start_with_actions(limits: sigil_server::ActionLimits) -> TestApp {
        Self::start_all(None, HasherOptions::default(), Default::default(), limits).await
    }

    async fn start_all(
        templates: Option<&std::path::Path>,
        passwords: HasherOptions,
        options: sigil_server::ServeOptions,
        actions: sigil_server::ActionLimits,
    ) -> TestApp {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "sigil_server_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Database::connect(&database_url(&dir).await).await.unwrap();
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
        // First, so that every client made below is enabled for the database connection.
        let ann = people(&store).await;
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
        let (native, _) = client(
            &store,
            AppType::Native,
            vec![
                GrantType::PasswordRealm,
                GrantType::RefreshToken,
                GrantType::AuthorizationCode,
            ],
        )
        .await;
        let backend = client(
            &store,
            AppType::RegularWeb,
            vec![
                GrantType::Password,
                GrantType::PasswordRealm,
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
            ],
        )
        .await;
        let (spa, _) = client(
            &store,
            AppType::Spa,
            vec![
                GrantType::AuthorizationCode,
                GrantType::Implicit,
                GrantType::RefreshToken,
            ],
        )
        .await;
        let mut spa_client = store.client(&spa).await.unwrap().unwrap();
        spa_client.settings.web_origins = vec![WEB_ORIGIN.to_owned()];
        store.update_client(&spa_client).await.unwrap();
        let clock = Arc::new(ManualClock::new(UnixTime(NOW)));
        let app = App::new(
            store.clone(),
            base.clone(),
            clock.clone(),
            Arc::new(SystemRng),
            Secrets::derive(|purpose| store.derived_key(purpose)),
            templates,
            passwords,
            actions,
        )
        .await
        .unwrap();
        tokio::spawn(sigil_server::serve(
            listener,
            app.clone(),
            options,
            std::future::pending(),
        ));
        TestApp {
            base,
            server: app,
            store,
            clock,
            http: reqwest::Client::new(),
            machine,
            web,
            ungranted,
            native,
            backend,
            spa,
            ann,
        }
    }

    /// The server's clock, now.
    pub(crate) fn clock_now(&self) -> i64 {
        sigil_core::Clock::now(self.clock.as_ref()).0
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    /// The JWKS as served now.
    pub(crate) async fn jwks(&self) -> Vec<u8> {
        let response = self.http.get(self.url(".well-known/jwks.json")).send();
        response.await.unwrap().bytes().await.unwrap().to_vec()
    }

    /// A verifier for RS256 tokens from this issuer for `audience`, with the JWKS as served now.
    pub(crate) async fn verifier(&self, audience: &str) -> Verifier {
        self.verifier_with(audience, sigil_jose::TypPolicy::Jwt)
            .await
    }

    /// [`TestApp::verifier`] with a `typ` policy (RFC 9068: `at+jwt` required).
    pub(crate) async fn verifier_with(
        &self,
        audience: &str,
        typ: sigil_jose::TypPolicy,
    ) -> Verifier {
        let jwks = self.jwks().await;
        let (keys, skipped) = KeySet::from_jwks(&jwks).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        let mut validation = Validation::new([Algorithm::RS256])
            .issuer(self.base.clone())
            .audience(audience);
        validation.typ = typ;
        Verifier::new(keys, validation)
    }
}

/// How a request carries its body and credentials.
pub(crate) enum Body {
    Form(Vec<(&'static str, String)>),
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

/// HTTP Basic credentials, user and password.
pub(crate) type Basic<'a> = Option<(&'a str, &'a str)>;

pub(crate) async fn post(
    app: &TestApp,
    body: Body,
    basic: Option<(&str, &str)>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = app.http.post(app.url("oauth/token"));
    request = match body {
        Body::Form(pairs) => request.form(&pairs),
        Body::Json(value) => request.json(&value),
        Body::Raw(content_type, bytes) => request.header("content-type", content_type).body(bytes),
    };
    if let Some((user, password)) = basic {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

/// The machine client's `client_credentials` answer for `audience`: status and body.
pub(crate) async fn machine_token(app: &TestApp, audience: &str) -> (StatusCode, Value) {
    let (status, _, body) = post(
        app,
        Body::Form(vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", app.machine.0.to_string()),
            ("client_secret", app.machine.1.expose().to_owned()),
            ("audience", audience.into()),
        ]),
        None,
    )
    .await;
    (status, body)
}
