//! Signing and verification throughput of `sigil-jose` against raw aws-lc-rs on the same bytes.
//!
//! For RS256, PS256, ES256, EdDSA and HS256 this measures, with criterion:
//!
//! - `sign_<ALG>/ours`: [`SigningKey::sign`] on an Auth0-style access-token claims struct
//!   (serialization, base64url, framing, signature);
//! - `sign_<ALG>/raw`: aws-lc-rs signing the signing input of a token ours produced, with a key
//!   parsed once;
//! - `verify_<ALG>/ours`: [`Verifier::verify`] into a typed claims struct (split, base64url,
//!   header, key selection, signature, `iss`/`aud`/`exp` checks, claims deserialization);
//! - `verify_<ALG>/raw`: `ParsedPublicKey::verify_sig` (or `hmac::verify`) on the same signing
//!   input and signature.
//!
//! Then, for every case criterion measured in this run, it times ours and raw again in
//! interleaved batches (ours, raw, raw, ours, ...) and prints one summary line per case from the
//! medians of those batches: rates, the ratio raw time / ours time, and the target. Signing must
//! reach 0.85x raw and verification 0.90x raw for the asymmetric algorithms; HS256 verification
//! may add at most 2 us over raw HMAC. Interleaving puts both sides under the same background
//! load, which on a small shared machine moves far more than the difference being measured;
//! criterion's own medians (sequential, read back from `estimates.json`) follow for comparison.
//!
//! `cargo bench -p sigil-jose` takes about a minute and a half of measurement;
//! `cargo bench -p sigil-jose -- --quick` about twenty seconds, noisier.

// Setup failures should stop the benchmark loudly; there is no caller to return them to.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ParsedPublicKey, RsaEncoding,
    VerificationAlgorithm,
};
use criterion::Criterion;
use serde::{Deserialize, Serialize};
use sigil_jose::{
    Algorithm, KeySet, KeySpec, PrivateKey, SigningKey, UnixTime, Validation, Verifier,
};

const ISSUER: &str = "https://sigil.example.com/";
const API: &str = "https://api.example.com/";
const IAT: i64 = 1_760_000_000;

/// A typical Auth0 access token for an API, with RBAC permissions.
#[derive(Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    sub: String,
    aud: Vec<String>,
    iat: i64,
    exp: i64,
    scope: String,
    azp: String,
    permissions: Vec<String>,
}

impl AccessClaims {
    fn typical() -> Self {
        AccessClaims {
            iss: ISSUER.to_owned(),
            sub: "auth0|64f1c2e8a1b2c3d4e5f60718".to_owned(),
            aud: vec![API.to_owned(), format!("{ISSUER}userinfo")],
            iat: IAT,
            exp: IAT + 86_400,
            scope: "openid profile email read:messages write:messages".to_owned(),
            azp: "ZYDPLLBWSK3MVQJSIYHB1OR2JXCY0X2C".to_owned(),
            permissions: vec![
                "read:messages".to_owned(),
                "write:messages".to_owned(),
                "delete:messages".to_owned(),
            ],
        }
    }
}

/// aws-lc-rs signing with a key parsed once: the floor under [`SigningKey::sign`].
// Five keys live for the whole run; boxing the HMAC key would only add an indirection to the
// baseline.
#[allow(clippy::large_enum_variant)]
enum RawSigner {
    Rsa(RsaKeyPair, &'static dyn RsaEncoding),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Hmac(hmac::Key),
}

impl RawSigner {
    /// Signs `input`. RSA writes into `out`, which must be as long as the modulus; the others
    /// return fixed-size values that are dropped here.
    fn sign(&self, rng: &SystemRandom, input: &[u8], out: &mut [u8]) {
        match self {
            RawSigner::Rsa(pair, encoding) => pair.sign(*encoding, rng, input, out).expect("sign"),
            RawSigner::Ecdsa(pair) => {
                black_box(pair.sign(rng, input).expect("sign"));
            }
            RawSigner::Ed25519(pair) => {
                black_box(pair.sign(input));
            }
            RawSigner::Hmac(key) => {
                black_box(hmac::sign(key, input));
            }
        }
    }

