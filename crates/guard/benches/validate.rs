//! The guard's full validation path against raw aws-lc-rs verification of the same tokens.
//!
//! For RS256 (RSA-2048), ES256 and EdDSA this measures, with criterion:
//!
//! - `guard/<ALG>`: [`Guard::verify`] on an Auth0-style access token, with a guard built on a
//!   JWKS holding the public key (`kid`, `alg`) and a manual clock: the bearer value's framing,
//!   header, key lookup by `kid`, signature, payload into [`Claims`], the `iss`/`aud`/`exp`
//!   checks, and the `Arc` handed to the request. The future is polled once with a no-op waker:
//!   with known keys it never awaits, so no runtime is involved (it panics if that changes);
//! - `raw/<ALG>`: aws-lc-rs `ParsedPublicKey::verify_sig` on the same signing input and
//!   signature, with the key parsed once: the floor under `guard/<ALG>`;
//! - `cached/<ALG>`: the same guard with `.token_cache(1024)`, the token verified once before:
//!   the hit path (SHA-256 of the token, a read lock, a map lookup, the expiry check).
//!
//! Then, for every algorithm criterion measured in this run, it times the three again in
//! interleaved batches (the order rotated every round) and prints one summary line per algorithm
//! from the medians of those batches: rates, the ratio raw time / guard time against the target
//! (>= 0.90, issue 5), and the cache's speed-up over verifying. Interleaving puts every side
//! under the same background load, which on a small shared machine moves more than the
//! difference being measured; criterion's own medians (sequential, read back from
//! `estimates.json`) follow for comparison.
//!
//! `cargo bench -p sigil-guard` takes under a minute of measurement;
//! `cargo bench -p sigil-guard -- --quick` a few seconds, noisier.

// Setup failures should stop the benchmark loudly; there is no caller to return them to.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::future::Future;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ParsedPublicKey, VerificationAlgorithm,
};
use criterion::Criterion;
use serde::{Deserialize, Serialize};
use sigil_guard::{Algorithm, Claims, Guard, ManualClock, Rejection, UnixTime};
use sigil_jose::{JwkSet, KeySpec, PrivateKey, SigningKey};

const ISSUER: &str = "https://sigil.example.com/";
const API: &str = "https://api.example.com/";
const IAT: i64 = 1_760_000_000;
/// Tokens verified once are served from the cache; the benchmark presents one token.
const CACHE_CAPACITY: usize = 1024;

/// A typical Auth0 access token for an API, with RBAC permissions (as in sigil-jose's bench).
#[derive(Serialize)]
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

/// Drives a future that must complete without waiting: [`Guard::verify`] with known keys never
/// awaits (only an unknown `kid` makes it fetch), so one poll settles it.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("Guard::verify waited on a fixed key set"),
    }
}

struct Case {
    alg: Algorithm,
    guard: Guard,
    cached: Guard,
    raw: ParsedPublicKey,
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

/// The public key in the form aws-lc-rs verifies with, from the private key's PKCS#8, and the
/// verification algorithm `alg` names.
fn raw_public_key(key: &PrivateKey, alg: Algorithm) -> ParsedPublicKey {
    let der = key.to_pkcs8_der().expect("PKCS#8 export");
    let (verification, public): (&'static dyn VerificationAlgorithm, Vec<u8>) = match alg {
        Algorithm::RS256 => (
            &signature::RSA_PKCS1_2048_8192_SHA256,
            RsaKeyPair::from_pkcs8(&der)
                .expect("RSA PKCS#8")
                .public_key()
                .as_ref()
                .to_vec(),
        ),
        Algorithm::ES256 => (
            &signature::ECDSA_P256_SHA256_FIXED,
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .expect("P-256 PKCS#8")
                .public_key()
                .as_ref()
                .to_vec(),
        ),
        Algorithm::EdDSA => (
            &signature::ED25519,
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                .expect("Ed25519 PKCS#8")
                .public_key()
                .as_ref()
                .to_vec(),
        ),
        other => panic!("no raw baseline for {other}"),
    };
    ParsedPublicKey::new(verification, public).expect("public key")
}

impl Case {
    fn new(alg: Algorithm) -> Case {
        let key = PrivateKey::generate(KeySpec::for_algorithm(alg)).expect("key generation");
        let raw = raw_public_key(&key, alg);
        let signer = SigningKey::new(key, alg).expect("signing key");
        // The JWKS an issuer would serve: the public key with its kid and alg.
        let public = signer.public_key().expect("an asymmetric key").to_jwk();
        let jwk = public
            .with_kid(signer.kid().expect("a kid"))
            .with_alg(alg)
            .expect("alg suits the key");
        let jwks = serde_json::to_vec(&JwkSet::from_iter([jwk])).expect("JWKS");
        let guard = |cache: usize| {
            Guard::builder()
                .issuer(ISSUER)
                .audience(API)
                .clock(Arc::new(ManualClock::new(UnixTime(IAT + 60))))
                .token_cache(cache)
                .build_with_jwks(&jwks)
                .expect("guard")
        };
        let token = signer.sign(&AccessClaims::typical()).expect("sign");
        let (signing_input, signature) = token.rsplit_once('.').expect("three segments");
        let case = Case {
            alg,
            guard: guard(0),
            cached: guard(CACHE_CAPACITY),
            raw,
            signing_input: signing_input.as_bytes().to_vec(),
            signature: b64_decode(signature),
            token,
        };
        // Every side must accept the token, or the comparison means nothing; and the cached
        // guard must answer from its cache after the first call (the same `Arc` twice), while
        // the other verifies every time.
        let claims = case.guard_verify().expect("the guard accepts the token");
        assert_eq!(claims.aud, [API, &format!("{ISSUER}userinfo")]);
        assert!(claims.scope.contains("read:messages"));
        assert!(!Arc::ptr_eq(&claims, &case.guard_verify().expect("again")));
        let first = case.cached_verify().expect("the cached guard accepts it");
        assert!(Arc::ptr_eq(&first, &case.cached_verify().expect("hit")));
        assert!(case.raw_verify(), "raw verifies the token's signature");
        case
    }

