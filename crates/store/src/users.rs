//! Users and their identities. Emails and usernames are unique per connection ignoring case,
//! decided by unique indexes on their case-folded forms, so racing signups make one user.

use sigil_core::ids::{ConnectionId, UserId};
use sigil_core::model::user::{merge_keys, normalized};
use sigil_core::model::{
    Authenticator, Identity, JsonObject, QueuedTrigger, User, UserQuery, UserSort, UserSortField,
};
use sigil_core::password::{PasswordAlgorithm, PasswordHash};
use sigil_core::secret::Token;
use sigil_core::store::{Page, Result};
use sigil_core::{Conflict, LinkRefusal, StoreError, UnixTime};
use sqlx::AssertSqlSafe;

use crate::SqlStore;
use crate::codec::{Filter, from_json, open, seal, time, to_json, unix};
use crate::database::{BeginWrite as _, on_pool};
use crate::error::{OrBackend as _, corrupt, touched, write_error};

const COLUMNS: &str = "user_id, connection_id, email, email_verified, username, name, given_name, \
     family_name, nickname, picture, user_metadata, app_metadata, blocked, created_at, \
     updated_at, last_login, last_ip, logins_count, password_alg, password_hash, \
     last_password_reset, linked_to, idp_attributes, phone_number, phone_verified, \
     (SELECT MAX(a.confirmed_at) FROM authenticators a WHERE a.user_id = users.user_id \
     AND a.kind <> 'recovery-code') AS mfa_enrolled_at";

macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT user_id, connection_id, email, email_verified, username, name, given_name, \
             family_name, nickname, picture, user_metadata, app_metadata, blocked, created_at, \
             updated_at, last_login, last_ip, logins_count, password_alg, password_hash, \
             last_password_reset, linked_to, idp_attributes, phone_number, phone_verified, \
             (SELECT MAX(a.confirmed_at) FROM authenticators a WHERE a.user_id = users.user_id \
             AND a.kind <> 'recovery-code') AS mfa_enrolled_at \
             FROM users ",
            $tail
        )
    };
}

const INSERT_USER: &str = "INSERT INTO users (user_id, connection_id, email, email_norm, \
     email_verified, username, username_norm, name, given_name, family_name, nickname, picture, \
     user_metadata, app_metadata, blocked, created_at, updated_at, last_login, last_ip, \
     logins_count, password_alg, password_hash, last_password_reset, is_federated, \
     idp_attributes, phone_number, phone_verified) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
     $19, $20, $21, $22, $23, $24, $25, $26, $27)";

const INSERT_IDENTITY: &str = "INSERT INTO user_identities (provider, identity_id, user_id, \
     position, connection, is_social, access_token, refresh_token, profile_data, expires_in) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

const IDENTITY_COLUMNS: &str = "SELECT provider, identity_id, user_id, connection, is_social, \
     access_token, refresh_token, profile_data, expires_in FROM user_identities";

