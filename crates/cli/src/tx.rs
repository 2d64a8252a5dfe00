//! Sending transactions and reporting what they did: progress until finality, the receipt as
//! a table or JSON, the chain's error with what to do about it, and checks before signing.

use anyhow::{Context, bail};
use serde::Serialize;
use tao_client::{Client, Finalized};
use tao_keys::{Keypair, PublicKey};
use tao_primitives::AccountId;
use tao_rpc_api::{TaoApiClient, TxStatus};
use tao_types::error::{InvalidTx, TxError};
use tao_types::tx::Call;

use crate::amount::format_amount;
use crate::args::NetworkArgs;
use crate::output::{Output, table};
use crate::progress::Progress;

/// A node error as the client reports it (the node's message, e.g. the chain's error).
pub fn rpc_error(error: impl Into<tao_client::ClientError>) -> tao_client::ClientError {
    error.into()
}

/// A subnet read that must find the subnet.
pub fn found<T>(value: Option<T>, netuid: u16) -> anyhow::Result<T> {
    value.with_context(|| {
        format!("subnet does not exist: no subnet {netuid} (see `tao subnets list`)")
    })
}

/// Where a transaction was finalized and what its call did.
#[derive(Debug, Serialize)]
pub struct TxReport {
    /// Block hash, `0x`-hex.
    pub block: String,
    /// Block height.
    pub number: u64,
    /// Whether the call succeeded (the fee is paid either way).
    pub success: bool,
    /// The chain's error when it failed (in JSON its name, e.g. `"InsufficientBalance"`).
    pub error_code: Option<TxError>,
    /// The same error as a message.
    pub error: Option<String>,
}

impl TxReport {
    /// `Ok` when the call succeeded, else the chain's error with what to do about it.
    pub fn into_result(self) -> anyhow::Result<()> {
        match self.error_code {
            None if self.success => Ok(()),
            None => bail!("the call failed on chain (the fee was paid)"),
            Some(error) => bail!(
                "the call failed on chain: {error} (the fee was paid){}",
                hint_suffix(hint(&error))
            ),
        }
    }
}

/// What to do about a chain error (`reference/subtensor.md` §6.3 names).
fn hint(error: &TxError) -> Option<&'static str> {
    use TxError as E;
    Some(match error {
        E::InsufficientBalance => {
            "check `tao wallet balance`; the fee comes out of the free balance too"
        }
        E::SlippageTooHigh => {
            "the price moved past your limit: raise --tolerance or --limit-price, or add --allow-partial"
        }
        E::DelegateTxRateLimitExceeded => {
            "a take may rise only once per `take_rate_limit` blocks; lowering it is not rate-limited"
        }
        E::DelegateTakeTooHigh => {
            "an increase may not exceed the chain's maximum and a decrease must go below the current take (see `tao delegates list`)"
        }
        E::DelegateTakeTooLow => {
            "an increase must go above the current take and a decrease may not go below the chain's minimum (see `tao delegates list`)"
        }
        E::NotEnoughStakeToWithdraw => "see `tao stake list` for what you hold",
        E::TransferDisallowed => {
            "the subnet owner has disabled stake transfers (hyperparameter transfers_enabled)"
        }
        E::SubtokenDisabled => "the owner must run `tao subnets start` first",
        E::HotKeyAccountNotExists => {
            "the destination hotkey must be registered somewhere (or owned) first"
        }
        E::CommitRevealEnabled => {
            "this subnet uses commit-reveal: `tao weights commit`, then `tao weights reveal`"
        }
        E::CommitRevealDisabled => "this subnet takes weights directly: `tao weights set`",
        E::RevealTooEarly => "wait for the reveal epoch: `tao weights reveal --wait`",
        E::ExpiredWeightCommit => "the reveal window passed: commit again",
        E::InvalidRevealCommitHashNotMatch => {
            "the saved uids, weights or salt differ from the commit"
        }
        E::NoWeightsCommitFound => "commit first with `tao weights commit`",
        E::HotKeyAlreadyRegisteredInSubNet => {
            "see `tao wallet overview` for the hotkey's registrations"
        }
        E::SubnetNotExists => "see `tao subnets list`",
        _ => return None,
    })
}

/// What to do about a transaction the node refused at submission.
fn invalid_hint(invalid: &InvalidTx) -> Option<&'static str> {
    match invalid {
        InvalidTx::FreeCallFailed(error) => hint(error),
        InvalidTx::CannotPayFee { .. } => hint(&TxError::InsufficientBalance),
        InvalidTx::CannotPayPending { .. } => Some(
            "a node holds an account's waiting transactions only while its free balance pays all their fees: wait for them to finalize, or add funds (`tao wallet balance`)",
        ),
        InvalidTx::NonceTooFarAhead { .. } => {
            Some("too many of this account's transactions are waiting: retry once some finalize")
        }
        _ => None,
    }
}

