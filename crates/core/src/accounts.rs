//! What Auth0's `/dbconnections/*` endpoints do: sign a user up in a database connection, and
//! start a password reset (a single-use ticket, its link mailed through the outbox).

use serde::Serialize;
use zeroize::Zeroizing;

use crate::actions::ActionRunner;
use crate::attack_protection::breached;
use crate::attack_protection::brute_force;
use crate::attack_protection::suspicious_ip::{self, Stage, Throttle};
use crate::connections::{self, Unusable};
use crate::ids::{ClientId, UserId};
use crate::model::user::{NewUser, merge_keys};
use crate::model::{
    Client, Connection, JsonObject, LogType, NewLogEvent, Strategy, TemplateName, TenantSettings,
    TicketKind, User,
};
use crate::oauth::{ErrorCode, FlowError, LogHint, OAuthError};
use crate::password::{PasswordHash, Passwords};
use crate::tickets;
use crate::{Conflict, Rng, Store, StoreError, UnixTime};

/// How long a password reset link works (Auth0's default: 5 days).
pub const RESET_TICKET_LIFETIME: i64 = crate::tickets::TICKET_LIFETIME;

/// A signup request.
#[derive(Clone, Debug)]
pub struct SignupRequest {
    /// The application the user signs up from.
    pub client_id: ClientId,
    /// The database connection.
    pub connection: String,
    /// Email address.
    pub email: String,
    /// The chosen password.
    pub password: Zeroizing<String>,
    /// Username, for connections that require one.
    pub username: Option<String>,
    /// Profile fields.
    pub given_name: Option<String>,
    /// Profile fields.
    pub family_name: Option<String>,
    /// Profile fields.
    pub name: Option<String>,
    /// Profile fields.
    pub nickname: Option<String>,
    /// Profile fields.
    pub picture: Option<String>,
    /// What the user may edit.
    pub user_metadata: Option<crate::model::JsonObject>,
    /// The caller's address (`event.request.ip`).
    pub ip: Option<String>,
    /// The language the browser prefers (`event.request.language`).
    pub language: Option<String>,
    /// Where the caller's address is (`event.request.geoip`; empty when unknown).
    pub geoip: JsonObject,
    /// Whether it comes from the hosted signup page (`event.transaction` is there only then).
    pub hosted: bool,
}

