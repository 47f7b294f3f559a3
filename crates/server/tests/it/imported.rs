//! Users with imported password hashes (Auth0's bulk-import formats) log in with their old
//! password, not with another, and leave with an argon2id hash.

use reqwest::StatusCode;
use serde_json::json;
use sigil_core::ids::UserId;
use sigil_core::model::NewUser;
use sigil_core::password::{PasswordAlgorithm, PasswordHash};
use sigil_core::{Store, SystemRng, UnixTime};

use crate::app::{NOW, TestApp, post};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An imported hash of `password` in each format Sigil checks.
fn hashes(password: &str) -> Vec<(&'static str, PasswordHash)> {
    use aws_lc_rs::{digest, pbkdf2};
    let hash = |algorithm, encoded: String| PasswordHash { algorithm, encoded };
    let bcrypt = bcrypt::hash_with_salt(password, 4, [9; 16])
        .unwrap()
        .format_for_version(bcrypt::Version::TwoB);
    let mut derived = [0u8; 64];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA512,
        std::num::NonZeroU32::new(1000).unwrap(),
        b"NaCl-NaCl",
        password.as_bytes(),
        &mut derived,
    );
    let b64 = |b: &[u8]| base64_simd::STANDARD_NO_PAD.encode_to_string(b);
    let sha256 =
        hex(digest::digest(&digest::SHA256, format!("s4lt{password}").as_bytes()).as_ref());
    let sha512 =
        hex(digest::digest(&digest::SHA512, format!("{password}s4lt").as_bytes()).as_ref());
    let md5 = {
        use md5::Digest as _;
        hex(&md5::Md5::digest(password.as_bytes()))
    };
    vec![
        ("bcrypt", hash(PasswordAlgorithm::Bcrypt, bcrypt)),
        (
            "pbkdf2",
            hash(
                PasswordAlgorithm::Pbkdf2,
                format!("$pbkdf2-sha512$i=1000,l=64${}${}", b64(b"NaCl-NaCl"), b64(&derived)),
            ),
        ),
        (
            "sha256",
            hash(
                PasswordAlgorithm::Sha256,
                json!({"algorithm": "sha256", "hash": {"value": sha256, "encoding": "hex"}, "salt": {"value": "s4lt", "position": "prefix"}}).to_string(),
            ),
        ),
        (
            "sha512",
            hash(
                PasswordAlgorithm::Sha512,
                json!({"algorithm": "sha512", "hash": {"value": sha512, "encoding": "hex"}, "salt": {"value": "s4lt", "position": "suffix"}}).to_string(),
            ),
        ),
        ("md5", hash(PasswordAlgorithm::Md5, json!({"algorithm": "md5", "hash": {"value": md5}}).to_string())),
    ]
}

#[tokio::test]
async fn imported_hashes_log_in_with_the_old_password_and_become_argon2id() {
    let app = TestApp::start().await;
    let connection = app
        .store
        .connection_by_name("Username-Password-Authentication")
        .await
        .unwrap()
        .unwrap();
    let password = "An-Old-Password-7";
    for (name, hash) in hashes(password) {
        let email = format!("{name}@imported.example.com");
        let user = sigil_core::model::User::new_database(
            UserId::generate_database(&SystemRng),
            &connection,
            NewUser {
                email: email.clone(),
                email_verified: true,
                username: None,
                password: Some(hash.clone()),
            },
            UnixTime(NOW),
        );
        app.store.create_user(&user).await.unwrap();
        let login = |password: &str| {
            crate::password::login(&app, json!({"username": email, "password": password}))
        };
        let (status, _, body) = post(&app, login("an-old-password-7"), None).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{name}: a wrong password: {body}"
        );
        assert_eq!(
            app.store
                .user(&user.user_id)
                .await
                .unwrap()
                .unwrap()
                .password,
            Some(hash.clone()),
            "{name}: a failed login changes nothing"
        );
        let (status, _, body) = post(&app, login(password), None).await;
        assert_eq!(status, StatusCode::OK, "{name}: the old password: {body}");
        let upgraded = app
            .store
            .user(&user.user_id)
            .await
            .unwrap()
            .unwrap()
            .password
            .unwrap();
        assert_eq!(upgraded.algorithm, PasswordAlgorithm::Argon2, "{name}");
        assert!(!upgraded.needs_rehash(), "{name}: {:?}", upgraded);
        // Now argon2id: the same password still works, a wrong one still does not.
        assert_eq!(
            post(&app, login(password), None).await.0,
            StatusCode::OK,
            "{name}"
        );
        assert_eq!(
            post(&app, login("nope-Nope-1"), None).await.0,
            StatusCode::FORBIDDEN,
            "{name}"
        );
    }
}
