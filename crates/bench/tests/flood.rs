//! The bench end to end against an in-process dev node: small, but every transfer it sends
//! must be accepted, finalized once and timed, and the metagraph set-up must fill a subnet.

use std::net::SocketAddr;
use std::time::Duration;

use tao_bench::{FloodConfig, metagraph, run};
use tao_node::service::{self, NodeConfig};

fn free_port() -> Result<u16, std::io::Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_flood_is_finalized_and_timed() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let spec = service::dev_spec();
    let key = service::seed_key(&spec, 0)?;
    let p2p_port = free_port()?;
    let node = tokio::task::block_in_place(|| {
        service::spawn(NodeConfig {
            spec,
            key,
            data_dir: dir.path().to_path_buf(),
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            p2p_port: Some(p2p_port),
            exit_after_finalized: None,
            block_time_ms: Some(50),
            metrics_addr: None,
            rpc_limits: tao_node::rpc::RpcLimits::default(),
        })
    })?;
    let config = FloodConfig {
        endpoints: vec![format!("ws://{}", node.rpc_addr)],
        accounts: 8,
        txs_per_account: 5,
        in_flight: 8,
        rate_per_second: Some(400),
        timeout: Duration::from_secs(30),
        readers: 0,
    };
    let report = run(&config).await?;
    assert_eq!(report.submitted, 40);
    assert_eq!(report.accepted, 40, "{report:?}");
    assert_eq!(report.finalized, 40, "{report:?}");
    assert!(report.rejected.is_empty(), "{report:?}");
    assert!(report.latency_p50 > 0.0 && report.latency_p50 <= report.latency_p99);
    assert!(report.blocks >= 1 && report.max_block_txs <= 40);
    assert_eq!(report.reads_per_second, 0.0);
    // A second run on the same chain continues from the accounts' current nonces, with
    // readers loading the RPC meanwhile.
    let again = run(&FloodConfig {
        readers: 2,
        ..config.clone()
    })
    .await?;
    assert_eq!(again.finalized, 40, "{again:?}");
    assert!(again.reads_per_second > 0.0, "{again:?}");

    // The metagraph bench's set-up fills a subnet to the size asked, and reads are timed.
    let client = tao_client::Client::connect(&config.endpoints[0], Duration::from_secs(10)).await?;
    let netuid = tao_primitives::NetUid(1);
    let neurons = metagraph::fill_subnet(&client, netuid, 12, Duration::from_secs(30)).await?;
    assert_eq!(neurons, 12);
    let reads = metagraph::time_reads(&client, netuid, 3).await?;
    assert_eq!(reads.runs, 3);
    assert!(reads.min > 0.0 && reads.min <= reads.p50 && reads.p50 <= reads.p90);
    tokio::task::block_in_place(|| node.stop())?;
    Ok(())
}