/// What signup answers (Auth0's shape).
#[derive(Clone, Debug, Serialize)]
pub struct SignupResponse {
    /// The id without the `auth0|` prefix.
    #[serde(rename = "_id")]
    pub id: String,
    /// Email address.
    pub email: String,
    /// Always false: the address is not proven yet.
    pub email_verified: bool,
    /// Username, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

fn refuse(code: ErrorCode, description: impl Into<String>) -> FlowError {
    OAuthError::new(code, description).into()
}

/// The database connection `name`, for a known client.
async fn database_connection(
    store: &impl Store,
    client_id: &ClientId,
    name: &str,
) -> Result<Connection, FlowError> {
    if store.client(client_id).await?.is_none() {
        return Err(refuse(ErrorCode::InvalidRequest, "Unknown client_id"));
    }
    match connections::usable_by(store, client_id, name).await? {
        Ok(c) if c.strategy == Strategy::Auth0 => Ok(c),
        Ok(_) => Err(refuse(
            ErrorCode::InvalidRequest,
            format!("{name} is not a database connection"),
        )),
        Err(Unusable::Unknown) => Err(refuse(
            ErrorCode::InvalidRequest,
            format!("Unknown connection: {name}"),
        )),
        Err(refusal @ Unusable::Disabled) => {
            Err(refuse(ErrorCode::InvalidRequest, refusal.message()))
        }
    }
}

/// Auth0's answer to a signup with an email (or username) the connection already has.
pub const USER_EXISTS: &str = "The user already exists.";

/// Whether public signups are open in `connection`: neither the tenant (its `disable_signup`
/// flag) nor the connection turned them off.
async fn signup_open(store: &impl Store, connection: &Connection) -> Result<bool, StoreError> {
    let tenant = store.tenant_settings().await?.unwrap_or_default();
    Ok(signups_open_in(&tenant, connection))
}

/// Whether neither the tenant nor `connection` turned signups off.
fn signups_open_in(tenant: &TenantSettings, connection: &Connection) -> bool {
    !tenant.flags.disable_signup && !connection.options.disable_signup
}

/// Whether the hosted pages offer signup in the database connection `realm` (the tenant's
/// default directory when `None`): it exists, is a database, and signups are open there.
pub async fn signup_allowed(store: &impl Store, realm: Option<&str>) -> Result<bool, StoreError> {
    let realm = realm_or_default(store, realm).await?;
    match store.connection_by_name(&realm).await? {
        Some(connection) if connection.strategy == Strategy::Auth0 => {
            signup_open(store, &connection).await
        }
        _ => Ok(false),
    }
}

/// The database connection's options the signup page needs: the password policy in words, and
/// whether a username is asked for. `None` when `realm` (or the default directory) is not a
/// database connection.
pub async fn signup_form(
    store: &impl Store,
    realm: Option<&str>,
) -> Result<Option<SignupForm>, StoreError> {
    let realm = realm_or_default(store, realm).await?;
    Ok(match store.connection_by_name(&realm).await? {
        Some(connection) if connection.strategy == Strategy::Auth0 => Some(SignupForm {
            policy: connection.options.describe_password_policy(),
            requires_username: connection.options.requires_username,
            open: signup_open(store, &connection).await?,
            connection: connection.name,
        }),
        _ => None,
    })
}

/// What the signup page shows of a database connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignupForm {
    /// The connection's name.
    pub connection: String,
    /// Its password policy in words.
    pub policy: String,
    /// Whether its users have a username too.
    pub requires_username: bool,
    /// Whether signups are open (neither the tenant nor the connection turned them off).
    pub open: bool,
}

/// Ends what `user` holds from past logins: their SSO sessions and their refresh tokens, for
/// every client (a block, a password reset). Their opaque access tokens end with them, as
/// `/userinfo` refuses a blocked user's; a JWT access token lives out its short life at the API.
pub async fn end_access(
    store: &impl Store,
    user: &UserId,
    now: UnixTime,
) -> Result<(), crate::StoreError> {
    store.delete_user_sessions(user).await?;
    store.revoke_user_refresh_tokens(user, None, now).await?;
    Ok(())
}

/// Auth0's limit on the `user_metadata` a signup itself may give: at most 10 properties, each
/// a string, 500 characters in all.
fn check_signup_metadata(metadata: &JsonObject) -> Result<(), FlowError> {
    let strings: Option<Vec<&str>> = metadata.values().map(|v| v.as_str()).collect();
    let fits = strings
        .is_some_and(|values| values.iter().map(|v| v.chars().count()).sum::<usize>() <= 500);
    if metadata.len() > 10 || !fits {
        return Err(refuse(
            ErrorCode::InvalidRequest,
            "user_metadata at signup may have at most 10 properties, each a string, of 500 \
             characters in all",
        ));
    }
    Ok(())
}

/// Signs a user up, and mails them a link proving their address (as Auth0 does: a signed-up
/// user is never verified yet).
pub async fn signup(
    store: &impl Store,
    passwords: &impl Passwords,
    actions: &impl ActionRunner,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    request: &SignupRequest,
) -> Result<SignupResponse, FlowError> {
    let user = signup_user(store, passwords, actions, rng, issuer, now, request).await?;
    Ok(SignupResponse {
        id: user.user_id.local_part().to_owned(),
        email: user.email.clone().unwrap_or_default(),
        email_verified: false,
        username: user.username,
    })
}

