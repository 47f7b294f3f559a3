//! The configuration file (`--config FILE`, `SIGIL_CONFIG`): flag > environment variable >
//! file > default, for each global setting, on `init`, `migrate` and `serve`; unknown keys,
//! malformed TOML and missing files are one-line errors naming the file (and the line).

use std::path::Path;

use crate::{check, check_env, scratch};

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// Where a setting came from in one case.
struct Case {
    name: &'static str,
    /// Lines of the configuration file (none: no `--config`).
    file: &'static str,
    env: &'static [(&'static str, &'static str)],
    flags: &'static [&'static str],
    /// What `sigil init` must print.
    want: &'static [&'static str],
}

#[test]
fn settings_come_from_flags_then_env_then_file_then_defaults() {
    let cases = [
        Case {
            name: "defaults",
            file: "",
            env: &[],
            flags: &[],
            want: &[
                "master key: created ./sigil-data/master.key",
                "tenant: created, issuer http://127.0.0.1:8787/",
            ],
        },
        Case {
            name: "file only",
            file: "data_dir = \"file-data\"\nissuer = \"https://file.example/\"\n",
            env: &[],
            flags: &[],
            want: &[
                "master key: created file-data/master.key",
                "tenant: created, issuer https://file.example/",
            ],
        },
        Case {
            name: "env over file",
            file: "data_dir = \"file-data\"\nissuer = \"https://file.example/\"\n",
            env: &[
                ("SIGIL_DATA_DIR", "env-data"),
                ("SIGIL_ISSUER", "https://env.example/"),
            ],
            flags: &[],
            want: &[
                "master key: created env-data/master.key",
                "tenant: created, issuer https://env.example/",
            ],
        },
        Case {
            name: "flag over env and file",
            file: "data_dir = \"file-data\"\nissuer = \"https://file.example/\"\n",
            env: &[
                ("SIGIL_DATA_DIR", "env-data"),
                ("SIGIL_ISSUER", "https://env.example/"),
            ],
            flags: &[
                "--data-dir",
                "flag-data",
                "--issuer",
                "https://flag.example/",
            ],
            want: &[
                "master key: created flag-data/master.key",
                "tenant: created, issuer https://flag.example/",
            ],
        },
        Case {
            name: "each setting on its own",
            file: "data_dir = \"file-data\"\nissuer = \"https://file.example/\"\n",
            env: &[("SIGIL_ISSUER", "https://env.example/")],
            flags: &[],
            want: &[
                "master key: created file-data/master.key",
                "tenant: created, issuer https://env.example/",
            ],
        },
    ];
    for (i, case) in cases.iter().enumerate() {
        let dir = scratch(&format!("config_precedence_{i}"));
        let mut args = vec!["init"];
        if !case.file.is_empty() {
            write(&dir, "sigil.toml", case.file);
            args.extend(["--config", "sigil.toml"]);
        }
        args.extend_from_slice(case.flags);
        let out = check_env(&dir, case.env, &args, "", 0, &[], &[]);
        for want in case.want {
            assert!(
                out.stdout.contains(want),
                "{}: stdout lacks {want:?}:\n{}",
                case.name,
                out.stdout
            );
        }
    }
}

#[test]
fn sigil_config_names_the_file_and_relative_paths_are_the_files() {
    let dir = scratch("config_env_file");
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    write(
        &dir,
        "etc/sigil.toml",
        "data_dir = \"data\"\ndatabase_url = \"sqlite://elsewhere.db\"\n",
    );
    // data_dir is relative to the file; the database URL is used as written.
    check_env(
        &dir,
        &[("SIGIL_CONFIG", "etc/sigil.toml")],
        &["migrate"],
        "",
        0,
        &["elsewhere.db: schema migrated from version 0 to "],
        &[],
    );
    // The flag overrides the file's URL; the data directory still comes from the file.
    check_env(
        &dir,
        &[("SIGIL_CONFIG", "etc/sigil.toml")],
        &["init", "--database-url", "sqlite://flag.db"],
        "",
        0,
        &[
            "flag.db: schema migrated",
            "master key: created etc/data/master.key",
        ],
        &[],
    );
    assert!(dir.join("etc/data/master.key").exists());
    // Without --config or SIGIL_CONFIG, a sigil.toml in the working directory is not read
    // (this one would be refused).
    write(&dir, "sigil.toml", "bogus = 1\n");
    check(&dir, &["migrate"], "", 0, &["sigil-data/sigil.db"], &[]);
}

