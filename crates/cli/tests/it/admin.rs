//! The admin commands on an initialised SQLite installation: `clients`, `apis`, `grants` and
//! `users create`, `users import`. Happy paths are read back through `--json`; bad input is
//! one line and exit 2.

use serde_json::json;

use crate::{check, init, json, scratch};

/// Runs a command that must succeed with `--json` and returns what it printed.
fn created(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    json(&check(dir, &all, "", 0, &[], &[]))
}

#[test]
fn clients_create_with_auth0_defaults_per_type() {
    let dir = scratch("admin_clients");
    init(&dir);
    // (arguments, grant types, auth method, has a secret)
    let cases: &[(&[&str], &[&str], &str, bool)] = &[
        (
            &["--name", "Web SPA", "--type", "spa"],
            &["authorization_code", "implicit", "refresh_token"],
            "none",
            false,
        ),
        (
            &[
                "--name",
                "Phone",
                "--type",
                "native",
                "--callback",
                "com.example.app:/callback",
            ],
            &["authorization_code", "implicit", "refresh_token"],
            "none",
            false,
        ),
        (
            &["--name", "Portal", "--type", "regular_web"],
            &[
                "authorization_code",
                "implicit",
                "refresh_token",
                "client_credentials",
            ],
            "client_secret_post",
            true,
        ),
        (
            &["--name", "Cron", "--type", "non_interactive"],
            &["client_credentials"],
            "client_secret_post",
            true,
        ),
        (
            &[
                "--name",
                "Chosen grants",
                "--type",
                "regular_web",
                "--grant",
                "authorization_code",
                "--grant",
                "refresh_token",
                "--grant",
                "authorization_code",
            ],
            &["authorization_code", "refresh_token"],
            "client_secret_post",
            true,
        ),
    ];
    let mut ids = Vec::new();
    for (args, grants, method, secret) in cases {
        let mut all = vec!["clients", "create"];
        all.extend_from_slice(args);
        let client = created(&dir, &all);
        assert_eq!(client["name"], args[1]);
        assert_eq!(client["app_type"], args[3]);
        assert_eq!(client["grant_types"], json!(grants), "{args:?}");
        assert_eq!(client["token_endpoint_auth_method"], *method, "{args:?}");
        assert_eq!(client["jwt_configuration"]["alg"], "RS256");
        assert_eq!(
            client["client_secret"].as_str().map(str::len),
            secret.then_some(64),
            "{args:?}"
        );
        ids.push(client["client_id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), cases.len(), "client ids repeat");

    let client = created(
        &dir,
        &[
            "clients",
            "create",
            "--name",
            "Shop",
            "--type",
            "regular_web",
            "--callback",
            "https://shop.example.com/callback",
            "--callback",
            "http://localhost:3000/callback?x=1",
            "--logout-url",
            "https://shop.example.com/",
            "--web-origin",
            "https://shop.example.com",
        ],
    );
    assert_eq!(
        client["callbacks"],
        json!([
            "https://shop.example.com/callback",
            "http://localhost:3000/callback?x=1"
        ])
    );
    assert_eq!(
        client["allowed_logout_urls"],
        json!(["https://shop.example.com/"])
    );
    assert_eq!(client["web_origins"], json!(["https://shop.example.com"]));

    // Without --json: a summary, the secret shown once.
    check(
        &dir,
        &[
            "clients",
            "create",
            "--name",
            "Batch",
            "--type",
            "non_interactive",
        ],
        "",
        0,
        &[
            "created client \"Batch\" (non_interactive): client_id ",
            "client_secret: ",
            "token endpoint: http://127.0.0.1:8787/oauth/token",
        ],
        &[],
    );
}

/// A key pair made by `sigil keys generate` in `dir`: the private key file, and the public
/// half as a JWK file and as a PEM file.
fn key_pair(dir: &std::path::Path, alg: &str, name: &str) -> serde_json::Value {
    let jwk = crate::generate(dir, alg, &format!("{name}.key"), &[]);
    std::fs::write(dir.join(format!("{name}.jwk")), jwk.to_string()).unwrap();
    let private = std::fs::read_to_string(dir.join(format!("{name}.key"))).unwrap();
    let public = sigil_jose::PrivateKey::from_pem(&private)
        .unwrap()
        .public_key()
        .unwrap()
        .to_pem()
        .unwrap();
    std::fs::write(dir.join(format!("{name}.pub.pem")), public).unwrap();
    jwk
}

#[test]
fn clients_create_with_private_key_jwt_registers_keys_and_no_secret() {
    let dir = scratch("admin_clients_pkjwt");
    init(&dir);
    let ec = key_pair(&dir, "ES256", "ec");
    key_pair(&dir, "RS256", "rsa");
    let client = created(
        &dir,
        &[
            "clients",
            "create",
            "--name",
            "Keyed",
            "--type",
            "non_interactive",
            "--auth-method",
            "private_key_jwt",
            "--public-key",
            "ec.jwk",
            "--public-key",
            "rsa.pub.pem",
        ],
    );
    assert_eq!(client["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(client.get("client_secret"), None, "no secret");
    let credentials = client["client_authentication_methods"]["private_key_jwt"]["credentials"]
        .as_array()
        .unwrap();
    assert_eq!(credentials.len(), 2);
    assert!(
        credentials
            .iter()
            .all(|c| c["id"].as_str().is_some_and(|id| id.starts_with("cred_")))
    );

    // The summary names each key's kid and algorithm: the JWK's kid, else the thumbprint.
    let out = check(
        &dir,
        &[
            "clients",
            "create",
            "--name",
            "Portal",
            "--type",
            "regular_web",
            "--auth-method",
            "private_key_jwt",
            "--public-key",
            "ec.jwk",
            "--public-key",
            "rsa.pub.pem",
            "--alg",
            "PS256",
        ],
        "",
        2,
        &[],
        &["--alg PS256 contradicts the \"alg\": \"ES256\" of key file ec.jwk"],
    );
    drop(out);
    check(
        &dir,
        &[
            "clients",
            "create",
            "--name",
            "Portal",
            "--type",
            "regular_web",
            "--auth-method",
            "private_key_jwt",
            "--public-key",
            "ec.jwk",
            "--public-key",
            "rsa.pub.pem",
        ],
        "",
        0,
        &[
            "authenticates with private_key_jwt: no secret",
            &format!("kid {}, alg ES256", ec["kid"].as_str().unwrap()),
            ", alg RS256",
        ],
        &[],
    );
    // Explicit secret methods are kept.
    let basic = created(
        &dir,
        &[
            "clients",
            "create",
            "--name",
            "Basic",
            "--type",
            "regular_web",
            "--auth-method",
            "client_secret_basic",
        ],
    );
    assert_eq!(basic["token_endpoint_auth_method"], "client_secret_basic");
    assert!(basic["client_secret"].is_string());
}

#[test]
fn clients_create_refuses_bad_input() {
    let dir = scratch("admin_clients_bad");
    init(&dir);
    let cases: &[(&[&str], &str)] = &[
        (
            &["--name", "x", "--type", "robot"],
            "use one of spa, native, regular_web, non_interactive",
        ),
        (&["--name", " ", "--type", "spa"], "a name cannot be empty"),
        (
            &["--name", "x", "--type", "spa", "--callback", "/relative"],
            "not an absolute URL",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "spa",
                "--callback",
                "https://a.example/cb#frag",
            ],
            "must not have a fragment",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "spa",
                "--callback",
                "ftp://a.example/",
            ],
            "is neither http(s) nor a private-use scheme",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "spa",
                "--callback",
                "com.example.app:/cb",
            ],
            "only native applications may use a private-use scheme",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "spa",
                "--web-origin",
                "https://a.example/path",
            ],
            "without path, query or fragment",
        ),
        (
            &["--name", "x", "--type", "spa", "--logout-url", "not a url"],
            "--logout-url <URL>",
        ),
        (
            &["--name", "x", "--type", "spa", "--grant", "magic"],
            "unknown grant type; use one of authorization_code",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "spa",
                "--grant",
                "client_credentials",
            ],
            "public client and cannot use the client_credentials grant",
        ),
        (&["--type", "spa"], "--name <N>"),
        (
            &["--name", "x", "--type", "spa", "--auth-method", "magic"],
            "use one of client_secret_post, client_secret_basic, private_key_jwt, none",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "spa",
                "--auth-method",
                "private_key_jwt",
            ],
            "a spa application is a public client and cannot authenticate",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "non_interactive",
                "--auth-method",
                "none",
            ],
            "a non_interactive application is confidential and must authenticate",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "non_interactive",
                "--auth-method",
                "private_key_jwt",
            ],
            "--auth-method private_key_jwt needs at least one --public-key FILE",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "non_interactive",
                "--public-key",
                "rsa.pub.pem",
            ],
            "--public-key and --alg are for --auth-method private_key_jwt",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "non_interactive",
                "--auth-method",
                "private_key_jwt",
                "--public-key",
                "rsa.key",
            ],
            "holds a private key; register only the public half",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "non_interactive",
                "--auth-method",
                "private_key_jwt",
                "--public-key",
                "rsa.pub.pem",
                "--alg",
                "HS256",
            ],
            "use one of RS256, RS384, RS512, PS256",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "non_interactive",
                "--auth-method",
                "private_key_jwt",
                "--public-key",
                "rsa.pub.pem",
                "--alg",
                "ES256",
            ],
            "cannot use key file rsa.pub.pem with ES256",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "non_interactive",
                "--auth-method",
                "private_key_jwt",
                "--public-key",
                "rsa.pub.pem",
                "--public-key",
                "rsa.pub.pem",
            ],
            "two --public-key keys have the kid",
        ),
        (
            &[
                "--name",
                "x",
                "--type",
                "non_interactive",
                "--auth-method",
                "private_key_jwt",
                "--public-key",
                "missing.pem",
            ],
            "missing.pem",
        ),
    ];
    key_pair(&dir, "RS256", "rsa");
    for (args, message) in cases {
        let mut all = vec!["clients", "create"];
        all.extend_from_slice(args);
        check(&dir, &all, "", 2, &[], &[message]);
    }
}

