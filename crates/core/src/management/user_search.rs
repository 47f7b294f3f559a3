//! The subset of Auth0's user search (Lucene query syntax, `search_engine=v3`) that Sigil
//! answers: everything (`*`), or exact matches on `email`, `user_id` and `name`, joined by
//! `AND`. Anything else is refused by name rather than answered wrongly.

use super::ManagementError;
use crate::ids::UserId;
use crate::model::UserQuery;

/// The fields a query may name.
const FIELDS: [&str; 3] = ["email", "user_id", "name"];

/// Parses `q`: `*` or `*:*` (all users; so is an empty query), or terms `field:value` or
/// `field:"quoted value"` on `email` (ignoring case), `user_id` and `name`, joined by ` AND `,
/// each field at most once. In a quoted value `\"` and `\\` stand for `"` and `\`.
///
/// Refusals (400 `invalid_query_string`) name what is not supported: another field, `OR`,
/// `NOT`, ranges, wildcards, a field given twice.
pub fn parse_user_search(q: &str) -> Result<UserQuery, ManagementError> {
    let mut query = UserQuery::default();
    for (field, value) in terms(q, &FIELDS)? {
        match field {
            "email" => query.email = Some(value),
            "name" => query.name = Some(value),
            "user_id" => query.user_id = Some(UserId(value)),
            // `terms` refuses every other field.
            other => return Err(unsupported(format!("the field {other}"))),
        }
    }
    Ok(query)
}

/// Auth0's `sort`: `field:1` (ascending) or `field:-1` (descending), on `created_at`,
/// `updated_at`, `last_login`, `logins_count`, `email` or `name`.
pub fn parse_user_sort(sort: &str) -> Result<crate::model::UserSort, ManagementError> {
    let refused = || {
        ManagementError::InvalidQuery(format!(
            "sort: {sort:?} is not field:1 or field:-1 on created_at, updated_at, last_login, \
             logins_count, email or name"
        ))
    };
    let (field, direction) = sort.split_once(':').ok_or_else(refused)?;
    let field = crate::model::UserSortField::parse(field).ok_or_else(refused)?;
    let descending = match direction {
        "1" => false,
        "-1" => true,
        _ => return Err(refused()),
    };
    Ok(crate::model::UserSort { field, descending })
}

/// The `field:value` terms of `q` (Lucene syntax), joined by ` AND `, each on one of `fields`
/// and at most once; `*`, `*:*` and an empty `q` have none. Shared by the user and log searches.
pub(crate) fn terms<'f>(
    q: &str,
    fields: &[&'f str],
) -> Result<Vec<(&'f str, String)>, ManagementError> {
    let q = q.trim();
    let mut found: Vec<(&'f str, String)> = Vec::new();
    if q.is_empty() || q == "*" || q == "*:*" {
        return Ok(found);
    }
    let mut rest = q;
    loop {
        let (field, value, after) = term(rest, fields)?;
        if found.iter().any(|(f, _)| *f == field) {
            return Err(ManagementError::InvalidQuery(format!(
                "q: {field} is given twice"
            )));
        }
        found.push((field, value));
        rest = after;
        if !next_term(&mut rest)? {
            return Ok(found);
        }
    }
}

/// After a term: `true` (and `rest` moved past ` AND `) if another term follows, `false` at
/// the end.
fn next_term(rest: &mut &str) -> Result<bool, ManagementError> {
    let trimmed = rest.trim_start();
    if trimmed.is_empty() {
        return Ok(false);
    }
    if trimmed.len() == rest.len() {
        return Err(unsupported(format!(
            "'{trimmed}' (terms are joined by AND)"
        )));
    }
    match trimmed.split_once(char::is_whitespace) {
        Some(("AND", after)) if !after.trim().is_empty() => {
            *rest = after.trim_start();
            Ok(true)
        }
        Some((word @ ("OR" | "NOT" | "||" | "&&"), _)) => {
            Err(unsupported(format!("the operator {word}")))
        }
        _ => Err(unsupported(format!(
            "'{trimmed}' (terms are joined by AND)"
        ))),
    }
}

/// One `field:value` term at the start of `input`, on one of `fields`: the field, the value,
/// and what follows.
fn term<'i, 'f>(
    input: &'i str,
    fields: &[&'f str],
) -> Result<(&'f str, String, &'i str), ManagementError> {
    let Some((field, rest)) = input.split_once(':') else {
        return Err(unsupported(format!(
            "'{input}' (a term is field:value, on {})",
            fields.join(", ")
        )));
    };
    if field.is_empty() || field.contains(|c: char| c.is_whitespace() || c == '"') {
        return Err(unsupported(format!("'{input}' (a term is field:value)")));
    }
    let Some(field) = fields.iter().copied().find(|f| *f == field) else {
        return Err(unsupported(format!("the field {field}")));
    };
    if let Some(quoted) = rest.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    check_value(field, &value)?;
                    return Ok((field, value, &quoted[i + 1..]));
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                },
                other => value.push(other),
            }
        }
        return Err(ManagementError::InvalidQuery(format!(
            "q: the value of {field} has no closing quote"
        )));
    }
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let value = &rest[..end];
    if value.is_empty() {
        return Err(ManagementError::InvalidQuery(format!(
            "q: {field} has no value"
        )));
    }
    if value.contains(['*', '?']) {
        return Err(unsupported(format!("wildcards ({field}:{value})")));
    }
    if value.starts_with(['[', '{', '(']) {
        return Err(unsupported(format!("ranges and groups ({field}:{value})")));
    }
    if value.contains(['"', '\\']) {
        return Err(unsupported(format!("'{field}:{value}' (quote the value)")));
    }
    check_value(field, value)?;
    Ok((field, value.to_owned(), &rest[end..]))
}

