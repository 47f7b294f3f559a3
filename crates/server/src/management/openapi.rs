//! `GET /api/v2/openapi.json`: an OpenAPI 3.1 description of the operations served, made from
//! the same table as the router ([`super::OPERATIONS`]): paths, methods, path parameters, the
//! scopes each needs, the status of success, and Auth0's error shape.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};
use sigil_core::Store;

use super::OPERATIONS;
use crate::App;

pub(crate) async fn document<S: Store>(State(app): State<App<S>>) -> Json<Value> {
    Json(build(app.issuer()))
}

/// The document for the API at `<issuer>api/v2`.
pub(crate) fn build(issuer: &str) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for op in OPERATIONS {
        let parameters: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let error = json!({"$ref": "#/components/responses/Error"});
        let mut responses = Map::new();
        let success = if op.status == 204 {
            json!({"description": "Done; no content."})
        } else {
            json!({"description": "Success.", "content": {"application/json": {"schema": {}}}})
        };
        responses.insert(op.status.to_string(), success);
        for code in ["400", "401", "403", "404", "409", "429"] {
            responses.insert(code.to_owned(), error.clone());
        }
        let mut operation = json!({
            "summary": op.summary,
            "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}', '-'], "_")),
            "security": [{"bearer": op.scopes}],
            "x-scopes": op.scopes,
            "responses": responses,
        });
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        if matches!(op.method, "post" | "patch" | "put") {
            operation["requestBody"] =
                json!({"content": {"application/json": {"schema": {"type": "object"}}}});
        }
        let entry = paths
            .entry(op.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[op.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Sigil Management API v2",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Auth0's Management API v2 as Sigil serves it: the operations below, \
                with the scopes each needs; Auth0's request and response shapes.",
        },
        "servers": [{"url": format!("{issuer}api/v2")}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
            "responses": {
                "Error": {
                    "description": "Auth0's error shape.",
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["statusCode", "error", "message"],
                        "properties": {
                            "statusCode": {"type": "integer"},
                            "error": {"type": "string"},
                            "message": {"type": "string"},
                            "errorCode": {"type": "string"},
                        },
                    }}},
                },
            },
        },
        "paths": paths,
    })
}
