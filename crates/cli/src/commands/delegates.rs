//! `tao delegates …`: the hotkeys others stake to, and their owners' take.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;
use clap::{Args, Subcommand};
use serde::Serialize;
use tao_primitives::{AccountId, NetUid};
use tao_rpc_api::TaoApiClient;
use tao_types::serde_account;
use tao_types::tx::Call;
use tao_types::views::{DelegateView, NominatorStake};

use crate::amount::{PPM, format_amount, format_u16_percent, parse_ppm};
use crate::args::{NetworkArgs, SignerArgs, address};
use crate::output::{Output, table, usage};
use crate::quote::spot_value_rao;
use crate::tx::{rpc_error, submit_on};

/// Delegate commands.
#[derive(Debug, Subcommand)]
pub enum DelegatesCommand {
    /// Every delegate: owner, take, stake (valued in TAO), nominators, registrations.
    List(NetworkArgs),
    /// Change the take of a hotkey you own (the share of its dividends you keep).
    #[command(subcommand)]
    Take(TakeCommand),
}

/// Take changes (`btcli sudo set-take`, split by direction as the chain's calls are).
#[derive(Debug, Subcommand)]
pub enum TakeCommand {
    /// Raise the take (at most the chain's maximum; rate-limited).
    Increase(TakeArgs),
    /// Lower the take (at least the chain's minimum).
    Decrease(TakeArgs),
}

/// A new take.
#[derive(Debug, Args)]
pub struct TakeArgs {
    /// The new take in percent: `9`, `9%` or `9.5`.
    take: String,
    /// Hotkey (SS58); defaults to the wallet's hotkey.
    #[arg(long = "hotkey-address")]
    hotkey_address: Option<String>,
    #[command(flatten)]
    signer: SignerArgs,
}

/// Alpha of a delegate on one subnet, valued at the spot price.
#[derive(Debug, Serialize)]
struct SubnetStakeRow {
    netuid: u16,
    alpha_rao: u64,
    tao_value_rao: u64,
}

/// One delegate as `list` reports it.
#[derive(Debug, Serialize)]
struct DelegateRow {
    #[serde(with = "serde_account")]
    hotkey: AccountId,
    #[serde(with = "serde_account")]
    owner: AccountId,
    /// u16 proportion.
    take: u16,
    /// The take as a percentage, two decimals.
    take_percent: String,
    /// Sum of the subnets' stake valued at spot prices, rao.
    total_stake_rao: u64,
    stake_by_subnet: Vec<SubnetStakeRow>,
    /// Coldkeys other than the owner with a position.
    nominator_count: usize,
    nominators: Vec<NominatorStake>,
    registrations: Vec<u16>,
    validator_permits: Vec<u16>,
}

/// `tao delegates …`.
pub async fn run(command: DelegatesCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        DelegatesCommand::List(network) => list(&network, out).await,
        DelegatesCommand::Take(TakeCommand::Increase(args)) => take(args, true, out).await,
        DelegatesCommand::Take(TakeCommand::Decrease(args)) => take(args, false, out).await,
    }
}

async fn list(network: &NetworkArgs, out: &Output) -> anyhow::Result<()> {
    let rpc = network.client().await?.rpc().await?;
    let delegates = rpc.delegate_info_get_delegates().await.map_err(rpc_error)?;
    let netuids: BTreeSet<u16> = delegates
        .iter()
        .flat_map(|d| d.total_stake_by_subnet.iter().map(|s| s.netuid))
        .collect();
    let mut reserves = BTreeMap::new();
    for netuid in netuids {
        if let Some(info) = rpc
            .subnet_info_get_dynamic_info(NetUid(netuid))
            .await
            .map_err(rpc_error)?
        {
            reserves.insert(netuid, (info.tao_in_rao, info.alpha_in_rao));
        }
    }
    let mut rows: Vec<DelegateRow> = delegates
        .into_iter()
        .map(|d| delegate_row(d, &reserves))
        .collect();
    rows.sort_by(|a, b| {
        b.total_stake_rao
            .cmp(&a.total_stake_rao)
            .then(a.hotkey.cmp(&b.hotkey))
    });
    out.show(&rows, || {
        let mut t = table(&[
            "hotkey",
            "owner",
            "take",
            "total stake",
            "nominators",
            "registered on",
        ]);
        for r in &rows {
            t.add_row(vec![
                serde_account::to_text(&r.hotkey),
                serde_account::to_text(&r.owner),
                r.take_percent.clone(),
                format_amount(r.total_stake_rao, "τ"),
                r.nominator_count.to_string(),
                r.registrations
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            ]);
        }
        t
    })
}

