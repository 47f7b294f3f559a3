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

/// A member name, borrowed from the input unless it contained escapes.
pub(crate) struct Name<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
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

/// How many names [`SeenNames`] scans before it switches to a hash set.
const SCAN_LIMIT: usize = 24;

/// The member names seen so far in one object. A short list is scanned; a long one (only
/// possible in claims, which are read after the signature checks) switches to a hash set.
/// The short list lives in one buffer, so a typical header or claims set costs one allocation
/// here rather than one per member.
#[derive(Clone, Debug, Default)]
pub(crate) struct SeenNames {
    /// The first names, back to back.
    text: String,
    /// Where each of the first `count` names ends in `text`.
    ends: [usize; SCAN_LIMIT],
    count: usize,
    many: HashSet<String>,
}

impl SeenNames {
    /// Whether the short list holds `name`. Lengths are compared first: most names differ there.
    fn few_contains(&self, name: &str) -> bool {
        let text = self.text.as_bytes();
        let mut start = 0;
        for &end in &self.ends[..self.count] {
            if end - start == name.len() && text.get(start..end) == Some(name.as_bytes()) {
                return true;
            }
            start = end;
        }
        false
    }

    /// The names held in the short list.
    fn few(&self) -> impl Iterator<Item = &str> {
        let mut start = 0;
        self.ends[..self.count].iter().map(move |&end| {
            let name = self.text.get(start..end).unwrap_or_default();
            start = end;
            name
        })
    }

    /// Records `name`; an error names the member if it was already there.
    pub(crate) fn insert<E: de::Error>(&mut self, name: &str) -> Result<(), E> {
        let fresh = if self.many.is_empty() && self.count < SCAN_LIMIT {
            let fresh = !self.few_contains(name);
            if fresh {
                if self.count == 0 {
                    self.text.reserve(128);
                }
                self.text.push_str(name);
                self.ends[self.count] = self.text.len();
                self.count += 1;
            }
            fresh
        } else {
            if self.count > 0 {
                let few: Vec<String> = self.few().map(str::to_owned).collect();
                self.many.extend(few);
                self.text.clear();
                self.count = 0;
            }
            self.many.insert(name.to_owned())
        };
        if fresh {
            Ok(())
        } else {
            Err(E::custom(format_args!("duplicate member \"{name}\"")))
        }
    }

    /// Whether `name` was seen.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.few_contains(name) || self.many.contains(name)
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
        let mut seen = SeenNames::default();
        for i in 0..100 {
            seen.insert::<serde_json::Error>(&format!("m{i}")).ok();
        }
        assert!(seen.contains("m3") && seen.contains("m99"));
        assert!(seen.insert::<serde_json::Error>("m3").is_err());
        assert!(seen.insert::<serde_json::Error>("m50").is_err());
    }
}