fn check_value(field: &str, value: &str) -> Result<(), ManagementError> {
    if value.is_empty() {
        return Err(ManagementError::InvalidQuery(format!(
            "q: {field} has no value"
        )));
    }
    Ok(())
}

fn unsupported(what: String) -> ManagementError {
    ManagementError::InvalidQuery(format!(
        "q: {what} is not supported; Sigil searches * or email, user_id and name, joined by AND"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(email: Option<&str>, user_id: Option<&str>, name: Option<&str>) -> UserQuery {
        UserQuery {
            connection_id: None,
            email: email.map(str::to_owned),
            user_id: user_id.map(UserId::from),
            name: name.map(str::to_owned),
            sort: None,
        }
    }

    #[test]
    fn sorts() {
        use crate::model::{UserSort, UserSortField};
        for (text, want) in [
            ("email:1", Some((UserSortField::Email, false))),
            ("last_login:-1", Some((UserSortField::LastLogin, true))),
            ("created_at:1", Some((UserSortField::CreatedAt, false))),
            ("email", None),
            ("email:0", None),
            ("password:1", None),
            ("", None),
        ] {
            let got = parse_user_sort(text).ok();
            let want = want.map(|(field, descending)| UserSort { field, descending });
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn supported_queries() {
        let cases = [
            ("*", query(None, None, None)),
            ("*:*", query(None, None, None)),
            ("", query(None, None, None)),
            (
                "email:ann@example.com",
                query(Some("ann@example.com"), None, None),
            ),
            (
                "email:\"ann@example.com\"",
                query(Some("ann@example.com"), None, None),
            ),
            (
                "  user_id:\"auth0|0123\"  ",
                query(None, Some("auth0|0123"), None),
            ),
            ("user_id:auth0|0123", query(None, Some("auth0|0123"), None)),
            ("name:\"Ann Lee\"", query(None, None, Some("Ann Lee"))),
            (
                "name:\"Ann \\\"A\\\" Lee\"",
                query(None, None, Some("Ann \"A\" Lee")),
            ),
            (
                "email:\"ann@example.com\" AND name:\"Ann Lee\"",
                query(Some("ann@example.com"), None, Some("Ann Lee")),
            ),
            (
                "name:Ann AND  user_id:auth0|1 AND email:a@b",
                query(Some("a@b"), Some("auth0|1"), Some("Ann")),
            ),
        ];
        for (q, expected) in cases {
            assert_eq!(parse_user_search(q), Ok(expected), "{q}");
        }
    }

    #[test]
    fn unsupported_queries_say_what() {
        // (q, a piece of the message)
        let cases = [
            (
                "phone_number:123",
                "the field phone_number is not supported",
            ),
            (
                "identities.connection:\"x\"",
                "the field identities.connection",
            ),
            ("email:a@b OR name:x", "the operator OR"),
            ("email:a@b NOT name:x", "the operator NOT"),
            ("email:a@b name:x", "joined by AND"),
            ("email:a@b AND", "joined by AND"),
            ("email:*@example.com", "wildcards"),
            ("name:An?", "wildcards"),
            ("created_at:[2020 TO 2021]", "the field created_at"),
            ("name:[a TO b]", "ranges"),
            ("email:a@b AND email:c@d", "email is given twice"),
            ("user_id:x AND user_id:y", "user_id is given twice"),
            ("name:\"Ann", "no closing quote"),
            ("name:", "name has no value"),
            ("name:\"\"", "name has no value"),
            ("ann@example.com", "a term is field:value"),
            ("name:\"Ann\"Lee", "joined by AND"),
        ];
        for (q, piece) in cases {
            match parse_user_search(q) {
                Err(ManagementError::InvalidQuery(message)) => {
                    assert!(message.contains(piece), "{q}: {message}");
                }
                other => panic!("{q}: {other:?}"),
            }
        }
    }
}
