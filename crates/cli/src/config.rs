//! The configuration file: `--config FILE` (or `SIGIL_CONFIG`), TOML holding the global
//! settings `data_dir`, `database_url`, `issuer` and `listen`, and `sigil serve`'s mail
//! settings `smtp_url`, `smtp_ca_file` and `mail_from`.
//!
//! Precedence: a flag, then its environment variable, then the file, then the built-in
//! default. clap already merges the first two (and the default), so the file fills only what
//! clap reports as coming from neither the command line nor the environment. The file is read
//! only when named: no `./sigil.toml` is picked up on its own, so what a command does never
//! depends on which directory it runs in. A relative `data_dir` in the file is relative to the
//! file's own directory.
//!
//! The master key is deliberately not a setting here: it is `SIGIL_MASTER_KEY` or
//! `<data-dir>/master.key` (0600), never a line in a file that is often shared or committed.

use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::{Deserialize, Deserializer, de};

/// The settings a configuration file may hold; any other key is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    /// `data_dir`: as `--data-dir`.
    #[serde(default, deserialize_with = "non_empty_path")]
    pub(crate) data_dir: Option<PathBuf>,
    /// `database_url`: as `--database-url`.
    #[serde(default, deserialize_with = "non_empty")]
    pub(crate) database_url: Option<String>,
    /// `issuer`: as `--issuer`.
    #[serde(default, deserialize_with = "non_empty")]
    pub(crate) issuer: Option<String>,
    /// `listen`: as `--listen`.
    #[serde(default, deserialize_with = "non_empty")]
    pub(crate) listen: Option<String>,
    /// `smtp_url`: as `sigil serve --smtp-url` (it holds a password: keep the file private).
    #[serde(default, deserialize_with = "non_empty")]
    pub(crate) smtp_url: Option<String>,
    /// `smtp_ca_file`: as `sigil serve --smtp-ca-file`.
    #[serde(default, deserialize_with = "non_empty_path")]
    pub(crate) smtp_ca_file: Option<PathBuf>,
    /// `mail_from`: as `sigil serve --mail-from`.
    #[serde(default, deserialize_with = "non_empty")]
    pub(crate) mail_from: Option<String>,
}

fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(d)?;
    if value.trim().is_empty() {
        return Err(de::Error::custom("the value is empty"));
    }
    Ok(Some(value))
}

fn non_empty_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    Ok(non_empty(d)?.map(PathBuf::from))
}

/// Reads and parses the file at `path`. Every failure is one line naming the file, and for a
/// TOML or settings error the line it is on. Relative paths in it are relative to its
/// directory.
pub(crate) fn load(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the configuration file {}: {e}; check --config / SIGIL_CONFIG",
            path.display()
        )
    })?;
    let mut file: ConfigFile = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|span| format!(", line {}", line_of(&text, span.start)))
            .unwrap_or_default();
        anyhow::anyhow!(
            "configuration file {}{line}: {}",
            path.display(),
            e.message().trim_end()
        )
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let relative_to_file = |p: PathBuf| {
        if p.is_relative() && !base.as_os_str().is_empty() {
            base.join(p)
        } else {
            p
        }
    };
    file.data_dir = file.data_dir.take().map(relative_to_file);
    file.smtp_ca_file = file.smtp_ca_file.take().map(relative_to_file);
    Ok(file)
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.as_bytes()[..at]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Whether the option `id` was given on the command line or by its environment variable, on
/// the command or on any subcommand it was written after (a global option's value lands on the
/// subcommand it follows).
pub(crate) fn given(matches: &ArgMatches, id: &str) -> bool {
    let mut current = Some(matches);
    while let Some(m) = current {
        let source = m.try_get_raw(id).ok().and_then(|_| m.value_source(id));
        if matches!(
            source,
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            return true;
        }
        current = m.subcommand().map(|(_, sub)| sub);
    }
    false
}

/// Replaces `value` with the file's, when the user set neither the flag `id` nor its
/// environment variable.
pub(crate) fn fill<T>(value: &mut T, from_file: Option<T>, matches: &ArgMatches, id: &str) {
    if let Some(from_file) = from_file
        && !given(matches, id)
    {
        *value = from_file;
    }
}

#[cfg(test)]
mod tests {
    use super::line_of;

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a = 1\nb = 2\n", 0), 1);
        assert_eq!(line_of("a = 1\nb = 2\n", 6), 2);
        assert_eq!(line_of("a", 99), 1);
    }
}
