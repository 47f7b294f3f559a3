//! Strict JSON object reading shared by headers, claims and the debugger.
//!
//! RFC 7515 §5.2 and RFC 7519 §4 allow a parser to reject duplicate member names; Sigil does,
//! always, so that no two components can disagree about which `alg`, `kid` or `exp` a token has.
//! serde_json keeps the last duplicate silently, hence these small visitors.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A member name or short string value, borrowed from the input unless it contained escapes.
pub(crate) struct Name<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// The member names seen so far in one object. The first names are kept as slices of the input
/// (no copy) and scanned, behind a one-word filter; names with escapes, and names past the first
/// few (only possible in claims, which are read after the signature checks), go to a hash set.
#[derive(Clone, Debug, Default)]
pub(crate) struct SeenNames<'a> {
    few: [&'a str; SCAN_LIMIT],
    count: usize,
    /// One bit per name in `few` (see [`bloom_bit`]): a name whose bit is clear is not there,
    /// which settles the common case without a scan.
    bloom: u64,
    many: HashSet<String>,
}

/// How many borrowed names [`SeenNames`] keeps in its scanned list.
const SCAN_LIMIT: usize = 24;

/// A bit chosen by a name's length, first and last byte.
fn bloom_bit(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let first = u64::from(bytes.first().copied().unwrap_or(0));
    let last = u64::from(bytes.last().copied().unwrap_or(0));
    1 << ((first * 7 + last * 31 + bytes.len() as u64) % 64)
}

impl<'a> SeenNames<'a> {
    /// Records `name`; an error names the member if it was already there.
    #[allow(clippy::ptr_arg)] // The `Cow` says whether the name can be kept without a copy.
    pub(crate) fn insert<E: de::Error>(&mut self, name: &Cow<'a, str>) -> Result<(), E> {
        if self.contains(name) {
            return Err(E::custom(format_args!("duplicate member \"{name}\"")));
        }
        match name {
            Cow::Borrowed(name) if self.count < SCAN_LIMIT => {
                self.few[self.count] = name;
                self.count += 1;
                self.bloom |= bloom_bit(name);
            }
            _ => {
                self.many.insert(name.as_ref().to_owned());
            }
        }
        Ok(())
    }

    /// Whether `name` was seen.
    pub(crate) fn contains(&self, name: &str) -> bool {
        (self.bloom & bloom_bit(name) != 0 && self.few[..self.count].contains(&name))
            || (!self.many.is_empty() && self.many.contains(name))
    }
}

/// A JSON value whose objects, at every depth, have no duplicate member names.
pub(crate) struct StrictValue(pub(crate) Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Name(name)) = map.next_key()? {
            let StrictValue(v) = map.next_value()?;
            if out.contains_key(name.as_ref()) {
                return Err(de::Error::custom(format_args!(
                    "duplicate member \"{name}\""
                )));
            }
            out.insert(name.into_owned(), v);
        }
        Ok(Value::Object(out))
    }
}

/// Parses bytes as one JSON object with no duplicate names at any depth.
pub(crate) fn strict_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(Value::Object(map))) => Ok(map),
        Ok(_) => Err("not a JSON object".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_at_every_depth() {
        assert!(strict_object(br#"{"a":1,"b":{"c":2}}"#).is_ok());
        for bad in [
            &br#"{"a":1,"a":1}"#[..],
            br#"{"b":{"c":1,"c":2}}"#,
            br#"{"a":1,"\u0061":2}"#,
        ] {
            assert!(
                strict_object(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(strict_object(b"[1]").is_err());
    }

    #[test]
    fn seen_names_switches_to_a_set_without_forgetting() {
        let names: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
        let mut seen = SeenNames::default();
        for name in &names {
            seen.insert::<serde_json::Error>(&Cow::Borrowed(name))
                .unwrap();
        }
        seen.insert::<serde_json::Error>(&Cow::Owned("esc".to_owned()))
            .unwrap();
        for name in ["m3", "m23", "m24", "m99", "esc"] {
            assert!(seen.contains(name), "{name}");
            assert!(
                seen.insert::<serde_json::Error>(&Cow::Borrowed(name))
                    .is_err(),
                "{name}"
            );
            assert!(
                seen.insert::<serde_json::Error>(&Cow::Owned(name.to_owned()))
                    .is_err()
            );
        }
        assert!(!seen.contains("m100"));
    }
}
