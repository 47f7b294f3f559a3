//! Logging in through another identity provider (Auth0's social and enterprise connections):
//! the relying party's rules, free of I/O. The server fetches documents and tokens over HTTP;
//! what they must say, and what Sigil makes of them, is decided here.
//!
//! - [`account`]: the Sigil account of an upstream user, made at the first login and
//!   refreshed at the next ones, never matched by email;
//! - [`metadata`]: the upstream's OpenID provider metadata, from discovery or written out, with
//!   its issuer and URLs checked;
//! - [`request`]: the authorization request sent upstream (its `state`, `nonce` and PKCE
//!   verifier, kept by Sigil until the callback);
//! - [`id_token`]: the checks of an upstream ID token (OIDC Core §3.1.3.7);
//! - [`settings`]: a connection's options checked per strategy, and read as what a login
//!   needs;
//! - [`profile`]: the upstream's claims as a Sigil user: `user_id` in Auth0's forms, the root
//!   attributes, and an `email_verified` believed only from the source that gave the email.

pub mod account;
pub mod id_token;
pub mod metadata;
pub mod profile;
pub mod request;
pub mod settings;

pub use id_token::{IdTokenError, IdTokenPolicy, UpstreamClaims, check_id_token};
pub use metadata::{MetadataError, ProviderMetadata, UrlPolicy};
pub use profile::{Profile, ProfileError, federated_user_id};
pub use request::{AuthorizationRequest, Pkce};
pub use settings::{
    Channel, CheckedOptions, Discovery, OptionsError, Policy, PresetEndpoints, RootAttributes,
    Settings, TokenAuth, check_options,
};
