//! Connections as Auth0's Management API shows and takes them (`/connections`): Auth0's
//! option names (`passwordPolicy`, `password_complexity_options.min_length`,
//! `password_dictionary.enable`) mapped to Sigil's model, and what a connection carries
//! beyond its options (`display_name`, `show_as_button`, `metadata`, `enabled_clients`).
//! Database connections (`strategy: "auth0"`), connections to other identity providers (their
//! options checked by `federation::settings`) and passwordless ones (`email`, `sms`, checked by
//! `passwordless::settings`), their secrets kept apart and never shown, are made here; a patch's `options` replace the old ones whole, as at Auth0, except that a
//! secret left out is kept (a tool writing back what it read was never shown it).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ManagementError;
use crate::UnixTime;
use crate::federation::ProviderMetadata;
use crate::federation::settings::{self, Discovery, OptionsError, Policy, Settings, check_options};
use crate::ids::{ClientId, ConnectionId};
use crate::model::{Connection, ConnectionOptions, PasswordPolicy, Strategy};

/// A connection as Auth0 lists it, with the clients it is enabled for (Auth0 still answers
/// `enabled_clients`, though it moves callers to `/connections/{id}/clients`).
pub fn connection_json(connection: &Connection, enabled_clients: &[ClientId]) -> Value {
    let options = match &connection.upstream {
        Some(upstream) => Value::Object(upstream.options.clone()),
        None => database_options_json(&connection.options),
    };
    let mut json = json!({
        "id": connection.id,
        "name": connection.name,
        "strategy": connection.strategy.as_str(),
        "options": options,
        "enabled_clients": enabled_clients,
        "realms": [connection.name],
        "is_domain_connection": false,
    });
    if let Some(display_name) = &connection.display_name {
        json["display_name"] = json!(display_name);
    }
    if connection.show_as_button {
        json["show_as_button"] = json!(true);
    }
    if !connection.metadata.is_empty() {
        json["metadata"] = json!(connection.metadata);
    }
    json
}

fn database_options_json(o: &ConnectionOptions) -> Value {
    let mut options = json!({
        "passwordPolicy": o.password_policy,
        "disable_signup": o.disable_signup,
        "requires_username": o.requires_username,
        "brute_force_protection": o.brute_force_protection,
        "password_dictionary": {"enable": o.password_dictionary},
    });
    if let Some(min) = o.min_length {
        options["password_complexity_options"] = json!({"min_length": min});
    }
    options
}

/// Auth0's limits on a connection's `metadata`: 10 properties of at most 255 characters.
const MAX_METADATA: usize = 10;
const MAX_METADATA_VALUE: usize = 255;
/// Auth0's limit on `display_name`.
const MAX_DISPLAY_NAME: usize = 128;

fn checked_display_name(name: String) -> Result<Option<String>, ManagementError> {
    let name = name.trim().to_owned();
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(ManagementError::body(
            "display_name",
            format!("must be at most {MAX_DISPLAY_NAME} characters"),
        ));
    }
    Ok((!name.is_empty()).then_some(name))
}

