//! Bad input: exit 2 and one line on stderr saying what was wrong, never a panic.

use crate::{check, generate, scratch, sign};

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = scratch("bad_input");
    generate(&dir, "ES256", "k.pem", &[]);
    let token = sign(&dir, &["--key", "k.pem", "--exp", "1h"]);
    std::fs::write(
        dir.join("garbage.pem"),
        "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
    )
    .expect("file");
    std::fs::write(dir.join("junk.bin"), [0u8, 159, 146, 150]).expect("file");
    std::fs::write(dir.join("notjwks.json"), r#"{"hello":1}"#).expect("file");
    std::fs::write(dir.join("short.txt"), "too short\n").expect("file");

    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["jwt", "decode", "not-a-jwt"],
            "",
            "error: cannot decode the token: not a JWT: it has 1 segment(s)",
        ),
        (
            &["jwt", "decode", "a.b"],
            "",
            "not a JWT: it has 2 segment(s)",
        ),
        (&["jwt", "decode", "a.b.c.d.e"], "", "encrypted JWT (JWE)"),
        (
            &["jwt", "decode", "e!30.eyJ9.sig"],
            "",
            "not a JWT: the header is not valid base64url",
        ),
        (
            &["jwt", "decode", "eyJhbGciOiJFUzI1NiJ9.e$$.sig"],
            "",
            "not a JWT: the payload is not valid base64url",
        ),
        (&["jwt", "decode"], "", "error: no token given"),
        (
            &["breached-passwords", "import", "no-such-file.txt"],
            "",
            "error: cannot read no-such-file.txt; give a file of SHA-1 hashes, one per line",
        ),
        (
            &["breached-passwords", "import", "short.txt"],
            "",
            "error: no SHA-1 hashes in short.txt (1 lines); give 40 hex digits a line",
        ),
        (
            &["breached-passwords", "import", "-"],
            "not a hash\n",
            "error: no SHA-1 hashes in - (1 lines)",
        ),
        (
            &["serve", "--breached-passwords-filter", "short.txt"],
            "",
            "error: short.txt: not a breached-password filter made by `sigil breached-passwords import`",
        ),
        (&["jwt", "decode", "-"], "  \n", "error: no token given"),
        (
            &["jwt", "verify", "--key", "k.pem", "nope"],
            "",
            "error: not a JWT: it has 1 segment(s)",
        ),
        (
            &["jwt", "verify", "--key", "k.pem", "x.y.z"],
            "",
            "error: not a JWT:",
        ),
        (
            &["jwt", "verify", "--key", "missing.pem", &token],
            "",
            "error: cannot read key file missing.pem: No such file",
        ),
        (
            &["jwt", "verify", "--key", "garbage.pem", &token],
            "",
            "error: cannot use key file garbage.pem: not a PEM document",
        ),
        (
            &["jwt", "verify", "--key", "junk.bin", &token],
            "",
            "error: key file junk.bin is neither PEM",
        ),
        (
            &["jwt", "verify", "--jwks", "notjwks.json", &token],
            "",
            "error: JWKS file notjwks.json is unusable",
        ),
        (
            &["jwt", "verify", "--jwks", "nope.json", &token],
            "",
            "error: cannot read JWKS file nope.json",
        ),
        (
            &["jwt", "verify", "--secret", "@short.txt", &token],
            "",
            "error: cannot use --secret: HMAC secret is 9 bytes",
        ),
        (
            &["jwt", "verify", "--key", "k.pem", "--alg", "RS256", &token],
            "",
            "error: --alg RS256: no key can verify it (key file k.pem holds a P-256 key)",
        ),
        (
            &["jwt", "verify", "--key", "k.pem", "--alg", "XS256", &token],
            "",
            "error: invalid value 'XS256' for '--alg <ALG>': unknown algorithm \"XS256\"",
        ),
        (
            &["jwt", "verify", "--key", "k.pem", "--alg", "none", &token],
            "",
            "means an unsigned token",
        ),
        (
            &["jwt", "verify", "--issuer", "ftp://x/", &token],
            "",
            "error: --issuer \"ftp://x/\" is not an http(s) URL",
        ),
        (
            &["jwt", "verify", &token],
            "",
            "error: the following required arguments were not provided: <--jwks",
        ),
        (
            &["jwt", "sign", "--key", "garbage.pem"],
            "",
            "error: cannot use key file garbage.pem",
        ),
        (
            &["jwt", "sign", "--key", "missing.pem"],
            "",
            "error: cannot read key file missing.pem",
        ),
        (
            &["keys", "generate", "--alg", "RS257"],
            "",
            "unknown algorithm \"RS257\"; use one of HS256",
        ),
        (&["keys", "generate"], "", "--alg <ALG>"),
        (
            &[
                "keys",
                "generate",
                "--alg",
                "ES256",
                "--out",
                "no/such/dir/k.pem",
            ],
            "",
            "error: cannot create no/such/dir/k.pem",
        ),
        (
            &["jwt", "frobnicate"],
            "",
            "error: unrecognized subcommand 'frobnicate'; run 'sigil jwt --help'",
        ),
        (
            &["serve", "--password-workers", "0"],
            "",
            "error: invalid value '0' for '--password-workers <N>': give a whole number of \
             workers, 1 or more",
        ),
        (
            &["serve", "--password-queue-timeout=-1"],
            "",
            "error: invalid value '-1' for '--password-queue-timeout <SECONDS>': give a number \
             of seconds from 0 to 3600, such as 2 or 0.5",
        ),
        (
            &["serve", "--actions-timeout", "0"],
            "",
            "error: invalid value '0' for '--actions-timeout <SECONDS>': '0' is not a whole \
             number of seconds from 1 to 60",
        ),
        (
            &["serve", "--actions-workers", "none"],
            "",
            "error: invalid value 'none' for '--actions-workers <N>': give a whole number of \
             workers, 1 or more",
        ),
    ];
    for (args, stdin, stderr) in cases {
        check(&dir, args, stdin, 2, &[], &[stderr]);
    }
}