/// As [`signup`], answering the new user, for the hosted signup page that logs them in.
pub async fn signup_user(
    store: &impl Store,
    passwords: &impl Passwords,
    actions: &impl ActionRunner,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    request: &SignupRequest,
) -> Result<User, FlowError> {
    let connection = database_connection(store, &request.client_id, &request.connection).await?;
    // Read once: whether signups are open, suspicious-IP throttling, breached passwords.
    let tenant = store.tenant_settings().await?.unwrap_or_default();
    if !signups_open_in(&tenant, &connection) {
        return Err(refuse(
            ErrorCode::InvalidSignup,
            "Signups are disabled for this connection",
        ));
    }
    let email = crate::model::user::check_email(&request.email)
        .map_err(|refusal| refuse(ErrorCode::InvalidRequest, format!("email: {refusal}")))?;
    if let Some(username) = &request.username {
        crate::model::user::check_identifier(username)
            .map_err(|refusal| refuse(ErrorCode::InvalidRequest, format!("username: {refusal}")))?;
    }
    if let Some(metadata) = &request.user_metadata {
        check_signup_metadata(metadata)?;
    }
    if connection.options.requires_username && request.username.is_none() {
        return Err(refuse(
            ErrorCode::InvalidRequest,
            "Missing required parameter: username",
        ));
    }
    // Suspicious-IP throttling counts every well-formed signup attempt from the address.
    let throttle = suspicious_ip::charge(
        store,
        &tenant.suspicious_ip,
        Stage::Signup,
        request.ip.as_deref(),
        now,
    )
    .await?;
    if throttle == Throttle::Throttled {
        return Err(refuse(ErrorCode::TooManyAttempts, suspicious_ip::THROTTLED));
    }
    connection
        .options
        .check_password(&request.password)
        .map_err(|refusal| {
            OAuthError::new(ErrorCode::InvalidPassword, refusal.to_string()).named(refusal.name())
        })?;
    let used = breached::Used {
        user: None,
        identifier: email,
        client_id: Some(&request.client_id),
        ip: request.ip.as_deref(),
    };
    let detection = &tenant.breached_passwords;
    let checkpoint = breached::Checkpoint::Signup;
    if breached::refuses(
        store,
        passwords,
        None,
        detection,
        checkpoint,
        &request.password,
        used,
        now,
    )
    .await?
    {
        return Err(
            OAuthError::new(ErrorCode::InvalidPassword, breached::LEAKED_NEW)
                .named("PasswordLeakedError")
                .into(),
        );
    }
    // pre-user-registration: its Actions may refuse, or add metadata to the new user.
    let mut metadata = (JsonObject::new(), JsonObject::new());
    if actions.is_bound("pre-user-registration").await? {
        let client = store.client(&request.client_id).await?;
        let event = registration_event(request, email, &connection, client.as_ref());
        if let Some(run) = actions.run("pre-user-registration", move || event).await? {
            crate::actions::pre_user_registration(&run)?;
            metadata = crate::actions::metadata_changes(&run);
        }
    }
    let hash = passwords
        .hash(request.password.to_string())
        .await?
        .ok_or_else(|| refuse(ErrorCode::InvalidPassword, "the password cannot be used"))?;
    let mut user = User::new_database(
        UserId::generate_database(rng),
        &connection,
        NewUser {
            email: email.to_owned(),
            email_verified: false,
            username: request.username.clone(),
            password: Some(hash),
        },
        now,
    );
    let or = |field: &Option<String>, fallback: Option<String>| field.clone().or(fallback);
    user.given_name = request.given_name.clone();
    user.family_name = request.family_name.clone();
    user.name = or(&request.name, user.name.take());
    user.nickname = or(&request.nickname, user.nickname.take());
    user.picture = request.picture.clone();
    user.user_metadata = request.user_metadata.clone().unwrap_or_default();
    merge_keys(&mut user.app_metadata, metadata.0);
    merge_keys(&mut user.user_metadata, metadata.1);
    // What a pre-user-registration Action added is held to the same limit.
    user.check_metadata()
        .map_err(|too_large| refuse(ErrorCode::InvalidRequest, too_large.to_string()))?;
    // post-user-registration runs later, off the signup's path, at least once: its execution is
    // queued in the user's own transaction. The signup stands whatever becomes of it.
    let queued = if actions
        .is_bound("post-user-registration")
        .await
        .unwrap_or(false)
    {
        let client = store.client(&request.client_id).await.ok().flatten();
        let event = crate::actions::user_changed_event(
            &user,
            &connection,
            client.as_ref(),
            request.ip.as_deref(),
        );
        Some(crate::actions::queued(
            rng,
            now,
            "post-user-registration",
            event,
        ))
    } else {
        None
    };
    match store.create_user_queueing(&user, queued.as_ref()).await {
        Ok(()) => {}
        Err(StoreError::Conflict(Conflict::Email | Conflict::Username | Conflict::UserId)) => {
            return Err(refuse(ErrorCode::InvalidSignup, USER_EXISTS));
        }
        Err(e) => return Err(e.into()),
    }
    store
        .append_log(&NewLogEvent {
            client_id: Some(request.client_id.clone()),
            user_id: Some(user.user_id.clone()),
            user_name: user.email.clone(),
            connection: Some(connection.name.clone()),
            ..NewLogEvent::new(LogType::SUCCESS_SIGNUP, now)
        })
        .await?;
    if queued.is_some() {
        actions.queued();
    }
    tickets::send_verification_email(store, rng, issuer, now, &user, Some(&request.client_id))
        .await?;
    Ok(user)
}

