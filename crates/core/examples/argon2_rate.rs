//! The raw argon2id verification rate of this machine: how many of Sigil's own password hashes
//! (19 MiB, 2 passes, 1 lane) can be checked per second on N threads, each thread checking in
//! memory it keeps, as the server's password workers do (`PasswordHash::verify_in`).
//!
//! `scripts/bench-passwords` runs it to set the ceiling for password logins (one login costs
//! one verification plus HTTP, database and token work):
//!
//! ```sh
//! cargo run --release -p sigil-core --example argon2_rate                    # 2 threads, 3 s
//! cargo run --release -p sigil-core --example argon2_rate -- --threads 4 --seconds 5
//! ```
//!
//! Output, one line:
//!
//! ```text
//! argon2id threads=2 verifications=183 seconds=3.01 rate=60.8/s
//! ```

// A measuring tool: setup failures stop it loudly, and reading the clock is its job.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::cast_precision_loss
)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use sigil_core::SystemRng;
use sigil_core::password::{Argon2Memory, PasswordHash};

const USAGE: &str = "usage: argon2_rate [--threads N] [--seconds S]";

fn main() -> ExitCode {
    let mut threads = 2usize;
    let mut seconds = 3.0f64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        let parsed = match (arg.as_str(), value.as_deref()) {
            ("--threads", Some(v)) => v.parse().map(|n| threads = n).is_ok() && threads > 0,
            ("--seconds", Some(v)) => v.parse().map(|s| seconds = s).is_ok() && seconds > 0.0,
            _ => false,
        };
        if !parsed {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    let password = "correct horse battery staple";
    let hash = PasswordHash::argon2id(password, &SystemRng).expect("a hash");
    let duration = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut memory = Argon2Memory::new();
                    let mut checked = 0u64;
                    while started.elapsed() < duration {
                        assert_eq!(hash.verify_in(password, &mut memory), Some(true));
                        checked += 1;
                    }
                    checked
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let total: u64 = counts.iter().sum();
    println!(
        "argon2id threads={threads} verifications={total} seconds={elapsed:.2} rate={:.1}/s",
        total as f64 / elapsed
    );
    ExitCode::SUCCESS
}
