//! How fast `tao subnets metagraph` answers for a full subnet.
//!
//! [`fill_subnet`] makes a subnet hold `uids` neurons: `//Alice` (the local chains' sudo key)
//! lets it take that many and stops the burn from rising with each registration, then
//! registers hotkeys `//BenchHot0`, `//BenchHot1`, ... until the metagraph is that large.
//! [`time_reads`] times the metagraph read over JSON-RPC; [`time_command`] times the real
//! `tao subnets metagraph` process, connection and rendering included.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tao_client::Client;
use tao_keys::Keypair;
use tao_primitives::{AccountId, NetUid};
use tao_rpc_api::TaoApiClient as _;
use tao_types::tx::{Call, HyperparamValue};

use crate::percentile;

/// Registrations `//Alice` signs per round (below the pool's per-sender limit).
const REGISTRATION_ROUND: u32 = 200;

/// Timings of one kind of request, seconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timing {
    /// Runs measured.
    pub runs: usize,
    /// Fastest.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
}

impl Timing {
    fn of(mut seconds: Vec<f64>) -> Timing {
        seconds.sort_by(f64::total_cmp);
        Timing {
            runs: seconds.len(),
            min: seconds.first().copied().unwrap_or(0.0),
            p50: percentile(&seconds, 50),
            p90: percentile(&seconds, 90),
        }
    }
}

async fn neurons(client: &Client, netuid: NetUid) -> anyhow::Result<u16> {
    let graph = client
        .rpc()
        .await?
        .subnet_info_get_metagraph(netuid)
        .await?;
    Ok(graph.map_or(0, |graph| graph.n))
}

/// Makes subnet `netuid` hold `uids` neurons (see the module docs); returns how many it has.
pub async fn fill_subnet(
    client: &Client,
    netuid: NetUid,
    uids: u16,
    timeout: Duration,
) -> anyhow::Result<u16> {
    let alice = Keypair::from_uri("//Alice")?;
    for value in [
        HyperparamValue::MaxAllowedUids(uids),
        HyperparamValue::BurnIncreaseMultMilli(1_000),
    ] {
        let call = Call::SetHyperparam { netuid, value };
        let done = client
            .submit_and_watch(&alice, call, timeout, |_| {})
            .await
            .context("setting the subnet up (needs the sudo key //Alice, as on local chains)")?;
        if !done.success {
            bail!("setting the subnet up failed: {:?}", done.error);
        }
    }
    let mut next_hotkey = 0u32;
    loop {
        let have = neurons(client, netuid).await?;
        if have >= uids {
            return Ok(have);
        }
        let missing = u32::from(uids - have).min(REGISTRATION_ROUND);
        let mut last = None;
        for _ in 0..missing {
            let hotkey = Keypair::from_uri(&format!("//BenchHot{next_hotkey}"))?;
            next_hotkey += 1;
            let call = Call::BurnedRegister {
                netuid,
                hotkey: AccountId(hotkey.public().to_bytes()),
                limit_rao: u64::MAX,
            };
            let tx = client.sign(&alice, call).await?;
            // A hotkey registered by an earlier run is refused; the loop counts neurons.
            if client.submit(&tx).await.is_ok() {
                last = Some(tx);
            }
        }
        let Some(last) = last else {
            bail!("no registration was accepted on subnet {}", netuid.0);
        };
        // Wait until the last registration is final (the committed nonce passed it).
        let deadline = Instant::now() + timeout;
        while client
            .rpc()
            .await?
            .state_get_account(alice.public().to_ss58())
            .await?
            .nonce
            <= last.tx.nonce
        {
            if Instant::now() > deadline {
                bail!("the registrations were not finalized within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Times `runs` metagraph reads over one open connection.
pub async fn time_reads(client: &Client, netuid: NetUid, runs: usize) -> anyhow::Result<Timing> {
    let rpc = client.rpc().await?;
    let mut seconds = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let graph = rpc.subnet_info_get_metagraph(netuid).await?;
        seconds.push(started.elapsed().as_secs_f64());
        if graph.is_none() {
            bail!("subnet {} does not exist", netuid.0);
        }
    }
    Ok(Timing::of(seconds))
}

/// Times `runs` complete `tao subnets metagraph NETUID --network URL [extra]` processes.
pub fn time_command(
    tao: &Path,
    url: &str,
    netuid: NetUid,
    extra: &[&str],
    runs: usize,
) -> anyhow::Result<Timing> {
    let mut seconds = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let status = Command::new(tao)
            .args([
                "subnets",
                "metagraph",
                &netuid.0.to_string(),
                "--network",
                url,
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("running {}", tao.display()))?;
        seconds.push(started.elapsed().as_secs_f64());
        if !status.success() {
            bail!("`tao subnets metagraph` failed: {status}");
        }
    }
    Ok(Timing::of(seconds))
}