#[derive(sqlx::FromRow)]
struct Row {
    user_id: String,
    connection_id: String,
    email: Option<String>,
    email_verified: bool,
    username: Option<String>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    nickname: Option<String>,
    picture: Option<String>,
    user_metadata: String,
    app_metadata: String,
    blocked: bool,
    created_at: i64,
    updated_at: i64,
    last_login: Option<i64>,
    last_ip: Option<String>,
    logins_count: i64,
    password_alg: Option<String>,
    password_hash: Option<String>,
    last_password_reset: Option<i64>,
    linked_to: Option<String>,
    idp_attributes: String,
    phone_number: Option<String>,
    phone_verified: bool,
    mfa_enrolled_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct IdentityRow {
    provider: String,
    identity_id: String,
    user_id: String,
    connection: String,
    is_social: bool,
    access_token: Option<Vec<u8>>,
    refresh_token: Option<Vec<u8>>,
    profile_data: Option<String>,
    expires_in: Option<i64>,
}

/// A user's columns, computed once and bound by [`bind_user!`] on either backend.
struct Values {
    user_id: String,
    connection_id: String,
    email: Option<String>,
    email_norm: Option<String>,
    email_verified: bool,
    username: Option<String>,
    username_norm: Option<String>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    nickname: Option<String>,
    picture: Option<String>,
    user_metadata: String,
    app_metadata: String,
    blocked: bool,
    created_at: i64,
    updated_at: i64,
    last_login: Option<i64>,
    last_ip: Option<String>,
    logins_count: i64,
    password_alg: Option<&'static str>,
    password_hash: Option<String>,
    last_password_reset: Option<i64>,
    is_federated: bool,
    idp_attributes: String,
    phone_number: Option<String>,
    phone_verified: bool,
}

impl Values {
    fn of(user: &User) -> Result<Self> {
        Ok(Values {
            user_id: user.user_id.0.clone(),
            connection_id: user.connection_id.0.clone(),
            email: user.email.clone(),
            email_norm: user.email.as_deref().map(normalized),
            email_verified: user.email_verified,
            username: user.username.clone(),
            username_norm: user.username.as_deref().map(normalized),
            name: user.name.clone(),
            given_name: user.given_name.clone(),
            family_name: user.family_name.clone(),
            nickname: user.nickname.clone(),
            picture: user.picture.clone(),
            user_metadata: to_json("user_metadata", &user.user_metadata)?,
            app_metadata: to_json("app_metadata", &user.app_metadata)?,
            blocked: user.blocked,
            created_at: user.created_at.0,
            updated_at: user.updated_at.0,
            last_login: time(user.last_login),
            last_ip: user.last_ip.clone(),
            logins_count: user.logins_count,
            password_alg: user.password.as_ref().map(|p| p.algorithm.as_str()),
            password_hash: user.password.as_ref().map(|p| p.encoded.clone()),
            last_password_reset: time(user.last_password_reset),
            is_federated: user.is_federated(),
            idp_attributes: to_json("idp attributes", &user.idp_attributes)?,
            phone_number: user.phone_number.clone(),
            phone_verified: user.phone_verified,
        })
    }
}

/// Binds [`Values`] in [`INSERT_USER`]'s order.
macro_rules! bind_user {
    ($query:expr, $v:expr) => {
        $query
            .bind($v.user_id.clone())
            .bind($v.connection_id.clone())
            .bind($v.email.clone())
            .bind($v.email_norm.clone())
            .bind($v.email_verified)
            .bind($v.username.clone())
            .bind($v.username_norm.clone())
            .bind($v.name.clone())
            .bind($v.given_name.clone())
            .bind($v.family_name.clone())
            .bind($v.nickname.clone())
            .bind($v.picture.clone())
            .bind($v.user_metadata.clone())
            .bind($v.app_metadata.clone())
            .bind($v.blocked)
            .bind($v.created_at)
            .bind($v.updated_at)
            .bind($v.last_login)
            .bind($v.last_ip.clone())
            .bind($v.logins_count)
            .bind($v.password_alg)
            .bind($v.password_hash.clone())
            .bind($v.last_password_reset)
            .bind($v.is_federated)
            .bind($v.idp_attributes.clone())
            .bind($v.phone_number.clone())
            .bind($v.phone_verified)
    };
}

/// An identity's columns, its upstream tokens sealed.
struct IdentityValues {
    provider: String,
    identity_id: String,
    user_id: String,
    position: i64,
    connection: String,
    is_social: bool,
    access_token: Option<Vec<u8>>,
    refresh_token: Option<Vec<u8>>,
    profile_data: Option<String>,
    expires_in: Option<i64>,
}

fn token_purpose(kind: &str, provider: &str, id: &str) -> String {
    format!("identity {kind}:{provider}|{id}")
}

fn identity_values(store: &SqlStore, user: &User) -> Result<Vec<IdentityValues>> {
    let seal_token = |kind: &str, identity: &Identity, token: &Option<Token>| {
        token
            .as_ref()
            .map(|t| {
                seal(
                    &store.key,
                    &token_purpose(kind, &identity.provider, &identity.user_id),
                    t.expose().as_bytes(),
                )
            })
            .transpose()
    };
    user.identities
        .iter()
        .enumerate()
        .map(|(position, identity)| {
            Ok(IdentityValues {
                provider: identity.provider.clone(),
                identity_id: identity.user_id.clone(),
                user_id: user.user_id.0.clone(),
                position: i64::try_from(position).unwrap_or(i64::MAX),
                connection: identity.connection.clone(),
                is_social: identity.is_social,
                access_token: seal_token("access_token", identity, &identity.access_token)?,
                refresh_token: seal_token("refresh_token", identity, &identity.refresh_token)?,
                profile_data: identity
                    .profile_data
                    .as_ref()
                    .map(|p| to_json("profile data", p))
                    .transpose()?,
                expires_in: identity.expires_in,
            })
        })
        .collect()
}

macro_rules! bind_identity {
    ($query:expr, $v:expr) => {
        $query
            .bind($v.provider.clone())
            .bind($v.identity_id.clone())
            .bind($v.user_id.clone())
            .bind($v.position)
            .bind($v.connection.clone())
            .bind($v.is_social)
            .bind($v.access_token.clone())
            .bind($v.refresh_token.clone())
            .bind($v.profile_data.clone())
            .bind($v.expires_in)
    };
}

/// Which unique index a failed user write hit.
fn user_conflict(hint: &str) -> Conflict {
    if hint.contains("email") {
        Conflict::Email
    } else if hint.contains("username") {
        Conflict::Username
    } else if hint.contains("phone") {
        Conflict::PhoneNumber
    } else {
        Conflict::UserId
    }
}

pub(crate) async fn create_user(
    store: &SqlStore,
    user: &User,
    queued: Option<&QueuedTrigger>,
) -> Result<()> {
    let values = Values::of(user)?;
    let identities = identity_values(store, user)?;
    on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        if let Some(queued) = queued {
            let event = queued.event.to_string();
            sqlx::query(crate::actions::QUEUE_TRIGGER)
                .bind(&queued.id)
                .bind(&queued.trigger_id)
                .bind(&event)
                .bind(i64::from(queued.attempts))
                .bind(queued.next_at.0)
                .bind(queued.created_at.0)
                .execute(&mut *tx)
                .await
                .db()?;
        }
        bind_user!(sqlx::query(INSERT_USER), values)
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, user_conflict, "connection"))?;
        for identity in &identities {
            bind_identity!(sqlx::query(INSERT_IDENTITY), identity)
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, |_| Conflict::UserId, "user"))?;
        }
        tx.commit().await.db()?;
    });
    Ok(())
}

