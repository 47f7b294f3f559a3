//! `sigil breached-passwords import FILE`: the operator's list of breached passwords, SHA-1
//! hashes one per line (Have I Been Pwned's `HASH:COUNT` lines, or bare hashes), compacted into
//! the filter file `sigil serve` reads at start (`sigil_core::attack_protection::breached`):
//! about 18 bits a password, a false-positive rate of about 2⁻¹⁶, measured and printed here on a
//! million random passwords. With `--top N` only the N most seen hashes are kept, in bounded
//! memory, so a billion-line download can be cut to what the machine can hold.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufRead, BufReader, Read};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use sigil_core::Rng as _;
use sigil_core::SystemRng;
use sigil_core::attack_protection::breached::{BreachedFilter, FALSE_POSITIVE_RATE, key_of_hex};

use crate::storage::Location;

/// The filter's name in the data directory, where `sigil serve` looks by default.
pub(crate) const FILTER_FILE: &str = "breached-passwords.filter";

/// Random passwords the false-positive rate is measured on.
const SAMPLES: usize = 1_000_000;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Build the breached-password filter from a file of SHA-1 hashes.
    #[command(after_help = IMPORT_AFTER_HELP)]
    Import(ImportArgs),
}

const IMPORT_AFTER_HELP: &str = "\
Each line is a password's SHA-1 in hex (40 digits, any case), optionally followed by :COUNT, \
as Have I Been Pwned's Pwned Passwords downloads are written; blank lines and lines starting \
with # are skipped, and so are other lines (counted and reported). The filter replaces the \
previous one; restart `sigil serve` (every node) to use it. Breached-password detection itself \
is turned on with the Management API's /attack-protection/breached-password-detection.";

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The hashes, one per line; - for standard input.
    file: PathBuf,
    /// Keep only the N most seen hashes (by their :COUNT).
    #[arg(long, value_name = "N")]
    top: Option<NonZeroUsize>,
    /// Where to write the filter [default: <data dir>/breached-passwords.filter].
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// `sigil breached-passwords …`.
pub(crate) fn run(command: Command, location: &Location) -> anyhow::Result<ExitCode> {
    match command {
        Command::Import(args) => import(&args, location),
    }
}

/// Reads the operator's filter file.
pub(crate) fn read_filter(path: &Path) -> anyhow::Result<BreachedFilter> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read the breached-password filter {}; make it with `sigil breached-passwords import`",
            path.display()
        )
    })?;
    BreachedFilter::from_bytes(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}; make it again with `sigil breached-passwords import`",
            path.display()
        )
    })
}

/// What a file of hashes held.
struct Hashes {
    keys: Vec<u64>,
    lines: u64,
    skipped: u64,
    first_skipped: Option<u64>,
}

fn import(args: &ImportArgs, location: &Location) -> anyhow::Result<ExitCode> {
    let source: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(&args.file).with_context(|| {
            format!(
                "cannot read {}; give a file of SHA-1 hashes, one per line",
                args.file.display()
            )
        })?)
    };
    let read = read_hashes(BufReader::new(source), args.top)?;
    if read.keys.is_empty() {
        bail!(
            "no SHA-1 hashes in {} ({} lines); give 40 hex digits a line, optionally :COUNT",
            args.file.display(),
            read.lines
        );
    }
    let filter = BreachedFilter::build(read.keys).map_err(anyhow::Error::msg)?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| location.data_dir().join(FILTER_FILE));
    write_atomically(&output, &filter.to_bytes())?;

    println!(
        "read {} lines: {} skipped (not a SHA-1){}",
        read.lines,
        read.skipped,
        read.first_skipped
            .map(|n| format!(", the first at line {n}"))
            .unwrap_or_default()
    );
    let kept = match args.top {
        Some(top) => format!(" (the {top} most seen)"),
        None => String::new(),
    };
    println!("kept {} distinct hashes{kept}", filter.count());
    println!(
        "wrote {}: {} bytes, {:.1} bits a password",
        output.display(),
        filter.size(),
        filter.size() as f64 * 8.0 / filter.count() as f64
    );
    let false_positives = measure_false_positives(&filter);
    println!(
        "false positives: {false_positives} of {SAMPLES} random passwords ({:.4}%; expected about {:.4}%, 1 in {:.0})",
        false_positives as f64 * 100.0 / SAMPLES as f64,
        FALSE_POSITIVE_RATE * 100.0,
        1.0 / FALSE_POSITIVE_RATE
    );
    println!("restart `sigil serve` (every node) to use it");
    Ok(ExitCode::SUCCESS)
}

/// The keys of the hashes `input` holds (the `top` most seen, when given).
fn read_hashes(input: impl BufRead, top: Option<NonZeroUsize>) -> anyhow::Result<Hashes> {
    let mut read = Hashes {
        keys: Vec::new(),
        lines: 0,
        skipped: 0,
        first_skipped: None,
    };
    // With --top: the most seen so far, least seen on top, never more than N.
    let mut heap: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::new();
    for line in input.lines() {
        let line = line.context("cannot read the hashes")?;
        read.lines += 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (hash, count) = line.split_once(':').unwrap_or((line, "0"));
        let parsed = key_of_hex(hash).zip(count.trim().parse::<u64>().ok());
        let Some((key, count)) = parsed else {
            read.skipped += 1;
            read.first_skipped.get_or_insert(read.lines);
            continue;
        };
        match top {
            Some(top) => {
                heap.push(Reverse((count, key)));
                if heap.len() > top.get() {
                    heap.pop();
                }
            }
            None => read.keys.push(key),
        }
    }
    if top.is_some() {
        read.keys = heap.into_iter().map(|Reverse((_, key))| key).collect();
    }
    Ok(read)
}

/// Writes `bytes` to `path` through a temporary file beside it, so a running reader never sees
/// half a filter.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let temporary = path.with_extension("filter.partial");
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot move the filter to {}", path.display()))
}

/// How many of [`SAMPLES`] random 64-bit keys (random passwords' hashes) the filter claims.
fn measure_false_positives(filter: &BreachedFilter) -> usize {
    let mut bytes = vec![0u8; SAMPLES * 8];
    SystemRng.fill(&mut bytes);
    bytes
        .chunks_exact(8)
        .filter_map(|chunk| chunk.try_into().ok().map(u64::from_le_bytes))
        .filter(|key| filter.contains(*key))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_as_breach_lists_write_them_and_top_keeps_the_most_seen() {
        let input = "\
# a comment
5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3730471
7c4a8d09ca3762af61e59520943dc26494f8941b:123

not a hash
B1B3773A05C0ED0176787A4F1574FF0075F7521E:10
E38AD214943DAAD1D64C102FAEC29DE4AFE9DA3D
";
        let all = read_hashes(input.as_bytes(), None).unwrap();
        assert_eq!((all.keys.len(), all.lines, all.skipped), (4, 7, 1));
        assert_eq!(all.first_skipped, Some(5));
        let top = read_hashes(input.as_bytes(), NonZeroUsize::new(2)).unwrap();
        let mut kept = top.keys.clone();
        kept.sort_unstable();
        assert_eq!(kept, vec![0x5BAA_61E4_C9B9_3F3F, 0x7C4A_8D09_CA37_62AF]);
    }
}