    /// The length of the buffer [`RawSigner::sign`] needs.
    fn out_len(&self) -> usize {
        match self {
            RawSigner::Rsa(pair, _) => pair.public_modulus_len(),
            _ => 0,
        }
    }
}

/// aws-lc-rs verification with a key parsed once: the floor under [`Verifier::verify`].
#[allow(clippy::large_enum_variant)] // As for `RawSigner`.
enum RawVerifier {
    Signature(ParsedPublicKey),
    Hmac(hmac::Key),
}

impl RawVerifier {
    fn verify(&self, input: &[u8], signature: &[u8]) -> bool {
        match self {
            RawVerifier::Signature(key) => key.verify_sig(input, signature).is_ok(),
            RawVerifier::Hmac(key) => hmac::verify(key, input, signature).is_ok(),
        }
    }
}

struct Case {
    alg: Algorithm,
    claims: AccessClaims,
    ours_signer: SigningKey,
    ours_verifier: Verifier,
    raw_signer: RawSigner,
    raw_verifier: RawVerifier,
    token: String,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

fn b64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("a token we made has base64url segments")
}

impl Case {
    fn new(alg: Algorithm) -> Case {
        let key = PrivateKey::generate(KeySpec::for_algorithm(alg)).expect("key generation");
        // The raw side gets the very same key, parsed by aws-lc-rs directly.
        let (raw_signer, raw_verifier) = match alg {
            Algorithm::HS256 => {
                let secret = key.secret().expect("an HMAC secret").expose_secret();
                (
                    RawSigner::Hmac(hmac::Key::new(hmac::HMAC_SHA256, secret)),
                    RawVerifier::Hmac(hmac::Key::new(hmac::HMAC_SHA256, secret)),
                )
            }
            _ => {
                let der = key.to_pkcs8_der().expect("PKCS#8 export");
                let (signer, verification, public): (_, &'static dyn VerificationAlgorithm, _) =
                    match alg {
                        Algorithm::RS256 | Algorithm::PS256 => {
                            let pair = RsaKeyPair::from_pkcs8(&der).expect("RSA PKCS#8");
                            let public = pair.public_key().as_ref().to_vec();
                            let (encoding, verification): (&'static dyn RsaEncoding, _) =
                                if alg == Algorithm::RS256 {
                                    (
                                        &signature::RSA_PKCS1_SHA256,
                                        &signature::RSA_PKCS1_2048_8192_SHA256,
                                    )
                                } else {
                                    (
                                        &signature::RSA_PSS_SHA256,
                                        &signature::RSA_PSS_2048_8192_SHA256,
                                    )
                                };
                            (RawSigner::Rsa(pair, encoding), verification, public)
                        }
                        Algorithm::ES256 => {
                            let pair = EcdsaKeyPair::from_pkcs8(
                                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                                &der,
                            )
                            .expect("P-256 PKCS#8");
                            let public = pair.public_key().as_ref().to_vec();
                            (
                                RawSigner::Ecdsa(pair),
                                &signature::ECDSA_P256_SHA256_FIXED,
                                public,
                            )
                        }
                        Algorithm::EdDSA => {
                            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                                .expect("Ed25519 PKCS#8");
                            let public = pair.public_key().as_ref().to_vec();
                            (RawSigner::Ed25519(pair), &signature::ED25519, public)
                        }
                        other => panic!("no raw baseline for {other}"),
                    };
                let parsed = ParsedPublicKey::new(verification, public).expect("public key");
                (signer, RawVerifier::Signature(parsed))
            }
        };
        let ours_signer = SigningKey::new(key, alg).expect("signing key");
        let ours_verifier = Verifier::new(
            KeySet::single(ours_signer.verifying_key().expect("verifying key")),
            Validation::new([alg]).issuer(ISSUER).audience(API),
        );
        let claims = AccessClaims::typical();
        let token = ours_signer.sign(&claims).expect("sign");
        let (signing_input, signature) = token.rsplit_once('.').expect("three segments");
        let case = Case {
            alg,
            claims,
            ours_signer,
            ours_verifier,
            raw_signer,
            raw_verifier,
            signing_input: signing_input.as_bytes().to_vec(),
            signature: b64_decode(signature),
            token,
        };
        // Both sides must accept the token, or the comparison means nothing.
        case.ours_verifier
            .verify::<AccessClaims>(&case.token, case.now())
            .expect("ours verifies its own token");
        assert!(
            case.raw_verifier
                .verify(&case.signing_input, &case.signature),
            "raw verifies the token's signature"
        );
        case
    }

    fn now(&self) -> UnixTime {
        UnixTime(IAT + 60)
    }
}

impl Case {
    /// Our signing, as measured.
    fn ours_sign(&self) {
        black_box(
            self.ours_signer
                .sign(black_box(&self.claims))
                .expect("sign"),
        );
    }

    /// Our verification, as measured.
    fn ours_verify(&self) {
        let verified = self
            .ours_verifier
            .verify::<AccessClaims>(black_box(&self.token), self.now())
            .expect("verify");
        black_box(verified);
    }

    /// Raw verification, as measured.
    fn raw_verify(&self) {
        assert!(
            self.raw_verifier
                .verify(black_box(&self.signing_input), black_box(&self.signature))
        );
    }
}

fn bench_sign(c: &mut Criterion, case: &Case) {
    let mut group = c.benchmark_group(format!("sign_{}", case.alg));
    group.bench_function("ours", |b| b.iter(|| case.ours_sign()));
    let rng = SystemRandom::new();
    let mut out = vec![0; case.raw_signer.out_len()];
    group.bench_function("raw", |b| {
        b.iter(|| {
            case.raw_signer
                .sign(&rng, black_box(&case.signing_input), &mut out);
        });
    });
    group.finish();
}

fn bench_verify(c: &mut Criterion, case: &Case) {
    let mut group = c.benchmark_group(format!("verify_{}", case.alg));
    group.bench_function("ours", |b| b.iter(|| case.ours_verify()));
    group.bench_function("raw", |b| b.iter(|| case.raw_verify()));
    group.finish();
}

/// Where criterion writes its results, found the way criterion finds it: `$CRITERION_HOME`,
/// else `$CARGO_TARGET_DIR/criterion`, else `criterion/` in the target directory that holds this
/// executable (the first ancestor with cargo's `CACHEDIR.TAG`).
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Path::new(&target).join("criterion");
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(|target| target.join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The median time per iteration, in nanoseconds, that criterion saved for `group/id` during
/// this run (files older than `started` are from another run and are ignored).
fn criterion_median_ns(home: &Path, group: &str, id: &str, started: SystemTime) -> Option<f64> {
    #[derive(Deserialize)]
    struct Estimates {
        median: Estimate,
    }
    #[derive(Deserialize)]
    struct Estimate {
        point_estimate: f64,
    }
    let path = home.join(group).join(id).join("new").join("estimates.json");
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    if modified < started {
        return None;
    }
    let text = std::fs::read(&path).ok()?;
    let estimates: Estimates = serde_json::from_slice(&text).ok()?;
    Some(estimates.median.point_estimate)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Nanoseconds per call of `f`, over `n` calls.
#[allow(clippy::disallowed_methods)] // A benchmark reads the clock; that is its job.
#[allow(clippy::cast_precision_loss)]
fn time_batch(f: &mut impl FnMut(), n: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// Times `ours` and `raw` in alternating batches of about `BATCH` each, for `budget` in all
/// (and at least `MIN_ROUNDS` rounds), and returns the median nanoseconds per call of each.
#[allow(clippy::disallowed_methods)] // A benchmark reads the clock; that is its job.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn interleaved(mut ours: impl FnMut(), mut raw: impl FnMut(), budget: Duration) -> (f64, f64) {
    const BATCH_NS: f64 = 2e6;
    const MIN_ROUNDS: usize = 11;
    // Warm both up, and size each side's batch to take about the same time.
    let calls_per_batch = |f: &mut dyn FnMut()| {
        let mut g = || f();
        time_batch(&mut g, 3);
        let per_call = time_batch(&mut g, 10);
        (BATCH_NS / per_call).clamp(1.0, 1e7) as u64
    };
    let n_ours = calls_per_batch(&mut ours);
    let n_raw = calls_per_batch(&mut raw);
    let (mut ours_ns, mut raw_ns) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while start.elapsed() < budget || ours_ns.len() < MIN_ROUNDS {
        // Alternate which side goes first, so neither always runs on a warmer cache.
        if ours_ns.len() % 2 == 0 {
            ours_ns.push(time_batch(&mut ours, n_ours));
            raw_ns.push(time_batch(&mut raw, n_raw));
        } else {
            raw_ns.push(time_batch(&mut raw, n_raw));
            ours_ns.push(time_batch(&mut ours, n_ours));
        }
    }
    (median(ours_ns), median(raw_ns))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Sign,
    Verify,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Sign => "sign",
            Op::Verify => "verify",
        }
    }
}

/// One summary line: rates from the two medians, the ratio, and the verdict.
fn summary_line(alg: Algorithm, op: Op, ours_ns: f64, raw_ns: f64) -> String {
    let ratio = raw_ns / ours_ns;
    let rates = format!(
        "{:<5} {:<6}  ours {:>10.1}/s  raw {:>10.1}/s  ratio {ratio:.2}",
        alg.as_str(),
        op.name(),
        1e9 / ours_ns,
        1e9 / raw_ns,
    );
    let verdict = |pass: bool| if pass { "PASS" } else { "FAIL" };
    match (alg, op) {
        (Algorithm::HS256, Op::Verify) => {
            let added_us = (ours_ns - raw_ns) / 1000.0;
            format!(
                "{rates}  adds {added_us:.2} us over raw HMAC (target <= 2 us)  {}",
                verdict(added_us <= 2.0)
            )
        }
        (Algorithm::HS256, Op::Sign) => format!("{rates}  (no target)"),
        (_, Op::Sign) => format!("{rates}  (target >= 0.85)  {}", verdict(ratio >= 0.85)),
        (_, Op::Verify) => format!("{rates}  (target >= 0.90)  {}", verdict(ratio >= 0.90)),
    }
}

const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::HS256,
];

fn main() {
    // The wall clock only tells this run's result files from older ones.
    #[allow(clippy::disallowed_methods)]
    let started = SystemTime::now() - Duration::from_secs(1);
    let cases: Vec<Case> = ALGORITHMS.into_iter().map(Case::new).collect();

    // Short measurements: the benchmark machines are small and shared. Command-line options
    // (`--measurement-time`, `--sample-size`, `--quick`, a filter) override these.
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(40)
        .nresamples(20_000)
        .configure_from_args();
    for case in &cases {
        bench_sign(&mut c, case);
        bench_verify(&mut c, case);
    }
    c.final_summary();

    // Criterion benchmarks only under `cargo bench` (`--bench`); `cargo test --benches`,
    // `--test`, `--list` and `--profile-time` run or list the routines without saving medians.
    let args: Vec<String> = std::env::args().collect();
    let benchmarking = args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| a == "--test" || a == "--list" || a.starts_with("--profile-time"));
    if !benchmarking {
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 300 } else { 1500 });
    let home = criterion_home();