pub(crate) async fn import(
    store: &SqlStore,
    users: &[(User, Vec<Authenticator>)],
) -> Result<Vec<std::result::Result<(), Conflict>>> {
    const INSERT_NEW: &str = "INSERT INTO users (user_id, connection_id, email, email_norm, \
         email_verified, username, username_norm, name, given_name, family_name, nickname, \
         picture, user_metadata, app_metadata, blocked, created_at, updated_at, last_login, \
         last_ip, logins_count, password_alg, password_hash, last_password_reset, is_federated, \
         idp_attributes, phone_number, phone_verified) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23, $24, $25, $26, $27) ON CONFLICT DO NOTHING";
    const IDENTITY_NEW: &str = "INSERT INTO user_identities (provider, identity_id, user_id, \
         position, connection, is_social, access_token, refresh_token, profile_data, \
         expires_in) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING";
    const TAKEN_ID: &str = "SELECT COUNT(*) FROM users WHERE user_id = $1";
    const TAKEN_EMAIL: &str =
        "SELECT COUNT(*) FROM users WHERE connection_id = $1 AND email_norm = $2";
    const UNDO: &str = "DELETE FROM users WHERE user_id = $1";
    let prepared = users
        .iter()
        .map(|(u, factors)| {
            let factors = factors
                .iter()
                .map(|a| crate::mfa::Columns::of(store, a))
                .collect::<Result<Vec<_>>>()?;
            Ok((Values::of(u)?, identity_values(store, u)?, factors))
        })
        .collect::<Result<Vec<_>>>()?;
    let outcome = on_pool!(&store.db, pool => {
        // Made inside the unit of work, so a run that is retried starts with an empty list.
        let mut outcome = Vec::with_capacity(users.len());
        let mut tx = pool.begin_write().await.db()?;
        for (values, identities, factors) in &prepared {
            let added = bind_user!(sqlx::query(INSERT_NEW), values)
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, user_conflict, "connection"))?
                .rows_affected();
            if added == 0 {
                // Something unique was taken; say which, read inside the same transaction.
                let id: i64 = sqlx::query_scalar(TAKEN_ID)
                    .bind(values.user_id.clone())
                    .fetch_one(&mut *tx)
                    .await
                    .db()?;
                let email: i64 = sqlx::query_scalar(TAKEN_EMAIL)
                    .bind(values.connection_id.clone())
                    .bind(values.email_norm.clone())
                    .fetch_one(&mut *tx)
                    .await
                    .db()?;
                outcome.push(Err(match (id, email) {
                    (0, 0) => Conflict::Username,
                    (0, _) => Conflict::Email,
                    _ => Conflict::UserId,
                }));
                continue;
            }
            let mut linked_elsewhere = false;
            for identity in identities {
                let added = bind_identity!(sqlx::query(IDENTITY_NEW), identity)
                    .execute(&mut *tx)
                    .await
                    .db()?
                    .rows_affected();
                linked_elsewhere |= added == 0;
            }
            if linked_elsewhere {
                sqlx::query(UNDO).bind(values.user_id.clone()).execute(&mut *tx).await.db()?;
                outcome.push(Err(Conflict::UserId));
                continue;
            }
            // The user's second factors, in the same transaction as the user.
            for columns in factors {
                crate::mfa::bind_put!(sqlx::query(crate::mfa::PUT), columns)
                    .execute(&mut *tx)
                    .await
                    .db()?;
            }
            outcome.push(Ok(()));
        }
        tx.commit().await.db()?;
        outcome
    });
    Ok(outcome)
}

