//! One builder for every JWT access token, a user's or a machine's, in the API's profile.
//!
//! Auth0's profile: header `typ: JWT`; `iss`, `sub`, `aud`, `iat`, `exp`, `scope`, `gty` (for
//! the grants that name one), `azp`, `permissions` (RBAC with "add permissions"). The RFC 9068
//! profile: header `typ: at+jwt`; `client_id` and `jti` in place of `azp` and `gty`. Custom
//! claims (from Actions) come last and never replace one of these.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ids::{self, ClientId};
use crate::keyring::KeyRing;
use crate::model::{ResourceServer, TokenDialect};
use crate::{Rng, UnixTime};

use super::FlowError;

/// Whom an access token is about.
pub(crate) enum Subject<'a> {
    /// A user, by `user_id`.
    User(&'a str),
    /// A machine: the client itself (`<client_id>@clients`).
    Machine,
}

/// What an access token for an API says.
pub(crate) struct AccessToken<'a> {
    pub(crate) api: &'a ResourceServer,
    pub(crate) subject: Subject<'a>,
    /// The client the token was issued to.
    pub(crate) client_id: &'a ClientId,
    /// Space-separated; none when no scope was granted.
    pub(crate) scope: Option<&'a str>,
    /// `<issuer>userinfo` joins the audience (a user's token when `openid` was granted).
    pub(crate) userinfo: bool,
    /// The grant, for the grants Auth0 names (`password`, `refresh_token`, `client-credentials`).
    pub(crate) gty: Option<&'static str>,
    pub(crate) permissions: Option<&'a [String]>,
    /// Claims an Action set, already checked against Auth0's rules for custom claims.
    pub(crate) custom: Option<&'a Map<String, Value>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Audience<'a> {
    One(&'a str),
    Many([&'a str; 2]),
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Audience<'a>,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gty: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    azp: Option<&'a str>,
    /// RFC 9068 §2.2.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<&'a [String]>,
    #[serde(flatten)]
    custom: Option<&'a Map<String, Value>>,
}

impl AccessToken<'_> {
    /// The signed token and its lifetime in seconds.
    pub(crate) fn sign(
        &self,
        keys: &KeyRing,
        rng: &dyn Rng,
        issuer: &str,
        now: UnixTime,
    ) -> Result<(String, i64), FlowError> {
        let api = self.api;
        let rfc9068 = matches!(
            api.token_dialect,
            TokenDialect::Rfc9068Profile | TokenDialect::Rfc9068ProfileAuthz
        );
        let machine;
        let sub = match self.subject {
            Subject::User(user_id) => user_id,
            Subject::Machine => {
                machine = format!("{}@clients", self.client_id);
                machine.as_str()
            }
        };
        let userinfo;
        let aud = if self.userinfo {
            userinfo = format!("{issuer}userinfo");
            Audience::Many([api.identifier.as_str(), userinfo.as_str()])
        } else {
            Audience::One(api.identifier.as_str())
        };
        let lifetime = i64::from(api.token_lifetime);
        let client_id = self.client_id.as_str();
        let claims = Claims {
            iss: issuer,
            sub,
            aud,
            iat: now.0,
            exp: now.0 + lifetime,
            scope: self.scope,
            gty: self.gty.filter(|_| !rfc9068),
            azp: (!rfc9068).then_some(client_id),
            client_id: rfc9068.then_some(client_id),
            jti: rfc9068.then(|| ids::alphanumeric(rng, 24)),
            permissions: self.permissions,
            custom: self.custom.filter(|c| !c.is_empty()),
        };
        let alg = api.signing_alg;
        let signer = keys
            .signer(alg)
            .ok_or_else(|| FlowError::Sign(format!("no current signing key can sign {alg}")))?;
        let signed = if rfc9068 {
            signer.sign_with_typ("at+jwt", &claims)
        } else {
            signer.sign(&claims)
        };
        Ok((
            signed.map_err(|e| FlowError::Sign(e.to_string()))?,
            lifetime,
        ))
    }
}