/// Auth0's `pre-user-registration` event (the user has no id yet; `geoip` is `{}` when the
/// address cannot be placed).
fn registration_event(
    request: &SignupRequest,
    email: &str,
    connection: &Connection,
    client: Option<&Client>,
) -> serde_json::Value {
    let mut event = serde_json::json!({
        "user": {
            "email": email,
            "username": request.username,
            "name": request.name,
            "given_name": request.given_name,
            "family_name": request.family_name,
            "nickname": request.nickname,
            "picture": request.picture,
            "user_metadata": request.user_metadata.clone().unwrap_or_default(),
            "app_metadata": {},
        },
        "client": {
            "client_id": request.client_id,
            "name": client.map(|c| c.name.as_str()),
            "metadata": client.map(|c| c.settings.client_metadata.clone()).unwrap_or_default(),
        },
        "connection": {
            "id": connection.id,
            "name": connection.name,
            "strategy": "auth0",
            "metadata": {},
        },
        "request": {"ip": request.ip, "language": request.language, "geoip": request.geoip},
        "tenant": {"id": "sigil"},
    });
    if request.hosted {
        event["transaction"] = serde_json::json!({"metadata": {}});
    }
    event
}

/// The answer to every password-reset request, whether or not the user exists.
pub const RESET_REQUESTED: &str = "We've just sent you an email to reset your password.";

/// A password reset asked for, in a connection that exists: what [`mail_reset_link`] needs.
/// The caller's mistakes (an unknown client or connection) are answered when it is made;
/// whether the user exists is decided only by [`mail_reset_link`], which the server runs after
/// answering [`RESET_REQUESTED`], so the answer takes as long for a stranger as for a user.
#[derive(Clone, Debug)]
pub struct ResetRequest {
    /// The application asking, when one did.
    pub client_id: Option<ClientId>,
    /// The database connection.
    pub connection: Connection,
    /// The address given.
    pub email: String,
    /// Where the done page sends the user back (the hosted page's login).
    pub result_url: Option<String>,
}

/// A reset asked for at `/dbconnections/change_password`: `connection` must be a database
/// connection enabled for the client.
pub async fn request_password_reset(
    store: &impl Store,
    client_id: &ClientId,
    connection: &str,
    email: &str,
) -> Result<ResetRequest, FlowError> {
    let connection = database_connection(store, client_id, connection).await?;
    Ok(ResetRequest {
        client_id: Some(client_id.clone()),
        connection,
        email: email.to_owned(),
        result_url: None,
    })
}

