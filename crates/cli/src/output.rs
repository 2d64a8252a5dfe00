//! How results reach the user: a table for people, stable JSON for scripts.

use std::io::IsTerminal;

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

/// Whether stdin is an interactive terminal.
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}
