//! Reading a JWT payload in one pass.
//!
//! The caller's claims type sees every member, as if it were deserialized on its own, while
//! this adapter stands between it and serde_json: it refuses duplicate member names, and it
//! captures the registered claims (RFC 7519 §4.1) with their strict types. Reading the payload
//! once instead of twice (a strict pass, then the caller's type) is most of what separates a
//! token check from the bare signature check (see `benches/jws.rs`).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::value::{
    BorrowedStrDeserializer, SeqDeserializer, StrDeserializer, StringDeserializer,
};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor,
};
use serde_json::Number;

use crate::claims::{Audiences, NumericDate, RegisteredClaims};
use crate::error::VerifyError;
use crate::json::Name;

/// The payload as text. RFC 7519 §7.2 step 10: the claims must be UTF-8. Checked up front
/// because serde_json does not validate the strings of members it skips when reading bytes.
pub(crate) fn utf8(payload: &[u8]) -> Result<&str, VerifyError> {
    std::str::from_utf8(payload).map_err(|e| VerifyError::Claims(format!("not UTF-8: {e}")))
}

/// Reads `json` as a JSON object into `C`, capturing the registered claims on the way.
pub(crate) fn read<'de, C: DeserializeOwned>(
    json: &'de str,
) -> Result<(RegisteredClaims<'de>, C), VerifyError> {
    let mut registered = RegisteredClaims::default();
    let mut de = serde_json::Deserializer::from_str(json);
    let claims = C::deserialize(Tee {
        inner: &mut de,
        registered: &mut registered,
    })
    .and_then(|claims| de.end().map(|()| claims))
    .map_err(|e| VerifyError::Claims(e.to_string()))?;
    Ok((registered, claims))
}

/// Reads only the registered claims (strictly, with every member checked for duplicates).
pub(crate) fn read_registered(json: &str) -> Result<RegisteredClaims<'_>, VerifyError> {
    read::<IgnoredAny>(json).map(|(registered, _)| registered)
}

/// A registered claim whose value is being captured.
#[derive(Clone, Copy)]
enum Claim {
    Iss,
    Sub,
    Aud,
    Exp,
    Nbf,
    Iat,
    Jti,
}