/// The hosted "forgot password" page's request: in the database connection `connection` (the
/// login transaction's) or the tenant's default directory; `result_url` is where the done page
/// sends the user back (the login page).
pub async fn request_password_reset_from_page(
    store: &impl Store,
    client_id: Option<&ClientId>,
    connection: Option<&str>,
    email: &str,
    result_url: Option<String>,
) -> Result<ResetRequest, FlowError> {
    let realm = realm_or_default(store, connection).await?;
    let connection = match store.connection_by_name(&realm).await? {
        Some(c) if c.strategy == Strategy::Auth0 => c,
        _ => {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                format!("{realm} is not a database connection"),
            ));
        }
    };
    Ok(ResetRequest {
        client_id: client_id.cloned(),
        connection,
        email: email.to_owned(),
        result_url,
    })
}

/// The ticket (valid for [`RESET_TICKET_LIFETIME`]) and the mail with its link
/// (`<issuer>u/reset-password?ticket=…`) of a password reset, if the connection has a user with
/// the address; nothing otherwise.
pub async fn mail_reset_link(
    store: &impl Store,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    request: ResetRequest,
) -> Result<(), FlowError> {
    let ResetRequest {
        client_id,
        connection,
        email,
        result_url,
    } = request;
    let (client_id, connection) = (client_id.as_ref(), &connection);
    let email = email.trim();
    let Some(user) = store.user_by_email(&connection.id, email).await? else {
        return Ok(());
    };
    let to = user.email.clone().unwrap_or_else(|| email.to_owned());
    tickets::mail_link(
        store,
        rng,
        issuer,
        now,
        tickets::Link {
            template: TemplateName::ResetEmail,
            ticket: TicketKind::PasswordReset,
            outbox_kind: "reset_password",
            result_url,
        },
        &user,
        &to,
        client_id,
    )
    .await?;
    store
        .append_log(&NewLogEvent {
            client_id: client_id.cloned(),
            user_id: Some(user.user_id.clone()),
            user_name: user.email.clone(),
            connection: Some(connection.name.clone()),
            ..NewLogEvent::new(LogType::SUCCESS_CHANGE_PASSWORD_REQUEST, now)
        })
        .await?;
    Ok(())
}

/// `realm`, or the tenant's default directory when `None`.
async fn realm_or_default(store: &impl Store, realm: Option<&str>) -> Result<String, StoreError> {
    let settings = store.tenant_settings().await?.unwrap_or_default();
    Ok(realm_in(&settings, realm))
}

/// `realm`, or `settings`' default directory when `None`.
fn realm_in(settings: &TenantSettings, realm: Option<&str>) -> String {
    match realm {
        Some(realm) => realm.to_owned(),
        None => settings
            .default_directory
            .clone()
            .unwrap_or_else(|| crate::model::connection::DEFAULT_DATABASE_CONNECTION.to_owned()),
    }
}

/// Why a login was refused. The cases look different to the user only after the password was
/// right: an unknown user and a wrong password are the same refusal, told apart only in the
/// tenant log (`fu`, `fp`), as Auth0 does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginRefusal {
    /// No such user: "Wrong email or password."
    UnknownUser,
    /// The user's password is not this one: "Wrong email or password."
    WrongPassword(UserId),
    /// The password was right but the user is blocked.
    Blocked(UserId),
    /// Brute-force protection blocks this identifier (from this address): the password was
    /// not checked.
    TooManyAttempts,
    /// Suspicious-IP throttling: this address failed too many logins, across accounts; the
    /// password was not checked.
    Throttled,
    /// The right password, but one found in a data breach, and breached-password detection
    /// blocks such logins until the password is changed.
    PasswordLeaked(UserId),
}