    // The cases criterion measured in this run (a filter may have left some out).
    let mut measured = Vec::new();
    for case in &cases {
        for op in [Op::Sign, Op::Verify] {
            let group = format!("{}_{}", op.name(), case.alg);
            let ours = criterion_median_ns(&home, &group, "ours", started);
            let raw = criterion_median_ns(&home, &group, "raw", started);
            if let (Some(ours), Some(raw)) = (ours, raw) {
                measured.push((case, op, ours, raw));
            }
        }
    }
    if measured.is_empty() {
        println!(
            "\nNo summary: criterion saved no medians in {}.",
            home.display()
        );
        return;
    }

    println!("\nsigil-jose vs raw aws-lc-rs, medians of interleaved batches:");
    let rng = SystemRandom::new();
    for &(case, op, _, _) in &measured {
        let (ours, raw) = match op {
            Op::Sign => {
                let mut out = vec![0; case.raw_signer.out_len()];
                interleaved(
                    || case.ours_sign(),
                    || {
                        case.raw_signer
                            .sign(&rng, black_box(&case.signing_input), &mut out)
                    },
                    budget,
                )
            }
            Op::Verify => interleaved(|| case.ours_verify(), || case.raw_verify(), budget),
        };
        println!("{}", summary_line(case.alg, op, ours, raw));
    }
    println!(
        "\nThe same from criterion's sequential medians ({}):",
        home.display()
    );
    for &(case, op, ours, raw) in &measured {
        println!("{}", summary_line(case.alg, op, ours, raw));
    }
}
