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

/// The member names seen so far in one object. The first names are kept inline, back to back,
/// and scanned; more or longer ones (only possible in claims, which are read after the signature
/// checks) go to a hash set. A typical header or claims set costs no allocation here.
#[derive(Clone, Debug)]
pub(crate) struct SeenNames {
    /// The first names, back to back.
    text: [u8; SHORT_TEXT],
    /// Where each of the first `count` names ends in `text`.
    ends: [u16; SCAN_LIMIT],
    count: usize,
    /// One bit per name held inline (see [`bloom_bit`]): a name whose bit is clear is new
    /// without a scan, which is the common case.
    bloom: u64,
    many: HashSet<String>,
}

/// How many names [`SeenNames`] keeps inline before it switches to a hash set.
const SCAN_LIMIT: usize = 24;
/// How many bytes of names [`SeenNames`] keeps inline.
const SHORT_TEXT: usize = 192;

impl Default for SeenNames {
    fn default() -> Self {
        SeenNames {
            text: [0; SHORT_TEXT],
            ends: [0; SCAN_LIMIT],
            count: 0,
            bloom: 0,
            many: HashSet::new(),
        }
    }
}

/// A bit chosen by a name's length, first and last byte.
fn bloom_bit(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let first = u64::from(bytes.first().copied().unwrap_or(0));
    let last = u64::from(bytes.last().copied().unwrap_or(0));
    1 << ((first * 7 + last * 31 + bytes.len() as u64) % 64)
}

impl SeenNames {
    /// The names held inline.
    fn few(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends[..self.count].iter().map(move |&end| {
            let name = self.text.get(start..usize::from(end)).unwrap_or_default();
            start = usize::from(end);
            name
        })
    }

    /// Records `name`; an error names the member if it was already there.
    pub(crate) fn insert<E: de::Error>(&mut self, name: &str) -> Result<(), E> {
        let used = self
            .count
            .checked_sub(1)
            .map_or(0, |last| usize::from(self.ends[last]));
        let fits = used + name.len() <= SHORT_TEXT;
        let fresh = if self.many.is_empty() && self.count < SCAN_LIMIT && fits {
            let bit = bloom_bit(name);
            let fresh = self.bloom & bit == 0 || !self.few().any(|n| n == name.as_bytes());
            if fresh {
                self.bloom |= bit;
                self.text[used..used + name.len()].copy_from_slice(name.as_bytes());
                // `used + name.len()` is at most SHORT_TEXT, which fits in u16.
                self.ends[self.count] = u16::try_from(used + name.len()).unwrap_or(u16::MAX);
                self.count += 1;
            }
            fresh
        } else {
            if self.count > 0 {
                let few: Vec<String> = self
                    .few()
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .collect();
                self.many.extend(few);
                self.count = 0;
                self.bloom = 0;
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
        (self.bloom & bloom_bit(name) != 0 && self.few().any(|n| n == name.as_bytes()))
            || self.many.contains(name)
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