impl LoginRefusal {
    /// What the user is told.
    pub fn message(&self) -> &'static str {
        match self {
            LoginRefusal::UnknownUser | LoginRefusal::WrongPassword(_) => {
                "Wrong email or password."
            }
            LoginRefusal::Blocked(_) => "user is blocked",
            LoginRefusal::TooManyAttempts => brute_force::BLOCKED,
            LoginRefusal::Throttled => suspicious_ip::THROTTLED,
            LoginRefusal::PasswordLeaked(_) => breached::LEAKED,
        }
    }

    /// How the tenant log records it: its type code and the user, when known.
    pub fn log_hint(&self) -> LogHint {
        match self {
            LoginRefusal::UnknownUser => LogHint {
                log_type: LogType::FAILED_LOGIN_USER,
                user_id: None,
                recorded: false,
            },
            LoginRefusal::WrongPassword(user) => LogHint {
                log_type: LogType::FAILED_LOGIN_PASSWORD,
                user_id: Some(user.clone()),
                recorded: false,
            },
            LoginRefusal::Blocked(user) | LoginRefusal::PasswordLeaked(user) => LogHint {
                log_type: LogType::FAILED_LOGIN,
                user_id: Some(user.clone()),
                recorded: false,
            },
            LoginRefusal::TooManyAttempts | LoginRefusal::Throttled => LogHint {
                log_type: LogType::FAILED_LOGIN,
                user_id: None,
                recorded: false,
            },
        }
    }

    /// As the token endpoint answers it, as Auth0 does: 403 `invalid_grant` for the wrong
    /// credentials, 401 `unauthorized` for a blocked user, 429 `too_many_attempts` for a
    /// brute-force block or a throttled address; logged as [`Self::log_hint`].
    pub fn into_flow_error(self) -> FlowError {
        let hint = self.log_hint();
        let code = match self {
            LoginRefusal::UnknownUser | LoginRefusal::WrongPassword(_) => ErrorCode::InvalidGrant,
            LoginRefusal::Blocked(_) => ErrorCode::Unauthorized,
            LoginRefusal::PasswordLeaked(_) => ErrorCode::PasswordLeaked,
            LoginRefusal::TooManyAttempts | LoginRefusal::Throttled => ErrorCode::TooManyAttempts,
        };
        OAuthError::new(code, self.message()).logged_as(hint).into()
    }
}

/// A password tried at a login: in which database connection (`None`: the tenant's default
/// directory), as whom, and from where. No `Debug`: it holds the password.
#[derive(Clone, Copy)]
pub struct PasswordAttempt<'a> {
    /// The connection (`realm`).
    pub realm: Option<&'a str>,
    /// The email or username typed.
    pub username: &'a str,
    /// The password typed.
    pub password: &'a str,
    /// The client's address.
    pub ip: Option<&'a str>,
    /// When.
    pub now: UnixTime,
}

