//! `/api/v2/jobs`: user imports uploaded as multipart forms, read back with their refused
//! entries; upserts; the form's refusals.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sigil_core::Store;
use sigil_core::ids::ConnectionId;
use sigil_core::password::PasswordAlgorithm;

use crate::app::{TestApp, post};
use crate::management::{assert_error, audience, call, sapi_count, token_for};
use crate::password::login;

/// The password of [`argon2_hash`].
const ARGON2_PASSWORD: &str = "imported argon2";

/// `POST /api/v2/jobs/users-imports` with these form fields; `users` as a file part.
pub(crate) async fn upload(
    app: &TestApp,
    token: Option<&str>,
    users: Option<&Value>,
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = Form::new();
    if let Some(users) = users {
        form = form.part(
            "users",
            Part::bytes(users.to_string().into_bytes())
                .file_name("users.json")
                .mime_str("application/json")
                .unwrap(),
        );
    }
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    let mut request = app
        .http
        .post(app.url("api/v2/jobs/users-imports"))
        .multipart(form);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The id of the test app's database connection.
pub(crate) async fn database_connection(app: &TestApp) -> ConnectionId {
    app.store
        .connection_by_name("Username-Password-Authentication")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// An argon2id PHC string of [`ARGON2_PASSWORD`] as another system made it: other
/// parameters than Sigil's (m=8192, t=1), so a login re-hashes it.
fn argon2_hash() -> String {
    use argon2::PasswordHasher as _;
    let params = argon2::Params::new(8192, 1, 1, None).unwrap();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_with_salt(ARGON2_PASSWORD.as_bytes(), b"another-systems-salt")
        .unwrap()
        .to_string()
}

async fn logs_in(app: &TestApp, email: &str, password: &str) -> bool {
    let (status, _, body) = post(
        app,
        login(app, json!({"username": email, "password": password})),
        None,
    )
    .await;
    match status {
        StatusCode::OK => true,
        StatusCode::FORBIDDEN => false,
        other => panic!("{other}: {body}"),
    }
}

#[tokio::test]
async fn an_import_reports_each_entry_and_is_read_back() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &["create:users", "read:users"]).await;
    let t = Some(token.as_str());
    let connection = database_connection(&app).await;
    let users = json!([
        {"email": "argon@example.com", "user_id": "argon-1", "given_name": "Ar",
         "user_metadata": {"lang": "fr"},
         "custom_password_hash": {"algorithm": "argon2", "hash": {"value": argon2_hash()}}},
        {"email": "plain@example.com", "email_verified": true, "name": "Plain"},
        {"email": "ann@example.com"},
        {"email": "bad-hash@example.com", "password_hash": "plaintext"},
        {"name": "no email"},
        {"email": "mfa@example.com", "mfa_factors": []},
    ]);
    let (status, job) = upload(
        &app,
        t,
        Some(&users),
        &[
            ("connection_id", connection.as_str()),
            ("external_id", "batch-1"),
            ("send_completion_email", "false"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("job_"), "{job}");
    assert_eq!(job["status"], "completed");
    assert_eq!(job["type"], "users_import");
    assert_eq!(job["connection_id"], connection.as_str());
    assert_eq!(job["external_id"], "batch-1");
    assert!(job["created_at"].as_str().unwrap().ends_with(".000Z"));
    assert_eq!(
        job["summary"],
        json!({"failed": 4, "updated": 0, "inserted": 2, "total": 6})
    );

    // Any node reads it back from the database.
    let (status, read) = call(&app, "GET", &format!("/jobs/{id}"), t, None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read, job);

    let (status, errors) = call(&app, "GET", &format!("/jobs/{id}/errors"), t, None).await;
    assert_eq!(status, StatusCode::OK, "{errors}");
    let errors = errors.as_array().unwrap();
    let got: Vec<(&Value, &str, &str)> = errors
        .iter()
        .map(|e| {
            (
                &e["user"],
                e["errors"][0]["code"].as_str().unwrap(),
                e["errors"][0]["path"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (&users[2], "DUPLICATED_USER", "email"),
            (
                &json!({"email": "bad-hash@example.com"}),
                "INVALID_FORMAT",
                "password_hash"
            ),
            (&users[4], "INVALID_FORMAT", ""),
            // An empty mfa_factors (Auth0's schema: 1 to 10).
            (&users[5], "INVALID_FORMAT", "mfa_factors"),
        ]
    );
    assert!(
        errors[0]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{errors:?}"
    );
    // The refused entry's hash is not kept with the job.
    assert!(!errors[1].to_string().contains("plaintext"), "{errors:?}");

    // The imported users are there, with their profiles.
    let argon = app
        .store
        .user_by_email(&connection, "argon@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(argon.user_id.as_str(), "auth0|argon-1");
    assert_eq!(argon.given_name.as_deref(), Some("Ar"));
    assert_eq!(argon.user_metadata["lang"], "fr");
    let plain = app
        .store
        .user_by_email(&connection, "plain@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(plain.email_verified);
    assert_eq!(plain.password, None);

    // The imported user logs in with the old password, not with a wrong one.
    assert!(!logs_in(&app, "argon@example.com", "wrong password").await);
    assert!(logs_in(&app, "argon@example.com", ARGON2_PASSWORD).await);
    let argon = app.store.user(&argon.user_id).await.unwrap().unwrap();
    assert_eq!(
        argon.password.as_ref().map(|p| p.algorithm),
        Some(PasswordAlgorithm::Argon2)
    );

    // The import was logged as an API write.
    let logged = sapi_count(&app).await;
    assert_eq!(logged, 1);
}

#[tokio::test]
async fn upsert_updates_existing_users_and_without_it_they_are_refused() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &["create:users"]).await;
    let t = Some(token.as_str());
    let connection = database_connection(&app).await;
    let before = app
        .store
        .user_by_email(&connection, "ann@example.com")
        .await
        .unwrap()
        .unwrap();
    let users = json!([
        {"email": "ANN@example.com", "given_name": "Annie", "app_metadata": {"plan": "gold"},
         "custom_password_hash": {"algorithm": "argon2", "hash": {"value": argon2_hash()}}},
        {"email": "new@example.com"},
    ]);
    let fields = [("connection_id", connection.as_str()), ("upsert", "false")];
    let (status, job) = upload(&app, t, Some(&users), &fields).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(
        job["summary"],
        json!({"failed": 1, "updated": 0, "inserted": 1, "total": 2})
    );

    let fields = [("connection_id", connection.as_str()), ("upsert", "true")];
    let (status, job) = upload(&app, t, Some(&users), &fields).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(
        job["summary"],
        json!({"failed": 0, "updated": 2, "inserted": 0, "total": 2})
    );
    let after = app.store.user(&before.user_id).await.unwrap().unwrap();
    assert_eq!(after.given_name.as_deref(), Some("Annie"));
    assert_eq!(after.app_metadata["plan"], "gold");
    assert_eq!(after.email, before.email, "the email is the one matched");
    assert_eq!(after.name, before.name, "what the entry leaves out is kept");
    assert_eq!(after.logins_count, before.logins_count);
    assert!(logs_in(&app, "ann@example.com", ARGON2_PASSWORD).await);
}

#[tokio::test]
async fn refusals_of_the_jobs_endpoints() {
    let app = TestApp::start().await;
    let aud = audience(&app);
    let token = token_for(&app, &aud, &["create:users", "read:users"]).await;
    let t = Some(token.as_str());
    let connection = database_connection(&app).await;
    let users = json!([{"email": "x@example.com"}]);

    // Scopes: importing needs create:users; reading a job create:users or read:users.
    let reader = token_for(&app, &aud, &["read:users"]).await;
    assert_error(
        &upload(
            &app,
            Some(&reader),
            Some(&users),
            &[("connection_id", connection.as_str())],
        )
        .await,
        403,
        "insufficient_scope",
    );
    let other = token_for(&app, &aud, &["read:roles"]).await;
    assert_error(
        &call(&app, "GET", "/jobs/job_x", Some(&other), None).await,
        403,
        "insufficient_scope",
    );
    assert_error(
        &call(&app, "GET", "/jobs/job_x/errors", Some(&other), None).await,
        403,
        "insufficient_scope",
    );

    // Unknown jobs.
    let reading = Some(reader.as_str());
    assert_error(
        &call(&app, "GET", "/jobs/job_missing", reading, None).await,
        404,
        "inexistent_job",
    );
    assert_error(
        &call(&app, "GET", "/jobs/job_missing/errors", reading, None).await,
        404,
        "inexistent_job",
    );

    // The form.
    let answer = upload(&app, t, Some(&users), &[]).await;
    assert_error(&answer, 400, "invalid_body");
    assert!(
        answer.1["message"]
            .as_str()
            .unwrap()
            .contains("connection_id"),
        "{answer:?}"
    );
    assert_error(
        &upload(&app, t, None, &[("connection_id", connection.as_str())]).await,
        400,
        "invalid_body",
    );
    assert_error(
        &upload(&app, t, Some(&users), &[("connection_id", "con_nope")]).await,
        400,
        "inexistent_connection",
    );
    let mut upstream = app.store.connection(&connection).await.unwrap().unwrap();
    upstream.id = ConnectionId::from("con_upstream");
    upstream.name = "corporate-oidc".to_owned();
    upstream.strategy = sigil_core::model::Strategy::Oidc;
    app.store.create_connection(&upstream, &[]).await.unwrap();
    assert_error(
        &upload(&app, t, Some(&users), &[("connection_id", "con_upstream")]).await,
        400,
        "invalid_connection",
    );
    let answer = upload(
        &app,
        t,
        Some(&users),
        &[("connection_id", connection.as_str()), ("colour", "red")],
    )
    .await;
    assert_error(&answer, 400, "invalid_body");
    assert!(
        answer.1["message"].as_str().unwrap().contains("colour"),
        "{answer:?}"
    );
    assert_error(
        &upload(
            &app,
            t,
            Some(&users),
            &[("connection_id", connection.as_str()), ("upsert", "maybe")],
        )
        .await,
        400,
        "invalid_body",
    );
    assert_error(
        &upload(
            &app,
            t,
            Some(&json!({"email": "not an array"})),
            &[("connection_id", connection.as_str())],
        )
        .await,
        400,
        "invalid_body",
    );
    // Not multipart at all, and a broken multipart body.
    assert_error(
        &call(&app, "POST", "/jobs/users-imports", t, Some(json!({}))).await,
        400,
        "invalid_body",
    );
    let broken = app
        .http
        .post(app.url("api/v2/jobs/users-imports"))
        .bearer_auth(&token)
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"users\"\r\n\r\n[]")
        .send()
        .await
        .unwrap();
    let status = broken.status();
    let body: Value = broken.json().await.unwrap();
    assert_error(&(status, body), 400, "invalid_body");
}

#[tokio::test]
async fn imported_hashes_log_in_once_then_are_argon2id() {
    let app = TestApp::start().await;
    let token = token_for(&app, &audience(&app), &["create:users"]).await;
    let connection = database_connection(&app).await;
    let bcrypt = bcrypt::hash("imported bcrypt", 4).unwrap();
    // (email, the entry's hash members, the password; the digests made with Python's hashlib)
    let table: &[(&str, Value, &str)] = &[
        (
            "bcrypt@example.com",
            json!({"password_hash": bcrypt}),
            "imported bcrypt",
        ),
        (
            "bcrypt-custom@example.com",
            json!({"custom_password_hash": {"algorithm": "bcrypt", "hash": {"value": bcrypt}}}),
            "imported bcrypt",
        ),
        (
            "argon@example.com",
            json!({"custom_password_hash": {"algorithm": "argon2", "hash": {"value": argon2_hash()}}}),
            ARGON2_PASSWORD,
        ),
        (
            "pbkdf2@example.com",
            json!({"custom_password_hash": {"algorithm": "pbkdf2", "hash": {"value":
                "$pbkdf2-sha256$i=1000,l=32$c2lnaWwtc2FsdC0xNmJ5dA$AX6gkCkLtSupoIiCim+qRlbA4czD2a5dUwAJLmVM+5w"}}}),
            "imported pbkdf2",
        ),
        (
            "sha256@example.com",
            json!({"custom_password_hash": {"algorithm": "sha256",
                "hash": {"value": "800165318877e2948f022b0b9e91f4b2dafd6a7d5dde23be37643ebee9a4b1b8", "encoding": "hex"},
                "salt": {"value": "pepper", "position": "prefix"}}}),
            "imported sha256",
        ),
        (
            "sha512@example.com",
            json!({"custom_password_hash": {"algorithm": "sha512",
                "hash": {"value": "9ttdgYO8Q/J98PAHnCLDkKrIs1TYVlTPLvP6tOI45F8nUaaGLFRbvoR18y1AOspZp/QlZ70xvKaQgxLOTLY4aQ==", "encoding": "base64"},
                "salt": {"value": "salt!", "position": "suffix"}}}),
            "imported sha512",
        ),
        (
            "sha1@example.com",
            json!({"custom_password_hash": {"algorithm": "sha1",
                "hash": {"value": "250bb4e8b77b7553fe9866a123dca9c89d4d2ab8"},
                "salt": {"value": "ab", "position": "prefix"}}}),
            "imported sha1",
        ),
        (
            "md5@example.com",
            json!({"custom_password_hash": {"algorithm": "md5",
                "hash": {"value": "054b59659c446e9ceb9d06fe42f12210", "encoding": "hex"}}}),
            "imported md5",
        ),
    ];
    let users: Vec<Value> = table
        .iter()
        .map(|(email, hash, _)| {
            let mut entry = hash.clone();
            entry["email"] = json!(email);
            entry
        })
        .collect();
    let (status, job) = upload(
        &app,
        Some(&token),
        Some(&Value::Array(users)),
        &[("connection_id", connection.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["summary"]["inserted"], table.len(), "{job}");

    for (email, _, password) in table {
        let before = app
            .store
            .user_by_email(&connection, email)
            .await
            .unwrap()
            .unwrap();
        let imported = before.password.clone().unwrap();
        assert!(!logs_in(&app, email, "not the password").await, "{email}");
        assert_eq!(
            app.store
                .user(&before.user_id)
                .await
                .unwrap()
                .unwrap()
                .password,
            Some(imported.clone()),
            "{email}: a failed login changes nothing"
        );
        assert!(logs_in(&app, email, password).await, "{email}");
        let after = app.store.user(&before.user_id).await.unwrap().unwrap();
        let hash = after.password.unwrap();
        assert_eq!(hash.algorithm, PasswordAlgorithm::Argon2, "{email}");
        assert!(
            hash.encoded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{email}: re-hashed with Sigil's parameters"
        );
        assert_ne!(hash, imported, "{email}");
        assert_eq!(after.given_name, before.given_name, "{email}");
        // And again, now against the argon2id hash.
        assert!(logs_in(&app, email, password).await, "{email}");
        assert!(!logs_in(&app, email, "not the password").await, "{email}");
    }
}

/// `GET` of an export job's `location`, with `token`.
async fn download(app: &TestApp, location: &str, token: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .get(location)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn an_export_is_the_import_format_without_hashes_and_imports_back() {
    let app = TestApp::start().await;
    let aud = audience(&app);
    let token = token_for(&app, &aud, &["read:users", "create:users"]).await;
    let t = Some(token.as_str());
    let connection = database_connection(&app).await;
    let users = json!([
        {"email": "exported@example.com", "user_id": "exp-1", "given_name": "Ex",
         "app_metadata": {"plan": "pro"}, "password_hash": bcrypt::hash("pw", 4).unwrap()},
    ]);
    let fields = [("connection_id", connection.as_str())];
    assert_eq!(
        upload(&app, t, Some(&users), &fields).await.0,
        StatusCode::ACCEPTED
    );

    let (status, job) = call(
        &app,
        "POST",
        "/jobs/users-exports",
        t,
        Some(json!({"connection_id": connection.as_str(), "format": "json"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["type"], "users_export");
    assert_eq!(job["status"], "completed");
    assert_eq!(job["format"], "json");
    assert_eq!(job["connection_id"], connection.as_str());
    let id = job["id"].as_str().unwrap();
    let location = job["location"].as_str().unwrap().to_owned();
    assert_eq!(location, app.url(&format!("api/v2/jobs/{id}/export")));
    assert_eq!(
        call(&app, "GET", &format!("/jobs/{id}"), t, None).await.1,
        job
    );

    let (status, file) = download(&app, &location, &token).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    let entries = file.as_array().unwrap();
    assert_eq!(entries.len(), 3, "Ann, Bob and the imported user: {file}");
    let exported = entries
        .iter()
        .find(|e| e["email"] == "exported@example.com")
        .unwrap();
    assert_eq!(exported["user_id"], "auth0|exp-1");
    assert_eq!(exported["given_name"], "Ex");
    assert_eq!(exported["app_metadata"]["plan"], "pro");
    let text = file.to_string();
    assert!(
        !text.contains("password") && !text.contains("$2b$"),
        "{text}"
    );

    // The file imports back: the same users, refused as duplicates (or updated with upsert).
    let fields = [("connection_id", connection.as_str()), ("upsert", "true")];
    let (status, again) = upload(&app, t, Some(&file), &fields).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(
        again["summary"],
        json!({"failed": 0, "updated": 3, "inserted": 0, "total": 3})
    );

    // fields choose and rename; limit cuts.
    let (status, job) = call(
        &app,
        "POST",
        "/jobs/users-exports",
        t,
        Some(json!({"fields": [{"name": "email"}, {"name": "user_id", "export_as": "id"}], "limit": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["fields"][1]["export_as"], "id");
    let (_, file) = download(&app, job["location"].as_str().unwrap(), &token).await;
    let entries = file.as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["email", "id"]
    );

    // Refusals.
    let writer = token_for(&app, &aud, &["create:users"]).await;
    assert_error(
        &call(
            &app,
            "POST",
            "/jobs/users-exports",
            Some(&writer),
            Some(json!({})),
        )
        .await,
        403,
        "insufficient_scope",
    );
    assert_eq!(
        download(&app, &location, &writer).await.0,
        StatusCode::FORBIDDEN
    );
    for (body, code) in [
        (json!({"format": "csv"}), "invalid_body"),
        (
            json!({"fields": [{"name": "password_hash"}]}),
            "invalid_body",
        ),
        (json!({"colour": "red"}), "invalid_body"),
        (
            json!({"connection_id": "con_nope"}),
            "inexistent_connection",
        ),
    ] {
        assert_error(
            &call(&app, "POST", "/jobs/users-exports", t, Some(body)).await,
            400,
            code,
        );
    }
    assert_error(
        &call(&app, "GET", "/jobs/job_missing/export", t, None).await,
        404,
        "inexistent_job",
    );
}
