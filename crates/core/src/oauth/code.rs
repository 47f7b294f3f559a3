//! Authorization codes (RFC 6749 §4.1): issuing one after a login, and the
//! `authorization_code` grant that redeems it, with PKCE (RFC 7636, S256 only) and exact
//! `redirect_uri` matching. A code is redeemed once; a replayed code revokes the refresh
//! tokens its first use issued (RFC 6749 §4.1.2), whose family id is derived from the code.

use aws_lc_rs::digest;

use crate::actions::PostLogin;
use crate::ids::{ClientId, FamilyId, SessionId, UserId};
use crate::keyring::KeyRing;
use crate::model::{AuthorizationCode, Client, GrantType};
use crate::secret::{SecretDigest, Token};
use crate::{Rng, Store, StoreError, UnixTime};

use super::user_tokens::{Refresh, UserGrant, api, issue};
use super::{
    ClientAuth, ErrorCode, FlowError, OAuthError, TokenResponse, authenticate, require_grant,
};

/// How long a code can be redeemed (seconds).
pub const CODE_LIFETIME: i64 = 60;

/// What `/authorize` decided, to be bound to a code.
#[derive(Clone, Debug)]
pub struct CodeGrant {
    /// The client.
    pub client_id: ClientId,
    /// The user who logged in.
    pub user_id: UserId,
    /// Their session.
    pub session_id: Option<SessionId>,
    /// The exact redirect URI the code is sent to.
    pub redirect_uri: String,
    /// The scopes asked for.
    pub scope: Vec<String>,
    /// The API asked for.
    pub audience: Option<String>,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// What the post-login Actions decided, issued with the tokens the code is exchanged for.
    pub actions: Option<PostLogin>,
}

/// Stores a code for `grant` and returns it.
pub async fn issue_code(
    store: &impl Store,
    rng: &dyn Rng,
    now: UnixTime,
    grant: CodeGrant,
) -> Result<Token, FlowError> {
    let code = Token::generate(rng);
    store
        .create_code(&AuthorizationCode {
            digest: code.digest(),
            client_id: grant.client_id,
            user_id: grant.user_id,
            session_id: grant.session_id,
            redirect_uri: grant.redirect_uri,
            scope: grant.scope,
            audience: grant.audience,
            nonce: grant.nonce,
            code_challenge: grant.code_challenge,
            auth_time: grant.auth_time,
            created_at: now,
            expires_at: UnixTime(now.0 + CODE_LIFETIME),
            used_at: None,
            actions: grant.actions,
        })
        .await?;
    Ok(code)
}

/// A parsed `authorization_code` grant request.
#[derive(Clone, Debug)]
pub struct CodeRequest {
    /// How the client authenticated (public clients: by id, with PKCE).
    pub auth: ClientAuth,
    /// The code.
    pub code: Token,
    /// Must repeat the authorization request's exactly.
    pub redirect_uri: Option<String>,
    /// The PKCE verifier.
    pub code_verifier: Option<String>,
}

/// The refresh-token family a code's first redemption starts.
fn family_of(code: &SecretDigest) -> FamilyId {
    FamilyId(format!("code-{}", crate::ids::to_hex(&code.0[..12])))
}

/// RFC 7636 §4.6: BASE64URL(SHA256(ASCII(verifier))) == challenge, compared in constant time.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let valid = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = base64_simd::URL_SAFE_NO_PAD
        .encode_to_string(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref());
    valid
        && aws_lc_rs::constant_time::verify_slices_are_equal(
            computed.as_bytes(),
            challenge.as_bytes(),
        )
        .is_ok()
}

fn invalid(description: &str) -> FlowError {
    OAuthError::new(ErrorCode::InvalidGrant, description).into()
}

/// Redeems a code for tokens.
pub async fn authorization_code(
    store: &impl Store,
    keys: &KeyRing,
    rng: &dyn Rng,
    issuer: &str,
    now: UnixTime,
    request: &CodeRequest,
) -> Result<TokenResponse, FlowError> {
    let client: Client = authenticate(store, &request.auth, issuer, now).await?;
    require_grant(&client, &[GrantType::AuthorizationCode])?;
    let digest = request.code.digest();
    let code = match store.redeem_code(&digest, now).await {
        Ok(code) => code,
        Err(StoreError::AlreadyUsed) => {
            // A replay: whatever the first redemption issued is no longer to be trusted.
            store
                .revoke_refresh_family(&family_of(&digest), now)
                .await?;
            return Err(invalid("Invalid authorization code"));
        }
        Err(StoreError::NotFound(_) | StoreError::Expired) => {
            return Err(invalid("Invalid authorization code"));
        }
        Err(e) => return Err(e.into()),
    };
    if code.client_id != client.client_id {
        return Err(invalid("Invalid authorization code"));
    }
    if request.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
        return Err(invalid(
            "redirect_uri does not match the one of the authorization request",
        ));
    }
    match (&code.code_challenge, &request.code_verifier) {
        (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => {}
        (Some(_), _) => return Err(invalid("Failed to verify code verifier")),
        (None, Some(_)) => {
            return Err(invalid(
                "code_verifier was sent but the authorization request had no code_challenge",
            ));
        }
        // A public client cannot keep a secret: without PKCE its code proves nothing.
        (None, None) if !client.is_confidential() => {
            return Err(invalid("Public clients must use PKCE"));
        }
        (None, None) => {}
    }
    let Some(user) = store.user(&code.user_id).await? else {
        return Err(invalid("Invalid authorization code"));
    };
    if user.blocked {
        return Err(invalid("user is blocked"));
    }
    let api = api(store, code.audience.as_deref()).await?;
    let scope = code.scope.join(" ");
    issue(
        store,
        keys,
        rng,
        issuer,
        now,
        &UserGrant {
            client: &client,
            user: &user,
            scope: Some(&scope),
            api,
            gty: None,
            nonce: code.nonce.as_deref(),
            auth_time: Some(code.auth_time),
            session: code.session_id.as_ref(),
            refresh: Refresh::Family(family_of(&digest)),
            decided: code.actions.as_ref(),
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::pkce_matches;

    #[test]
    fn pkce_s256_as_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!pkce_matches("short", challenge));
    }
}