/// Checks a user's credentials in the database connection `realm` (the tenant's default
/// directory when `None`) for `client`: the user by email, else by username, ignoring case; the
/// password checked off-thread, against a decoy when there is no such user, so both refusals
/// take as long (and [`FlowError::Busy`] comes alike for both). An unknown realm, or one not
/// enabled for the client, is the caller's mistake (`invalid_request`). The credentials of an
/// account linked to another user log in as that (primary) user.
///
/// Attack protection comes first: the attempt is charged to its address's bucket
/// (`attack_protection::suspicious_ip`) and reserved on its identifier's counter
/// (`attack_protection::brute_force`) before anything is looked up, and a throttled or
/// blocked one is refused without checking the password; the outcome then gives the charge
/// back and clears the counter (a success) or leaves the failure counted, and the failure that
/// reaches the threshold mails the user an unblock link (`mailer`).
pub async fn authenticate_user(
    store: &impl Store,
    passwords: &impl Passwords,
    mailer: brute_force::Mailer<'_>,
    client: &ClientId,
    attempt: PasswordAttempt<'_>,
) -> Result<Result<User, LoginRefusal>, FlowError> {
    let PasswordAttempt {
        realm,
        username,
        password,
        ip,
        now,
    } = attempt;
    let settings = store.tenant_settings().await?.unwrap_or_default();
    let realm = realm_in(&settings, realm);
    let connection = match connections::usable_by(store, client, &realm).await? {
        Ok(connection) => connection,
        Err(Unusable::Unknown) => {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                format!("Unknown realm: {realm}"),
            ));
        }
        Err(refusal @ Unusable::Disabled) => {
            return Err(refuse(ErrorCode::InvalidRequest, refusal.message()));
        }
    };
    let throttling = &settings.suspicious_ip;
    let throttle = suspicious_ip::charge(store, throttling, Stage::Login, ip, now).await?;
    if throttle == Throttle::Throttled {
        return Ok(Err(LoginRefusal::Throttled));
    }
    let protection = &settings.brute_force;
    let gate = brute_force::reserve(store, protection, &connection.id, username, ip, now).await?;
    if gate == brute_force::Gate::Blocked {
        return Ok(Err(LoginRefusal::TooManyAttempts));
    }
    let outcome = match check_credentials(store, passwords, &connection, username, password).await {
        Ok(outcome) => outcome,
        Err(e) => {
            brute_force::release(store, &gate).await?;
            suspicious_ip::give_back(store, &throttle).await?;
            return Err(e);
        }
    };
    brute_force::settle(store, protection, &gate, outcome.is_ok(), now).await?;
    if let Ok(user) = &outcome {
        suspicious_ip::give_back(store, &throttle).await?;
        // The right password: is it a breached one?
        let used = breached::Used {
            user: Some(user),
            identifier: username,
            client_id: Some(client),
            ip,
        };
        let detection = &settings.breached_passwords;
        let checkpoint = breached::Checkpoint::Login;
        if breached::refuses(
            store,
            passwords,
            Some(mailer),
            detection,
            checkpoint,
            password,
            used,
            now,
        )
        .await?
        {
            return Ok(Err(LoginRefusal::PasswordLeaked(user.user_id.clone())));
        }
    }
    if let Err(LoginRefusal::WrongPassword(user)) = &outcome
        && let Some(user) = store.user(user).await?
    {
        brute_force::notify(store, mailer, protection, &gate, &user, now).await?;
    }
    Ok(outcome)
}

/// The user `username` with `password` in `connection`, or why not (see
/// [`authenticate_user`]).
async fn check_credentials(
    store: &impl Store,
    passwords: &impl Passwords,
    connection: &Connection,
    username: &str,
    password: &str,
) -> Result<Result<User, LoginRefusal>, FlowError> {
    let mut user = store.user_by_email(&connection.id, username).await?;
    if user.is_none() {
        user = store.user_by_username(&connection.id, username).await?;
    }
    let hash = user.as_ref().and_then(|u| u.password.clone());
    // An over-long password matches nothing: refused without hashing, whoever the user is.
    let matches = password.len() <= crate::password::MAX_PASSWORD_BYTES
        && passwords.check(hash, password.to_owned()).await?;
    Ok(match user {
        None => Err(LoginRefusal::UnknownUser),
        Some(user) if !matches => Err(LoginRefusal::WrongPassword(user.user_id)),
        Some(user) if user.blocked => Err(LoginRefusal::Blocked(user.user_id)),
        Some(mut user) => {
            // An imported (or older argon2) hash becomes argon2id with Sigil's parameters now
            // that the password is known. If that fails (or the workers are busy) the login
            // still stands; the next one tries again.
            if let Some(old) = user.password.clone().filter(PasswordHash::needs_rehash)
                && let Ok(Some(new)) = passwords.hash(password.to_owned()).await
                && store
                    .upgrade_password(&user.user_id, &old, &new)
                    .await
                    .unwrap_or(false)
            {
                user.password = Some(new);
            }
            // A linked account's credentials log in as the user it is linked to.
            match user.linked_to.take() {
                None => Ok(user),
                Some(primary) => match store.user(&primary).await? {
                    Some(primary) if primary.blocked => Err(LoginRefusal::Blocked(primary.user_id)),
                    Some(primary) => Ok(primary),
                    // Linked a moment ago to a user deleted since: no account now.
                    None => Err(LoginRefusal::UnknownUser),
                },
            }
        }
    })
}
