//! Sending transactions and reporting what they did: progress until finality, the receipt as
//! a table or JSON, the chain's error with what to do about it, and checks before signing.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use serde::Serialize;
use tao_client::{Client, Finalized};
use tao_keys::{Keypair, PublicKey};
use tao_primitives::{AccountId, NetUid};
use tao_rpc_api::{BlockId, ReceiptView, TaoApiClient, TxStatus};
use tao_types::error::{InvalidTx, TxError};
use tao_types::events::Event;
use tao_types::tx::Call;

use crate::amount::format_amount;
use crate::args::{FinalityArgs, SignerArgs};
use crate::output::{Output, Ss58Text, table};
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
    /// The transaction's hash, `0x`-hex.
    pub tx_hash: String,
    /// Hash of the block that holds it, `0x`-hex.
    pub block: String,
    /// Block height.
    pub number: u64,
    /// Whether the call succeeded (the fee is paid either way).
    pub success: bool,
    /// The chain's error when it failed (in JSON its name, e.g. `"InsufficientBalance"`).
    pub error_code: Option<TxError>,
    /// The same error as a message.
    pub error: Option<String>,
    /// Fee paid, rao (absent when the block's receipts could not be read).
    pub fee_rao: Option<u64>,
    /// What the transaction did: the chain's events of its receipt.
    pub events: Vec<Event>,
    /// The token symbol of each subnet whose alpha the events move, for the table.
    #[serde(skip)]
    pub symbols: BTreeMap<u16, String>,
}

impl TxReport {
    /// `Ok` when the call succeeded, else the chain's error with what to do about it.
    pub fn into_result(self) -> anyhow::Result<()> {
        match self.error_code {
            None if self.success => Ok(()),
            None => bail!("the call failed on chain (the fee was paid)"),
            Some(error) => Err(Refusal {
                code: variant_name(&error),
                message: format!("the call failed on chain: {error} (the fee was paid)"),
                hint: hint(&error),
            }
            .into()),
        }
    }
}

/// A refusal by the node or the chain, with its machine-readable code and what to do next
/// (`--json` prints them as separate fields; the text joins message and hint).
#[derive(Debug)]
pub struct Refusal {
    /// The chain's or node's error name, e.g. `SlippageTooHigh`, `CannotPayFee`.
    pub code: String,
    /// What happened.
    pub message: String,
    /// What to do about it.
    pub hint: Option<&'static str>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.message, hint_suffix(self.hint))
    }
}

impl std::error::Error for Refusal {}

/// The name of an error enum's variant as its JSON spells it (`"SlippageTooHigh"`).
fn variant_name(error: &impl Serialize) -> String {
    match serde_json::to_value(error) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(serde_json::Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
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
            "the price moved past your limit: raise --tolerance or --limit-price (--unsafe for no limit), or add --allow-partial"
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
        InvalidTx::AlreadyKnown => Some(
            "the node has this transaction already: it is waiting for a block (see `tao wallet balance` once it finalizes)",
        ),
        InvalidTx::ReplacementUnderpriced { .. } => Some(
            "another transaction with this nonce is waiting: let it finalize, then send this one again",
        ),
        InvalidTx::TooHeavy { .. } => Some(
            "the call's work exceeds what one block may carry (`max_block_weight`): split it (fewer weights per row, fewer subnets per unstake) or ask for a larger budget",
        ),
        InvalidTx::BlockFull { .. } => {
            Some("the block being built had no weight left: send it again, it fits a later block")
        }
        _ => None,
    }
}

fn hint_suffix(hint: Option<&'static str>) -> String {
    hint.map(|h| format!("; {h}")).unwrap_or_default()
}

