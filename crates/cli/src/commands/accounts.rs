//! `tao wallet balance` and `tao wallet overview`: what a wallet holds on chain.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::bail;
use serde::Serialize;
use tao_keys::PublicKey;
use tao_primitives::{AccountId, NetUid};
use tao_rpc_api::TaoApiClient;
use tao_types::serde_account;
use tao_types::views::StakeView;

use crate::amount::format_amount;
use crate::args::{NetworkArgs, WalletArgs};
use crate::output::{Output, table};
use crate::quote::Markets;
use crate::tx::rpc_error;

/// One wallet's balances.
#[derive(Debug, Serialize)]
struct WalletBalance {
    wallet: String,
    coldkey: String,
    free_rao: u64,
    /// Stake valued at spot prices.
    staked_rao: u64,
    /// What selling each position now would return (after price impact and swap fee).
    staked_sale_rao: u64,
    /// Free plus stake at spot prices.
    total_rao: u64,
}

/// Sums over the wallets shown.
#[derive(Debug, Default, Serialize)]
struct Totals {
    free_rao: u64,
    staked_rao: u64,
    staked_sale_rao: u64,
    total_rao: u64,
}

#[derive(Debug, Serialize)]
struct BalanceReport {
    wallets: Vec<WalletBalance>,
    totals: Totals,
}

/// The wallets' root directory these flags name.
fn root_of(wallet: &WalletArgs) -> PathBuf {
    wallet
        .path
        .as_deref()
        .map(tao_wallet::expand_home)
        .unwrap_or_else(tao_wallet::default_root)
}

fn sum(values: impl IntoIterator<Item = u64>) -> u64 {
    values.into_iter().fold(0, u64::saturating_add)
}

/// `tao wallet balance`: free and staked TAO of the wallet (or of every wallet with `all`).
pub async fn balance(
    network: &NetworkArgs,
    wallet: &WalletArgs,
    all: bool,
    out: &Output,
) -> anyhow::Result<()> {
    let targets: Vec<(String, PublicKey)> = if all {
        tao_wallet::list(&root_of(wallet))?
            .into_iter()
            .filter_map(|w| w.coldkey.map(|key| (w.name, key)))
            .collect()
    } else {
        let w = wallet.wallet()?;
        vec![(w.name().to_owned(), w.coldkeypub()?)]
    };
    if targets.is_empty() {
        bail!(
            "no wallet with a coldkey under {}: create one with `tao wallet create`",
            root_of(wallet).display()
        );
    }
    let rpc = network.client().await?.rpc().await?;
    let mut wallets = Vec::with_capacity(targets.len());
    for (name, coldkey) in targets {
        let free_rao = rpc
            .state_get_account(coldkey.to_ss58())
            .await
            .map_err(rpc_error)?
            .free_rao;
        let stakes = rpc
            .stake_info_get_stake_info_for_coldkey(coldkey.to_ss58())
            .await
            .map_err(rpc_error)?;
        let staked_rao = sum(stakes.iter().map(|s| s.tao_value_rao));
        // A dissolved subnet being cleaned has no market: its positions are paid out as they are.
        let markets = Markets::read(
            &*rpc,
            stakes.iter().filter(|s| !s.being_cleaned).map(|s| s.netuid),
        )
        .await?;
        wallets.push(WalletBalance {
            wallet: name,
            coldkey: coldkey.to_ss58(),
            free_rao,
            staked_rao,
            staked_sale_rao: sum(stakes.iter().map(|s| {
                if s.being_cleaned {
                    s.tao_value_rao
                } else {
                    markets.sale_value_rao(s.netuid, s.alpha_rao)
                }
            })),
            total_rao: free_rao.saturating_add(staked_rao),
        });
    }
    let totals = Totals {
        free_rao: sum(wallets.iter().map(|w| w.free_rao)),
        staked_rao: sum(wallets.iter().map(|w| w.staked_rao)),
        staked_sale_rao: sum(wallets.iter().map(|w| w.staked_sale_rao)),
        total_rao: sum(wallets.iter().map(|w| w.total_rao)),
    };
    let report = BalanceReport { wallets, totals };
    out.show(&report, || {
        let mut t = table(&[
            "wallet",
            "coldkey",
            "free",
            "staked at spot",
            "staked if sold now",
            "total at spot",
        ]);
        for w in &report.wallets {
            t.add_row(vec![
                w.wallet.clone(),
                w.coldkey.clone(),
                format_amount(w.free_rao, "τ"),
                format_amount(w.staked_rao, "τ"),
                format_amount(w.staked_sale_rao, "τ"),
                format_amount(w.total_rao, "τ"),
            ]);
        }
        if report.wallets.len() > 1 {
            t.add_row(vec![
                "total".to_owned(),
                String::new(),
                format_amount(report.totals.free_rao, "τ"),
                format_amount(report.totals.staked_rao, "τ"),
                format_amount(report.totals.staked_sale_rao, "τ"),
                format_amount(report.totals.total_rao, "τ"),
            ]);
        }
        t
    })
}

