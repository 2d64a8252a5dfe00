//! JSON-RPC against a running in-process single-validator node (`--dev`-like: the local spec
//! with validator 0 only, real tokio runtime, loopback p2p, temporary data directory).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use jsonrpsee_http_client::HttpClientBuilder;
use jsonrpsee_ws_client::WsClientBuilder;
use parity_scale_codec::Encode;
use tao_node::service::{self, NodeConfig};
use tao_primitives::AccountId;
use tao_rpc_api::{BlockId, Bytes, HeaderView, TaoApiClient, TxStatus, codes};
use tao_types::tx::{Call, Mortality, SignedTx, UnsignedTx};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Block time of the test node, ms.
const BLOCK_TIME_MS: u64 = 100;

/// A dev node with 100 ms blocks, and the address of its metrics endpoint.
fn start(
    dir: &std::path::Path,
) -> Result<(service::NodeHandle, SocketAddr), Box<dyn std::error::Error>> {
    let spec = service::dev_spec();
    let key = service::seed_key(&spec, 0)?;
    let metrics_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let node = service::spawn(NodeConfig {
        spec,
        key,
        data_dir: dir.to_path_buf(),
        rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        p2p_port: Some(free_port()),
        exit_after_finalized: None,
        block_time_ms: Some(BLOCK_TIME_MS),
        metrics_addr: Some(metrics_addr),
        rpc_limits: tao_node::rpc::RpcLimits::default(),
    })?;
    Ok((node, metrics_addr))
}

/// The value of the first sample of `name` (with any labels) in a Prometheus scrape.
fn sample(scrape: &str, name: &str) -> Option<f64> {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn scrape(addr: SocketAddr) -> Result<String, Box<dyn std::error::Error>> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: node\r\n\r\n")
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    if !response.starts_with("HTTP/1.1 200") {
        return Err(format!("metrics: {response}").into());
    }
    Ok(response)
}

fn account(uri: &str) -> AccountId {
    let pair = tao_keys::Keypair::from_uri(uri).expect("dev key");
    AccountId(pair.public().to_bytes())
}

fn transfer(nonce: u64, amount_rao: u64) -> SignedTx {
    let alice = tao_keys::Keypair::from_uri("//Alice").expect("dev key");
    let tx = UnsignedTx {
        signer: account("//Alice"),
        nonce,
        mortality: Mortality {
            birth: 0,
            period: 4_096,
        },
        call: Call::Transfer {
            dest: account("//Bob"),
            amount_rao,
        },
    };
    let genesis_hash = service::dev_spec().genesis().expect("genesis").genesis_hash;
    let signature = alice.sign(&tx.signing_payload(&genesis_hash)).to_bytes();
    SignedTx { tx, signature }
}