fn hint_suffix(hint: Option<&'static str>) -> String {
    hint.map(|h| format!("; {h}")).unwrap_or_default()
}

/// A client error with what to do about it where the node refused the transaction.
pub fn explain(error: tao_client::ClientError) -> anyhow::Error {
    let hint = match &error {
        tao_client::ClientError::Invalid(invalid) => invalid_hint(invalid),
        _ => None,
    };
    anyhow::anyhow!("{error}{}", hint_suffix(hint))
}

fn hex(bytes: &[u8]) -> String {
    format!(
        "0x{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Signs and submits `call`, shows progress until it is finalized, and reports where.
pub async fn send(
    client: &Client,
    network: &NetworkArgs,
    pair: &Keypair,
    call: Call,
    out: &Output,
) -> anyhow::Result<TxReport> {
    let progress = Progress::start(out.json, "submitting");
    let watched = client
        .submit_and_watch(pair, call, network.finality(), |status| match status {
            TxStatus::Ready => progress.set("in the pool, waiting for a block"),
            TxStatus::InBlock { number, .. } => {
                progress.set(&format!("in block {number}, waiting for finality"))
            }
            _ => {}
        })
        .await;
    let finalized: Finalized = match watched {
        Ok(finalized) => finalized,
        Err(error) => {
            progress.finish("✗ not included");
            return Err(explain(error));
        }
    };
    let report = TxReport {
        block: hex(&finalized.block),
        number: finalized.number,
        success: finalized.success,
        error: finalized.error.as_ref().map(ToString::to_string),
        error_code: finalized.error,
    };
    let mark = if report.success { "✓" } else { "✗" };
    progress.finish(&format!(
        "{mark} finalized in block {} ({})",
        report.number, report.block
    ));
    Ok(report)
}

/// Prints a transaction's report: JSON (with `details` under its key), or a table.
pub fn show_tx<T: Serialize>(
    out: &Output,
    report: &TxReport,
    details: Option<(&str, &T)>,
) -> anyhow::Result<()> {
    let mut json = serde_json::to_value(report)?;
    if let (Some((key, value)), serde_json::Value::Object(map)) = (details, &mut json) {
        map.insert(key.to_owned(), serde_json::to_value(value)?);
    }
    out.show(&json, || {
        let mut t = table(&["finalized in block", "hash", "result"]);
        let result = if report.success {
            "ok".to_owned()
        } else {
            format!("failed: {}", report.error.clone().unwrap_or_default())
        };
        t.add_row(vec![
            report.number.to_string(),
            report.block.clone(),
            result,
        ]);
        t
    })
}

/// Submits `call` signed by `pair`, shows progress, and fails with the chain's error.
pub async fn submit(
    network: &NetworkArgs,
    pair: &Keypair,
    call: Call,
    out: &Output,
) -> anyhow::Result<()> {
    let client = network.client().await?;
    submit_on(&client, network, pair, call, out).await
}

/// [`submit`] on an open connection.
pub async fn submit_on(
    client: &Client,
    network: &NetworkArgs,
    pair: &Keypair,
    call: Call,
    out: &Output,
) -> anyhow::Result<()> {
    let report = send(client, network, pair, call, out).await?;
    show_tx::<()>(out, &report, None)?;
    report.into_result()
}

/// Fails, before anything is signed, when `payer` cannot pay `amount_rao` plus the fee of
/// `call`: "insufficient balance: have …, need … plus … fee".
pub async fn ensure_affordable(
    client: &Client,
    payer: &PublicKey,
    amount_rao: u64,
    call: &Call,
) -> anyhow::Result<()> {
    let fee_rao = client
        .estimate_fee_rao(AccountId(payer.to_bytes()), call)
        .await?;
    let free_rao = client
        .rpc()
        .await?
        .state_get_account(payer.to_ss58())
        .await
        .map_err(rpc_error)?
        .free_rao;
    if free_rao < amount_rao.saturating_add(fee_rao) {
        bail!(
            "insufficient balance: have {}, need {} plus {} fee (see `tao wallet balance`)",
            format_amount(free_rao, "τ"),
            format_amount(amount_rao, "τ"),
            format_amount(fee_rao, "τ")
        );
    }
    Ok(())
}