fn checked_metadata(
    metadata: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ManagementError> {
    if metadata.len() > MAX_METADATA {
        return Err(ManagementError::body(
            "metadata",
            format!("may have at most {MAX_METADATA} properties"),
        ));
    }
    if let Some((key, _)) = metadata.iter().find(|(k, v)| {
        k.chars().count() > MAX_METADATA_VALUE || v.chars().count() > MAX_METADATA_VALUE
    }) {
        return Err(ManagementError::body(
            &format!("metadata.{key}"),
            format!("keys and values must be at most {MAX_METADATA_VALUE} characters"),
        ));
    }
    Ok(metadata)
}

/// Client ids, each once, in the order given.
fn unique_clients(ids: Vec<String>) -> Vec<ClientId> {
    let mut seen = std::collections::BTreeSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .map(ClientId)
        .collect()
}

/// `options` in Auth0's names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsBody {
    #[serde(rename = "passwordPolicy")]
    password_policy: Option<PasswordPolicy>,
    password_complexity_options: Option<Complexity>,
    disable_signup: Option<bool>,
    requires_username: Option<bool>,
    brute_force_protection: Option<bool>,
    password_dictionary: Option<Dictionary>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Complexity {
    min_length: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Dictionary {
    enable: bool,
}

impl OptionsBody {
    /// The options, defaults where absent (Auth0's: `fair` policy, brute-force protection on).
    fn into_options(self) -> Result<ConnectionOptions, ManagementError> {
        let defaults = ConnectionOptions::default();
        let min_length = self.password_complexity_options.and_then(|c| c.min_length);
        if let Some(min) = min_length
            && !(1..=128).contains(&min)
        {
            return Err(ManagementError::body(
                "options.password_complexity_options.min_length",
                "must be between 1 and 128",
            ));
        }
        Ok(ConnectionOptions {
            password_policy: self.password_policy.unwrap_or(defaults.password_policy),
            min_length,
            disable_signup: self.disable_signup.unwrap_or(defaults.disable_signup),
            requires_username: self.requires_username.unwrap_or(defaults.requires_username),
            brute_force_protection: self
                .brute_force_protection
                .unwrap_or(defaults.brute_force_protection),
            password_dictionary: self
                .password_dictionary
                .map_or(defaults.password_dictionary, |d| d.enable),
        })
    }
}

/// `POST /connections`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionCreate {
    name: Option<String>,
    strategy: Option<String>,
    options: Option<Value>,
    display_name: Option<String>,
    show_as_button: Option<bool>,
    metadata: Option<BTreeMap<String, String>>,
    enabled_clients: Option<Vec<String>>,
}

impl super::Body for ConnectionCreate {
    const FIELDS: &'static [&'static str] = &[
        "name",
        "strategy",
        "options",
        "display_name",
        "show_as_button",
        "metadata",
        "enabled_clients",
    ];
}