#[test]
fn apis_create() {
    let dir = scratch("admin_apis");
    init(&dir);
    let api = created(
        &dir,
        &[
            "apis",
            "create",
            "--identifier",
            "https://api.example.com/",
            "--name",
            "Example API",
            "--scope",
            "read:messages",
            "--scope",
            "write:messages=Write your messages",
            "--rbac",
            "--permissions-claim",
        ],
    );
    assert_eq!(api["identifier"], "https://api.example.com/");
    assert_eq!(api["name"], "Example API");
    assert_eq!(
        api["scopes"],
        json!([
            {"value": "read:messages", "description": ""},
            {"value": "write:messages", "description": "Write your messages"},
        ])
    );
    assert_eq!(api["signing_alg"], "RS256");
    assert_eq!(api["enforce_policies"], true);
    assert_eq!(api["token_dialect"], "access_token_authz");
    assert_eq!(api["is_system"], false);
    assert_eq!(api["id"].as_str().unwrap().len(), 24);

    let plain = created(
        &dir,
        &[
            "apis",
            "create",
            "--identifier",
            "orders",
            "--name",
            "Orders",
            "--alg",
            "PS256",
        ],
    );
    assert_eq!(
        (
            &plain["signing_alg"],
            &plain["enforce_policies"],
            &plain["token_dialect"]
        ),
        (&json!("PS256"), &json!(false), &json!("access_token"))
    );
    // The first PS256 API made the RSA-PSS family: a current and a next key, published as
    // PS256, apart from the RS256 ones.
    let table = key_table(&dir);
    for state in ["current", "next"] {
        assert_eq!(kids(&table, "PS256", state).len(), 1, "{state}: {table:?}");
        assert_eq!(kids(&table, "RS256", state).len(), 1, "{state}: {table:?}");
    }
    // Rotating PS256 moves that family alone.
    let rotated = json(&check(
        &dir,
        &["keys", "rotate", "--alg", "PS256", "--json"],
        "",
        0,
        &[],
        &[],
    ));
    assert_eq!(rotated["current"]["kid"], kids(&table, "PS256", "next")[0]);
    assert_eq!(rotated["current"]["alg"], "PS256");
    let after = key_table(&dir);
    for state in ["current", "next"] {
        assert_eq!(kids(&after, "RS256", state), kids(&table, "RS256", state));
    }
    assert_eq!(
        kids(&after, "PS256", "previous"),
        kids(&table, "PS256", "current")
    );

    let cases: &[(&[&str], &str)] = &[
        (
            &["--identifier", "orders", "--name", "Again"],
            "an API with identifier orders already exists",
        ),
        (
            &[
                "--identifier",
                "http://127.0.0.1:8787/api/v2/",
                "--name",
                "Mine",
            ],
            "already exists",
        ),
        (
            &["--identifier", "x", "--name", "x", "--permissions-claim"],
            "the following required arguments were not provided: --rbac",
        ),
        (
            &["--identifier", "x", "--name", "x", "--alg", "HS256"],
            "HS256 signs with a secret of the API's own",
        ),
        (
            &["--identifier", "x", "--name", "x", "--alg", "ES384"],
            "use RS256, PS256 or ES256",
        ),
        (
            &[
                "--identifier",
                "x",
                "--name",
                "x",
                "--scope",
                "read messages",
            ],
            "' ' is not allowed",
        ),
        (
            &[
                "--identifier",
                "x",
                "--name",
                "x",
                "--scope",
                "a",
                "--scope",
                "a=again",
            ],
            "--scope a is given twice",
        ),
        (
            &["--identifier", "has space", "--name", "x"],
            "cannot contain spaces",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["apis", "create"];
        all.extend_from_slice(args);
        check(&dir, &all, "", 2, &[], &[message]);
    }
}

#[test]
fn grants_create() {
    let dir = scratch("admin_grants");
    init(&dir);
    created(
        &dir,
        &[
            "apis",
            "create",
            "--identifier",
            "https://api.example.com/",
            "--name",
            "Example",
            "--scope",
            "read:x",
            "--scope",
            "write:x",
        ],
    );
    let client = created(
        &dir,
        &[
            "clients",
            "create",
            "--name",
            "Worker",
            "--type",
            "non_interactive",
        ],
    );
    let id = client["client_id"].as_str().unwrap();
    let grant = created(
        &dir,
        &[
            "grants",
            "create",
            "--client",
            id,
            "--api",
            "https://api.example.com/",
            "--scope",
            "read:x",
            "--scope",
            "read:x",
        ],
    );
    assert_eq!(grant["client_id"], id);
    assert_eq!(grant["audience"], "https://api.example.com/");
    assert_eq!(grant["scope"], json!(["read:x"]));
    assert!(grant["id"].as_str().unwrap().starts_with("cgr_"));

    let cases: &[(&[&str], &str)] = &[
        (
            &["--client", id, "--api", "https://api.example.com/"],
            "already has a grant for the API https://api.example.com/",
        ),
        (
            &["--client", "nobody", "--api", "https://api.example.com/"],
            "there is no client with client_id nobody",
        ),
        (
            &["--client", id, "--api", "https://nowhere/"],
            "there is no API with identifier https://nowhere/",
        ),
        (
            &[
                "--client",
                id,
                "--api",
                "http://127.0.0.1:8787/api/v2/",
                "--scope",
                "read:nothing",
            ],
            "does not define the scope read:nothing; it defines read:actions",
        ),
        (
            &["--client", id, "--api", "x", "--scope", "bad\"scope"],
            "is not allowed",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["grants", "create"];
        all.extend_from_slice(args);
        check(&dir, &all, "", 2, &[], &[message]);
    }
    // A second client may be granted the same API.
    let other = created(
        &dir,
        &[
            "clients",
            "create",
            "--name",
            "Other",
            "--type",
            "regular_web",
        ],
    );
    check(
        &dir,
        &[
            "grants",
            "create",
            "--client",
            other["client_id"].as_str().unwrap(),
            "--api",
            "http://127.0.0.1:8787/api/v2/",
            "--scope",
            "read:users",
        ],
        "",
        0,
        &["access to http://127.0.0.1:8787/api/v2/ with scopes: read:users (grant cgr_"],
        &[],
    );
}

#[test]
fn users_create() {
    let dir = scratch("admin_users");
    init(&dir);
    let user = created(
        &dir,
        &[
            "users",
            "create",
            "--email",
            "Alice@Example.com",
            "--password",
            "correct horse",
        ],
    );
    let user_id = user["user_id"].as_str().unwrap();
    assert!(user_id.starts_with("auth0|"), "{user_id}");
    assert_eq!(user["email"], "Alice@Example.com");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["nickname"], "Alice");
    assert_eq!(
        user["identities"],
        json!([{
            "connection": "Username-Password-Authentication",
            "provider": "auth0",
            "user_id": &user_id["auth0|".len()..],
            "isSocial": false,
        }])
    );
    assert!(user["created_at"].as_str().unwrap().ends_with(".000Z"));
    assert!(user.get("password").is_none() && !user.to_string().contains("argon2"));

    check(
        &dir,
        &[
            "users",
            "create",
            "--email",
            "bob@example.com",
            "--password",
            "pw",
        ],
        "",
        0,
        &["created user bob@example.com in Username-Password-Authentication: user_id auth0|"],
        &[],
    );
    let cases: &[(&[&str], &str)] = &[
        (
            &["--email", "alice@example.COM", "--password", "other"],
            "error: a user with this email already exists in connection Username-Password-Authentication",
        ),
        (
            &["--email", "carol@example.com", "--password", ""],
            "the password cannot be empty",
        ),
        (
            &["--email", "carol", "--password", "pw"],
            "not an email address",
        ),
        (
            &[
                "--email",
                "carol@example.com",
                "--password",
                "pw",
                "--connection",
                "Nope",
            ],
            "there is no connection named Nope",
        ),
        (&["--email", "carol@example.com"], "--password <P>"),
    ];
    for (args, message) in cases {
        let mut all = vec!["users", "create"];
        all.extend_from_slice(args);
        check(&dir, &all, "", 2, &[], &[message]);
    }
}

#[test]
fn users_import_reports_each_entry() {
    let dir = scratch("admin_import");
    init(&dir);
    check(
        &dir,
        &[
            "users",
            "create",
            "--email",
            "taken@example.com",
            "--password",
            "pw",
        ],
        "",
        0,
        &[],
        &[],
    );
    let bcrypt = "$2b$10$C9Xb1ykMyyB5kWFrHCD6Ge7NEJhbDTJcpoWAn29xI4Ks55ruNoJ5W";
    let entries = json!([
        {"email": "ann@example.com", "email_verified": true, "user_id": "ann-1",
         "given_name": "Ann", "family_name": "Lee", "name": "Ann Lee", "nickname": "annie",
         "picture": "https://example.com/ann.png", "user_metadata": {"lang": "fr"},
         "app_metadata": {"plan": "pro"}, "password_hash": bcrypt},
        {"email": "TAKEN@example.com"},
        {"email": "sha@example.com", "custom_password_hash": {
            "algorithm": "sha256", "hash": {"value": "abcd", "encoding": "hex"},
            "salt": {"value": "pepper", "position": "prefix"}}},
        {"email": "argon@example.com", "custom_password_hash": {
            "algorithm": "argon2",
            "hash": {"value": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"}}},
        {"email": "bad-hash@example.com", "password_hash": "plaintext"},
        {"name": "no email"},
        {"email": "mfa@example.com", "mfa_factors": [{"totp": {"secret": "x"}}]},
        "not an object",
        {"email": "ann@example.com"},
        {"email": "same-id@example.com", "user_id": "auth0|ann-1"},
        {"email": "ldap@example.com", "custom_password_hash": {"algorithm": "ldap", "hash": {"value": "x"}}},
        {"email": "both@example.com", "password_hash": bcrypt,
         "custom_password_hash": {"algorithm": "md5", "hash": {"value": "x"}}},
        {"email": "blocked@example.com", "blocked": true, "email_verified": "yes"},
    ]);
    std::fs::write(dir.join("users.json"), entries.to_string()).unwrap();

    let report = created(&dir, &["users", "import", "users.json"]);
    assert_eq!(report["total"], 13);
    assert_eq!(report["inserted"], 3, "{report:#}");
    assert_eq!(report["failed"], 10);
    let errors: Vec<(u64, &str, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap(),
                e["code"].as_str().unwrap(),
                e["message"].as_str().unwrap(),
            )
        })
        .collect();
    let want: &[(u64, &str, &str)] = &[
        (
            1,
            "DUPLICATED_USER",
            "a user with this email already exists in connection Username-Password-Authentication",
        ),
        (4, "INVALID_FORMAT", "password_hash: not a bcrypt hash"),
        (5, "INVALID_FORMAT", "email is required"),
        (
            6,
            "INVALID_FORMAT",
            "mfa_factors: totp.secret must be an unpadded base32 secret (A-Z, 2-7) of 16 characters or more",
        ),
        (7, "INVALID_FORMAT", "not a JSON object"),
        (
            8,
            "DUPLICATED_USER",
            "a user with this email already exists",
        ),
        (
            9,
            "DUPLICATED_USER",
            "a user with this user_id already exists",
        ),
        (
            10,
            "INVALID_FORMAT",
            "the algorithm \"ldap\" is not supported",
        ),
        (
            11,
            "INVALID_FORMAT",
            "give password_hash or custom_password_hash, not both",
        ),
        (
            12,
            "INVALID_FORMAT",
            "invalid type: string \"yes\", expected a boolean",
        ),
    ];
    assert_eq!(errors.len(), want.len(), "{report:#}");
    for ((index, code, message), (want_index, want_code, want_message)) in errors.iter().zip(want) {
        assert_eq!((index, code), (want_index, want_code), "{report:#}");
        assert!(message.contains(want_message), "[{index}] {message}");
    }

    // What was imported is there: the same email cannot be created again.
    for email in ["ann@example.com", "sha@example.com", "argon@example.com"] {
        check(
            &dir,
            &["users", "create", "--email", email, "--password", "pw"],
            "",
            2,
            &[],
            &["a user with this email already exists"],
        );
    }

    // Importing the same good users again imports none of them: exit 1, summary on stdout.
    let good = json!([entries[0], entries[2]]);
    std::fs::write(dir.join("again.json"), good.to_string()).unwrap();
    check(
        &dir,
        &["users", "import", "again.json"],
        "",
        1,
        &[
            "imported 0 of 2 users into Username-Password-Authentication; 2 failed:",
            "  [0] ann@example.com: a user with this ",
        ],
        &["error: none of the 2 users in again.json was imported"],
    );
    // From stdin, with a summary for people.
    check(
        &dir,
        &["users", "import", "-"],
        r#"[{"email": "stdin@example.com"}, {"email": "x"}]"#,
        0,
        &[
            "imported 1 of 2 users into Username-Password-Authentication; 1 failed:",
            "  [1] x: email: not an email address",
        ],
        &[],
    );
    check(
        &dir,
        &["users", "import", "-"],
        "[]",
        0,
        &["imported 0 of 0 users"],
        &[],
    );

    std::fs::write(dir.join("object.json"), r#"{"email": "a@example.com"}"#).unwrap();
    std::fs::write(dir.join("broken.json"), "[{").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["users.json", "--connection", "Nope"],
            "there is no connection named Nope",
        ),
        (&["missing.json"], "cannot read missing.json"),
        (&["object.json"], "object.json is not a JSON array of users"),
        (&["broken.json"], "broken.json is not valid JSON"),
    ];
    for (args, message) in cases {
        let mut all = vec!["users", "import"];
        all.extend_from_slice(args);
        check(&dir, &all, "", 2, &[], &[message]);
    }
}

#[test]
fn keys_rotate_promotes_the_published_next_key_and_revoke_unpublishes() {
    let dir = scratch("admin_keys");
    check(&dir, &["init"], "", 0, &[], &[]);
    let keys = |dir: &std::path::Path| -> Vec<serde_json::Value> {
        let out = check(dir, &["keys", "list", "--json"], "", 0, &[], &[]);
        serde_json::from_str(&out.stdout).unwrap()
    };
    let state_of = |keys: &[serde_json::Value], state: &str| -> Vec<String> {
        keys.iter()
            .filter(|k| k["state"] == state)
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = keys(&dir);
    assert_eq!(
        before.len(),
        2,
        "init makes a current and a next key: {before:?}"
    );
    let (current, next) = (state_of(&before, "current"), state_of(&before, "next"));
    assert_eq!((current.len(), next.len()), (1, 1));
    for key in &before {
        assert!(key.get("pem").is_none() && key.get("d").is_none());
    }

    check(
        &dir,
        &["keys", "rotate"],
        "",
        0,
        &["rotated the RS256 keys: ", &next[0]],
        &[],
    );
    let after = keys(&dir);
    assert_eq!(
        state_of(&after, "current"),
        next,
        "the published next key signs"
    );
    assert_eq!(state_of(&after, "previous"), current);
    assert_eq!(state_of(&after, "next").len(), 1);
    assert_ne!(state_of(&after, "next"), next);

    let refusals: [(&[&str], &str); 4] = [
        (
            &["keys", "revoke", &next[0]],
            "is the current RS256 signing key and cannot be revoked; run `sigil keys rotate` first",
        ),
        (
            &["keys", "revoke", "nope"],
            "there is no signing key nope; see `sigil keys list`",
        ),
        (&["keys", "revoke"], "required"),
        // Thumbprints are base64url and may begin with `-`: still a kid, not an option.
        (
            &["keys", "revoke", "-nope"],
            "there is no signing key -nope; see `sigil keys list`",
        ),
    ];
    for (args, message) in refusals {
        check(&dir, args, "", 2, &[], &[message]);
    }
    check(
        &dir,
        &["keys", "revoke", &current[0]],
        "",
        0,
        &["revoked "],
        &[],
    );
    assert_eq!(state_of(&keys(&dir), "revoked"), current);
    check(
        &dir,
        &["keys", "revoke", &current[0]],
        "",
        2,
        &[],
        &["is already revoked"],
    );
}

#[test]
fn tenant_set_switches_the_legacy_endpoints() {
    let dir = scratch("admin_tenant");
    check(
        &dir,
        &["tenant", "show"],
        "",
        2,
        &[],
        &["there is no Sigil database at ./sigil-data/sigil.db; run `sigil init` first"],
    );
    init(&dir);
    check(
        &dir,
        &["tenant", "show"],
        "",
        0,
        &[
            "issuer: http://127.0.0.1:8787/",
            "legacy /tokeninfo: off",
            "legacy /delegation: off",
        ],
        &[],
    );
    let shown = created(&dir, &["tenant", "show"]);
    assert_eq!(shown["flags"]["allow_legacy_tokeninfo_endpoint"], false);
    assert_eq!(shown["flags"]["allow_legacy_delegation_grant_types"], false);
    assert_eq!(shown["friendly_name"], "Sigil");

    let set = created(&dir, &["tenant", "set", "--legacy-tokeninfo", "on"]);
    assert_eq!(set["flags"]["allow_legacy_tokeninfo_endpoint"], true);
    assert_eq!(set["flags"]["allow_legacy_delegation_grant_types"], false);
    check(
        &dir,
        &[
            "tenant",
            "set",
            "--legacy-delegation",
            "on",
            "--legacy-tokeninfo",
            "off",
        ],
        "",
        0,
        &["legacy /tokeninfo: off", "legacy /delegation: on"],
        &[],
    );
    let shown = created(&dir, &["tenant", "show"]);
    assert_eq!(shown["flags"]["allow_legacy_tokeninfo_endpoint"], false);
    assert_eq!(shown["flags"]["allow_legacy_delegation_grant_types"], true);
    assert_eq!(
        shown["issuer"], "http://127.0.0.1:8787/",
        "the rest is kept"
    );

    // Attack protection is on by default; the operator can switch either part off.
    check(
        &dir,
        &["tenant", "show"],
        "",
        0,
        &["brute-force protection: on", "suspicious-IP throttling: on"],
        &[],
    );
    check(
        &dir,
        &[
            "tenant",
            "set",
            "--brute-force",
            "off",
            "--suspicious-ip-throttling",
            "off",
        ],
        "",
        0,
        &[
            "brute-force protection: off",
            "suspicious-IP throttling: off",
        ],
        &[],
    );
    let shown = created(&dir, &["tenant", "show"]);
    assert_eq!(
        (
            &shown["brute_force"]["enabled"],
            &shown["suspicious_ip"]["enabled"],
            &shown["brute_force"]["max_attempts"]
        ),
        (&json!(false), &json!(false), &json!(10)),
        "{shown}"
    );

    let refusals: [(&[&str], &str); 3] = [
        (
            &["tenant", "set"],
            "the following required arguments were not provided",
        ),
        (
            &["tenant", "set", "--legacy-tokeninfo", "yes"],
            "use on or off",
        ),
        (
            &["tenant", "set", "--legacy-delegation"],
            "a value is required",
        ),
    ];
    for (args, message) in refusals {
        check(&dir, args, "", 2, &[], &[message]);
    }

    // Applications are allowed the delegation grant type by name.
    let client = created(
        &dir,
        &[
            "clients",
            "create",
            "--name",
            "Legacy",
            "--type",
            "spa",
            "--grant",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ],
    );
    assert_eq!(
        client["grant_types"],
        json!(["urn:ietf:params:oauth:grant-type:jwt-bearer"])
    );
}

/// `(kid, alg, state)` of every signing key, as `keys list --json` shows them.
fn key_table(dir: &std::path::Path) -> Vec<(String, String, String)> {
    let out = check(dir, &["keys", "list", "--json"], "", 0, &[], &[]);
    json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let text = |name: &str| k[name].as_str().unwrap().to_owned();
            (text("kid"), text("alg"), text("state"))
        })
        .collect()
}