impl Row {
    fn into_model(self, identities: Vec<Identity>) -> Result<User> {
        let password = match (self.password_alg, self.password_hash) {
            (Some(alg), Some(encoded)) => Some(PasswordHash {
                algorithm: PasswordAlgorithm::parse(&alg)
                    .ok_or_else(|| corrupt("user", format!("password algorithm {alg:?}")))?,
                encoded,
            }),
            _ => None,
        };
        Ok(User {
            user_id: UserId(self.user_id),
            connection_id: ConnectionId(self.connection_id),
            email: self.email,
            email_verified: self.email_verified,
            username: self.username,
            name: self.name,
            given_name: self.given_name,
            family_name: self.family_name,
            nickname: self.nickname,
            picture: self.picture,
            user_metadata: from_json("user_metadata", &self.user_metadata)?,
            app_metadata: from_json("app_metadata", &self.app_metadata)?,
            blocked: self.blocked,
            created_at: UnixTime(self.created_at),
            updated_at: UnixTime(self.updated_at),
            last_login: unix(self.last_login),
            last_ip: self.last_ip,
            logins_count: self.logins_count,
            password,
            last_password_reset: unix(self.last_password_reset),
            identities,
            linked_to: self.linked_to.map(UserId),
            idp_attributes: from_json("idp attributes", &self.idp_attributes)?,
            phone_number: self.phone_number,
            phone_verified: self.phone_verified,
            mfa_enrolled_at: unix(self.mfa_enrolled_at),
        })
    }
}

impl IdentityRow {
    fn into_model(self, store: &SqlStore) -> Result<Identity> {
        let open_token = |kind: &str, sealed: Option<Vec<u8>>| -> Result<Option<Token>> {
            sealed
                .map(|s| {
                    let plain = open(
                        &store.key,
                        "identity token",
                        &token_purpose(kind, &self.provider, &self.identity_id),
                        &s,
                    )?;
                    String::from_utf8(plain.to_vec())
                        .map(Token::new)
                        .map_err(|e| corrupt("identity token", e))
                })
                .transpose()
        };
        Ok(Identity {
            access_token: open_token("access_token", self.access_token.clone())?,
            refresh_token: open_token("refresh_token", self.refresh_token.clone())?,
            profile_data: self
                .profile_data
                .as_deref()
                .map(|p| from_json("profile data", p))
                .transpose()?,
            provider: self.provider,
            user_id: self.identity_id,
            connection: self.connection,
            is_social: self.is_social,
            expires_in: self.expires_in,
        })
    }
}

/// `$1, $2, …` for `n` values.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The identities of each of `ids`, by user id, in their order (one query).
async fn own_identities(
    store: &SqlStore,
    ids: &[String],
) -> Result<std::collections::HashMap<String, Vec<Identity>>> {
    // Only placeholders are spliced in; every value is bound.
    let sql = format!(
        "{IDENTITY_COLUMNS} WHERE user_id IN ({}) ORDER BY user_id, position",
        placeholders(ids.len())
    );
    let identity_rows: Vec<IdentityRow> = on_pool!(&store.db, pool => {
        let mut query = sqlx::query_as(AssertSqlSafe(sql.clone()));
        for id in ids {
            query = query.bind(id.clone());
        }
        query.fetch_all(pool).await.db()?
    });
    let mut by_user: std::collections::HashMap<String, Vec<Identity>> =
        std::collections::HashMap::new();
    for row in identity_rows {
        let user = row.user_id.clone();
        by_user
            .entry(user)
            .or_default()
            .push(row.into_model(store)?);
    }
    Ok(by_user)
}