/// Auth0's rule for connection names: letters and digits, single dashes between them, at most
/// 128 characters.
fn valid_name(name: &str) -> bool {
    name.len() <= 128
        && !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A connection to make, and the clients to enable it for.
#[derive(Debug)]
pub struct NewConnection {
    /// The connection.
    pub connection: Connection,
    /// The clients it is enabled for (none unless the body lists them, as at Auth0).
    pub enabled_clients: Vec<ClientId>,
    /// The upstream's discovery document, to read (and give to [`discovered`]) before the
    /// connection is written.
    pub discovery: Option<Discovery>,
}

fn options_error(e: OptionsError) -> ManagementError {
    if e.field == "strategy" {
        ManagementError::body("strategy", e.message)
    } else {
        ManagementError::body(&format!("options.{}", e.field), e.message)
    }
}

/// The strategy named in a body: one Sigil runs, or a refusal naming it.
fn strategy_named(name: &str) -> Result<Strategy, ManagementError> {
    match Strategy::parse(name) {
        Some(strategy) => Ok(strategy),
        None if name == "samlp" => Err(ManagementError::body(
            "strategy",
            "samlp (SAML) connections are not supported yet",
        )),
        None => Err(ManagementError::body(
            "strategy",
            format!(
                "{name} is not a strategy Sigil knows ({})",
                Strategy::ALL.map(Strategy::as_str).join(", ")
            ),
        )),
    }
}

/// `options` as a federated strategy takes them: a JSON object.
fn options_object(options: Option<Value>) -> Result<Map<String, Value>, ManagementError> {
    match options {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(ManagementError::body("options", "must be an object")),
    }
}

/// A database connection's `options` in Auth0's names.
fn database_options(options: Option<Value>) -> Result<ConnectionOptions, ManagementError> {
    let body: OptionsBody = match options {
        None | Some(Value::Null) => OptionsBody::default(),
        Some(value) => {
            serde_json::from_value(value).map_err(|e| ManagementError::body("options", e))?
        }
    };
    body.into_options()
}

/// Checks a federated connection's options and sets them, keeping the secrets it already had
/// where the options leave them out; answers the discovery document still to read.
fn set_upstream(
    connection: &mut Connection,
    options: Map<String, Value>,
    policy: &Policy,
) -> Result<Option<Discovery>, ManagementError> {
    let kept = connection
        .upstream
        .as_ref()
        .map(|u| u.secrets.clone())
        .unwrap_or_default();
    let mut checked =
        check_options(connection.strategy, options, &kept, policy).map_err(options_error)?;
    let discovery = checked.discovery.take();
    connection.upstream = Some(checked.into_upstream());
    Ok(discovery)
}

/// Checks `options` for the connection's strategy and sets them: a database's settings,
/// another identity provider's (answering the discovery document still to read), or a
/// passwordless connection's; secrets left out are kept.
fn set_options(
    connection: &mut Connection,
    options: Option<Value>,
    policy: &Policy,
) -> Result<Option<Discovery>, ManagementError> {
    let strategy = connection.strategy;
    if strategy.is_federated() {
        set_upstream(connection, options_object(options)?, policy)
    } else if strategy.is_passwordless() {
        let kept = connection
            .upstream
            .as_ref()
            .map(|u| u.secrets.clone())
            .unwrap_or_default();
        let upstream = crate::passwordless::settings::check_options(
            strategy,
            options_object(options)?,
            &kept,
            policy,
        )
        .map_err(options_error)?;
        connection.upstream = Some(upstream);
        Ok(None)
    } else {
        connection.options = database_options(options)?;
        Ok(None)
    }
}

/// Puts the upstream's discovered `metadata` in the connection's options, and checks that a
/// login can now use them.
pub fn discovered(
    connection: &mut Connection,
    metadata: &ProviderMetadata,
    policy: &Policy,
) -> Result<(), ManagementError> {
    let Some(upstream) = connection.upstream.as_mut() else {
        return Ok(());
    };
    upstream.options.insert(
        settings::METADATA.to_owned(),
        serde_json::to_value(metadata).unwrap_or(Value::Null),
    );
    Settings::of(connection.strategy, upstream, policy).map_err(options_error)?;
    Ok(())
}

/// Refuses a second connection of a social preset or a passwordless strategy: its users' ids
/// do not name the connection, so two would claim the same ids.
pub fn check_one_per_tenant(
    strategy: Strategy,
    existing: &[Connection],
) -> Result<(), ManagementError> {
    if strategy.one_per_tenant()
        && let Some(other) = existing.iter().find(|c| c.strategy == strategy)
    {
        return Err(ManagementError::body(
            "strategy",
            format!(
                "a {} connection exists already ({}); its users' ids do not name the \
                 connection, so there can be only one",
                strategy.as_str(),
                other.name
            ),
        ));
    }
    Ok(())
}

impl ConnectionCreate {
    /// The new connection, or a 400 naming the property.
    pub fn into_connection(
        self,
        id: ConnectionId,
        now: UnixTime,
        policy: &Policy,
    ) -> Result<NewConnection, ManagementError> {
        let name = self
            .name
            .ok_or_else(|| ManagementError::body("name", "is required"))?;
        if !valid_name(&name) {
            return Err(ManagementError::body(
                "name",
                "must be letters and digits, with single dashes between them, at most 128 characters",
            ));
        }
        let strategy = match self.strategy.as_deref() {
            Some(name) => strategy_named(name)?,
            None => return Err(ManagementError::body("strategy", "is required")),
        };
        let mut connection = Connection::new(id, name, strategy, ConnectionOptions::default(), now);
        let discovery = set_options(&mut connection, self.options, policy)?;
        connection.display_name = self
            .display_name
            .map(checked_display_name)
            .transpose()?
            .flatten();
        connection.show_as_button = self.show_as_button.unwrap_or(false);
        connection.metadata = checked_metadata(self.metadata.unwrap_or_default())?;
        Ok(NewConnection {
            connection,
            enabled_clients: unique_clients(self.enabled_clients.unwrap_or_default()),
            discovery,
        })
    }
}

/// `PATCH /connections/{id}`: the options (replaced whole), display name, button, metadata
/// (replaced whole) and the clients it is enabled for (the list replaced).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionPatch {
    options: Option<Value>,
    display_name: Option<String>,
    show_as_button: Option<bool>,
    metadata: Option<BTreeMap<String, String>>,
    enabled_clients: Option<Vec<String>>,
}

impl super::Body for ConnectionPatch {
    const FIELDS: &'static [&'static str] = &[
        "options",
        "display_name",
        "show_as_button",
        "metadata",
        "enabled_clients",
    ];
}

