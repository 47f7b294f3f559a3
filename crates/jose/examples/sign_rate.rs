//! The raw signing rate of this machine: how many access tokens `sigil-jose` can sign per second,
//! on one thread and on several, next to aws-lc-rs signing the same bytes with the same key.
//!
//! `scripts/bench-token` runs it to set the ceiling for the token endpoint (a `client_credentials`
//! request costs one signature plus HTTP and database work). Without a criterion harness, so a
//! run is short and its output easy to read back:
//!
//! ```sh
//! cargo run --release -p sigil-jose --example sign_rate                      # RS256, 3 s, 1 and 2 threads
//! cargo run --release -p sigil-jose --example sign_rate -- --alg ES256 --seconds 2 --threads 4
//! ```
//!
//! For each thread count in `--threads` (default `1,2`), both sides sign for `--seconds` each
//! (default 3), every thread with the one shared key, as a server's workers do. The time is cut
//! into half-second batches run in the order ours, raw, raw, ours, ... so that both sides see the
//! same background load (a shared machine's load moves far more than the difference measured);
//! `rate` is the median batch rate, `min`/`max` the spread. The claims are the shape Sigil puts in
//! a machine's access token. Output, one line per side and thread count:
//!
//! ```text
//! RS256 sigil-jose threads=2 signatures=16802 seconds=3.00 rate=5600.1/s min=5405.2/s max=5702.0/s
//! RS256 aws-lc-rs  threads=2 signatures=16868 seconds=3.00 rate=5622.5/s min=5398.7/s max=5711.3/s
//! ```
//!
//! `sigil-jose` is `SigningKey::sign` (JSON, base64url, framing, signature) with a key parsed from
//! PKCS#8, as Sigil's key ring loads it; `aws-lc-rs` is the bare primitive (`RsaKeyPair::sign`,
//! `EcdsaKeyPair::sign`, ...) with the same key, over the signing input of a token `sigil-jose`
//! made.

// A measuring tool: setup failures stop it loudly, and reading the clock is its job.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::hint::black_box;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaEncoding};
use serde::Serialize;
use sigil_jose::{Algorithm, KeySpec, PrivateKey, SigningKey};

const USAGE: &str =
    "usage: sign_rate [--alg RS256|PS256|ES256|EdDSA] [--seconds S] [--threads N[,N...]]";

/// The length of one measured batch.
const BATCH: Duration = Duration::from_millis(500);

/// The claims of a machine's access token, as Sigil's `client_credentials` grant signs them.
#[derive(Serialize)]
struct AccessClaims {
    iss: &'static str,
    sub: &'static str,
    aud: &'static str,
    iat: i64,
    exp: i64,
    scope: &'static str,
    gty: &'static str,
    azp: &'static str,
}

const CLAIMS: AccessClaims = AccessClaims {
    iss: "http://127.0.0.1:8787/",
    sub: "iXAYUV3xWb6QdfCnhbpnAx7zpAe7ZSjw@clients",
    aud: "https://api.bench.example/rs256",
    iat: 1_795_346_874,
    exp: 1_795_433_274,
    scope: "read:x",
    gty: "client-credentials",
    azp: "iXAYUV3xWb6QdfCnhbpnAx7zpAe7ZSjw",
};

/// aws-lc-rs signing with a key parsed once.
#[allow(clippy::large_enum_variant)] // Two values live for the whole run.
enum Raw {
    Rsa(RsaKeyPair, &'static dyn RsaEncoding),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl Raw {
    fn new(key: &PrivateKey, alg: Algorithm) -> Raw {
        let der = key.to_pkcs8_der().expect("PKCS#8 export");
        match alg {
            Algorithm::RS256 => Raw::Rsa(
                RsaKeyPair::from_pkcs8(&der).expect("RSA PKCS#8"),
                &signature::RSA_PKCS1_SHA256,
            ),
            Algorithm::PS256 => Raw::Rsa(
                RsaKeyPair::from_pkcs8(&der).expect("RSA PKCS#8"),
                &signature::RSA_PSS_SHA256,
            ),
            Algorithm::ES256 => Raw::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                    .expect("P-256 PKCS#8"),
            ),
            Algorithm::EdDSA => Raw::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).expect("Ed25519 PKCS#8"),
            ),
            other => unreachable!("{other} is refused when parsing --alg"),
        }
    }

    fn sign(&self, rng: &SystemRandom, input: &[u8]) {
        match self {
            Raw::Rsa(pair, encoding) => {
                // A fresh buffer per signature, as a server answering a request needs one.
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(*encoding, rng, input, &mut out).expect("sign");
                black_box(out);
            }
            Raw::Ecdsa(pair) => {
                black_box(pair.sign(rng, input).expect("sign"));
            }
            Raw::Ed25519(pair) => {
                black_box(pair.sign(input));
            }
        }
    }
}

