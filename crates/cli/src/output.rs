//! How results reach the user: a table for people, stable JSON for scripts.

use std::io::IsTerminal;
use tao_keys::PublicKey;
use tao_primitives::AccountId;

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

/// Output settings shared by every command.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// JSON instead of tables.
    pub json: bool,
    /// Whether prompting is allowed.
    pub prompt: bool,
}

impl Output {
    /// Prints `value` as JSON, or `table()` for people.
    pub fn show<T: Serialize>(
        &self,
        value: &T,
        table: impl FnOnce() -> Table,
    ) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            println!("{}", table());
        }
        Ok(())
    }
}

/// A table with the house style and these column headers.
pub fn table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(headers.to_vec());
    table
}

/// The width tables must fit, in columns: `$COLUMNS` when set, else the terminal's (`stty
/// size`) when stdout is one; `None` (no limit) when output goes to a file or pipe.
pub fn terminal_width() -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return Some(columns);
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let size = std::process::Command::new("stty")
        .arg("size")
        .stdin(std::process::Stdio::inherit())
        .output()
        .ok()?;
    String::from_utf8_lossy(&size.stdout)
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `table` narrowed to the terminal: columns hidden in `hide_order` (indices) until it fits.
/// With a legend of its abbreviated headers, and the hidden columns named, printed to stderr
/// (wrapped to the terminal too).
pub fn fit_to_terminal(mut table: Table, hide_order: &[usize], legend: &str) -> Table {
    let Some(width) = terminal_width() else {
        eprintln!("{legend}");
        return table;
    };
    let widest = |table: &Table| {
        table
            .lines()
            .map(|line| line.chars().count())
            .max()
            .unwrap_or(0)
    };
    let mut hidden = Vec::new();
    for &index in hide_order {
        if widest(&table) <= width {
            break;
        }
        if let Some(column) = table.column_mut(index) {
            column.set_constraint(comfy_table::ColumnConstraint::Hidden);
            hidden.push(index);
        }
    }
    let headers: Vec<String> = table
        .header()
        .map(|row| {
            hidden
                .iter()
                .filter_map(|&i| row.cell_iter().nth(i).map(comfy_table::Cell::content))
                .collect()
        })
        .unwrap_or_default();
    let note = if headers.is_empty() {
        legend.to_owned()
    } else {
        format!(
            "{legend}; hidden to fit {width} columns: {} (--json has every column)",
            headers.join(", ")
        )
    };
    eprintln!("{}", wrap(&note, width));
    table
}

/// `text` broken at spaces into lines of at most `width` characters (a longer word keeps its
/// own line).
fn wrap(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines.join("\n")
}

/// Whether stdin is an interactive terminal.
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// A mistake in how the command was called (exit status 2, like clap's own usage errors).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage error with this message (exit status 2).
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

impl Output {
    /// Shows `preview` to people (stderr, so `--json` stdout stays clean) and asks `question`
    /// when prompting is allowed; `Ok(false)` when the user declines. Without a terminal or
    /// with `-y` it answers yes without asking.
    pub fn confirm(&self, preview: Option<&Table>, question: &str) -> anyhow::Result<bool> {
        if let Some(preview) = preview.filter(|_| !self.json || self.prompt) {
            eprintln!("{preview}");
        }
        if !self.prompt {
            return Ok(true);
        }
        eprint!("{question} [y/N] ");
        std::io::Write::flush(&mut std::io::stderr())?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
    }
}

/// The whole command tree as Markdown: one section per command with its full help.
pub fn markdown_help(mut command: clap::Command) -> String {
    command.build();
    let mut out = String::from(
        "# `tao` command reference\n\nGenerated by `tao markdown-help`; CI checks it is current \
         (`TAO_UPDATE_DOCS=1 cargo test -p tao-cli --test cli_docs` rewrites it).\n",
    );
    write_command(&mut out, &command, "tao");
    out
}

fn write_command(out: &mut String, command: &clap::Command, path: &str) {
    let mut command = command.clone().bin_name(path.to_owned());
    let help = command.render_long_help().to_string();
    out.push_str(&format!(
        "\n## `{path}`\n\n```text\n{}\n```\n",
        help.trim_end()
    ));
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_command(out, sub, &format!("{path} {}", sub.get_name()));
    }
}

/// Accounts as SS58 in tables.
pub trait Ss58Text {
    /// The SS58 address.
    fn to_ss58_text(&self) -> String;
}

impl Ss58Text for AccountId {
    fn to_ss58_text(&self) -> String {
        PublicKey::from_bytes(self.0).to_ss58()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn notes_wrap_at_spaces_to_the_width() {
        assert_eq!(
            super::wrap("I incentive, D dividends", 12),
            "I incentive,\nD dividends"
        );
        assert_eq!(super::wrap("a verylongword b", 4), "a\nverylongword\nb");
        assert_eq!(super::wrap("fits", 80), "fits");
    }
}