impl ConnectionPatch {
    /// Applies the patch to `connection`; answers the clients' changes when the body lists
    /// `enabled_clients` (those of `enabled` left out are disabled, the others enabled), and
    /// the discovery document to read (and give to [`discovered`]) before it is written.
    pub fn apply(
        self,
        connection: &mut Connection,
        enabled: &[ClientId],
        now: UnixTime,
        policy: &Policy,
    ) -> Result<(ClientChanges, Option<Discovery>), ManagementError> {
        let mut discovery = None;
        if let Some(options) = self.options {
            discovery = set_options(connection, Some(options), policy)?;
        }
        if let Some(name) = self.display_name {
            connection.display_name = checked_display_name(name)?;
        }
        if let Some(show) = self.show_as_button {
            connection.show_as_button = show;
        }
        if let Some(metadata) = self.metadata {
            connection.metadata = checked_metadata(metadata)?;
        }
        connection.updated_at = now;
        let changes = match self.enabled_clients {
            None => Vec::new(),
            Some(ids) => {
                let wanted = unique_clients(ids);
                let mut changes: Vec<(ClientId, bool)> = enabled
                    .iter()
                    .filter(|c| !wanted.contains(c))
                    .map(|c| (c.clone(), false))
                    .collect();
                changes.extend(wanted.into_iter().map(|c| (c, true)));
                changes
            }
        };
        Ok((changes, discovery))
    }
}

/// Clients to enable (`true`) or disable for a connection.
pub type ClientChanges = Vec<(ClientId, bool)>;

/// One entry of `PATCH /connections/{id}/clients`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientStatus {
    client_id: String,
    status: bool,
}

/// The body of `PATCH /connections/{id}/clients`: `[{"client_id","status"}]`, at most 50
/// entries (Auth0's limit), as the store's changes.
pub fn client_status_changes(body: &[u8]) -> Result<Vec<(ClientId, bool)>, ManagementError> {
    const MAX: usize = 50;
    let entries: Vec<ClientStatus> = serde_json::from_slice(body).map_err(|e| {
        ManagementError::body(
            "body",
            format!("must be an array of {{\"client_id\", \"status\"}}: {e}"),
        )
    })?;
    if entries.is_empty() || entries.len() > MAX {
        return Err(ManagementError::body(
            "body",
            format!("must list between 1 and {MAX} clients"),
        ));
    }
    Ok(entries
        .into_iter()
        .map(|e| (ClientId(e.client_id), e.status))
        .collect())
}

/// How many entries a list read by checkpoint answers: Auth0's `take`, 50 by default, 1 to
/// 100.
pub fn checkpoint_take(take: Option<u32>) -> Result<usize, ManagementError> {
    match take {
        None => Ok(50),
        Some(n @ 1..=100) => Ok(usize::try_from(n).unwrap_or(100)),
        Some(_) => Err(ManagementError::InvalidQuery(
            "Query validation error: 'take' must be between 1 and 100.".to_owned(),
        )),
    }
}

/// One page of a list read by checkpoint (Auth0's `take` and `from`): `take` items (by
/// default 50, at most 100) after the one whose id is `from` (none after an unknown
/// checkpoint), and the id to ask `from` next when more follow.
pub fn checkpoint_page<'a, T>(
    items: &'a [T],
    take: Option<u32>,
    from: Option<&str>,
    id: impl Fn(&T) -> &str,
) -> Result<(&'a [T], Option<&'a str>), ManagementError> {
    let take = checkpoint_take(take)?;
    let start = from.map_or(0, |from| {
        items
            .iter()
            .position(|item| id(item) == from)
            .map_or(items.len(), |i| i + 1)
    });
    let end = (start + take).min(items.len());
    let page = &items[start..end];
    let next = if end < items.len() {
        page.last().map(&id)
    } else {
        None
    };
    Ok((page, next))
}