#[test]
fn listen_from_the_file_yields_to_env_and_flag() {
    let dir = scratch("config_listen");
    let taken: Vec<_> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let [file, env, flag] = [0, 1, 2].map(|i| taken[i].local_addr().unwrap().to_string());
    write(&dir, "sigil.toml", &format!("listen = \"{file}\"\n"));
    let config = ["--config", "sigil.toml"];
    let env_var = [("SIGIL_LISTEN", env.as_str())];
    let flag_arg = ["--listen", flag.as_str()];
    // (environment, flags, the address that must be used)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
    let cases: [Case; 3] = [
        (&[], &[], &file),
        (&env_var, &[], &env),
        (&env_var, &flag_arg, &flag),
    ];
    for (vars, flags, want) in cases {
        let mut args = vec!["serve"];
        args.extend(config);
        args.extend_from_slice(flags);
        check_env(
            &dir,
            vars,
            &args,
            "",
            2,
            &[],
            &[&format!("cannot listen on {want};")],
        );
    }
}

#[test]
fn the_mail_settings_come_from_the_file_with_paths_relative_to_it() {
    let dir = scratch("config_mail");
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    write(
        &dir,
        "etc/sigil.toml",
        "smtp_url = \"smtp://sigil:SMTP-SECRET@mail.example.com\"\nsmtp_ca_file = \"ca.pem\"\nmail_from = \"login@example.com\"\n",
    );
    // The CA file is looked for next to the configuration file; a flag wins over the file.
    let out = check(
        &dir,
        &[
            "serve",
            "--config",
            "etc/sigil.toml",
            "--listen",
            "127.0.0.1:0",
        ],
        "",
        2,
        &[],
        &["cannot read --smtp-ca-file etc/ca.pem"],
    );
    assert!(!out.stderr.contains("SMTP-SECRET"), "{}", out.stderr);
    check(
        &dir,
        &[
            "serve",
            "--config",
            "etc/sigil.toml",
            "--smtp-url",
            "smtp://mail.example.com?starttls=no",
        ],
        "",
        2,
        &[],
        &["--smtp-url: unknown parameter starttls=no"],
    );
}

#[test]
fn bad_configuration_files_are_one_line_errors() {
    let dir = scratch("config_errors");
    write(
        &dir,
        "unknown.toml",
        "issuer = \"https://a.example/\"\nport = 8080\n",
    );
    write(&dir, "malformed.toml", "data_dir = \"x\"\n\nlisten = \n");
    write(&dir, "wrong-type.toml", "listen = 8787\n");
    write(
        &dir,
        "empty-value.toml",
        "issuer = \"https://a.example/\"\ndata_dir = \"\"\n",
    );
    write(&dir, "table.toml", "[server]\nlisten = \"127.0.0.1:1\"\n");
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["migrate", "--config", "unknown.toml"],
            &["configuration file unknown.toml, line 2: unknown field `port`, expected one of"],
        ),
        (
            &["migrate", "--config", "malformed.toml"],
            &["configuration file malformed.toml, line 3: "],
        ),
        (
            &["init", "--config", "wrong-type.toml"],
            &[
                "configuration file wrong-type.toml, line 1: invalid type: integer `8787`, expected a string",
            ],
        ),
        (
            &["init", "--config", "empty-value.toml"],
            &["configuration file empty-value.toml, line 2: the value is empty"],
        ),
        (
            &["init", "--config", "table.toml"],
            &["configuration file table.toml, line 1: unknown field `server`"],
        ),
        (
            &[
                "clients",
                "create",
                "--name",
                "x",
                "--type",
                "spa",
                "--config",
                "missing.toml",
            ],
            &[
                "cannot read the configuration file missing.toml: ",
                "check --config / SIGIL_CONFIG",
            ],
        ),
        (
            &["--config", ".", "keys", "list"],
            &["cannot read the configuration file .: "],
        ),
    ];
    for (args, stderr) in cases {
        check(&dir, args, "", 2, &[], stderr);
    }
    // SIGIL_CONFIG is read as --config is; nothing was created by the failures above.
    check_env(
        &dir,
        &[("SIGIL_CONFIG", "missing.toml")],
        &["init"],
        "",
        2,
        &[],
        &["cannot read the configuration file missing.toml"],
    );
    assert!(!dir.join("sigil-data").exists());
}

#[test]
fn help_says_when_the_file_is_read() {
    let dir = scratch("config_help");
    check(
        &dir,
        &["serve", "--help"],
        "",
        0,
        &[
            "--config <FILE>",
            "data_dir, database_url, issuer, listen",
            "./sigil.toml is not read on its own",
            "[env: SIGIL_CONFIG=]",
        ],
        &[],
    );
}