/// A client error with what to do about it where the node refused the transaction.
pub fn explain(error: tao_client::ClientError) -> anyhow::Error {
    match &error {
        tao_client::ClientError::Invalid(invalid) => Refusal {
            code: variant_name(invalid),
            message: error.to_string(),
            hint: invalid_hint(invalid),
        }
        .into(),
        _ => error.into(),
    }
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
    finality: &FinalityArgs,
    pair: &Keypair,
    call: Call,
    out: &Output,
) -> anyhow::Result<TxReport> {
    let progress = Progress::start(out.json, "submitting");
    let watched = client
        .submit_and_watch(pair, call, finality.finality(), |status| match status {
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
    let mark = if finalized.success { "✓" } else { "✗" };
    progress.finish(&format!(
        "{mark} finalized in block {} ({})",
        finalized.number,
        hex(&finalized.block)
    ));
    let receipt = receipt_of(client, &finalized).await;
    let events = receipt
        .as_ref()
        .map_or_else(Vec::new, |receipt| receipt.events.clone());
    // Only the table shows symbols; JSON has the netuids.
    let symbols = if out.json {
        BTreeMap::new()
    } else {
        symbols_of(client, &events).await
    };
    Ok(TxReport {
        tx_hash: hex(&finalized.tx_hash),
        block: hex(&finalized.block),
        number: finalized.number,
        success: finalized.success,
        error: finalized.error.as_ref().map(ToString::to_string),
        error_code: finalized.error,
        fee_rao: receipt.map(|receipt| receipt.fee_rao),
        events,
        symbols,
    })
}

/// The subnet whose alpha an event moves, if it moves any.
fn alpha_netuid(event: &Event) -> Option<u16> {
    match event {
        Event::StakeAdded { netuid, .. }
        | Event::StakeRemoved { netuid, .. }
        | Event::EpochRun { netuid, .. } => Some(netuid.0),
        Event::StakeMoved { from_netuid, .. } => Some(from_netuid.0),
        _ => None,
    }
}

/// The symbols of the subnets whose alpha `events` move; a subnet that cannot be read (or is
/// gone) is left out and shown with the generic `α`.
async fn symbols_of(client: &Client, events: &[Event]) -> BTreeMap<u16, String> {
    let netuids: BTreeSet<u16> = events.iter().filter_map(alpha_netuid).collect();
    let mut symbols = BTreeMap::new();
    let Ok(rpc) = client.rpc().await else {
        return symbols;
    };
    for netuid in netuids {
        if let Ok(Some(subnet)) = rpc.subnet_info_get_subnet_info(NetUid(netuid)).await {
            symbols.insert(netuid, subnet.symbol);
        }
    }
    symbols
}

/// The receipt of a finalized transaction (fee and events), if the node still serves its
/// block: the transaction is done either way, so a failed read only leaves them out.
async fn receipt_of(client: &Client, finalized: &Finalized) -> Option<ReceiptView> {
    let block = client
        .rpc()
        .await
        .ok()?
        .chain_get_events(Some(BlockId::Number(finalized.number)))
        .await
        .ok()??;
    block
        .receipts
        .into_iter()
        .find(|receipt| receipt.tx_hash.0 == finalized.tx_hash)
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
        let mut t = table(&["transaction", ""]);
        let result = if report.success {
            "ok".to_owned()
        } else {
            format!("failed: {}", report.error.clone().unwrap_or_default())
        };
        t.add_row(vec!["result".to_owned(), result]);
        for row in report
            .events
            .iter()
            .filter_map(|event| describe(event, &report.symbols))
        {
            t.add_row(row);
        }
        let fee = report
            .fee_rao
            .map_or_else(|| "unknown".to_owned(), |fee| format_amount(fee, "τ"));
        t.add_row(vec!["fee".to_owned(), fee]);
        t.add_row(vec!["block".to_owned(), report.number.to_string()]);
        t.add_row(vec!["tx hash".to_owned(), report.tx_hash.clone()]);
        t
    })
}

