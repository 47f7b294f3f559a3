//! Log events as Auth0's Management API shows them (`GET /logs`), and the subset of its log
//! search Sigil answers: `type`, `user_id` and `client_id`, exact, joined by `AND`.

use serde_json::{Value, json};

use super::ManagementError;
use super::user_search::terms;
use crate::ids::{ClientId, UserId};
use crate::model::{LogEvent, LogQuery, LogType};

/// Parses a log search `q`: `*` (or empty) for everything, or `type:s`, `user_id:"auth0|…"`,
/// `client_id:…` joined by ` AND `. Anything else is a 400 naming what is not supported.
pub fn parse_log_search(q: &str) -> Result<LogQuery, ManagementError> {
    let mut query = LogQuery::default();
    for (field, value) in terms(q, &["type", "user_id", "client_id"])? {
        match field {
            "type" => query.log_type = Some(LogType::from(value.as_str())),
            "user_id" => query.user_id = Some(UserId(value)),
            _ => query.client_id = Some(ClientId(value)),
        }
    }
    Ok(query)
}

/// An event as Auth0 lists it; members the event lacks are left out.
pub fn log_json(log: &LogEvent) -> Value {
    let e = &log.event;
    let mut out = json!({
        "log_id": log.log_id,
        "date": crate::clock::auth0_time_ms(e.date_ms),
    });
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            out[name] = value;
        }
    };
    put("type", e.log_type.as_ref().map(|t| json!(t.0)));
    put("description", e.description.as_ref().map(|d| json!(d)));
    put("client_id", e.client_id.as_ref().map(|c| json!(c)));
    put("client_name", e.client_name.as_ref().map(|c| json!(c)));
    put("user_id", e.user_id.as_ref().map(|u| json!(u)));
    put("user_name", e.user_name.as_ref().map(|u| json!(u)));
    put("connection", e.connection.as_ref().map(|c| json!(c)));
    put("connection_id", e.connection_id.as_ref().map(|c| json!(c)));
    put("strategy", e.strategy.as_ref().map(|c| json!(c)));
    put("strategy_type", e.strategy_type.as_ref().map(|c| json!(c)));
    put("audience", e.audience.as_ref().map(|a| json!(a)));
    put("scope", e.scope.as_ref().map(|s| json!(s)));
    put("ip", e.ip.as_ref().map(|i| json!(i)));
    put("user_agent", e.user_agent.as_ref().map(|u| json!(u)));
    put("hostname", e.hostname.as_ref().map(|h| json!(h)));
    if !e.details.is_empty() {
        out["details"] = Value::Object(e.details.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_searches() {
        for (q, expected) in [
            ("", Ok(LogQuery::default())),
            ("*", Ok(LogQuery::default())),
            (
                "type:sapi",
                Ok(LogQuery {
                    log_type: Some(LogType::from("sapi")),
                    ..LogQuery::default()
                }),
            ),
            (
                r#"user_id:"auth0|1" AND client_id:abc"#,
                Ok(LogQuery {
                    user_id: Some(UserId::from("auth0|1")),
                    client_id: Some(ClientId::from("abc")),
                    ..LogQuery::default()
                }),
            ),
            ("date:[2020 TO 2021]", Err("the field date")),
            ("type:s OR type:f", Err("OR")),
            ("type:s AND type:f", Err("twice")),
        ] {
            match (parse_log_search(q), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{q}"),
                (Err(e), Err(mention)) => {
                    let (status, code, message) = e.parts();
                    assert_eq!((status, code), (400, "invalid_query_string"), "{q}");
                    assert!(message.contains(mention), "{q}: {message}");
                }
                (got, want) => panic!("{q}: {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn log_dates_have_milliseconds() {
        assert_eq!(
            crate::clock::auth0_time_ms(1_800_000_000_123),
            "2027-01-15T08:00:00.123Z"
        );
        assert_eq!(
            crate::clock::auth0_time_ms(1_800_000_000_000),
            "2027-01-15T08:00:00.000Z"
        );
    }
}