/// A hotkey's uid on a subnet with its last epoch's terms.
#[derive(Debug, Serialize)]
struct Registration {
    netuid: u16,
    uid: u16,
    /// Last epoch's emission, alpha rao.
    emission_rao: u64,
    /// u16 proportions from the last epoch.
    incentive: u16,
    dividends: u16,
    validator_permit: bool,
}

/// A stake position of the wallet's coldkey.
#[derive(Debug, Serialize)]
struct Position {
    netuid: u16,
    alpha_rao: u64,
    /// Value at the spot price.
    tao_value_rao: u64,
    /// What selling it now would return (after price impact and swap fee); for a dissolved
    /// subnet, the payout the cleanup makes.
    sale_value_rao: u64,
    /// The subnet was dissolved: the chain pays this position out over the next blocks.
    being_cleaned: bool,
}

/// One hotkey of the wallet (or another hotkey the coldkey stakes to).
#[derive(Debug, Serialize)]
struct HotkeyOverview {
    /// The hotkey's name in the wallet (`None`: a hotkey outside the wallet).
    name: Option<String>,
    hotkey: String,
    registrations: Vec<Registration>,
    stakes: Vec<Position>,
    /// Its positions at spot prices.
    stake_value_rao: u64,
    /// Its positions if each were sold now.
    stake_sale_value_rao: u64,
}

#[derive(Debug, Serialize)]
struct Overview {
    wallet: String,
    coldkey: String,
    free_rao: u64,
    hotkeys: Vec<HotkeyOverview>,
    /// Stake at spot prices.
    staked_rao: u64,
    /// Stake if each position were sold now.
    staked_sale_rao: u64,
    /// Free plus stake at spot prices.
    total_rao: u64,
}