/// The kids of `alg` keys in `state`.
fn kids(keys: &[(String, String, String)], alg: &str, state: &str) -> Vec<String> {
    keys.iter()
        .filter(|(_, a, s)| a == alg && s == state)
        .map(|(kid, ..)| kid.clone())
        .collect()
}

#[test]
fn the_first_es256_api_makes_the_p256_key_family_and_later_ones_reuse_it() {
    let dir = scratch("admin_es256_api");
    init(&dir);
    let rsa = key_table(&dir);
    assert_eq!(
        rsa.iter()
            .map(|(_, alg, _)| alg.as_str())
            .collect::<Vec<_>>(),
        ["RS256", "RS256"],
        "init makes RSA keys only"
    );

    let out = check(
        &dir,
        &[
            "apis",
            "create",
            "--identifier",
            "https://es.example.com/",
            "--name",
            "ES",
            "--alg",
            "ES256",
        ],
        "",
        0,
        &[
            "signing ES256",
            "signing key: created ES256 key ",
            "(current)",
            "(next)",
            "the JWKS publishes the new ES256 keys",
        ],
        &[],
    );
    let keys = key_table(&dir);
    assert_eq!(keys.len(), 4, "{keys:?}");
    // Keys made in the same second are listed in kid order: compare each family on its own.
    let rsa_now: Vec<_> = keys
        .iter()
        .filter(|(_, alg, _)| alg == "RS256")
        .cloned()
        .collect();
    assert_eq!(rsa_now, rsa, "the RSA keys are untouched");
    let (ec_current, ec_next) = (
        kids(&keys, "ES256", "current"),
        kids(&keys, "ES256", "next"),
    );
    assert_eq!((ec_current.len(), ec_next.len()), (1, 1), "{keys:?}");
    assert!(out.stdout.contains(&ec_current[0]) && out.stdout.contains(&ec_next[0]));

    // A second ES256 API, and an RS256 one, make no keys.
    let second = created(
        &dir,
        &[
            "apis",
            "create",
            "--identifier",
            "https://es2.example.com/",
            "--name",
            "ES 2",
            "--alg",
            "ES256",
        ],
    );
    assert_eq!(second["signing_alg"], "ES256");
    check(
        &dir,
        &["apis", "create", "--identifier", "rs", "--name", "RS"],
        "",
        0,
        &["signing RS256"],
        &[],
    );
    assert_eq!(key_table(&dir), keys);

    // A refused API makes no keys either.
    let fresh = scratch("admin_es256_api_refused");
    init(&fresh);
    check(
        &fresh,
        &[
            "apis",
            "create",
            "--identifier",
            "http://127.0.0.1:8787/api/v2/",
            "--name",
            "Taken",
            "--alg",
            "ES256",
        ],
        "",
        2,
        &[],
        &["already exists"],
    );
    assert_eq!(
        key_table(&fresh).len(),
        2,
        "keys made for an API that was refused"
    );
}