/// One page of `GET /connections/{id}/clients`: `{"clients":[{"client_id"}],"next"?}`.
pub fn client_page(
    enabled: &[ClientId],
    take: Option<u32>,
    from: Option<&str>,
) -> Result<Value, ManagementError> {
    let (page, next) = checkpoint_page(enabled, take, from, ClientId::as_str)?;
    let mut json = json!({
        "clients": page.iter().map(|c| json!({"client_id": c})).collect::<Vec<_>>(),
    });
    if let Some(next) = next {
        json["next"] = json!(next);
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::management::parse_body;

    #[test]
    fn creation_checks_name_strategy_and_options() {
        for (body, outcome) in [
            (r#"{"name":"Staff","strategy":"auth0"}"#, Ok(None)),
            (
                r#"{"name":"Staff-2","strategy":"auth0","options":{"passwordPolicy":"excellent","password_complexity_options":{"min_length":12},"requires_username":true}}"#,
                Ok(Some(12)),
            ),
            (r#"{"strategy":"auth0"}"#, Err("name")),
            (r#"{"name":"a b","strategy":"auth0"}"#, Err("name")),
            (r#"{"name":"-x","strategy":"auth0"}"#, Err("name")),
            (
                r#"{"name":"x","strategy":"samlp"}"#,
                Err("not supported yet"),
            ),
            (r#"{"name":"x","strategy":"myspace"}"#, Err("strategy")),
            (
                r#"{"name":"x","strategy":"google-oauth2"}"#,
                Err("options.client_id"),
            ),
            (
                r#"{"name":"x","strategy":"auth0","options":{"passwordPolicy":"weird"}}"#,
                Err("options"),
            ),
            (
                r#"{"name":"x","strategy":"auth0","options":{"mfa":{}}}"#,
                Err("mfa"),
            ),
            (
                r#"{"name":"x","strategy":"auth0","enabled_clients":["a","b","a"],"display_name":" Staff ","metadata":{"team":"ops"}}"#,
                Ok(None),
            ),
            (
                r#"{"name":"x","strategy":"auth0","realms":["y"]}"#,
                Err("realms"),
            ),
            (
                r#"{"name":"x","strategy":"auth0","metadata":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9","j":"10","k":"11"}}"#,
                Err("metadata"),
            ),
            (
                r#"{"name":"x","strategy":"auth0","metadata":{"a":1}}"#,
                Err("metadata"),
            ),
        ] {
            let made = parse_body::<ConnectionCreate>(body.as_bytes()).and_then(|c| {
                c.into_connection(ConnectionId::from("con_1"), UnixTime(0), &Policy::default())
            });
            match (made, outcome) {
                (Ok(new), Ok(min)) => {
                    let c = &new.connection;
                    assert_eq!(c.options.min_length, min, "{body}");
                    let json = connection_json(c, &new.enabled_clients);
                    assert_eq!(json["strategy"], "auth0");
                    assert_eq!(json["realms"][0], c.name.as_str());
                    if c.name == "x" {
                        assert_eq!(json["enabled_clients"], json!(["a", "b"]), "{body}");
                        assert_eq!(json["display_name"], "Staff");
                        assert_eq!(json["metadata"]["team"], "ops");
                    } else {
                        assert_eq!(json["enabled_clients"], json!([]), "{body}");
                        assert!(json.get("display_name").is_none(), "{body}");
                    }
                }
                (Err(e), Err(field)) => {
                    assert!(e.parts().2.contains(field), "{body}: {}", e.parts().2)
                }
                (got, want) => panic!("{body}: {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn a_patch_replaces_the_enabled_clients_and_pages_walk_them() {
        let mut connection = Connection::new(
            ConnectionId::from("con_1"),
            "Staff",
            Strategy::Auth0,
            ConnectionOptions::default(),
            UnixTime(0),
        );
        let enabled = [ClientId::from("a"), ClientId::from("b")];
        let patch = parse_body::<ConnectionPatch>(br#"{"enabled_clients":["b","c"]}"#).unwrap();
        let (changes, _) = patch
            .apply(&mut connection, &enabled, UnixTime(5), &Policy::default())
            .unwrap();
        assert_eq!(
            changes,
            vec![
                (ClientId::from("a"), false),
                (ClientId::from("b"), true),
                (ClientId::from("c"), true)
            ]
        );
        assert_eq!(connection.updated_at, UnixTime(5));
        let untouched = parse_body::<ConnectionPatch>(br#"{"show_as_button":true}"#).unwrap();
        assert!(
            untouched
                .apply(&mut connection, &enabled, UnixTime(6), &Policy::default())
                .unwrap()
                .0
                .is_empty()
        );
        assert!(connection.show_as_button);

        let all: Vec<ClientId> = ["a", "b", "c"].into_iter().map(ClientId::from).collect();
        let first = client_page(&all, Some(2), None).unwrap();
        assert_eq!(
            first,
            json!({"clients": [{"client_id": "a"}, {"client_id": "b"}], "next": "b"})
        );
        let second = client_page(&all, Some(2), Some("b")).unwrap();
        assert_eq!(second, json!({"clients": [{"client_id": "c"}]}));
        assert!(client_page(&all, Some(0), None).is_err());
        for (body, ok) in [
            (&br#"[{"client_id":"a","status":false}]"#[..], true),
            (br#"[]"#, false),
            (br#"[{"client_id":"a"}]"#, false),
            (br#"{"client_id":"a","status":true}"#, false),
        ] {
            assert_eq!(
                client_status_changes(body).is_ok(),
                ok,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
