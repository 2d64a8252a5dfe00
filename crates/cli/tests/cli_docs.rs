//! docs/cli.md must equal what `tao markdown-help` prints (set TAO_UPDATE_DOCS=1 to rewrite it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

#[test]
fn docs_cli_md_is_current() {
    let output = Command::new(env!("CARGO_BIN_EXE_tao"))
        .arg("markdown-help")
        .output()
        .expect("run tao");
    assert!(output.status.success());
    let generated = String::from_utf8(output.stdout).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md");
    if std::env::var_os("TAO_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/cli.md is stale: run `TAO_UPDATE_DOCS=1 cargo test -p tao-cli --test cli_docs` and commit it"
    );
}
