//! Key families: the kinds of signing key a tenant keeps, each with a life cycle of its own
//! (see [`crate::model::signing_key`]), and [`KeyFamily::ensure`], the race-safe "this family
//! has a current and a next key" that `sigil init` (RSA), `sigil apis create --alg PS256|ES256`
//! and the Management API (an API or an application choosing PS256 or ES256) share.

use sigil_jose::{Algorithm, KeyError};

use crate::UnixTime;
use crate::model::{KeyState, SigningKeyRecord, family_name};
use crate::store::{Conflict, Page, Store, StoreError};

/// A key family, named by the algorithm its keys are made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFamily {
    /// RSA-2048 keys, published as RS256.
    Rs256,
    /// RSA-2048 keys of their own, published as PS256.
    Ps256,
    /// P-256 keys, published as ES256.
    Es256,
}

/// Why [`KeyFamily::ensure`] failed.
#[derive(Debug, thiserror::Error)]
pub enum EnsureError {
    /// A key could not be generated.
    #[error("cannot generate a signing key: {0}")]
    Key(#[from] KeyError),
    /// The store failed.
    #[error("cannot store the signing key: {0}")]
    Store(#[from] StoreError),
}

impl KeyFamily {
    /// The family whose current key signs `alg`, if Sigil keeps one for it (Auth0's HS256
    /// signs with a secret of the API's own, which Sigil does not keep).
    pub fn signing(alg: Algorithm) -> Option<KeyFamily> {
        match alg {
            Algorithm::RS256 => Some(KeyFamily::Rs256),
            Algorithm::PS256 => Some(KeyFamily::Ps256),
            Algorithm::ES256 => Some(KeyFamily::Es256),
            _ => None,
        }
    }

    /// The algorithm its keys are made for, which names it.
    pub fn alg(self) -> Algorithm {
        match self {
            KeyFamily::Rs256 => Algorithm::RS256,
            KeyFamily::Ps256 => Algorithm::PS256,
            KeyFamily::Es256 => Algorithm::ES256,
        }
    }

    /// Whether `key` belongs to this family.
    pub fn holds(self, key: &SigningKeyRecord) -> bool {
        key.family() == family_name(self.alg())
    }

    /// A new key of this family in `state`. An RSA key takes a noticeable fraction of a
    /// second: keep it off the request path where it can happen there.
    pub fn generate(self, state: KeyState, now: UnixTime) -> Result<SigningKeyRecord, KeyError> {
        match self {
            KeyFamily::Rs256 => SigningKeyRecord::generate_rs256(state, now),
            KeyFamily::Ps256 => SigningKeyRecord::generate_ps256(state, now),
            KeyFamily::Es256 => SigningKeyRecord::generate_es256(state, now),
        }
    }

    /// Makes this family's current and next keys if missing; returns the keys it made (none
    /// when the family was complete). The next key is published from the start, so that when
    /// a rotation makes it current, verifiers have had it cached for a long time. The store
    /// allows one key in each state per family, so racing callers agree: a conflict means
    /// another one made that key first, and is not an error.
    pub async fn ensure(
        self,
        store: &impl Store,
        now: UnixTime,
    ) -> Result<Vec<SigningKeyRecord>, EnsureError> {
        let keys = store.signing_keys().await?;
        let mut created = Vec::new();
        for state in [KeyState::Current, KeyState::Next] {
            if keys.iter().any(|k| self.holds(k) && k.state == state) {
                continue;
            }
            let record = self.generate(state, now)?;
            match store.create_signing_key(&record).await {
                Ok(()) => created.push(record),
                Err(StoreError::Conflict(Conflict::SigningKey)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(created)
    }
}

/// Makes the families that the tenant's APIs (`signing_alg`) and applications (their ID
/// tokens' `jwt_configuration.alg`) sign with, where missing; returns the keys made. Choosing an
/// algorithm makes its family first, so this finds work only in a tenant whose PS256 APIs or
/// applications predate the PS256 family (its RSA key signed them then, published as RS256).
/// The RSA family is `sigil init`'s to make. Run when a server starts.
pub async fn ensure_in_use(
    store: &impl Store,
    now: UnixTime,
) -> Result<Vec<SigningKeyRecord>, EnsureError> {
    let mut algs = Vec::new();
    let mut page = Page::first();
    loop {
        let apis = store.list_resource_servers(page).await?;
        algs.extend(apis.iter().map(|api| api.signing_alg));
        if apis.len() < page.per_page as usize {
            break;
        }
        page.page += 1;
    }
    let mut page = Page::first();
    loop {
        let clients = store.list_clients(page).await?;
        algs.extend(
            clients
                .iter()
                .map(|client| client.settings.jwt_configuration.alg),
        );
        if clients.len() < page.per_page as usize {
            break;
        }
        page.page += 1;
    }
    let mut made = Vec::new();
    for family in [KeyFamily::Ps256, KeyFamily::Es256] {
        if algs.contains(&family.alg()) {
            made.extend(family.ensure(store, now).await?);
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_sign_what_their_keys_can() {
        for (alg, family) in [
            (Algorithm::RS256, Some(KeyFamily::Rs256)),
            (Algorithm::PS256, Some(KeyFamily::Ps256)),
            (Algorithm::ES256, Some(KeyFamily::Es256)),
            (Algorithm::HS256, None),
            (Algorithm::RS384, None),
        ] {
            assert_eq!(KeyFamily::signing(alg), family, "{alg}");
            if let Some(family) = family {
                assert_eq!(family.alg(), alg);
            }
        }
        // RS256 and PS256 keys are both RSA, yet families apart: one JWK names one alg.
        let now = UnixTime(1_800_000_000);
        let rs = KeyFamily::Rs256.generate(KeyState::Next, now).unwrap();
        let ps = KeyFamily::Ps256.generate(KeyState::Next, now).unwrap();
        assert_eq!((rs.family(), ps.family()), ("rsa", "rsa-pss"));
        assert!(KeyFamily::Rs256.holds(&rs) && !KeyFamily::Rs256.holds(&ps));
        assert!(KeyFamily::Ps256.holds(&ps) && !KeyFamily::Ps256.holds(&rs));
    }
}