#[test]
fn help_everywhere() {
    let dir = scratch("help");
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--help"],
            &[
                "jwt",
                "Decode, verify and sign JSON Web Tokens",
                "keys",
                "Generate signing keys",
                "--data-dir",
                "SIGIL_DATA_DIR",
                "--database-url",
                "SIGIL_DATABASE_URL",
                "--config",
                "--issuer",
                "SIGIL_ISSUER",
                "--listen",
                "SIGIL_LISTEN",
            ],
        ),
        (&["jwt", "--help"], &["decode", "verify", "sign"]),
        (
            &["jwt", "decode", "--help"],
            &["WITHOUT checking its signature", "[TOKEN|-]"],
        ),
        (
            &["jwt", "verify", "--help"],
            &[
                "--jwks <FILE|URL>",
                "--issuer <URL>",
                "--key <PEM_FILE>",
                "--secret <S|@FILE>",
                "--alg <ALG>",
                "--iss <ISS>",
                "--aud <AUD>",
                "--leeway <SECONDS>",
                "--at <UNIX_TIME>",
                "Exit status: 0 valid",
                "shadows the global --issuer",
                "Global options:",
            ],
        ),
        (
            &["jwt", "sign", "--help"],
            &["--key <FILE>", "--claims <JSON|@FILE>", "--exp <DURATION>"],
        ),
        (&["keys", "--help"], &["generate"]),
        (
            &["keys", "generate", "--help"],
            &["--alg <ALG>", "--kid <KID>", "--out <FILE>", "mode 0600"],
        ),
        (
            &["init", "--help"],
            &[
                "admin-credentials.json",
                "SIGIL_MASTER_KEY",
                "changes nothing",
            ],
        ),
        (&["clients", "--help"], &["create"]),
        (
            &["clients", "create", "--help"],
            &[
                "--name <N>",
                "--type <TYPE>",
                "--callback <URL>",
                "--logout-url <URL>",
                "--web-origin <URL>",
                "--grant <TYPE>",
                "--json",
            ],
        ),
        (
            &["apis", "create", "--help"],
            &[
                "--identifier <AUD>",
                "--name <N>",
                "--scope <SCOPE[=DESCRIPTION]>",
                "--rbac",
                "--permissions-claim",
                "--alg <ALG>",
            ],
        ),
        (
            &["grants", "create", "--help"],
            &["--client <ID>", "--api <AUD>", "--scope <S>"],
        ),
        (&["users", "--help"], &["create", "import"]),
        (
            &["users", "create", "--help"],
            &["--email <E>", "--password <P>", "--connection <C>"],
        ),
        (
            &["users", "import", "--help"],
            &["<FILE>", "custom_password_hash", "Exit status: 0"],
        ),
    ];
    for (args, stdout) in cases {
        check(&dir, args, "", 0, stdout, &[]);
    }
}