impl Claim {
    fn of(name: &str) -> Option<Claim> {
        Some(match name {
            "iss" => Claim::Iss,
            "sub" => Claim::Sub,
            "aud" => Claim::Aud,
            "exp" => Claim::Exp,
            "nbf" => Claim::Nbf,
            "iat" => Claim::Iat,
            "jti" => Claim::Jti,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Claim::Iss => "iss",
            Claim::Sub => "sub",
            Claim::Aud => "aud",
            Claim::Exp => "exp",
            Claim::Nbf => "nbf",
            Claim::Iat => "iat",
            Claim::Jti => "jti",
        }
    }
}

/// The deserializer handed to the caller's type: the payload must be an object, read through
/// [`TeeMap`].
struct Tee<'r, 'de, D> {
    inner: D,
    registered: &'r mut RegisteredClaims<'de>,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Tee<'_, 'de, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(TeeVisitor {
            visitor,
            registered: self.registered,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct TeeVisitor<'r, 'de, V> {
    visitor: V,
    registered: &'r mut RegisteredClaims<'de>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TeeVisitor<'_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let mut tee = TeeMap {
            inner: map,
            registered: self.registered,
            pending: None,
        };
        let value = self.visitor.visit_map(&mut tee)?;
        // A visitor may stop before the end; every member is still checked.
        while tee.next_key::<IgnoredAny>()?.is_some() {
            tee.next_value::<IgnoredAny>()?;
        }
        Ok(value)
    }
}

struct TeeMap<'r, 'de, A> {
    inner: A,
    registered: &'r mut RegisteredClaims<'de>,
    pending: Option<Claim>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for TeeMap<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(Name(name)) = self.inner.next_key()? else {
            return Ok(None);
        };
        self.registered.names.insert::<A::Error>(&name)?;
        self.pending = Claim::of(&name);
        match name {
            Cow::Borrowed(name) => seed.deserialize(BorrowedStrDeserializer::new(name)),
            Cow::Owned(name) => seed.deserialize(StringDeserializer::new(name)),
        }
        .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let Some(claim) = self.pending.take() else {
            return self.inner.next_value_seed(seed);
        };
        // A registered claim is read once with Sigil's strict type, kept, and then handed to the
        // caller's type from what was kept, in the form it had in the token.
        let named = |e: A::Error| de::Error::custom(format_args!("\"{}\" {e}", claim.name()));
        let r = &mut *self.registered;
        match claim {
            Claim::Iss | Claim::Sub | Claim::Jti => {
                let slot = match claim {
                    Claim::Iss => &mut r.iss,
                    Claim::Sub => &mut r.sub,
                    _ => &mut r.jti,
                };
                let Name(text) = self.inner.next_value().map_err(named)?;
                seed.deserialize(Present(StrDeserializer::new(slot.insert(text))))
            }
            Claim::Exp | Claim::Nbf | Claim::Iat => {
                let number: Number = self.inner.next_value().map_err(named)?;
                let date = NumericDate::deserialize(&number)
                    .map_err(de::Error::custom)
                    .map_err(named)?;
                *match claim {
                    Claim::Exp => &mut r.exp,
                    Claim::Nbf => &mut r.nbf,
                    _ => &mut r.iat,
                } = Some(date.0);
                seed.deserialize(Present(number)).map_err(de::Error::custom)
            }
            Claim::Aud => {
                let Audiences(list, single) = self.inner.next_value().map_err(named)?;
                r.aud = list;
                let list = &r.aud;
                match (single, list.as_slice()) {
                    (true, [one]) => seed.deserialize(Present(StrDeserializer::new(one))),
                    _ => seed.deserialize(Present(SeqDeserializer::new(
                        list.iter().map(|a| a.as_ref()),
                    ))),
                }
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// A registered claim's kept value, handed to the caller's type as a value that is there: an
/// `Option` field gets `Some`, a newtype field its inner value, anything else what the value
/// itself gives (serde's value deserializers would answer "expected option" to the first two).
struct Present<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Present<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        visitor.visit_some(self.0)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        visitor.visit_newtype_struct(self.0)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The verifier's order: UTF-8 first, then one read.
    fn read<C: DeserializeOwned>(json: &[u8]) -> Result<(RegisteredClaims<'_>, C), VerifyError> {
        super::read(utf8(json)?)
    }

    #[derive(Debug, Deserialize)]
    struct Typed {
        sub: String,
        #[serde(default)]
        scope: Option<String>,
    }

    #[test]
    fn the_callers_type_and_the_registered_claims_come_from_one_read() {
        let json = br#"{"iss":"https://i/","sub":"auth0|1","aud":["a","b"],"exp":20,"scope":"read","x":{"y":[1]}}"#;
        let (registered, typed) = read::<Typed>(json).unwrap();
        assert_eq!(
            (typed.sub.as_str(), typed.scope.as_deref()),
            ("auth0|1", Some("read"))
        );
        assert_eq!(registered.iss.as_deref(), Some("https://i/"));
        assert_eq!(registered.aud, ["a", "b"]);
        assert_eq!(registered.exp, Some(20));
        assert!(registered.contains("x"));
        let (_, value) = read::<Value>(json).unwrap();
        assert_eq!(value["x"]["y"][0], 1);
        // The caller sees each registered claim in the form the token gave it.
        let (registered, value) =
            read::<Value>(br#"{"aud":"a","exp":1.5,"iat":7,"jti":"j"}"#).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"aud":"a","exp":1.5,"iat":7,"jti":"j"})
        );
        assert_eq!(
            (registered.exp, registered.aud.as_slice()),
            (Some(1), &[Cow::Borrowed("a")][..])
        );
    }

    #[test]
    fn registered_claims_fill_optional_and_newtype_fields() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Subject(String);
        #[derive(Debug, Deserialize, PartialEq)]
        struct Optional {
            sub: Subject,
            iat: Option<i64>,
            nbf: Option<i64>,
            jti: Option<String>,
            aud: Option<Vec<String>>,
            exp: Option<u64>,
        }
        let (_, claims) =
            read::<Optional>(br#"{"sub":"s","iat":7,"jti":"j","aud":["a","b"],"exp":9}"#).unwrap();
        assert_eq!(
            claims,
            Optional {
                sub: Subject("s".into()),
                iat: Some(7),
                nbf: None,
                jti: Some("j".into()),
                aud: Some(vec!["a".into(), "b".into()]),
                exp: Some(9),
            }
        );
        // A single audience stays a string, as the token gave it.
        #[derive(Debug, Deserialize)]
        struct Single {
            aud: Option<String>,
        }
        let (_, single) = read::<Single>(br#"{"aud":"a"}"#).unwrap();
        assert_eq!(single.aud.as_deref(), Some("a"));
    }

    #[test]
    fn members_the_callers_type_ignores_are_still_checked() {
        for bad in [
            &br#"{"sub":"s","x":1,"x":2}"#[..],
            br#"{"sub":"s","exp":"tomorrow"}"#,
            br#"{"sub":"s","aud":7}"#,
            br#"{"sub":"s","sub":"t"}"#,
            br#"{"sub":"s"} trailing"#,
            br#"["sub"]"#,
            b"{\"sub\":\"s\",\"x\":\"\xff\"}",
        ] {
            assert!(
                read::<Typed>(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
            assert!(
                read::<IgnoredAny>(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_visitor_that_stops_early_does_not_skip_the_checks() {
        /// Reads the first member and stops.
        struct First(String);
        impl<'de> Deserialize<'de> for First {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = First;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<First, A::Error> {
                        let (k, _) = map.next_entry::<String, IgnoredAny>()?.unwrap_or_default();
                        Ok(First(k))
                    }
                }
                d.deserialize_map(V)
            }
        }
        let (registered, first) = read::<First>(br#"{"a":1,"exp":5}"#).unwrap();
        assert_eq!((first.0.as_str(), registered.exp), ("a", Some(5)));
        assert!(read::<First>(br#"{"a":1,"exp":5,"exp":6}"#).is_err());
    }
}
