//! `sigil users import` runs the Management API's import job: a fresh import, duplicates
//! refused or (with `--upsert`) updated, a bad row reported while the others go on, the list of
//! failures bounded, and every run recorded as a job that `sigil serve` answers at
//! `GET /api/v2/jobs/{id}` and `/jobs/{id}/errors`.

use serde_json::{Value, json};

use crate::serve::{admin_token, start, stop};
use crate::{Output, check, init, json, scratch};

/// One run of `sigil users import FILE FLAGS…`, in a directory the previous runs left behind.
struct Case {
    name: &'static str,
    file: Value,
    flags: &'static [&'static str],
    code: i32,
    /// (inserted, updated, failed)
    counts: (u64, u64, u64),
    stdout: &'static [&'static str],
    /// What stdout must not hold.
    absent: &'static [&'static str],
    stderr: &'static [&'static str],
}

/// The job id the summary names.
fn job_id(out: &Output) -> String {
    out.stdout
        .lines()
        .find_map(|line| line.strip_prefix("job "))
        .unwrap_or_else(|| panic!("no job line in {}", out.stdout))
        .to_owned()
}

#[test]
fn users_import_runs_the_api_job_and_records_it() {
    let dir = scratch("import_job");
    let admin = init(&dir);
    let ann = json!({"email": "ann@example.com", "user_id": "ann-1", "name": "Ann",
                     "user_metadata": {"lang": "fr"}});
    let bo = json!({"email": "bo@example.com"});
    let no_email: Vec<Value> = (0..25).map(|i| json!({"name": format!("n{i}")})).collect();
    let cases = [
        Case {
            name: "fresh import",
            file: json!([ann, bo]),
            flags: &[],
            code: 0,
            counts: (2, 0, 0),
            stdout: &[
                "imported 2 of 2 users into Username-Password-Authentication\n",
                "total 2: 2 imported, 0 updated, 0 failed",
            ],
            absent: &["failed:", "every failed entry"],
            stderr: &[],
        },
        Case {
            name: "the same file again: every row a duplicate, exit 1",
            file: json!([ann, bo]),
            flags: &[],
            code: 1,
            counts: (0, 0, 2),
            stdout: &[
                "imported 0 of 2 users into Username-Password-Authentication; 2 failed:",
                "  [0] ann@example.com: a user with this user_id already exists",
                "  [1] bo@example.com: a user with this email already exists",
                "total 2: 0 imported, 0 updated, 2 failed",
                "every failed entry: GET http://127.0.0.1:8787/api/v2/jobs/job_",
            ],
            absent: &["… and"],
            stderr: &["error: none of the 2 users in users.json was imported"],
        },
        Case {
            name: "with --upsert: Ann updated, Carol added",
            file: json!([
                {"email": "ANN@example.com", "name": "Ann Lee", "user_metadata": {"lang": "de"}},
                {"email": "carol@example.com"},
            ]),
            flags: &["--upsert", "--external-id", "batch-3"],
            code: 0,
            counts: (1, 1, 0),
            stdout: &["total 2: 1 imported, 1 updated, 0 failed"],
            absent: &["failed:"],
            stderr: &[],
        },
        Case {
            name: "an upsert that only updates still succeeds",
            file: json!([{"email": "bo@example.com", "nickname": "bobo"}]),
            flags: &["--upsert"],
            code: 0,
            counts: (0, 1, 0),
            stdout: &[
                "imported 0 of 1 users",
                "total 1: 0 imported, 1 updated, 0 failed",
            ],
            absent: &[],
            stderr: &[],
        },
        Case {
            name: "one bad row among good ones",
            file: json!([
                {"email": "dave@example.com"},
                {"email": "not an address"},
                {"email": "erin@example.com"},
            ]),
            flags: &[],
            code: 0,
            counts: (2, 0, 1),
            stdout: &[
                "imported 2 of 3 users into Username-Password-Authentication; 1 failed:",
                "  [1] not an address: email: not an email address",
                "total 3: 2 imported, 0 updated, 1 failed",
            ],
            absent: &["[0]", "[2]"],
            stderr: &[],
        },
        Case {
            name: "oversized metadata and a lookalike address are refused by row",
            file: json!([
                {"email": "big@example.com", "app_metadata": {"blob": "z".repeat(33_000)}},
                {"email": "\u{212a}ate@example.com"},
                {"email": "fine@example.com"},
            ]),
            flags: &[],
            code: 0,
            counts: (1, 0, 2),
            stdout: &[
                "imported 1 of 3 users into Username-Password-Authentication; 2 failed:",
                "  [0] big@example.com: app_metadata would be 33011 bytes of JSON; at most 32768",
                "  [1] \u{212a}ate@example.com: email: it has a character that looks like another",
            ],
            absent: &["[2]"],
            stderr: &[],
        },
        Case {
            name: "25 failures: the first 20 listed, the job holds them all",
            file: Value::Array(no_email),
            flags: &[],
            code: 1,
            counts: (0, 0, 25),
            stdout: &[
                "  [19] (no email): email is required",
                "  … and 5 more",
                "total 25: 0 imported, 0 updated, 25 failed",
                "every failed entry: GET http://127.0.0.1:8787/api/v2/jobs/job_",
            ],
            absent: &["[20]"],
            stderr: &["error: none of the 25 users in users.json was imported"],
        },
    ];

    let mut jobs = Vec::new();
    for case in &cases {
        std::fs::write(dir.join("users.json"), case.file.to_string()).unwrap();
        let mut args = vec!["users", "import", "users.json"];
        args.extend_from_slice(case.flags);
        let out = check(&dir, &args, "", case.code, case.stdout, case.stderr);
        for absent in case.absent {
            assert!(
                !out.stdout.contains(absent),
                "{}: stdout has {absent:?}:\n{}",
                case.name,
                out.stdout
            );
        }
        let id = job_id(&out);
        assert!(
            out.stdout.contains(&format!("jobs/{id}/errors")) == (case.counts.2 > 0),
            "{}: {}",
            case.name,
            out.stdout
        );
        jobs.push((case, id));
    }

    // The upsert wrote what the entries gave and kept the rest.
    let exported = json(&check(&dir, &["users", "export"], "", 0, &[], &[]));
    let by_email = |email: &str| -> Value {
        exported
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .cloned()
            .unwrap_or_else(|| panic!("{email} not exported: {exported:#}"))
    };
    let ann = by_email("ann@example.com");
    assert_eq!(ann["name"], "Ann Lee", "{ann:#}");
    assert_eq!(ann["user_metadata"], json!({"lang": "de"}));
    assert_eq!(ann["user_id"], "auth0|ann-1");
    assert_eq!(by_email("bo@example.com")["nickname"], "bobo");
    assert_eq!(exported.as_array().unwrap().len(), 6, "{exported:#}");

    // Each run is a job the Management API answers for, as its own imports are.
    let (served, base) = start(&dir);
    let http = reqwest::blocking::Client::new();
    let token = admin_token(&base, &admin)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = |path: &str| -> Value {
        let response = http
            .get(format!("{base}api/v2/{path}"))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        serde_json::from_str(&response.text().unwrap()).unwrap()
    };
    for (case, id) in &jobs {
        let job = get(&format!("jobs/{id}"));
        let (inserted, updated, failed) = case.counts;
        assert_eq!(job["id"], id.as_str(), "{}", case.name);
        assert_eq!(job["type"], "users_import", "{}", case.name);
        assert_eq!(job["status"], "completed", "{}", case.name);
        assert!(
            job["connection_id"].as_str().unwrap().starts_with("con_"),
            "{job}"
        );
        let total = case.file.as_array().unwrap().len();
        assert_eq!(
            job["summary"],
            json!({"failed": failed, "updated": updated, "inserted": inserted, "total": total}),
            "{}",
            case.name
        );
        let external = case.flags.contains(&"--external-id");
        assert_eq!(job.get("external_id").is_some(), external, "{job}");
        let errors = get(&format!("jobs/{id}/errors"));
        let errors = errors.as_array().unwrap();
        assert_eq!(errors.len() as u64, failed, "{}: {errors:?}", case.name);
        for error in errors {
            assert!(error["user"].is_object() && error["errors"][0]["code"].is_string());
        }
    }
    let upsert = &jobs[2].1;
    assert_eq!(get(&format!("jobs/{upsert}"))["external_id"], "batch-3");
    let bad_row = get(&format!("jobs/{}/errors", jobs[4].1));
    assert_eq!(bad_row[0]["user"], json!({"email": "not an address"}));
    assert_eq!(bad_row[0]["errors"][0]["code"], "INVALID_FORMAT");
    let duplicates = get(&format!("jobs/{}/errors", jobs[1].1));
    assert_eq!(duplicates[1]["user"], json!({"email": "bo@example.com"}));
    assert_eq!(duplicates[1]["errors"][0]["code"], "DUPLICATED_USER");
    stop(served);
}

#[test]
fn users_import_json_and_refused_flags() {
    let dir = scratch("import_job_json");
    init(&dir);
    std::fs::write(
        dir.join("users.json"),
        json!([{"email": "ann@example.com"}, {"email": "x"}]).to_string(),
    )
    .unwrap();
    let report = json(&check(
        &dir,
        &[
            "users",
            "import",
            "users.json",
            "--json",
            "--external-id",
            "e-1",
        ],
        "",
        0,
        &[],
        &[],
    ));
    assert_eq!(
        (&report["inserted"], &report["updated"], &report["failed"]),
        (&json!(1), &json!(0), &json!(1)),
        "{report:#}"
    );
    assert_eq!(report["errors"][0]["index"], 1);
    let job = &report["job"];
    assert!(job["id"].as_str().unwrap().starts_with("job_"), "{job}");
    assert_eq!(job["type"], "users_import");
    assert_eq!(job["external_id"], "e-1");
    assert_eq!(
        job["summary"],
        json!({"failed": 1, "updated": 0, "inserted": 1, "total": 2})
    );

    let long = "x".repeat(129);
    check(
        &dir,
        &["users", "import", "users.json", "--external-id", &long],
        "",
        2,
        &[],
        &["at most 128 characters"],
    );
}
