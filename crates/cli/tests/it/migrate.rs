//! `sigil migrate`: versioned, idempotent, and guarded by the master key. The PostgreSQL side
//! runs in sigil-store's contract suite; here the command's face is checked on SQLite.

use crate::{b64, check, check_env, scratch};

fn key(byte: u8) -> String {
    b64(&[byte; 32])
}

#[test]
fn migrate_creates_then_leaves_the_schema_alone() {
    let dir = scratch("migrate_idempotent");
    check(
        &dir,
        &["migrate"],
        "",
        0,
        &["sigil-data/sigil.db: schema migrated from version 0 to "],
        &[],
    );
    assert!(dir.join("sigil-data/sigil.db").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &str| std::fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (mode("sigil-data"), mode("sigil-data/sigil.db")),
            (0o700, 0o600)
        );
    }
    check(
        &dir,
        &["migrate"],
        "",
        0,
        &["schema already at version ", "; nothing to do"],
        &[],
    );
    check(
        &dir,
        &[
            "--data-dir",
            "elsewhere",
            "migrate",
            "--database-url",
            "sqlite://custom.db",
        ],
        "",
        0,
        &["custom.db: schema migrated from version 0 to "],
        &[],
    );
}

#[test]
fn a_wrong_master_key_is_refused() {
    let dir = scratch("migrate_master_key");
    let (first, second) = (key(1), key(2));
    check_env(
        &dir,
        &[("SIGIL_MASTER_KEY", &first)],
        &["migrate"],
        "",
        0,
        &["from version 0 to "],
        &[],
    );
    check_env(
        &dir,
        &[("SIGIL_MASTER_KEY", &first)],
        &["migrate"],
        "",
        0,
        &["nothing to do"],
        &[],
    );
    check_env(
        &dir,
        &[("SIGIL_MASTER_KEY", &second)],
        &["migrate"],
        "",
        2,
        &[],
        &["error: the master key does not match this database"],
    );
    check_env(
        &dir,
        &[("SIGIL_MASTER_KEY", "too-short")],
        &["migrate"],
        "",
        2,
        &[],
        &["SIGIL_MASTER_KEY: the master key must be 32 bytes"],
    );
    // The same key from the key file instead of the environment.
    std::fs::write(dir.join("sigil-data/master.key"), format!("{second}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join("sigil-data/master.key");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        check(&dir, &["migrate"], "", 2, &[], &["chmod 600"]);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    check(
        &dir,
        &["migrate"],
        "",
        2,
        &[],
        &["the master key does not match this database"],
    );
    std::fs::write(dir.join("sigil-data/master.key"), format!("{first}\n")).unwrap();
    check(&dir, &["migrate"], "", 0, &["nothing to do"], &[]);
}

#[test]
fn bad_database_urls_are_one_line() {
    let dir = scratch("migrate_bad_url");
    check(
        &dir,
        &["migrate", "--database-url", "mysql://db/x"],
        "",
        2,
        &[],
        &["is neither sqlite://PATH nor postgres://"],
    );
    check(
        &dir,
        &[
            "migrate",
            "--database-url",
            "sqlite:///nonexistent-dir/deeper/sigil.db",
        ],
        "",
        2,
        &[],
        &["cannot open the database"],
    );
}
