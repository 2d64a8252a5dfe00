//! `tao stake …`: add, remove, move, swap, transfer (each priced before it is sent, with
//! optional limit prices where the chain takes them) and list.

use anyhow::bail;
use clap::{Args, Subcommand};
use serde::Serialize;
use tao_client::Client;
use tao_primitives::{AccountId, NetUid};
use tao_rpc_api::TaoApiClient;
use tao_types::tx::Call;
use tao_types::views::StakeView;

use crate::amount::{format_amount, parse_amount};
use crate::args::{NetworkArgs, SignerArgs, WalletArgs, address};
use crate::output::{Output, Ss58Text, table, usage};
use crate::quote::{DEFAULT_TOLERANCE_PPM, Market, Markets, Protection, Quote, parse_tolerance};
use crate::tx::{ensure_affordable, rpc_error, send, show_tx};

/// Price protection of a trade ("safe staking"): by default the price may move 0.5 % at most.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Worst acceptable price in τ per α (for `swap`/`move`: origin price / destination price).
    #[arg(
        long = "limit-price",
        value_name = "PRICE",
        conflicts_with_all = ["tolerance", "unsafe_trade"]
    )]
    limit_price: Option<String>,
    /// Worst acceptable price as a distance from the current one: 0.005 or 0.5% [default:
    /// 0.5%].
    #[arg(
        long,
        alias = "rate-tolerance",
        value_name = "TOLERANCE",
        conflicts_with = "unsafe_trade"
    )]
    tolerance: Option<String>,
    /// Execute the part that fits under the limit instead of failing.
    #[arg(long = "allow-partial", alias = "allow-partial-stake")]
    allow_partial: bool,
    /// No price limit: trade at whatever price the pool gives (btcli's --unsafe).
    #[arg(long = "unsafe", alias = "no-safe-staking")]
    unsafe_trade: bool,
}

impl LimitArgs {
    fn protection(&self) -> anyhow::Result<Protection> {
        let protection = match (&self.limit_price, &self.tolerance) {
            (Some(price), _) => Protection::Limit(parse_amount(price).map_err(usage)?),
            (None, Some(tolerance)) => {
                Protection::TolerancePpm(parse_tolerance(tolerance).map_err(usage)?)
            }
            (None, None) if self.unsafe_trade => Protection::None,
            (None, None) => Protection::TolerancePpm(DEFAULT_TOLERANCE_PPM),
        };
        if self.allow_partial && protection == Protection::None {
            return Err(usage(
                "--allow-partial needs a limit: drop --unsafe (or give --limit-price or --tolerance)",
            ));
        }
        Ok(protection)
    }

    /// The protection of a move or transfer: the chain takes no limit for them, so it is
    /// only checked before sending and a partial fill cannot be asked for.
    fn checked_before_sending(&self) -> anyhow::Result<Protection> {
        if self.allow_partial {
            return Err(usage(
                "--allow-partial: the chain takes no limit for moves and transfers; move a smaller --amount",
            ));
        }
        self.protection()
    }
}