/// `tao wallet overview`.
pub async fn overview(
    network: &NetworkArgs,
    wallet: &WalletArgs,
    out: &Output,
) -> anyhow::Result<()> {
    let w = wallet.wallet()?;
    let coldkey = w.coldkeypub()?;
    let mut hotkeys: BTreeMap<AccountId, HotkeyOverview> = BTreeMap::new();
    for name in w.hotkeys()? {
        let Ok(public) = w.hotkeypub(&name) else {
            eprintln!(
                "warning: hotkey {name:?} of wallet {} is unreadable; skipped",
                w.name()
            );
            continue;
        };
        hotkeys.insert(
            AccountId(public.to_bytes()),
            HotkeyOverview {
                name: Some(name),
                hotkey: public.to_ss58(),
                registrations: Vec::new(),
                stakes: Vec::new(),
                stake_value_rao: 0,
                stake_sale_value_rao: 0,
            },
        );
    }
    let rpc = network.client().await?.rpc().await?;
    let free_rao = rpc
        .state_get_account(coldkey.to_ss58())
        .await
        .map_err(rpc_error)?
        .free_rao;
    let stakes: Vec<StakeView> = rpc
        .stake_info_get_stake_info_for_coldkey(coldkey.to_ss58())
        .await
        .map_err(rpc_error)?;
    // A dissolved subnet being cleaned has no market: its positions are paid out as they are.
    let markets = Markets::read(
        &*rpc,
        stakes.iter().filter(|s| !s.being_cleaned).map(|s| s.netuid),
    )
    .await?;
    for stake in &stakes {
        let entry = hotkeys
            .entry(stake.hotkey)
            .or_insert_with(|| HotkeyOverview {
                name: None,
                hotkey: serde_account::to_text(&stake.hotkey),
                registrations: Vec::new(),
                stakes: Vec::new(),
                stake_value_rao: 0,
                stake_sale_value_rao: 0,
            });
        let sale_value_rao = if stake.being_cleaned {
            stake.tao_value_rao
        } else {
            markets.sale_value_rao(stake.netuid, stake.alpha_rao)
        };
        entry.stakes.push(Position {
            netuid: stake.netuid,
            alpha_rao: stake.alpha_rao,
            tao_value_rao: stake.tao_value_rao,
            sale_value_rao,
            being_cleaned: stake.being_cleaned,
        });
        entry.stake_value_rao = entry.stake_value_rao.saturating_add(stake.tao_value_rao);
        entry.stake_sale_value_rao = entry.stake_sale_value_rao.saturating_add(sale_value_rao);
    }
    let mut symbols = BTreeMap::new();
    for subnet in rpc
        .subnet_info_get_subnets_info()
        .await
        .map_err(rpc_error)?
    {
        symbols.insert(subnet.netuid, subnet.symbol.clone());
        let Some(graph) = rpc
            .subnet_info_get_metagraph(NetUid(subnet.netuid))
            .await
            .map_err(rpc_error)?
        else {
            continue;
        };
        for (i, hotkey) in graph.hotkeys.iter().enumerate() {
            let Some(entry) = hotkeys.get_mut(hotkey) else {
                continue;
            };
            let at = |v: &Vec<u16>| v.get(i).copied().unwrap_or_default();
            entry.registrations.push(Registration {
                netuid: graph.netuid,
                uid: graph.uids.get(i).copied().unwrap_or_default(),
                emission_rao: graph.emission_rao.get(i).copied().unwrap_or_default(),
                incentive: at(&graph.incentive),
                dividends: at(&graph.dividends),
                validator_permit: graph.validator_permit.get(i).copied().unwrap_or_default(),
            });
        }
    }
    let hotkeys: Vec<HotkeyOverview> = hotkeys.into_values().collect();
    let staked_rao = sum(hotkeys.iter().map(|h| h.stake_value_rao));
    let report = Overview {
        wallet: w.name().to_owned(),
        coldkey: coldkey.to_ss58(),
        free_rao,
        staked_rao,
        staked_sale_rao: sum(hotkeys.iter().map(|h| h.stake_sale_value_rao)),
        total_rao: free_rao.saturating_add(staked_rao),
        hotkeys,
    };
    let symbol = |netuid: u16| symbols.get(&netuid).map_or("α", String::as_str);
    out.show(&report, || {
        let mut t = table(&[
            "hotkey",
            "netuid",
            "uid",
            "stake",
            "value at spot",
            "if sold now",
            "emission",
        ]);
        for h in &report.hotkeys {
            let label = match &h.name {
                Some(name) => format!("{name} ({})", h.hotkey),
                None => h.hotkey.clone(),
            };
            let mut netuids: Vec<u16> = h
                .registrations
                .iter()
                .map(|r| r.netuid)
                .chain(h.stakes.iter().map(|s| s.netuid))
                .collect();
            netuids.sort_unstable();
            netuids.dedup();
            if netuids.is_empty() {
                t.add_row(vec![
                    label.clone(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ]);
            }
            for netuid in netuids {
                let registration = h.registrations.iter().find(|r| r.netuid == netuid);
                let stake = h.stakes.iter().find(|s| s.netuid == netuid);
                let dissolved = stake.is_some_and(|s| s.being_cleaned);
                t.add_row(vec![
                    label.clone(),
                    if dissolved {
                        format!("{netuid} (dissolved, being paid out)")
                    } else {
                        netuid.to_string()
                    },
                    registration.map_or("-".into(), |r| r.uid.to_string()),
                    stake.map_or("-".into(), |s| format_amount(s.alpha_rao, symbol(netuid))),
                    stake.map_or("-".into(), |s| format_amount(s.tao_value_rao, "τ")),
                    stake.map_or("-".into(), |s| format_amount(s.sale_value_rao, "τ")),
                    registration.map_or("-".into(), |r| {
                        format_amount(r.emission_rao, symbol(netuid))
                    }),
                ]);
            }
        }
        t.add_row(vec![
            format!("wallet {} ({})", report.wallet, report.coldkey),
            String::new(),
            String::new(),
            format!("free {}", format_amount(report.free_rao, "τ")),
            format!("staked {}", format_amount(report.staked_rao, "τ")),
            format!("if sold {}", format_amount(report.staked_sale_rao, "τ")),
            format!("total {}", format_amount(report.total_rao, "τ")),
        ]);
        t
    })
}
