//! The authorization request a login sends upstream (RFC 6749 §4.1.1, OIDC Core §3.1.2.1):
//! always the code flow, to Sigil's one callback, with a random `state`, a `nonce` for an
//! OpenID provider, and PKCE S256 whenever the upstream takes it. What the callback must be
//! checked against (the nonce, the verifier) stays with Sigil, never in the browser.

use aws_lc_rs::digest;
use url::Url;

use crate::Rng;

/// Whether PKCE is used with the upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pkce {
    /// S256 with a fresh verifier.
    S256,
    /// None (the upstream does not take it, or the connection turned it off).
    Disabled,
}

/// One login's request to the upstream, with the values only Sigil keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The connection's client id at the upstream.
    pub client_id: String,
    /// Sigil's callback, `<issuer>login/callback`.
    pub redirect_uri: String,
    /// The scopes asked for, each once.
    pub scope: Vec<String>,
    /// Random, single use; binds the callback to this login.
    pub state: String,
    /// Random; the ID token must carry it (OpenID providers only).
    pub nonce: Option<String>,
    /// The PKCE verifier, sent only with the code at the token endpoint.
    pub code_verifier: Option<String>,
    /// Other parameters for the upstream (`prompt`, `login_hint`, the connection's
    /// `upstream_params`), in order.
    pub extra: Vec<(String, String)>,
    /// Whether the ID token itself comes back, POSTed to the callback (an OIDC connection's
    /// `front_channel`), instead of a code.
    pub front_channel: bool,
    /// Whether the code comes back POSTed to the callback (`response_mode=form_post`: Sign in
    /// with Apple, when a name or email is asked for).
    pub form_post: bool,
}

/// 32 random bytes, base64url: 43 characters, as RFC 7636 asks of a verifier.
fn random_value(rng: &dyn Rng) -> String {
    let mut bytes = [0u8; 32];
    rng.fill(&mut bytes);
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(bytes)
}

/// The S256 challenge of `verifier` (RFC 7636 §4.2).
pub fn code_challenge(verifier: &str) -> String {
    let hash = digest::digest(&digest::SHA256, verifier.as_bytes());
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(hash.as_ref())
}

impl AuthorizationRequest {
    /// A new request with fresh random values: a nonce when `openid` (the upstream is an
    /// OpenID provider), a verifier when `pkce` says so. `scope` keeps its order, each once.
    pub fn new(
        rng: &dyn Rng,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
        scope: impl IntoIterator<Item = String>,
        openid: bool,
        pkce: Pkce,
    ) -> Self {
        let mut unique: Vec<String> = Vec::new();
        for s in scope {
            if !s.is_empty() && !unique.contains(&s) {
                unique.push(s);
            }
        }
        AuthorizationRequest {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            scope: unique,
            state: random_value(rng),
            nonce: openid.then(|| random_value(rng)),
            code_verifier: (pkce == Pkce::S256).then(|| random_value(rng)),
            extra: Vec::new(),
            front_channel: false,
            form_post: false,
        }
    }

    /// The request for an ID token POSTed back (`response_type=id_token`,
    /// `response_mode=form_post`): a nonce, and no code, so no verifier.
    pub fn into_front_channel(mut self, rng: &dyn Rng) -> Self {
        self.front_channel = true;
        self.code_verifier = None;
        if self.nonce.is_none() {
            self.nonce = Some(random_value(rng));
        }
        self
    }

    /// The URL the browser is sent to: `endpoint` with the request's parameters added to any
    /// query it has. The parameters Sigil sets are never overridden by `extra`.
    pub fn url(&self, endpoint: &Url) -> String {
        const OURS: [&str; 9] = [
            "response_type",
            "response_mode",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
        ];
        let mut url = endpoint.clone();
        {
            let mut query = url.query_pairs_mut();
            if self.front_channel {
                query
                    .append_pair("response_type", "id_token")
                    .append_pair("response_mode", "form_post");
            } else {
                query.append_pair("response_type", "code");
                if self.form_post {
                    query.append_pair("response_mode", "form_post");
                }
            }
            query
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &self.scope.join(" "))
                .append_pair("state", &self.state);
            if let Some(nonce) = &self.nonce {
                query.append_pair("nonce", nonce);
            }
            if let Some(verifier) = &self.code_verifier {
                query
                    .append_pair("code_challenge", &code_challenge(verifier))
                    .append_pair("code_challenge_method", "S256");
            }
            for (name, value) in &self.extra {
                if !OURS.contains(&name.as_str()) {
                    query.append_pair(name, value);
                }
            }
        }
        url.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SystemRng;

    #[test]
    fn the_request_carries_state_nonce_and_an_s256_challenge() {
        let endpoint = Url::parse("https://idp.example.com/auth?tenant=t1").unwrap();
        let mut request = AuthorizationRequest::new(
            &SystemRng,
            "sigil-at-idp",
            "https://sigil.example.com/login/callback",
            ["openid", "profile", "email", "openid"].map(String::from),
            true,
            Pkce::S256,
        );
        request.extra = vec![
            ("login_hint".to_owned(), "ann@example.com".to_owned()),
            ("state".to_owned(), "forged".to_owned()),
        ];
        let url = Url::parse(&request.url(&endpoint)).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |name: &str| -> Vec<&str> {
            pairs
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(get("tenant"), ["t1"]);
        assert_eq!(get("response_type"), ["code"]);
        assert_eq!(get("scope"), ["openid profile email"]);
        assert_eq!(get("state"), [request.state.as_str()], "never overridden");
        assert_eq!(get("nonce"), [request.nonce.as_deref().unwrap()]);
        let verifier = request.code_verifier.as_deref().unwrap();
        assert_eq!(verifier.len(), 43);
        assert_eq!(get("code_challenge"), [code_challenge(verifier).as_str()]);
        assert_eq!(get("code_challenge_method"), ["S256"]);
        assert_eq!(get("login_hint"), ["ann@example.com"]);
        assert!(
            get("code_verifier").is_empty(),
            "the verifier stays with Sigil"
        );
    }

    #[test]
    fn plain_oauth2_without_pkce_sends_neither_nonce_nor_challenge() {
        let request = AuthorizationRequest::new(
            &SystemRng,
            "id",
            "https://sigil.example.com/login/callback",
            ["user:email".to_owned()],
            false,
            Pkce::Disabled,
        );
        let url = request.url(&Url::parse("https://github.example/login/oauth/authorize").unwrap());
        assert!(
            !url.contains("nonce=") && !url.contains("code_challenge"),
            "{url}"
        );
        let other = AuthorizationRequest::new(&SystemRng, "id", "x", [], false, Pkce::Disabled);
        assert_ne!(request.state, other.state);
    }

    #[test]
    fn the_challenge_is_rfc_7636s() {
        // RFC 7636, Appendix B.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