/// Attaches each user's identities: its own, then those of the accounts linked to it, in the
/// order they were linked, each with the linked account's profile (three queries for the
/// whole list, whatever its length).
async fn with_identities(store: &SqlStore, rows: Vec<Row>) -> Result<Vec<User>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
    let mut by_user = own_identities(store, &ids).await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE linked_to IN ({}) ORDER BY linked_at, user_id",
        placeholders(ids.len())
    );
    let linked: Vec<Row> = on_pool!(&store.db, pool => {
        let mut query = sqlx::query_as(AssertSqlSafe(sql.clone()));
        for id in &ids {
            query = query.bind(id.clone());
        }
        query.fetch_all(pool).await.db()?
    });
    if !linked.is_empty() {
        let linked_ids: Vec<String> = linked.iter().map(|r| r.user_id.clone()).collect();
        let mut theirs = own_identities(store, &linked_ids).await?;
        for row in linked {
            let identities = theirs.remove(&row.user_id).unwrap_or_default();
            let account = row.into_model(Vec::new())?;
            let Some(primary) = &account.linked_to else {
                continue;
            };
            let profile = account.profile_data();
            let list = by_user.entry(primary.0.clone()).or_default();
            for mut identity in identities {
                identity.profile_data = Some(profile.clone());
                list.push(identity);
            }
        }
    }
    rows.into_iter()
        .map(|row| {
            let identities = by_user.remove(&row.user_id).unwrap_or_default();
            row.into_model(identities)
        })
        .collect()
}

async fn one(store: &SqlStore, row: Option<Row>) -> Result<Option<User>> {
    Ok(with_identities(store, row.into_iter().collect())
        .await?
        .pop())
}

pub(crate) async fn user(store: &SqlStore, id: &UserId) -> Result<Option<User>> {
    by_id(
        store,
        select!("WHERE user_id = $1 AND linked_to IS NULL"),
        id,
    )
    .await
}

pub(crate) async fn account(store: &SqlStore, id: &UserId) -> Result<Option<User>> {
    by_id(store, select!("WHERE user_id = $1"), id).await
}

async fn by_id(store: &SqlStore, sql: &'static str, id: &UserId) -> Result<Option<User>> {
    let row: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(sql)
        .bind(id.as_str())
        .fetch_optional(pool)
        .await
        .db()?);
    one(store, row).await
}

pub(crate) async fn user_by_email(
    store: &SqlStore,
    connection: &ConnectionId,
    email: &str,
) -> Result<Option<User>> {
    const SQL: &str = select!("WHERE connection_id = $1 AND email_norm = $2");
    by_folded(store, SQL, connection, email).await
}

pub(crate) async fn user_by_phone(
    store: &SqlStore,
    connection: &ConnectionId,
    phone_number: &str,
) -> Result<Option<User>> {
    const SQL: &str = select!("WHERE connection_id = $1 AND phone_number = $2");
    by_folded(store, SQL, connection, phone_number).await
}

pub(crate) async fn user_by_username(
    store: &SqlStore,
    connection: &ConnectionId,
    username: &str,
) -> Result<Option<User>> {
    const SQL: &str = select!("WHERE connection_id = $1 AND username_norm = $2");
    by_folded(store, SQL, connection, username).await
}

/// The user of `connection` whose case-folded column in `sql` equals `value` folded.
async fn by_folded(
    store: &SqlStore,
    sql: &'static str,
    connection: &ConnectionId,
    value: &str,
) -> Result<Option<User>> {
    let row: Option<Row> = on_pool!(&store.db, pool => sqlx::query_as(sql)
        .bind(connection.as_str())
        .bind(normalized(value))
        .fetch_optional(pool)
        .await
        .db()?);
    one(store, row).await
}

/// The equalities a [`UserQuery`] asks for, among users (linked accounts are none).
fn filter(query: &UserQuery) -> Filter {
    Filter::default()
        .raw("linked_to IS NULL")
        .eq(
            "connection_id",
            query.connection_id.as_ref().map(|c| c.0.clone()),
        )
        .eq("email_norm", query.email.as_deref().map(normalized))
        .eq("user_id", query.user_id.as_ref().map(|u| u.0.clone()))
        .eq("name", query.name.clone())
}