fn delegate_row(d: DelegateView, reserves: &BTreeMap<u16, (u64, u64)>) -> DelegateRow {
    let stake_by_subnet: Vec<SubnetStakeRow> = d
        .total_stake_by_subnet
        .iter()
        .map(|s| {
            let (tao, alpha) = reserves.get(&s.netuid).copied().unwrap_or_default();
            SubnetStakeRow {
                netuid: s.netuid,
                alpha_rao: s.alpha_rao,
                tao_value_rao: spot_value_rao(s.netuid, tao, alpha, s.alpha_rao),
            }
        })
        .collect();
    let nominator_count = d
        .nominators
        .iter()
        .filter(|n| n.coldkey != d.owner)
        .map(|n| n.coldkey)
        .collect::<BTreeSet<_>>()
        .len();
    DelegateRow {
        hotkey: d.hotkey,
        owner: d.owner,
        take: d.take,
        take_percent: format_u16_percent(d.take),
        total_stake_rao: stake_by_subnet
            .iter()
            .fold(0u64, |sum, s| sum.saturating_add(s.tao_value_rao)),
        stake_by_subnet,
        nominator_count,
        nominators: d.nominators,
        registrations: d.registrations,
        validator_permits: d.validator_permits,
    }
}

/// A percentage as the chain's `u16` proportion (floored): `18%` → 11796.
fn parse_take(text: &str) -> anyhow::Result<u16> {
    let percent = text.trim().trim_end_matches('%');
    let ppm = parse_ppm(&format!("{percent}%")).map_err(usage)?;
    if ppm > PPM {
        return Err(usage(format!("{text:?}: a take is at most 100%")));
    }
    u16::try_from(ppm * u64::from(u16::MAX) / PPM).map_err(|_| usage("take out of range"))
}

async fn take(args: TakeArgs, increase: bool, out: &Output) -> anyhow::Result<()> {
    let take = parse_take(&args.take)?;
    let signer = &args.signer;
    let hotkey = match &args.hotkey_address {
        Some(text) => address(text)?,
        None => AccountId(signer.hotkey_public()?.to_bytes()),
    };
    let client = signer.network.client().await?;
    let rpc = client.rpc().await?;
    let globals = rpc.state_get_global_params().await.map_err(rpc_error)?;
    let current = rpc
        .delegate_info_get_delegates()
        .await
        .map_err(rpc_error)?
        .into_iter()
        .find(|d| d.hotkey == hotkey)
        .map_or(globals.default_take, |d| d.take);
    let (shown, now) = (format_u16_percent(take), format_u16_percent(current));
    if increase && take <= current {
        bail!(
            "delegate take too low: an increase must go above the current take {now} (to lower it: `tao delegates take decrease {}`); nothing was sent",
            args.take
        );
    }
    if increase && take > globals.max_take {
        bail!(
            "delegate take too high: {shown} is above the chain's maximum {}; nothing was sent",
            format_u16_percent(globals.max_take)
        );
    }
    if !increase && take >= current {
        bail!(
            "delegate take too high: a decrease must go below the current take {now} (to raise it: `tao delegates take increase {}`); nothing was sent",
            args.take
        );
    }
    if !increase && take < globals.min_take {
        bail!(
            "delegate take too low: {shown} is below the chain's minimum {}; nothing was sent",
            format_u16_percent(globals.min_take)
        );
    }
    let call = if increase {
        Call::IncreaseTake { hotkey, take }
    } else {
        Call::DecreaseTake { hotkey, take }
    };
    let pair = signer.coldkey(out)?;
    submit_on(&client, &signer.finality, &pair, call, out).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_are_percentages() {
        assert_eq!(parse_take("18").ok(), Some(11_796));
        assert_eq!(parse_take("18%").ok(), Some(11_796));
        assert_eq!(parse_take("10").ok(), Some(6_553));
        assert_eq!(parse_take("0").ok(), Some(0));
        assert_eq!(parse_take("100").ok(), Some(u16::MAX));
        assert!(parse_take("101").is_err());
        assert!(parse_take("-1").is_err());
        assert!(parse_take("ten").is_err());
    }
}