    /// The guard's full path, as measured.
    fn guard_verify(&self) -> Result<Arc<Claims>, Rejection> {
        ready(self.guard.verify(black_box(&self.token)))
    }

    /// The cache's hit path, as measured.
    fn cached_verify(&self) -> Result<Arc<Claims>, Rejection> {
        ready(self.cached.verify(black_box(&self.token)))
    }

    /// Raw verification, as measured.
    fn raw_verify(&self) -> bool {
        self.raw
            .verify_sig(black_box(&self.signing_input), black_box(&self.signature))
            .is_ok()
    }
}

/// The three measured sides, in the order of criterion's groups and of the summary.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Guard,
    Raw,
    Cached,
}

const SIDES: [Side; 3] = [Side::Guard, Side::Raw, Side::Cached];

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Guard => "guard",
            Side::Raw => "raw",
            Side::Cached => "cached",
        }
    }

    /// One measured call of this side.
    fn run(self, case: &Case) {
        match self {
            Side::Guard => {
                black_box(case.guard_verify().expect("verify"));
            }
            Side::Raw => assert!(case.raw_verify()),
            Side::Cached => {
                black_box(case.cached_verify().expect("cached"));
            }
        }
    }
}

fn bench(c: &mut Criterion, case: &Case) {
    for side in SIDES {
        let mut group = c.benchmark_group(side.name());
        group.bench_function(case.alg.as_str(), |b| b.iter(|| side.run(case)));
        group.finish();
    }
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

/// Nanoseconds per call of `side` on `case`, over `n` calls.
#[allow(clippy::disallowed_methods)] // A benchmark reads the clock; that is its job.
#[allow(clippy::cast_precision_loss)]
fn time_batch(case: &Case, side: Side, n: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        side.run(case);
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// Times every side on `case` in batches of about `BATCH_NS` each, one batch of every side per
/// round with the order rotated every round (so none always runs first, on a warmer cache),
/// for `budget` in all and at least `MIN_ROUNDS` rounds. Returns the median nanoseconds per
/// call of each side, in the order of [`SIDES`].
#[allow(clippy::disallowed_methods)] // A benchmark reads the clock; that is its job.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn interleaved(case: &Case, budget: Duration) -> Vec<f64> {
    const BATCH_NS: f64 = 2e6;
    const MIN_ROUNDS: usize = 11;
    // Warm every side up, and size each one's batch to take about the same time.
    let calls: Vec<u64> = SIDES
        .iter()
        .map(|&side| {
            time_batch(case, side, 3);
            let per_call = time_batch(case, side, 10);
            (BATCH_NS / per_call).clamp(1.0, 1e7) as u64
        })
        .collect();
    let mut samples = vec![Vec::new(); SIDES.len()];
    let start = Instant::now();
    let mut round = 0;
    while start.elapsed() < budget || round < MIN_ROUNDS {
        for i in 0..SIDES.len() {
            let side = (round + i) % SIDES.len();
            samples[side].push(time_batch(case, SIDES[side], calls[side]));
        }
        round += 1;
    }
    samples.into_iter().map(median).collect()
}

/// One summary line: rates from the medians of each side, the ratio raw / guard against the
/// target, and the cache's speed-up.
fn summary_line(alg: Algorithm, guard_ns: f64, raw_ns: f64, cached_ns: f64) -> String {
    let ratio = raw_ns / guard_ns;
    let verdict = if ratio >= 0.90 { "PASS" } else { "FAIL" };
    format!(
        "{:<5}  guard {:>9.1}/s  raw {:>9.1}/s  ratio {ratio:.3} (target >= 0.90) {verdict}  \
         guard adds {:.2} us  cached {:>10.1}/s ({:.0}x guard)",
        alg.as_str(),
        1e9 / guard_ns,
        1e9 / raw_ns,
        (guard_ns - raw_ns) / 1000.0,
        1e9 / cached_ns,
        guard_ns / cached_ns,
    )
}

const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

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
        bench(&mut c, case);
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
    let budget = Duration::from_millis(if quick { 600 } else { 3000 });
    let home = criterion_home();

    // The algorithms criterion measured on every side in this run (a filter may leave some out).
    let mut measured = Vec::new();
    for case in &cases {
        let medians: Option<Vec<f64>> = SIDES
            .iter()
            .map(|side| criterion_median_ns(&home, side.name(), case.alg.as_str(), started))
            .collect();
        if let Some(medians) = medians {
            measured.push((case, medians));
        }
    }
    if measured.is_empty() {
        println!(
            "\nNo summary: criterion saved no medians of guard, raw and cached for one algorithm in {}.",
            home.display()
        );
        return;
    }

    println!(
        "\nsigil-guard Guard::verify vs raw aws-lc-rs verify_sig, and the token cache's hit path, \
         medians of interleaved batches:"
    );
    for (case, _) in &measured {
        let ns = interleaved(case, budget);
        println!("{}", summary_line(case.alg, ns[0], ns[1], ns[2]));
    }
    println!(
        "\nThe same from criterion's sequential medians ({}):",
        home.display()
    );
    for (case, ns) in &measured {
        println!("{}", summary_line(case.alg, ns[0], ns[1], ns[2]));
    }
}