pub(crate) async fn list_users(
    store: &SqlStore,
    query: &UserQuery,
    page: Page,
) -> Result<Vec<User>> {
    let filter = filter(query);
    let n = filter.next();
    let sql = format!(
        "SELECT {COLUMNS} FROM users {} ORDER BY {} LIMIT ${n} OFFSET ${}",
        filter.clause(None),
        order_by(query.sort),
        n + 1
    );
    let values = filter.values;
    let rows: Vec<Row> = on_pool!(&store.db, pool => {
        let mut q = sqlx::query_as(AssertSqlSafe(sql.clone()));
        for v in &values {
            q = q.bind(v.clone());
        }
        q.bind(page.limit()).bind(page.offset()).fetch_all(pool).await.db()?
    });
    with_identities(store, rows).await
}

/// The `ORDER BY` of a listing, from a fixed set of columns (never from the caller's text).
/// `x IS NULL` first puts users without the value last on both backends, which otherwise
/// disagree about where NULLs sort.
fn order_by(sort: Option<UserSort>) -> String {
    let Some(sort) = sort else {
        return "created_at, user_id".to_owned();
    };
    let column = match sort.field {
        UserSortField::CreatedAt => "created_at",
        UserSortField::UpdatedAt => "updated_at",
        UserSortField::LastLogin => "last_login",
        UserSortField::LoginsCount => "logins_count",
        UserSortField::Email => "email_norm",
        UserSortField::Name => "name",
    };
    let direction = if sort.descending { "DESC" } else { "ASC" };
    format!("({column} IS NULL), {column} {direction}, created_at, user_id")
}

pub(crate) async fn count_users(store: &SqlStore, query: &UserQuery) -> Result<u64> {
    let filter = filter(query);
    let sql = format!("SELECT COUNT(*) FROM users {}", filter.clause(None));
    let values = filter.values;
    let count: i64 = on_pool!(&store.db, pool => {
        let mut q = sqlx::query_scalar(AssertSqlSafe(sql.clone()));
        for v in &values {
            q = q.bind(v.clone());
        }
        q.fetch_one(pool).await.db()?
    });
    Ok(u64::try_from(count).unwrap_or(0))
}

const UPDATE_USER: &str = "UPDATE users SET email = $2, email_norm = $3, email_verified = $4, \
     username = $5, username_norm = $6, name = $7, given_name = $8, family_name = $9, \
     nickname = $10, picture = $11, user_metadata = $12, app_metadata = $13, blocked = $14, \
     updated_at = $15, password_alg = $16, password_hash = $17, last_password_reset = $18, \
     idp_attributes = $19, phone_number = $20, phone_verified = $21 WHERE user_id = $1";

/// Binds [`Values`] in [`UPDATE_USER`]'s order.
macro_rules! bind_update {
    ($query:expr, $v:expr) => {
        $query
            .bind($v.user_id.clone())
            .bind($v.email.clone())
            .bind($v.email_norm.clone())
            .bind($v.email_verified)
            .bind($v.username.clone())
            .bind($v.username_norm.clone())
            .bind($v.name.clone())
            .bind($v.given_name.clone())
            .bind($v.family_name.clone())
            .bind($v.nickname.clone())
            .bind($v.picture.clone())
            .bind($v.user_metadata.clone())
            .bind($v.app_metadata.clone())
            .bind($v.blocked)
            .bind($v.updated_at)
            .bind($v.password_alg)
            .bind($v.password_hash.clone())
            .bind($v.last_password_reset)
            .bind($v.idp_attributes.clone())
            .bind($v.phone_number.clone())
            .bind($v.phone_verified)
    };
}

pub(crate) async fn update_user(store: &SqlStore, user: &User) -> Result<()> {
    let v = Values::of(user)?;
    let done = on_pool!(&store.db, pool => bind_update!(sqlx::query(UPDATE_USER), v)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, user_conflict, "user"))?
        .rows_affected());
    touched(done, "user")
}