fn code_of(error: &jsonrpsee::core::client::Error) -> Option<i32> {
    match error {
        jsonrpsee::core::client::Error::Call(object) => Some(object.code()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_answers_and_a_watched_transfer_finalizes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (node, metrics_addr) = tokio::task::block_in_place(|| start(dir.path()))?;
    let url = format!("http://{}", node.rpc_addr);
    let http = HttpClientBuilder::default().build(&url)?;
    let ws = WsClientBuilder::default()
        .build(format!("ws://{}", node.rpc_addr))
        .await?;

    // Blocks finalize on a single validator.
    let mut heads = ws.chain_subscribe_finalized_heads().await?;
    let first: HeaderView = tokio::time::timeout(Duration::from_secs(30), heads.next())
        .await?
        .ok_or("subscription ended")??;
    let second: HeaderView = tokio::time::timeout(Duration::from_secs(30), heads.next())
        .await?
        .ok_or("subscription ended")??;
    assert_eq!(second.number, first.number + 1);
    assert_eq!(second.parent_hash, first.hash);
    // Blocks are paced by the block time.
    assert!(second.timestamp_ms >= first.timestamp_ms + BLOCK_TIME_MS);

    let health = http.system_health().await?;
    assert!(health.finalized_number >= first.number);
    assert!(health.best_number >= health.finalized_number);
    assert!(!health.should_have_peers);
    assert_eq!(health.peers, 0);
    let spec = http.system_chain_spec().await?;
    assert_eq!(spec["id"], "tao-local");

    // Headers, blocks and events by height, by hash and of the head.
    let genesis = http
        .chain_get_header(Some(BlockId::Number(0)))
        .await?
        .ok_or("no genesis")?;
    assert_eq!(genesis.number, 0);
    let by_hash = http
        .chain_get_header(Some(BlockId::Hash(first.hash.clone())))
        .await?;
    assert_eq!(by_hash.as_ref(), Some(&first));
    let block = http
        .chain_get_block(Some(BlockId::Number(first.number)))
        .await?
        .ok_or("no block")?;
    assert_eq!(block.header, first);
    assert!(http.chain_get_block(None).await?.is_some());
    assert!(
        http.chain_get_header(Some(BlockId::Number(1 << 40)))
            .await?
            .is_none()
    );
    assert!(
        http.chain_get_events(Some(BlockId::Number(first.number)))
            .await?
            .is_some()
    );
    let genesis_hash = http.chain_get_genesis_hash().await?;
    assert_eq!(
        genesis_hash.0,
        service::dev_spec().genesis()?.genesis_hash.0.to_vec()
    );
    let head = http.chain_get_finalized_head().await?;
    assert_eq!(head.0.len(), 32);

    // State reads.
    let alice = account("//Alice");
    let alice_text = tao_types::serde_account::to_text(&alice);
    let before = http.state_get_account(alice_text.clone()).await?;
    assert!(before.free_rao > 0);
    assert_eq!(http.account_next_index(alice_text.clone()).await?, 0);
    let subnets = http.subnet_info_get_subnets_info().await?;
    assert!(!subnets.is_empty());
    let netuid = tao_primitives::NetUid(subnets[subnets.len() - 1].netuid);
    assert!(http.subnet_info_get_subnet_info(netuid).await?.is_some());
    assert!(
        http.subnet_info_get_subnet_hyperparams(netuid)
            .await?
            .is_some()
    );
    assert!(http.subnet_info_get_dynamic_info(netuid).await?.is_some());
    assert!(http.subnet_info_get_metagraph(netuid).await?.is_some());
    assert!(http.subnet_info_get_lock_cost().await? > 0);
    assert!(http.subnet_info_get_burn(netuid).await?.is_some());
    let neurons = http.neuron_info_get_neurons(netuid).await?;
    assert!(!neurons.is_empty());
    assert!(
        http.neuron_info_get_neuron(netuid, tao_primitives::Uid(0))
            .await?
            .is_some()
    );
    http.stake_info_get_stake_info_for_coldkey(alice_text.clone())
        .await?;
    http.delegate_info_get_delegates().await?;
    let globals = http.state_get_global_params().await?;
    assert!(globals.base_fee_rao > 0 && globals.max_take >= globals.min_take);
    let owner_hotkey = neurons[0].hotkey;
    let commits = http
        .subnet_info_get_weight_commits(netuid, tao_types::serde_account::to_text(&owner_hotkey))
        .await?;
    assert!(commits.is_empty(), "no commits at genesis: {commits:?}");
    let bad_hotkey = http
        .subnet_info_get_weight_commits(netuid, "not-an-address".into())
        .await;
    assert_eq!(
        bad_hotkey.as_ref().err().and_then(code_of),
        Some(codes::BAD_PARAMS)
    );
    assert!(
        http.subnet_info_get_subnet_info(tao_primitives::NetUid(999))
            .await?
            .is_none()
    );

    // Malformed parameters.
    let bad = http.state_get_account("not-an-address".into()).await;
    assert_eq!(
        bad.as_ref().err().and_then(code_of),
        Some(codes::BAD_PARAMS)
    );
    let bad_hex: Result<Bytes, _> = http
        .request("author_submitExtrinsic", rpc_params!["0xzz"])
        .await;
    assert_eq!(
        bad_hex.as_ref().err().and_then(code_of),
        Some(codes::BAD_PARAMS)
    );
    let garbage = http.author_submit_extrinsic(Bytes(vec![1, 2, 3])).await;
    assert_eq!(
        garbage.as_ref().err().and_then(code_of),
        Some(codes::INVALID_TRANSACTION)
    );
    let short_hash = http
        .chain_get_header(Some(BlockId::Hash(Bytes(vec![1; 5]))))
        .await;
    assert_eq!(
        short_hash.as_ref().err().and_then(code_of),
        Some(codes::BAD_PARAMS)
    );
    let mut forged = transfer(0, 1);
    forged.signature[0] ^= 1;
    let forged = http.author_submit_extrinsic(Bytes(forged.encode())).await;
    assert_eq!(
        forged.as_ref().err().and_then(code_of),
        Some(codes::INVALID_TRANSACTION)
    );
    // A nonce further ahead than a node keeps waiting is refused with its typed reason.
    let far_ahead = http
        .author_submit_extrinsic(Bytes(transfer(10_000, 1).encode()))
        .await;
    let reason = match &far_ahead {
        Err(jsonrpsee::core::client::Error::Call(object)) => {
            tao_rpc_api::invalid_transaction_of(object)
        }
        _ => None,
    };
    assert!(matches!(
        reason,
        Some(tao_types::error::InvalidTx::NonceTooFarAhead { expected: 0, .. })
    ));
    // Oversized request: refused by the server's body limit.
    let huge = Bytes(vec![0; tao_node::rpc::MAX_REQUEST_BYTES as usize]);
    assert!(http.author_submit_extrinsic(huge).await.is_err());
    // The server still answers after all of that.
    http.system_health().await?;

    // A transfer submitted and watched until finalized; a second one submitted plainly.
    let started = Instant::now();
    let watched = transfer(0, 7_000);
    let mut watch = ws.author_submit_and_watch(Bytes(watched.encode())).await?;
    let mut statuses = Vec::new();
    while let Some(status) = tokio::time::timeout(Duration::from_secs(30), watch.next()).await? {
        let status = status?;
        let done = matches!(
            status,
            TxStatus::Finalized { .. } | TxStatus::Dropped { .. }
        );
        statuses.push(status);
        if done {
            break;
        }
    }
    assert_eq!(statuses.first(), Some(&TxStatus::Ready), "{statuses:?}");
    let Some(TxStatus::Finalized {
        number, success, ..
    }) = statuses.last().cloned()
    else {
        return Err(format!("not finalized: {statuses:?}").into());
    };
    assert!(success);
    // Ready, then in a block (seen when the block was proposed, before it was final), then
    // finalized in that same block.
    let [
        _,
        TxStatus::InBlock {
            block,
            number: in_number,
        },
        TxStatus::Finalized {
            block: final_block, ..
        },
    ] = statuses.as_slice()
    else {
        return Err(format!("unexpected statuses: {statuses:?}").into());
    };
    assert_eq!((block, *in_number), (final_block, number));
    eprintln!("watched transfer finalized in {:?}", started.elapsed());
    let events = http
        .chain_get_events(Some(BlockId::Number(number)))
        .await?
        .ok_or("no events")?;
    assert_eq!(events.receipts.len(), 1);
    assert!(events.receipts[0].success);
    let included = http
        .chain_get_block(Some(BlockId::Number(number)))
        .await?
        .ok_or("no block")?;
    assert_eq!(included.extrinsics, vec![Bytes(watched.encode())]);
    assert_eq!(http.account_next_index(alice_text.clone()).await?, 1);
    let hash = http
        .author_submit_extrinsic(Bytes(transfer(1, 9).encode()))
        .await?;
    assert_eq!(hash.0.len(), 32);
    assert_eq!(http.account_next_index(alice_text.clone()).await?, 2);
    // Replaying the finalized nonce is rejected with the state machine's message.
    let stale = http
        .author_submit_extrinsic(Bytes(transfer(0, 7_000).encode()))
        .await;
    assert_eq!(
        stale.as_ref().err().and_then(code_of),
        Some(codes::INVALID_TRANSACTION)
    );
    let after = http.state_get_account(alice_text).await?;
    assert!(after.free_rao < before.free_rao);

    // The Prometheus endpoint has our metrics next to the engine's.
    let metrics = scrape(metrics_addr).await?;
    let finalized = sample(&metrics, "tao_finalized_height").ok_or("no tao_finalized_height")?;
    assert!(finalized >= number as f64, "{finalized} < {number}");
    let accepted = sample(&metrics, "tao_tx_accepted_total");
    assert!(accepted.is_some_and(|n| n >= 2.0), "{metrics}");
    for reason in ["bad_signature", "stale_nonce"] {
        let line = format!("tao_tx_rejected_total{{reason=\"{reason}\"}}");
        assert!(metrics.contains(&line), "no {line} in {metrics}");
    }
    for histogram in [
        "tao_finality_latency_seconds",
        "tao_block_execution_seconds",
    ] {
        let count = sample(&metrics, &format!("{histogram}_count"));
        assert!(count.is_some_and(|n| n >= 1.0), "{histogram}: {metrics}");
    }
    assert!(sample(&metrics, "tao_peers").is_some(), "{metrics}");

    drop(ws);
    tokio::task::block_in_place(|| node.stop())?;
    Ok(())
}

#[test]
fn a_restarted_node_keeps_its_finalized_blocks() -> TestResult {
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let (node, _) = start(dir.path())?;
    let http = HttpClientBuilder::default().build(format!("http://{}", node.rpc_addr))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut height = 0;
    while height < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        height = runtime.block_on(http.system_health())?.finalized_number;
    }
    assert!(height >= 3, "only {height} blocks finalized");
    let header = runtime
        .block_on(http.chain_get_header(Some(BlockId::Number(3))))?
        .ok_or("no header")?;
    node.stop()?;

    let (node, _) = start(dir.path())?;
    let http = HttpClientBuilder::default().build(format!("http://{}", node.rpc_addr))?;
    let again = runtime.block_on(http.chain_get_header(Some(BlockId::Number(3))))?;
    assert_eq!(again, Some(header));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut after = 0;
    while after <= height && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        after = runtime.block_on(http.system_health())?.finalized_number;
    }
    assert!(
        after > height,
        "no progress after restart: {after} <= {height}"
    );
    node.stop()?;
    Ok(())
}
