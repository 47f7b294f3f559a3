//! How model values are written to columns and read back: scopes as space-separated text,
//! nested settings as JSON text, times as integers, secrets sealed under the master key.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sigil_core::StoreError;
use sigil_core::UnixTime;
use sigil_core::secret::SecretDigest;
use sigil_core::store::Result;

use crate::MasterKey;
use crate::error::corrupt;

/// Scopes as one space-separated string (RFC 6749 §3.3: scope tokens never contain spaces).
pub(crate) fn join(scope: &[String]) -> String {
    scope.join(" ")
}

/// The scopes in a space-separated string.
pub(crate) fn split(scope: &str) -> Vec<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A value as JSON text.
pub(crate) fn to_json<T: Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| corrupt(what, e))
}

/// JSON text as a value.
pub(crate) fn from_json<T: DeserializeOwned>(what: &'static str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

/// An optional time as a nullable integer.
pub(crate) fn time(t: Option<UnixTime>) -> Option<i64> {
    t.map(|t| t.0)
}

/// A nullable integer as an optional time.
pub(crate) fn unix(t: Option<i64>) -> Option<UnixTime> {
    t.map(UnixTime)
}

/// A digest read back from a column.
pub(crate) fn digest(what: &'static str, bytes: &[u8]) -> Result<SecretDigest> {
    SecretDigest::from_slice(bytes).ok_or_else(|| corrupt(what, "not a 32-byte digest"))
}

/// Seals `plaintext` under the master key, bound to `purpose` (which names the row, so a
/// sealed value copied to another row does not open there).
pub(crate) fn seal(key: &MasterKey, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
    key.seal(purpose, plaintext)
        .map_err(|e| StoreError::Backend(Box::new(e)))
}

/// Opens what [`seal`] sealed.
pub(crate) fn open(
    key: &MasterKey,
    what: &'static str,
    purpose: &str,
    sealed: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    key.open(purpose, sealed)
        .map_err(|_| corrupt(what, "does not open under the master key"))
}

/// A `WHERE` clause of equalities, built from optional text values: placeholders are spliced
/// into the SQL, values are bound.
#[derive(Default)]
pub(crate) struct Filter {
    clauses: Vec<String>,
    /// The values to bind, in placeholder order.
    pub(crate) values: Vec<String>,
}

impl Filter {
    /// Adds `column = $n` when `value` is present.
    pub(crate) fn eq(mut self, column: &'static str, value: Option<String>) -> Self {
        if let Some(value) = value {
            self.values.push(value);
            self.clauses
                .push(format!("{column} = ${}", self.values.len()));
        }
        self
    }

    /// Adds a fixed condition without values (a literal in the code, never the caller's text).
    pub(crate) fn raw(mut self, condition: &'static str) -> Self {
        self.clauses.push(condition.to_owned());
        self
    }

    /// `WHERE a = $1 AND …`, or nothing, plus any `extra` condition (which uses placeholders
    /// numbered after the filter's own, see [`Filter::next`]).
    pub(crate) fn clause(&self, extra: Option<&str>) -> String {
        let all: Vec<&str> = self
            .clauses
            .iter()
            .map(String::as_str)
            .chain(extra)
            .collect();
        if all.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", all.join(" AND "))
        }
    }

    /// The number of the next placeholder after the filter's values.
    pub(crate) fn next(&self) -> usize {
        self.values.len() + 1
    }
}