pub(crate) async fn update_federated_user(store: &SqlStore, user: &User) -> Result<()> {
    const TOKENS: &str = "UPDATE user_identities SET access_token = $3, refresh_token = $4, \
         expires_in = $5 WHERE provider = $1 AND identity_id = $2 AND user_id = $6";
    let v = Values::of(user)?;
    let identities = identity_values(store, user)?;
    let Some(own) = identities.first() else {
        return Err(StoreError::NotFound("identity"));
    };
    let done = on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        let done = bind_update!(sqlx::query(UPDATE_USER), v)
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, user_conflict, "user"))?
            .rows_affected();
        let tokens = sqlx::query(TOKENS)
            .bind(own.provider.clone())
            .bind(own.identity_id.clone())
            .bind(own.access_token.clone())
            .bind(own.refresh_token.clone())
            .bind(own.expires_in)
            .bind(own.user_id.clone())
            .execute(&mut *tx)
            .await
            .db()?
            .rows_affected();
        if done == 1 && tokens == 1 {
            tx.commit().await.db()?;
        }
        done.min(tokens)
    });
    touched(done, "user")
}

pub(crate) async fn delete_user(store: &SqlStore, id: &UserId) -> Result<()> {
    const SQL: &str = "DELETE FROM users WHERE user_id = $1 AND linked_to IS NULL";
    let done = on_pool!(&store.db, pool =>
        sqlx::query(SQL).bind(id.as_str()).execute(pool).await.db()?.rows_affected());
    touched(done, "user")
}

pub(crate) async fn set_password(
    store: &SqlStore,
    id: &UserId,
    hash: &PasswordHash,
    now: UnixTime,
) -> Result<()> {
    const SQL: &str = "UPDATE users SET password_alg = $2, password_hash = $3, \
                       last_password_reset = $4, updated_at = $4 WHERE user_id = $1";
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(id.as_str())
        .bind(hash.algorithm.as_str())
        .bind(hash.encoded.as_str())
        .bind(now.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    touched(done, "user")
}

pub(crate) async fn mark_email_verified(
    store: &SqlStore,
    id: &UserId,
    now: UnixTime,
) -> Result<()> {
    const SQL: &str = "UPDATE users SET email_verified = TRUE, updated_at = $2 WHERE user_id = $1";
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(id.as_str())
        .bind(now.0)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    touched(done, "user")
}

pub(crate) async fn upgrade_password(
    store: &SqlStore,
    id: &UserId,
    old: &PasswordHash,
    new: &PasswordHash,
) -> Result<bool> {
    const SQL: &str = "UPDATE users SET password_alg = $2, password_hash = $3 \
                       WHERE user_id = $1 AND password_alg = $4 AND password_hash = $5";
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(id.as_str())
        .bind(new.algorithm.as_str())
        .bind(new.encoded.as_str())
        .bind(old.algorithm.as_str())
        .bind(old.encoded.as_str())
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    Ok(done == 1)
}

pub(crate) async fn record_login(
    store: &SqlStore,
    id: &UserId,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<()> {
    const SQL: &str = "UPDATE users SET logins_count = logins_count + 1, last_login = $2, \
                       last_ip = $3 WHERE user_id = $1";
    let done = on_pool!(&store.db, pool => sqlx::query(SQL)
        .bind(id.as_str())
        .bind(now.0)
        .bind(ip)
        .execute(pool)
        .await
        .db()?
        .rows_affected());
    touched(done, "user")
}

pub(crate) async fn link_user(
    store: &SqlStore,
    primary: &UserId,
    secondary: &UserId,
    now: UnixTime,
) -> Result<std::result::Result<(), LinkRefusal>> {
    // The first statement writes both rows: on PostgreSQL it takes their row locks, so a link
    // racing on either account waits for this one to end, and each later statement here sees
    // what that one committed; on SQLite it takes the one write lock. The checks below then
    // read settled rows, and linking never chains.
    const HOLD: &str = "UPDATE users SET linked_at = linked_at WHERE user_id IN ($1, $2)";
    const STATE: &str = "SELECT user_id, linked_to FROM users WHERE user_id IN ($1, $2)";
    const HAS_LINKS: &str = "SELECT COUNT(*) FROM users WHERE linked_to = $1";
    const LINK: &str = "UPDATE users SET linked_to = $1, linked_at = $3, \
                        user_metadata = '{}', app_metadata = '{}' WHERE user_id = $2";
    // What the secondary held as a user of its own.
    const DROP: [&str; 7] = [
        "DELETE FROM user_roles WHERE user_id = $1",
        "DELETE FROM user_permissions WHERE user_id = $1",
        "DELETE FROM consents WHERE user_id = $1",
        "DELETE FROM refresh_tokens WHERE user_id = $1",
        "DELETE FROM authorization_codes WHERE user_id = $1",
        "DELETE FROM device_codes WHERE user_id = $1",
        "DELETE FROM sessions WHERE user_id = $1",
    ];
    if primary == secondary {
        return Ok(Err(LinkRefusal::Same));
    }
    Ok(on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        sqlx::query(HOLD)
            .bind(primary.as_str())
            .bind(secondary.as_str())
            .execute(&mut *tx)
            .await
            .db()?;
        let state: Vec<(String, Option<String>)> = sqlx::query_as(STATE)
            .bind(primary.as_str())
            .bind(secondary.as_str())
            .fetch_all(&mut *tx)
            .await
            .db()?;
        let unlinked = |id: &UserId| {
            state
                .iter()
                .any(|(user, linked_to)| user == id.as_str() && linked_to.is_none())
        };
        // A refusal drops the transaction, which rolls it back: it wrote nothing that counts.
        if !unlinked(primary) {
            Err(LinkRefusal::NoPrimary)
        } else if !unlinked(secondary) {
            Err(LinkRefusal::NoSecondary)
        } else if sqlx::query_scalar::<_, i64>(HAS_LINKS)
            .bind(secondary.as_str())
            .fetch_one(&mut *tx)
            .await
            .db()?
            > 0
        {
            Err(LinkRefusal::SecondaryHasLinks)
        } else {
            sqlx::query(LINK)
                .bind(primary.as_str())
                .bind(secondary.as_str())
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .db()?;
            for sql in DROP {
                sqlx::query(sql)
                    .bind(secondary.as_str())
                    .execute(&mut *tx)
                    .await
                    .db()?;
            }
            tx.commit().await.db()?;
            Ok(())
        }
    }))
}