#[test]
fn keys_rotate_and_revoke_work_on_each_family_alone() {
    let dir = scratch("admin_keys_families");
    init(&dir);
    check(
        &dir,
        &["keys", "rotate", "--alg", "ES256"],
        "",
        2,
        &[],
        &[
            "there are no ES256 signing keys to rotate; the first `sigil apis create --alg ES256` makes them",
        ],
    );
    check(
        &dir,
        &[
            "apis",
            "create",
            "--identifier",
            "es",
            "--name",
            "ES",
            "--alg",
            "ES256",
        ],
        "",
        0,
        &[],
        &[],
    );
    let before = key_table(&dir);

    // Rotating ES256: its next key signs, its current one retires; the RSA keys stay.
    let rotated = json(&check(
        &dir,
        &["keys", "rotate", "--alg", "ES256", "--json"],
        "",
        0,
        &[],
        &[],
    ));
    assert_eq!(rotated["current"]["kid"], kids(&before, "ES256", "next")[0]);
    assert_eq!(rotated["current"]["alg"], "ES256");
    assert_eq!(rotated["next"]["alg"], "ES256");
    let after = key_table(&dir);
    for state in ["current", "next"] {
        assert_eq!(kids(&after, "RS256", state), kids(&before, "RS256", state));
    }
    assert_eq!(
        kids(&after, "ES256", "current"),
        kids(&before, "ES256", "next")
    );
    assert_eq!(
        kids(&after, "ES256", "previous"),
        kids(&before, "ES256", "current")
    );
    assert_eq!(kids(&after, "ES256", "next").len(), 1);

    // The default rotates RSA and leaves ES256 alone.
    check(
        &dir,
        &["keys", "rotate"],
        "",
        0,
        &[
            "rotated the RS256 keys: ",
            &kids(&before, "RS256", "next")[0],
        ],
        &[],
    );
    let last = key_table(&dir);
    for state in ["current", "next", "previous"] {
        assert_eq!(kids(&last, "ES256", state), kids(&after, "ES256", state));
    }
    assert_eq!(
        kids(&last, "RS256", "previous"),
        kids(&before, "RS256", "current")
    );

    // `keys list` names each key's algorithm.
    check(
        &dir,
        &["keys", "list"],
        "",
        0,
        &["current   RS256 ", "current   ES256 "],
        &[],
    );

    // Revoking works by kid in either family; a current key of either stays.
    let ec_current = kids(&last, "ES256", "current")[0].clone();
    let refusals: [(&[&str], &str); 3] = [
        (
            &["keys", "revoke", &ec_current],
            "is the current ES256 signing key and cannot be revoked; run `sigil keys rotate --alg ES256` first",
        ),
        (
            &["keys", "rotate", "--alg", "PS256"],
            "there are no PS256 signing keys to rotate; the first `sigil apis create --alg PS256` makes them",
        ),
        (
            &["keys", "rotate", "--alg", "HS256"],
            "use RS256 (the RSA keys), PS256 (the RSA-PSS keys) or ES256 (the P-256 keys)",
        ),
    ];
    for (args, message) in refusals {
        check(&dir, args, "", 2, &[], &[message]);
    }
    for kid in [
        kids(&last, "ES256", "previous")[0].clone(),
        kids(&last, "RS256", "previous")[0].clone(),
    ] {
        check(&dir, &["keys", "revoke", &kid], "", 0, &["revoked "], &[]);
    }
    let revoked: Vec<String> = key_table(&dir)
        .into_iter()
        .filter(|(_, _, state)| state == "revoked")
        .map(|(_, alg, _)| alg)
        .collect();
    assert_eq!(revoked.len(), 2);
    assert!(revoked.contains(&"RS256".to_owned()) && revoked.contains(&"ES256".to_owned()));
}