/// Stake commands.
#[derive(Debug, Subcommand)]
pub enum StakeCommand {
    /// Stake TAO to a hotkey on a subnet (bought as alpha through the subnet's pool).
    Add {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// TAO to stake (1.5, 1.5tao, 1500000000rao).
        #[arg(long)]
        amount: String,
        /// Hotkey to stake to (SS58); defaults to the wallet's hotkey.
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        #[command(flatten)]
        limit: LimitArgs,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Unstake alpha from a hotkey on a subnet (sold for TAO through the pool).
    Remove {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// Alpha to unstake.
        #[arg(long)]
        amount: String,
        /// Hotkey staked to (SS58); defaults to the wallet's hotkey.
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        #[command(flatten)]
        limit: LimitArgs,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Move stake to another hotkey, on the same or another subnet (same coldkey). Across
    /// subnets the price limit is checked before sending (the chain takes none for moves).
    Move {
        /// Subnet the stake is on.
        #[arg(long = "origin-netuid")]
        origin_netuid: u16,
        /// Subnet to move it to (default: the same).
        #[arg(long = "dest-netuid")]
        dest_netuid: Option<u16>,
        /// Hotkey the stake is on (SS58); defaults to the wallet's hotkey.
        #[arg(long = "origin-hotkey")]
        origin_hotkey: Option<String>,
        /// Hotkey to move it to (SS58).
        #[arg(long = "dest-hotkey")]
        dest_hotkey: String,
        /// Alpha to move.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        limit: LimitArgs,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Swap stake of one hotkey from one subnet to another (sold on one pool, bought on the
    /// other).
    Swap {
        /// Subnet the stake is on.
        #[arg(long = "origin-netuid")]
        origin_netuid: u16,
        /// Subnet to swap it to.
        #[arg(long = "dest-netuid")]
        dest_netuid: u16,
        /// Alpha to swap.
        #[arg(long)]
        amount: String,
        /// Hotkey staked to (SS58); defaults to the wallet's hotkey.
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        #[command(flatten)]
        limit: LimitArgs,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Give stake to another coldkey (same hotkey), possibly on another subnet. Across
    /// subnets the price limit is checked before sending (the chain takes none for transfers).
    Transfer {
        /// The new owner (SS58 coldkey).
        #[arg(long)]
        dest: String,
        /// Subnet the stake is on.
        #[arg(long = "origin-netuid")]
        origin_netuid: u16,
        /// Subnet the new owner receives it on (default: the same).
        #[arg(long = "dest-netuid")]
        dest_netuid: Option<u16>,
        /// Alpha to transfer.
        #[arg(long)]
        amount: String,
        /// Hotkey staked to (SS58); defaults to the wallet's hotkey.
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        #[command(flatten)]
        limit: LimitArgs,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// The wallet's stake positions.
    List {
        #[command(flatten)]
        network: NetworkArgs,
        #[command(flatten)]
        wallet: WalletArgs,
    },
}

/// `tao stake …`.
pub async fn run(command: StakeCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        StakeCommand::List { network, wallet } => list(&network, &wallet, out).await,
        StakeCommand::Add {
            netuid,
            amount,
            hotkey_address,
            limit,
            signer,
        } => {
            let order =
                Order::read(&signer, &amount, hotkey_address.as_deref(), &limit, netuid).await?;
            let quote = Quote::add(
                &order.market,
                order.amount,
                order.protection,
                limit.allow_partial,
            );
            let call = Call::AddStake {
                hotkey: order.hotkey,
                netuid: NetUid(netuid),
                amount_rao: order.amount,
                limit: quote.price_limit(),
            };
            execute(&order.client, &signer, call, quote, order.amount, out).await
        }
        StakeCommand::Remove {
            netuid,
            amount,
            hotkey_address,
            limit,
            signer,
        } => {
            let order =
                Order::read(&signer, &amount, hotkey_address.as_deref(), &limit, netuid).await?;
            let quote = Quote::remove(
                &order.market,
                order.amount,
                order.protection,
                limit.allow_partial,
            );
            let call = Call::RemoveStake {
                hotkey: order.hotkey,
                netuid: NetUid(netuid),
                alpha: order.amount,
                limit: quote.price_limit(),
            };
            execute(&order.client, &signer, call, quote, 0, out).await
        }
        StakeCommand::Move {
            origin_netuid,
            dest_netuid,
            origin_hotkey,
            dest_hotkey,
            amount,
            limit,
            signer,
        } => {
            let alpha = parse_amount(&amount).map_err(usage)?;
            let protection = limit.checked_before_sending()?;
            let dest_hotkey = address(&dest_hotkey)?;
            let origin_hotkey = staked_hotkey(&signer, origin_hotkey.as_deref())?;
            let dest_netuid = dest_netuid.unwrap_or(origin_netuid);
            if origin_hotkey == dest_hotkey && origin_netuid == dest_netuid {
                return Err(usage(
                    "origin and destination are the same: change --dest-hotkey or --dest-netuid",
                ));
            }
            let client = signer.network.client().await?;
            let (origin, dest) = markets(&client, origin_netuid, dest_netuid).await?;
            let quote = Quote::relocate("move", &origin, &dest, alpha, protection, false);
            let call = Call::MoveStake {
                origin_hotkey,
                dest_hotkey,
                origin_netuid: NetUid(origin_netuid),
                dest_netuid: NetUid(dest_netuid),
                alpha,
            };
            execute(&client, &signer, call, quote, 0, out).await
        }
        StakeCommand::Swap {
            origin_netuid,
            dest_netuid,
            amount,
            hotkey_address,
            limit,
            signer,
        } => {
            if origin_netuid == dest_netuid {
                return Err(usage(
                    "--origin-netuid and --dest-netuid are the same: a swap changes subnet",
                ));
            }
            let alpha = parse_amount(&amount).map_err(usage)?;
            let protection = limit.protection()?;
            let hotkey = staked_hotkey(&signer, hotkey_address.as_deref())?;
            let client = signer.network.client().await?;
            let (origin, dest) = markets(&client, origin_netuid, dest_netuid).await?;
            let quote = Quote::relocate(
                "swap",
                &origin,
                &dest,
                alpha,
                protection,
                limit.allow_partial,
            );
            let call = Call::SwapStake {
                hotkey,
                origin_netuid: NetUid(origin_netuid),
                dest_netuid: NetUid(dest_netuid),
                alpha,
                limit: quote.price_limit(),
            };
            execute(&client, &signer, call, quote, 0, out).await
        }
        StakeCommand::Transfer {
            dest,
            origin_netuid,
            dest_netuid,
            amount,
            hotkey_address,
            limit,
            signer,
        } => {
            let dest_coldkey = address(&dest)?;
            let alpha = parse_amount(&amount).map_err(usage)?;
            let protection = limit.checked_before_sending()?;
            let hotkey = staked_hotkey(&signer, hotkey_address.as_deref())?;
            let dest_netuid = dest_netuid.unwrap_or(origin_netuid);
            let client = signer.network.client().await?;
            let (origin, dest) = markets(&client, origin_netuid, dest_netuid).await?;
            let quote = Quote::relocate("transfer", &origin, &dest, alpha, protection, false);
            let call = Call::TransferStake {
                dest_coldkey,
                hotkey,
                origin_netuid: NetUid(origin_netuid),
                dest_netuid: NetUid(dest_netuid),
                alpha,
            };
            execute(&client, &signer, call, quote, 0, out).await
        }
    }
}

/// The origin and destination markets of a move.
async fn markets(client: &Client, origin: u16, dest: u16) -> anyhow::Result<(Market, Market)> {
    let rpc = client.rpc().await?;
    let origin_market = Market::read(&*rpc, origin).await?;
    let dest_market = if dest == origin {
        origin_market.clone()
    } else {
        Market::read(&*rpc, dest).await?
    };
    Ok((origin_market, dest_market))
}

/// Shows the quote, refuses what the chain would refuse at today's prices (nothing is sent,
/// no fee), checks the balance (`spend_rao` plus the fee), asks, sends, and reports with the
/// quote under `"quote"`.
async fn execute(
    client: &Client,
    signer: &SignerArgs,
    call: Call,
    quote: Quote,
    spend_rao: u64,
    out: &Output,
) -> anyhow::Result<()> {
    if let Some(why) = &quote.refusal {
        if !out.json {
            eprintln!("{}", quote.table());
        }
        bail!("not sent (no fee charged): {why}");
    }
    let coldkey = signer.wallet.wallet()?.coldkeypub()?;
    ensure_affordable(client, &coldkey, spend_rao, &call).await?;
    if !out.confirm(Some(&quote.table()), "Send this transaction?")? {
        bail!("cancelled: nothing was sent");
    }
    let pair = signer.coldkey(out)?;
    let report = send(client, &signer.finality, &pair, call, out).await?;
    show_tx(out, &report, Some(("quote", &quote)))?;
    report.into_result()
}

/// A stake position with what selling it would return.
#[derive(Debug, Serialize)]
struct StakeRow {
    #[serde(flatten)]
    position: StakeView,
    /// What selling the whole position now would return, rao (after price impact and swap
    /// fee); `tao_value_rao` is the spot value.
    sale_value_rao: u64,
}

/// `tao stake list`.
async fn list(network: &NetworkArgs, wallet: &WalletArgs, out: &Output) -> anyhow::Result<()> {
    let coldkey = wallet.wallet()?.coldkeypub()?;
    let rpc = network.client().await?.rpc().await?;
    let stakes = rpc
        .stake_info_get_stake_info_for_coldkey(coldkey.to_ss58())
        .await
        .map_err(rpc_error)?;
    // A dissolved subnet being cleaned has no market: the chain pays its positions out.
    let markets = Markets::read(
        &*rpc,
        stakes.iter().filter(|s| !s.being_cleaned).map(|s| s.netuid),
    )
    .await?;
    let rows: Vec<StakeRow> = stakes
        .into_iter()
        .map(|position| StakeRow {
            sale_value_rao: if position.being_cleaned {
                position.tao_value_rao
            } else {
                markets.sale_value_rao(position.netuid, position.alpha_rao)
            },
            position,
        })
        .collect();
    out.show(&rows, || {
        let mut t = table(&["netuid", "hotkey", "stake", "value at spot", "if sold now"]);
        for row in &rows {
            let s = &row.position;
            t.add_row(vec![
                if s.being_cleaned {
                    format!("{} (dissolved, being paid out)", s.netuid)
                } else {
                    s.netuid.to_string()
                },
                s.hotkey.to_ss58_text(),
                format_amount(s.alpha_rao, markets.symbol(s.netuid)),
                format_amount(s.tao_value_rao, "τ"),
                format_amount(row.sale_value_rao, "τ"),
            ]);
        }
        t
    })
}

/// The hotkey given as SS58, or the wallet's.
/// What `stake add` and `stake remove` both read before quoting: the amount (τ or α), the
/// price protection, the staked hotkey, a connection and the subnet's market.
struct Order {
    amount: u64,
    protection: Protection,
    hotkey: AccountId,
    client: Client,
    market: Market,
}

impl Order {
    async fn read(
        signer: &SignerArgs,
        amount: &str,
        hotkey_address: Option<&str>,
        limit: &LimitArgs,
        netuid: u16,
    ) -> anyhow::Result<Order> {
        let amount = parse_amount(amount).map_err(usage)?;
        let protection = limit.protection()?;
        let hotkey = staked_hotkey(signer, hotkey_address)?;
        let client = signer.network.client().await?;
        let market = Market::read(&*client.rpc().await?, netuid).await?;
        Ok(Order {
            amount,
            protection,
            hotkey,
            client,
            market,
        })
    }
}

fn staked_hotkey(signer: &SignerArgs, given: Option<&str>) -> anyhow::Result<AccountId> {
    match given {
        Some(text) => address(text),
        None => Ok(AccountId(signer.hotkey_public()?.to_bytes())),
    }
}