/// An event as a table row: what happened, and its ids and amounts (none for the fee, which
/// has its own row). Alpha is shown with its subnet's symbol from `symbols`.
fn describe(event: &Event, symbols: &BTreeMap<u16, String>) -> Option<Vec<String>> {
    let alpha = alpha_netuid(event)
        .and_then(|netuid| symbols.get(&netuid))
        .map_or("α", String::as_str);
    let (what, details) = match event {
        Event::Transfer {
            from,
            to,
            amount_rao,
        } => (
            "transferred",
            format!(
                "{} from {} to {}",
                format_amount(*amount_rao, "τ"),
                from.to_ss58_text(),
                to.to_ss58_text()
            ),
        ),
        Event::FeePaid { .. } => return None,
        Event::NetworkAdded {
            netuid, lock_rao, ..
        } => (
            "subnet created",
            format!(
                "netuid {} (lock {})",
                netuid.0,
                format_amount(*lock_rao, "τ")
            ),
        ),
        Event::NetworkRemoved { netuid } => (
            "subnet removed",
            format!(
                "netuid {}; its stakers are paid out over the next blocks",
                netuid.0
            ),
        ),
        Event::NetworkCleaned { netuid } => (
            "subnet cleaned",
            format!("netuid {}: stakers paid, netuid free again", netuid.0),
        ),
        Event::FirstEmissionBlockNumberSet { netuid, block } => (
            "subnet started",
            format!("netuid {}, emission from block {block}", netuid.0),
        ),
        Event::HyperparamSet { netuid, name } => (
            "hyperparameter set",
            format!("{} on netuid {}", String::from_utf8_lossy(name), netuid.0),
        ),
        Event::GlobalsSet => ("chain parameters set", String::new()),
        Event::NeuronRegistered {
            netuid,
            uid,
            hotkey,
            burn_rao,
        } => (
            "registered",
            format!(
                "uid {uid} on netuid {} for {} (burned {})",
                netuid.0,
                hotkey.to_ss58_text(),
                format_amount(*burn_rao, "τ")
            ),
        ),
        Event::Served { netuid, hotkey } => (
            "axon served",
            format!("netuid {} for {}", netuid.0, hotkey.to_ss58_text()),
        ),
        Event::StakeAdded {
            hotkey,
            netuid,
            tao_rao,
            alpha_rao,
            ..
        } => (
            "staked",
            format!(
                "{} for {} on netuid {} to {}",
                format_amount(*tao_rao, "τ"),
                format_amount(*alpha_rao, alpha),
                netuid.0,
                hotkey.to_ss58_text()
            ),
        ),
        Event::StakeRemoved {
            hotkey,
            netuid,
            alpha_rao,
            tao_rao,
            ..
        } => (
            "unstaked",
            format!(
                "{} for {} on netuid {} from {}",
                format_amount(*alpha_rao, alpha),
                format_amount(*tao_rao, "τ"),
                netuid.0,
                hotkey.to_ss58_text()
            ),
        ),
        Event::StakeMoved {
            to_coldkey,
            to_hotkey,
            from_netuid,
            to_netuid,
            alpha_rao,
            ..
        } => (
            "stake moved",
            format!(
                "{} from netuid {} to netuid {}, hotkey {}, coldkey {}",
                format_amount(*alpha_rao, alpha),
                from_netuid.0,
                to_netuid.0,
                to_hotkey.to_ss58_text(),
                to_coldkey.to_ss58_text()
            ),
        ),
        Event::TakeSet { hotkey, take } => (
            "take set",
            format!("{take}/65535 for {}", hotkey.to_ss58_text()),
        ),
        Event::WeightsSet { netuid, uid } => {
            ("weights set", format!("uid {uid} on netuid {}", netuid.0))
        }
        Event::WeightsCommitted { netuid, hotkey } => (
            "weights committed",
            format!("netuid {} by {}", netuid.0, hotkey.to_ss58_text()),
        ),
        Event::EpochRun {
            netuid,
            emitted_rao,
        } => (
            "epoch",
            format!(
                "netuid {}, {} emitted",
                netuid.0,
                format_amount(*emitted_rao, alpha)
            ),
        ),
        Event::EpochDeferred { netuid } => ("epoch deferred", format!("netuid {}", netuid.0)),
    };
    Some(vec![what.to_owned(), details])
}

/// Submits `call` signed by `pair` to the node of `signer`, shows progress, and fails with
/// the chain's error.
pub async fn submit(
    signer: &SignerArgs,
    pair: &Keypair,
    call: Call,
    out: &Output,
) -> anyhow::Result<()> {
    let client = signer.network.client().await?;
    submit_on(&client, &signer.finality, pair, call, out).await
}

/// [`submit`] on an open connection.
pub async fn submit_on(
    client: &Client,
    finality: &FinalityArgs,
    pair: &Keypair,
    call: Call,
    out: &Output,
) -> anyhow::Result<()> {
    let report = send(client, finality, pair, call, out).await?;
    show_tx::<()>(out, &report, None)?;
    report.into_result()
}

/// Fails, before anything is signed, when `payer` cannot pay `amount_rao` plus the fee of
/// `call`: "insufficient balance: have …, need … plus … fee". Returns the fee, rao.
pub async fn ensure_affordable(
    client: &Client,
    payer: &PublicKey,
    amount_rao: u64,
    call: &Call,
) -> anyhow::Result<u64> {
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
    Ok(fee_rao)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_the_variant_names() {
        assert_eq!(variant_name(&TxError::SlippageTooHigh), "SlippageTooHigh");
        assert_eq!(
            variant_name(&InvalidTx::CannotPayFee { fee_rao: 7 }),
            "CannotPayFee"
        );
        let refusal = Refusal {
            code: "SlippageTooHigh".into(),
            message: "the call failed".into(),
            hint: Some("raise --tolerance"),
        };
        assert_eq!(refusal.to_string(), "the call failed; raise --tolerance");
        assert_eq!(
            variant_name(&InvalidTx::TooHeavy { weight: 2, max: 1 }),
            "TooHeavy"
        );
    }

    #[test]
    fn pool_refusals_say_what_to_do() {
        for invalid in [
            InvalidTx::AlreadyKnown,
            InvalidTx::ReplacementUnderpriced {
                fee_rao: 1,
                min_fee_rao: 2,
            },
            InvalidTx::NonceTooFarAhead {
                expected: 0,
                max_ahead: 255,
            },
            InvalidTx::TooHeavy { weight: 2, max: 1 },
            InvalidTx::BlockFull {
                used: 1,
                weight: 2,
                max: 2,
            },
        ] {
            assert!(invalid_hint(&invalid).is_some(), "{invalid:?}");
        }
    }
}