#[test]
fn users_export_writes_the_import_format_without_hashes() {
    let dir = scratch("admin_export");
    init(&dir);
    let bcrypt = "$2b$10$C9Xb1ykMyyB5kWFrHCD6Ge7NEJhbDTJcpoWAn29xI4Ks55ruNoJ5W";
    let entries = json!([
        {"email": "ann@example.com", "user_id": "ann-1", "given_name": "Ann",
         "app_metadata": {"plan": "pro"}, "password_hash": bcrypt},
        {"email": "bo@example.com", "blocked": true},
    ]);
    std::fs::write(dir.join("users.json"), entries.to_string()).unwrap();
    check(&dir, &["users", "import", "users.json"], "", 0, &[], &[]);

    // To stdout.
    let printed = check(&dir, &["users", "export"], "", 0, &[], &[]);
    let exported = json(&printed);
    let users = exported.as_array().unwrap();
    assert_eq!(users.len(), 2, "{exported}");
    let ann = users
        .iter()
        .find(|u| u["email"] == "ann@example.com")
        .unwrap();
    assert_eq!(ann["user_id"], "auth0|ann-1");
    assert_eq!(ann["given_name"], "Ann");
    assert_eq!(ann["app_metadata"]["plan"], "pro");
    assert!(!printed.stdout.contains("password") && !printed.stdout.contains("$2b$"));
    let bo = users
        .iter()
        .find(|u| u["email"] == "bo@example.com")
        .unwrap();
    assert_eq!(bo["blocked"], true);

    // To a file, of one connection; the file is the import format: importing it again finds
    // both users already there.
    check(
        &dir,
        &[
            "users",
            "export",
            "--connection",
            "Username-Password-Authentication",
            "--out",
            "out.json",
        ],
        "",
        0,
        &["exported 2 users to out.json"],
        &[],
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out.json")).unwrap()).unwrap();
    assert_eq!(file, exported);
    check(
        &dir,
        &["users", "import", "out.json"],
        "",
        1,
        &["imported 0 of 2 users"],
        &["error: none of the 2 users in out.json was imported"],
    );

    check(
        &dir,
        &["users", "export", "--connection", "Nope"],
        "",
        2,
        &[],
        &["there is no connection named Nope"],
    );
}

#[test]
fn actions_deploy_creates_updates_and_binds_once() {
    let dir = scratch("admin_actions");
    init(&dir);
    let file = dir.join("tier.js");
    std::fs::write(
        &file,
        "exports.onExecuteCredentialsExchange = async (event, api) => {\n  \
         api.accessToken.setCustomClaim('tier', event.secrets.TIER);\n};\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let args = [
        "actions",
        "deploy",
        path,
        "--trigger",
        "credentials-exchange",
        "--secret",
        "TIER=gold",
    ];
    check(
        &dir,
        &args,
        "",
        0,
        &["tier: created, version 1 deployed, bound to credentials-exchange"],
        &[],
    );
    let again = created(
        &dir,
        &[
            "actions",
            "deploy",
            path,
            "--trigger",
            "credentials-exchange",
        ],
    );
    assert_eq!(again["deployed_version"]["number"], 2, "{again}");
    assert_eq!(
        again["secrets"][0]["name"], "TIER",
        "the secret is kept: {again}"
    );
    assert!(!again.to_string().contains("gold"), "{again}");
    let listed = created(&dir, &["actions", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    check(
        &dir,
        &["actions", "list"],
        "",
        0,
        &["tier  built  version 2  bound to: credentials-exchange"],
        &[],
    );

    // Code that does not build is refused in one line, and nothing is deployed.
    std::fs::write(&file, "exports.onExecuteCredentialsExchange = (").unwrap();
    check(&dir, &args, "", 2, &[], &["must be in the 'built' state"]);
    check(&dir, &["actions", "list"], "", 0, &["version 2"], &[]);
    check(
        &dir,
        &["actions", "deploy", path, "--trigger", "send-phone-message"],
        "",
        2,
        &[],
        &["not at send-phone-message"],
    );
    check(
        &dir,
        &[
            "actions",
            "deploy",
            path,
            "--trigger",
            "post-login",
            "--secret",
            "nokey",
        ],
        "",
        2,
        &[],
        &["KEY=VALUE"],
    );
}

/// `sigil connections`: the Management API's rules from the command line. A GitHub connection
/// made and enabled for an application, its secret never printed; a second GitHub connection,
/// an unknown strategy, SAML, an http discovery URL and a profile script that does not build
/// each refused in one line; an options file; listing; deleting.
#[test]
fn connections_create_list_and_delete_with_the_management_apis_rules() {
    let dir = scratch("admin_connections");
    init(&dir);
    let app = created(
        &dir,
        &["clients", "create", "--name", "Shop", "--type", "spa"],
    );
    let app_id = app["client_id"].as_str().unwrap();
    let github = created(
        &dir,
        &[
            "connections",
            "create",
            "--name",
            "github",
            "--strategy",
            "github",
            "--client",
            app_id,
            "--options",
            r#"{"client_id":"gh-app","client_secret":"gh-secret-NEVER-PRINTED","email":true}"#,
        ],
    );
    assert_eq!(github["strategy"], "github");
    assert_eq!(github["enabled_clients"], json!([app_id]));
    assert!(!github.to_string().contains("NEVER-PRINTED"), "{github}");
    std::fs::write(
        dir.join("corp.json"),
        r#"{"client_id":"c","client_secret":"s","issuer":"https://idp.example/","authorization_endpoint":"https://idp.example/a","token_endpoint":"https://idp.example/t","jwks_uri":"https://idp.example/k"}"#,
    )
    .unwrap();
    let corp = created(
        &dir,
        &[
            "connections",
            "create",
            "--name",
            "corp",
            "--strategy",
            "oidc",
            "--options",
            "@corp.json",
            "--display-name",
            "Corp SSO",
            "--show-as-button",
        ],
    );
    assert_eq!(
        corp["options"]["oidc_metadata"]["issuer"],
        "https://idp.example/"
    );
    assert_eq!(corp["show_as_button"], true);

    // (arguments, the one line on stderr)
    let refused: &[(&[&str], &str)] = &[
        (
            &[
                "--name",
                "github-2",
                "--strategy",
                "github",
                "--options",
                r#"{"client_id":"x","client_secret":"y"}"#,
            ],
            "there can be only one",
        ),
        (
            &["--name", "x", "--strategy", "myspace"],
            "not a strategy Sigil knows",
        ),
        (&["--name", "x", "--strategy", "samlp"], "not supported yet"),
        (
            &[
                "--name",
                "x",
                "--strategy",
                "oidc",
                "--options",
                r#"{"client_id":"x","client_secret":"y","discovery_url":"http://127.0.0.1:9/"}"#,
            ],
            "--federation-allow-http-loopback",
        ),
        (
            &[
                "--name",
                "x",
                "--strategy",
                "oauth2",
                "--options",
                r#"{"client_id":"x","client_secret":"y","authorizationURL":"https://p.example/a","tokenURL":"https://p.example/t","scripts":{"fetchUserProfile":"function (a, c, cb) { this is not javascript"}}"#,
            ],
            "fetchUserProfile",
        ),
        (
            &["--name", "x", "--strategy", "oidc", "--options", "[1]"],
            "JSON object",
        ),
        (
            &["--name", "github", "--strategy", "auth0"],
            "exists already",
        ),
    ];
    for (args, line) in refused {
        let mut all = vec!["connections", "create"];
        all.extend_from_slice(args);
        check(&dir, &all, "", 2, &[], &[line]);
    }

    let listed = created(&dir, &["connections", "list"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Username-Password-Authentication", "corp", "github"]
    );
    check(
        &dir,
        &["connections", "delete", "github"],
        "",
        0,
        &["deleted connection github"],
        &[],
    );
    check(
        &dir,
        &["connections", "delete", "github"],
        "",
        2,
        &[],
        &["no connection named github"],
    );
}