pub(crate) async fn unlink_user(
    store: &SqlStore,
    primary: &UserId,
    provider: &str,
    identity_id: &str,
) -> Result<Option<UserId>> {
    const SQL: &str = "UPDATE users SET linked_to = NULL, linked_at = NULL \
         WHERE linked_to = $1 AND user_id = (SELECT user_id FROM user_identities \
         WHERE provider = $2 AND identity_id = $3) RETURNING user_id";
    let unlinked: Option<String> = on_pool!(&store.db, pool => sqlx::query_scalar(SQL)
        .bind(primary.as_str())
        .bind(provider)
        .bind(identity_id)
        .fetch_optional(pool)
        .await
        .db()?);
    Ok(unlinked.map(UserId))
}

pub(crate) async fn merge_user_metadata(
    store: &SqlStore,
    id: &UserId,
    app_metadata: &JsonObject,
    user_metadata: &JsonObject,
    now: UnixTime,
) -> Result<()> {
    // Touching the row first takes its lock (SQLite: the write lock), so the read below sees
    // the last committed metadata and nobody changes it before this transaction commits.
    const HOLD: &str = "UPDATE users SET updated_at = $2 WHERE user_id = $1 AND linked_to IS NULL";
    const READ: &str = "SELECT app_metadata, user_metadata FROM users WHERE user_id = $1";
    const WRITE: &str = "UPDATE users SET app_metadata = $2, user_metadata = $3 WHERE user_id = $1";
    on_pool!(&store.db, pool => {
        let mut tx = pool.begin_write().await.db()?;
        let held = sqlx::query(HOLD)
            .bind(id.as_str())
            .bind(now.0)
            .execute(&mut *tx)
            .await
            .db()?
            .rows_affected();
        if held == 0 {
            return Err(StoreError::NotFound("user"));
        }
        let (app, user): (String, String) =
            sqlx::query_as(READ).bind(id.as_str()).fetch_one(&mut *tx).await.db()?;
        let mut app: JsonObject = from_json("app_metadata", &app)?;
        let mut user: JsonObject = from_json("user_metadata", &user)?;
        merge_keys(&mut app, app_metadata.clone());
        merge_keys(&mut user, user_metadata.clone());
        sqlx::query(WRITE)
            .bind(id.as_str())
            .bind(to_json("app_metadata", &app)?)
            .bind(to_json("user_metadata", &user)?)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
    });
    Ok(())
}
