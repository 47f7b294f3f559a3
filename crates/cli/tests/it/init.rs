//! `sigil init`: what it creates, with which file modes; that a second run changes nothing;
//! that a wrong master key stops it; that concurrent runs make one admin client.

use std::path::Path;

use crate::{check, check_env, init, master_key, scratch};

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_creates_everything_once() {
    let dir = scratch("init_once");
    let first = check(
        &dir,
        &["init"],
        "",
        0,
        &[
            "schema migrated from version 0 to ",
            "master key: created ./sigil-data/master.key",
            "tenant: created, issuer http://127.0.0.1:8787/",
            "signing key: created RS256 key ",
            "connection: created Username-Password-Authentication",
            "Management API: created http://127.0.0.1:8787/api/v2/ (251 scopes)",
            "admin client: granted all 251 Management API scopes",
            "Saved to ./sigil-data/admin-credentials.json (mode 0600)",
        ],
        &[],
    );
    let data = dir.join("sigil-data");
    #[cfg(unix)]
    for (path, want) in [
        ("", 0o700),
        ("sigil.db", 0o600),
        ("master.key", 0o600),
        ("admin-credentials.json", 0o600),
    ] {
        assert_eq!(mode(&data.join(path)), want, "mode of sigil-data/{path}");
    }

    let path = data.join("admin-credentials.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let credentials: serde_json::Value = serde_json::from_str(&text).unwrap();
    let object = credentials.as_object().unwrap();
    assert_eq!(
        object.keys().collect::<Vec<_>>(),
        ["audience", "client_id", "client_secret", "token_endpoint"]
    );
    assert_eq!(credentials["audience"], "http://127.0.0.1:8787/api/v2/");
    assert_eq!(
        credentials["token_endpoint"],
        "http://127.0.0.1:8787/oauth/token"
    );
    let client_id = credentials["client_id"].as_str().unwrap();
    let secret = credentials["client_secret"].as_str().unwrap();
    assert_eq!(client_id.len(), 32);
    assert!(client_id.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(secret.len(), 64);
    // Printed as well as written: the same credentials.
    assert!(first.stdout.contains(secret) && first.stdout.contains(client_id));

    // Again: nothing to do, the secret is not shown, the file is left alone.
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let second = check(
        &dir,
        &["init"],
        "",
        0,
        &[
            "already initialised; nothing to do",
            client_id,
            "cannot be shown again; it is in ./sigil-data/admin-credentials.json",
        ],
        &[],
    );
    assert!(!second.stdout.contains(secret));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );

    // The admin client exists, with its grant for the Management API.
    check(
        &dir,
        &[
            "grants",
            "create",
            "--client",
            client_id,
            "--api",
            "http://127.0.0.1:8787/api/v2/",
        ],
        "",
        2,
        &[],
        &["already has a grant for the API http://127.0.0.1:8787/api/v2/"],
    );
    // A later init with another issuer keeps the tenant's and says so.
    check(
        &dir,
        &["init", "--issuer", "https://auth.example.com/"],
        "",
        0,
        &[
            "nothing to do",
            "--issuer https://auth.example.com/ was not applied",
        ],
        &[],
    );
}

#[test]
fn init_with_an_issuer_and_a_key_from_the_environment() {
    let dir = scratch("init_env_key");
    let key = master_key(9);
    let out = check_env(
        &dir,
        &[
            ("SIGIL_MASTER_KEY", &key),
            ("SIGIL_ISSUER", "https://auth.example.com/"),
        ],
        &["init", "--data-dir", "state"],
        "",
        0,
        &["tenant: created, issuer https://auth.example.com/"],
        &[],
    );
    assert!(!out.stdout.contains("master key: created"));
    assert!(!dir.join("state/master.key").exists());
    let credentials: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("state/admin-credentials.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(credentials["audience"], "https://auth.example.com/api/v2/");
    assert_eq!(
        credentials["token_endpoint"],
        "https://auth.example.com/oauth/token"
    );
}

#[test]
fn bad_issuers_are_refused_before_anything_is_created() {
    let dir = scratch("init_bad_issuer");
    let cases = [
        ("https://auth.example.com", "must end in '/'"),
        ("ftp://auth.example.com/", "must be an http or https URL"),
        ("auth.example.com/", "is not a URL"),
        ("https://auth.example.com/?x=1", "must not have a query"),
    ];
    for (issuer, message) in cases {
        check(&dir, &["init", "--issuer", issuer], "", 2, &[], &[message]);
    }
    assert!(!dir.join("sigil-data").exists());
}

#[test]
fn a_wrong_master_key_never_reinitialises() {
    let dir = scratch("init_wrong_key");
    init(&dir);
    let other = master_key(3);
    let wrong = "error: the master key does not match this database";
    for args in [
        &["init"][..],
        &[
            "users",
            "create",
            "--email",
            "a@example.com",
            "--password",
            "pw",
        ],
        &["clients", "create", "--name", "x", "--type", "spa"],
    ] {
        check_env(
            &dir,
            &[("SIGIL_MASTER_KEY", &other)],
            args,
            "",
            2,
            &[],
            &[wrong],
        );
    }
    // The key file lost: init must not make a new key and start over.
    let key_file = dir.join("sigil-data/master.key");
    let saved = std::fs::read_to_string(&key_file).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    check(
        &dir,
        &["init"],
        "",
        2,
        &[],
        &["a master key that this data directory lacks: there was no ./sigil-data/master.key"],
    );
    assert!(!key_file.exists(), "the new key was left behind");
    check(
        &dir,
        &["apis", "create", "--identifier", "x", "--name", "x"],
        "",
        2,
        &[],
        &["no master key: set SIGIL_MASTER_KEY or create ./sigil-data/master.key"],
    );
    std::fs::write(&key_file, saved).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    check(&dir, &["init"], "", 0, &["nothing to do"], &[]);
}

#[test]
fn concurrent_inits_make_one_admin_client() {
    let dir = scratch("init_concurrent");
    // A brand-new data directory: the racers also race to create the database, migrate it
    // and write master.key; exactly one of each must win and the rest must agree with it.
    let outputs: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..4)
            .map(|_| s.spawn(|| check(&dir, &["init"], "", 0, &[], &[]).stdout))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let count = |what: &str| outputs.iter().filter(|o| o.contains(what)).count();
    assert_eq!(count("admin client: created"), 1, "{outputs:#?}");
    assert_eq!(count("\"client_secret\""), 1, "{outputs:#?}");
    assert_eq!(count("(current)"), 1, "{outputs:#?}");
    assert_eq!(count("(next)"), 1, "{outputs:#?}");
    assert_eq!(count("Management API: created"), 1, "{outputs:#?}");
    assert_eq!(count("connection: created"), 1, "{outputs:#?}");
    check(&dir, &["init"], "", 0, &["nothing to do"], &[]);
}

#[test]
fn admin_commands_before_init_say_what_to_run() {
    let dir = scratch("init_missing");
    let commands: &[&[&str]] = &[
        &["clients", "create", "--name", "x", "--type", "spa"],
        &["apis", "create", "--identifier", "x", "--name", "x"],
        &["grants", "create", "--client", "x", "--api", "x"],
        &[
            "users",
            "create",
            "--email",
            "a@example.com",
            "--password",
            "pw",
        ],
        &["users", "import", "users.json"],
    ];
    std::fs::write(dir.join("users.json"), "[]").unwrap();
    for args in commands {
        check(
            &dir,
            args,
            "",
            2,
            &[],
            &["there is no Sigil database at ./sigil-data/sigil.db; run `sigil init` first"],
        );
    }
    assert!(
        !dir.join("sigil-data").exists(),
        "an admin command created files"
    );
    // An empty database named explicitly.
    std::fs::write(dir.join("empty.db"), "").unwrap();
    check(
        &dir,
        &[
            "--database-url",
            "sqlite://empty.db",
            "users",
            "import",
            "users.json",
        ],
        "",
        2,
        &[],
        &["the database at empty.db is empty; run `sigil init` first"],
    );
    // Migrated, with a master key, but never initialised.
    let key = master_key(4);
    check_env(
        &dir,
        &[("SIGIL_MASTER_KEY", &key)],
        &["migrate"],
        "",
        0,
        &[],
        &[],
    );
    for args in commands {
        check_env(
            &dir,
            &[("SIGIL_MASTER_KEY", &key)],
            args,
            "",
            2,
            &[],
            &["Sigil is not initialised in ./sigil-data/sigil.db; run `sigil init` first"],
        );
    }
}