struct Options {
    alg: Algorithm,
    seconds: f64,
    threads: Vec<usize>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        alg: Algorithm::RS256,
        seconds: 3.0,
        threads: vec![1, 2],
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--alg" => {
                let text = value()?;
                options.alg = Algorithm::from_str(&text)
                    .ok()
                    .filter(|alg| {
                        matches!(
                            alg,
                            Algorithm::RS256
                                | Algorithm::PS256
                                | Algorithm::ES256
                                | Algorithm::EdDSA
                        )
                    })
                    .ok_or_else(|| format!("--alg {text}: use RS256, PS256, ES256 or EdDSA"))?;
            }
            "--seconds" => {
                let text = value()?;
                options.seconds = text
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.5 && *s <= 600.0)
                    .ok_or_else(|| format!("--seconds {text}: from 0.5 to 600"))?;
            }
            "--threads" => {
                let text = value()?;
                options.threads = text
                    .split(',')
                    .map(|n| {
                        n.trim()
                            .parse::<usize>()
                            .ok()
                            .filter(|n| (1..=256).contains(n))
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        format!("--threads {text}: thread counts from 1 to 256, such as 1,2")
                    })?;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

/// Runs `sign` on `threads` threads for `duration`; returns the signatures made and the time
/// taken (until the last thread stopped).
fn batch(threads: usize, duration: Duration, sign: &(dyn Fn() + Sync)) -> (u64, Duration) {
    let start = Instant::now();
    let deadline = start + duration;
    let total = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut count = 0u64;
                    while Instant::now() < deadline {
                        sign();
                        count += 1;
                    }
                    count
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a signing thread panicked"))
            .sum()
    });
    (total, start.elapsed())
}

/// The batches of one side at one thread count.
#[derive(Default)]
struct Tally {
    signatures: u64,
    time: Duration,
    rates: Vec<f64>,
}

impl Tally {
    fn add(&mut self, (signatures, time): (u64, Duration)) {
        self.signatures += signatures;
        self.time += time;
        self.rates.push(signatures as f64 / time.as_secs_f64());
    }

    fn line(&mut self, alg: Algorithm, name: &str, threads: usize) -> String {
        self.rates.sort_by(f64::total_cmp);
        let n = self.rates.len();
        let median = if n % 2 == 1 {
            self.rates[n / 2]
        } else {
            (self.rates[n / 2 - 1] + self.rates[n / 2]) / 2.0
        };
        format!(
            "{alg} {name} threads={threads} signatures={} seconds={:.2} rate={median:.1}/s \
             min={:.1}/s max={:.1}/s",
            self.signatures,
            self.time.as_secs_f64(),
            self.rates[0],
            self.rates[n - 1],
        )
    }
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("sign_rate: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let alg = options.alg;
    let spec = KeySpec::for_algorithm(alg);
    let key = PrivateKey::generate(spec).expect("key generation");
    let raw = Raw::new(&key, alg);
    // Parsed from PKCS#8, as Sigil's key ring loads its keys from the database.
    let der = key.to_pkcs8_der().expect("PKCS#8 export");
    let ours = SigningKey::new(PrivateKey::from_pkcs8_der(&der).expect("PKCS#8"), alg)
        .expect("signing key");
    let token = ours.sign(&CLAIMS).expect("sign");
    let signing_input = token
        .rsplit_once('.')
        .expect("three segments")
        .0
        .as_bytes()
        .to_vec();
    let rng = SystemRandom::new();
    let pairs = ((options.seconds / BATCH.as_secs_f64()).round() as usize).max(1);
    println!(
        "# {alg} ({spec:?}): one {}-byte token per signature; {:.1} s per side and thread count, \
         in {pairs} interleaved batches",
        token.len(),
        pairs as f64 * BATCH.as_secs_f64(),
    );

    let sign_ours = || {
        black_box(ours.sign(black_box(&CLAIMS)).expect("sign"));
    };
    let sign_raw = || raw.sign(&rng, black_box(&signing_input));
    // A short warm-up, so the first batch does not pay for page faults and frequency ramps.
    let most = options.threads.iter().copied().max().unwrap_or(1);
    batch(most, Duration::from_millis(200), &sign_ours);
    batch(most, Duration::from_millis(200), &sign_raw);

    for &threads in &options.threads {
        let (mut tally_ours, mut tally_raw) = (Tally::default(), Tally::default());
        for pair in 0..pairs {
            // ours, raw, raw, ours, ...: neither side always goes first.
            if pair % 2 == 0 {
                tally_ours.add(batch(threads, BATCH, &sign_ours));
                tally_raw.add(batch(threads, BATCH, &sign_raw));
            } else {
                tally_raw.add(batch(threads, BATCH, &sign_raw));
                tally_ours.add(batch(threads, BATCH, &sign_ours));
            }
        }
        println!("{}", tally_ours.line(alg, "sigil-jose", threads));
        println!("{}", tally_raw.line(alg, "aws-lc-rs ", threads));
    }
    ExitCode::SUCCESS
}
