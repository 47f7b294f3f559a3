//! Records for the contract tests, built the way Sigil builds them, and the one `check()`
//! helper that compares a table of outcomes. Time is fixed: every record is made at [`NOW`]
//! and tests move "now" by passing [`at`]`(offset)` to the store.

use sigil_core::ids::{
    ClientId, ConnectionId, FamilyId, ResourceServerId, RoleId, SessionId, UserId, alphanumeric,
};
use sigil_core::model::connection::DEFAULT_DATABASE_CONNECTION;
use sigil_core::model::{
    AppType, AuthorizationCode, Client, ClientSettings, Connection, ConnectionOptions, DeviceCode,
    DeviceStatus, KeyState, NewUser, Permission, RefreshToken, ResourceServer, Role, Session,
    SigningKeyRecord, Strategy, Ticket, TicketKind, User,
};
use sigil_core::password::{PasswordAlgorithm, PasswordHash};
use sigil_core::secret::{ClientSecret, Token};
use sigil_core::{Store, StoreError, SystemRng, UnixTime};
use sigil_jose::{Algorithm, KeySpec, PrivateKey};
use sigil_store::{Database, SqlStore};

/// The time every fixture is made at (2027-01-15).
pub(crate) const NOW: i64 = 1_800_000_000;

/// `NOW + offset` seconds.
pub(crate) fn at(offset: i64) -> UnixTime {
    UnixTime(NOW + offset)
}

/// A database connection.
pub(crate) fn connection(name: &str) -> Connection {
    Connection::new(
        ConnectionId::generate(&SystemRng),
        name,
        Strategy::Auth0,
        ConnectionOptions::default(),
        at(0),
    )
}

/// A database user of `connection` without a password, made at `NOW`.
pub(crate) fn user(connection: &Connection, email: &str) -> User {
    User::new_database(
        UserId::generate_database(&SystemRng),
        connection,
        NewUser {
            email: email.to_owned(),
            email_verified: false,
            username: None,
            password: None,
        },
        at(0),
    )
}

/// An argon2id PHC string of the shape Sigil writes, computed once: the store keeps it
/// verbatim and nothing here verifies it, so no test pays for hashing.
pub(crate) fn password_hash() -> PasswordHash {
    PasswordHash {
        algorithm: PasswordAlgorithm::Argon2,
        encoded: "$argon2id$v=19$m=19456,t=2,p=1$c2lnaWwtY29udHJhY3Q$\
                  3m5qTQFZ0hC1mG6aWdQ0rXzj0mTj8cF3xkqz9Yf6y4Q"
            .to_owned(),
    }
}

/// A client with Auth0's defaults for `app_type`; confidential types get a secret digest.
pub(crate) fn client(name: &str, app_type: AppType) -> Client {
    let secret = (!app_type.is_public()).then(|| ClientSecret::generate(&SystemRng));
    Client {
        client_id: ClientId::generate(&SystemRng),
        name: name.to_owned(),
        app_type,
        is_first_party: true,
        secret_digest: secret.as_ref().map(ClientSecret::digest),
        signing_secret: None,
        settings: ClientSettings::for_type(app_type),
        created_at: at(0),
        updated_at: at(0),
    }
}

/// An API with Auth0's defaults.
pub(crate) fn api(identifier: &str) -> ResourceServer {
    ResourceServer::new(
        ResourceServerId::generate(&SystemRng),
        identifier.to_owned(),
        format!("API at {identifier}"),
        at(0),
    )
}

/// A role.
pub(crate) fn role(name: &str) -> Role {
    Role {
        id: RoleId::generate(&SystemRng),
        name: name.to_owned(),
        description: format!("The {name} role"),
        created_at: at(0),
    }
}

/// Scope `name` of the API `audience`.
pub(crate) fn permission(audience: &str, name: &str) -> Permission {
    Permission {
        resource_server_identifier: audience.to_owned(),
        permission_name: name.to_owned(),
    }
}

/// A fresh bearer value (code, token, cookie, ticket).
pub(crate) fn token() -> Token {
    Token::generate(&SystemRng)
}

/// A session of `user` that ends (absolutely and when idle) at `expires_at`.
pub(crate) fn session(user: &UserId, expires_at: UnixTime) -> Session {
    Session {
        id: SessionId::generate(&SystemRng),
        cookie_digest: token().digest(),
        user_id: user.clone(),
        created_at: at(0),
        authenticated_at: at(0),
        last_seen_at: at(0),
        expires_at,
        idle_expires_at: expires_at,
        clients: Vec::new(),
        ip: Some("203.0.113.7".to_owned()),
        user_agent: Some("contract-test/1.0".to_owned()),
        method: "pwd".to_owned(),
    }
}

/// An authorization code, unused, redeemable until `expires_at`.
pub(crate) fn code(client: &ClientId, user: &UserId, expires_at: UnixTime) -> AuthorizationCode {
    AuthorizationCode {
        digest: token().digest(),
        client_id: client.clone(),
        user_id: user.clone(),
        session_id: Some(SessionId::generate(&SystemRng)),
        redirect_uri: "https://app.example/callback".to_owned(),
        scope: vec!["openid".to_owned(), "profile".to_owned()],
        audience: Some("https://api.example/".to_owned()),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
        auth_time: at(-5),
        created_at: at(0),
        expires_at,
        used_at: None,
        actions: None,
    }
}

/// The first refresh token of `family`, ending (absolutely and when idle) at `expires_at`.
pub(crate) fn refresh_token(
    client: &ClientId,
    user: &UserId,
    family: &FamilyId,
    expires_at: Option<UnixTime>,
) -> RefreshToken {
    RefreshToken {
        digest: token().digest(),
        family_id: family.clone(),
        parent: None,
        generation: 0,
        client_id: client.clone(),
        user_id: user.clone(),
        session_id: Some(SessionId::generate(&SystemRng)),
        audience: Some("https://api.example/".to_owned()),
        scope: vec!["openid".to_owned(), "offline_access".to_owned()],
        created_at: at(0),
        expires_at,
        idle_expires_at: expires_at,
        used_at: None,
        revoked_at: None,
        auth_time: Some(at(0)),
    }
}

/// The token that rotating `parent` at `now` would store.
pub(crate) fn child_of(parent: &RefreshToken, now: UnixTime) -> RefreshToken {
    RefreshToken {
        digest: token().digest(),
        parent: Some(parent.digest.clone()),
        generation: parent.generation + 1,
        created_at: now,
        used_at: None,
        revoked_at: None,
        ..parent.clone()
    }
}

/// A pending device authorization with a random user code, usable until `expires_at`.
pub(crate) fn device_code(client: &ClientId, expires_at: UnixTime) -> DeviceCode {
    let letters = alphanumeric(&SystemRng, 8).to_uppercase();
    DeviceCode {
        digest: token().digest(),
        user_code: format!("{}-{}", &letters[..4], &letters[4..]),
        client_id: client.clone(),
        scope: vec!["openid".to_owned(), "offline_access".to_owned()],
        audience: Some("https://api.example/".to_owned()),
        status: DeviceStatus::Pending,
        created_at: at(0),
        expires_at,
        interval: 5,
        last_polled_at: None,
        consumed_at: None,
    }
}

/// An unused ticket of `kind` for `user`, usable until `expires_at`.
pub(crate) fn ticket(user: &UserId, kind: TicketKind, expires_at: UnixTime) -> Ticket {
    Ticket {
        digest: token().digest(),
        kind,
        user_id: user.clone(),
        result_url: Some("https://app.example/done".to_owned()),
        created_at: at(0),
        expires_at,
        used_at: None,
    }
}

/// A new ES256 signing key (P-256 family) in `state`: generating it is instant, unlike RSA.
pub(crate) fn signing_key(state: KeyState) -> SigningKeyRecord {
    signing_key_of(KeySpec::P256, Algorithm::ES256, state)
}

/// A new RS256 signing key (RSA family) in `state`. RSA key generation is slow: use few.
pub(crate) fn rsa_signing_key(state: KeyState) -> SigningKeyRecord {
    signing_key_of(KeySpec::Rsa2048, Algorithm::RS256, state)
}

fn signing_key_of(spec: KeySpec, alg: Algorithm, state: KeyState) -> SigningKeyRecord {
    let key = PrivateKey::generate(spec).expect("a new key");
    SigningKeyRecord {
        kid: key.thumbprint(),
        alg,
        state,
        private_pkcs8: key.to_pkcs8_der().expect("PKCS#8 DER"),
        created_at: at(0),
        current_since: (state == KeyState::Current).then(|| at(0)),
        previous_since: None,
        revoked_at: None,
    }
}

/// What most runtime records hang off: the default database connection, one of its users
/// and a single-page application, all stored.
pub(crate) struct World {
    pub(crate) connection: Connection,
    pub(crate) user: User,
    pub(crate) client: Client,
}

/// Stores a [`World`].
pub(crate) async fn world(store: &SqlStore) -> World {
    let connection = connection(DEFAULT_DATABASE_CONNECTION);
    store
        .create_connection(&connection, &[])
        .await
        .expect("create the connection");
    let user = user(&connection, "world@example.com");
    store.create_user(&user).await.expect("create the user");
    let client = client("World App", AppType::Spa);
    store
        .create_client(&client)
        .await
        .expect("create the client");
    World {
        connection,
        user,
        client,
    }
}

/// A result as one comparable word: `Ok`, `NotFound`, `Conflict(Email)`, `AlreadyUsed`, …
/// (corrupt and backend failures keep their message, so a table shows what went wrong).
pub(crate) fn outcome<T>(result: &Result<T, StoreError>) -> String {
    match result {
        Ok(_) => "Ok".to_owned(),
        Err(StoreError::NotFound(_)) => "NotFound".to_owned(),
        Err(StoreError::Conflict(c)) => format!("Conflict({c:?})"),
        Err(StoreError::AlreadyUsed) => "AlreadyUsed".to_owned(),
        Err(StoreError::Expired) => "Expired".to_owned(),
        Err(StoreError::Revoked) => "Revoked".to_owned(),
        Err(e @ StoreError::Corrupt { .. }) => format!("Corrupt: {e}"),
        Err(StoreError::Unavailable(e)) => format!("Unavailable: {e}"),
        Err(StoreError::Backend(e)) => format!("Backend: {e}"),
    }
}

/// Checks a table of `(case, outcome, expected outcome)`, reporting every mismatch at once.
#[track_caller]
pub(crate) fn check(store: &SqlStore, cases: &[(&str, String, &str)]) {
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(_, got, want)| got != want)
        .map(|(case, got, want)| format!("  {case}: got {got}, want {want}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "{:?}:\n{}",
        store.database().backend(),
        wrong.join("\n")
    );
}

/// One nullable byte column of one row, read with raw SQL (`sql` takes the key as `$1`): for
/// checking what is really on disk.
pub(crate) async fn raw_bytes(db: &Database, sql: &'static str, key: &str) -> Option<Vec<u8>> {
    match db {
        Database::Sqlite(pool) => sqlx::query_scalar(sql).bind(key).fetch_one(pool).await,
        Database::Postgres(pool) => sqlx::query_scalar(sql).bind(key).fetch_one(pool).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Whether `needle` occurs in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
