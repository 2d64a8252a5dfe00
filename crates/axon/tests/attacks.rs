//! The axon under attack (issue 13): each test replays one denial-of-service attack measured on
//! the axon and asserts on what an honest caller, or the attacker, sees. No timing assertions:
//! read timeouts below only keep a test from hanging when a defence is missing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tao_axon::signing::{new_uuid, now_ns};
use tao_axon::{AllowList, AxonConfig, AxonTarget, Dendrite, PreparedRequest};
use tao_keys::Keypair;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const T: Duration = Duration::from_secs(12);

/// How long a test waits on a socket before concluding the server will never act.
const GUARD: Duration = Duration::from_secs(20);

fn dummy(n: i64) -> Dummy {
    Dummy {
        dummy_input: n,
        dummy_output: None,
    }
}

fn key(name: &str) -> Keypair {
    Keypair::from_uri(&format!("//{name}")).unwrap()
}

/// A request from `keypair` with its own fresh client uuid, as a flood of new clients sends.
fn from_new_client(keypair: Keypair, target: &AxonTarget) -> PreparedRequest {
    Dendrite::with_identity(keypair, "127.0.0.1", new_uuid())
        .prepare(target, &dummy(1), 12.0)
        .unwrap()
}

// ---- Hole 2: nonce table exhaustion ------------------------------------------------------

/// The measured attack: one unregistered key sends signed requests from many fresh uuids. It
/// is refused (403) and leaves nothing in the nonce table, so the honest validator still gets
/// in.
#[tokio::test]
async fn an_unregistered_key_cannot_fill_the_nonce_table() {
    let config = AxonConfig {
        max_nonce_entries: 32,
        ..local_config()
    };
    let list = AllowList([(vali().public(), 10.0)].into_iter().collect());
    let axon = start(config, |a| {
        a.stake_view(Arc::new(list));
    })
    .await;
    let attacker = key("Mallory");
    for _ in 0..200 {
        let reply = send_raw(&from_new_client(attacker.clone(), &axon.target())).await;
        assert_eq!(reply.status, 403, "{}", reply.message());
    }
    let honest = Dendrite::new(vali())
        .call(&axon.target(), dummy(2), T)
        .await;
    assert_eq!(honest.status_code, 200, "{}", honest.status_message);
}

/// An admitted key (an open axon: no stake view) flooding fresh uuids only fills its own share
/// of the table; a new honest client is still served.
#[tokio::test]
async fn one_key_flooding_fresh_uuids_cannot_lock_out_a_new_client() {
    let config = AxonConfig {
        max_nonce_entries: 256,
        rate_limit: None,
        ..local_config()
    };
    let axon = start(config, |_| {}).await;
    let attacker = key("Mallory");
    for _ in 0..600 {
        let reply = send_raw(&from_new_client(attacker.clone(), &axon.target())).await;
        assert!([200, 401].contains(&reply.status), "{}", reply.message());
    }
    let honest = Dendrite::new(vali())
        .call(&axon.target(), dummy(2), T)
        .await;
    assert_eq!(honest.status_code, 200, "{}", honest.status_message);
}

/// Many admitted keys (free keys against an open axon, or registered low-stake keys) fill the
/// table: the oldest of the least-staked entries make room, so a newcomer, and above all a
/// validator with stake, is still served.
#[tokio::test]
async fn a_full_table_still_admits_a_staked_newcomer() {
    let keys: Vec<Keypair> = (0..300).map(|i| key(&format!("flood{i}"))).collect();
    let mut stakes: std::collections::HashMap<_, _> =
        keys.iter().map(|k| (k.public(), 1.0)).collect();
    stakes.insert(vali().public(), 1_000.0);
    let config = AxonConfig {
        max_nonce_entries: 64,
        rate_limit: None,
        ..local_config()
    };
    let axon = start(config, |a| {
        a.stake_view(Arc::new(AllowList(stakes)));
    })
    .await;
    for k in &keys {
        let reply = send_raw(&from_new_client(k.clone(), &axon.target())).await;
        assert!([200, 401].contains(&reply.status), "{}", reply.message());
    }
    let honest = Dendrite::new(vali())
        .call(&axon.target(), dummy(2), T)
        .await;
    assert_eq!(honest.status_code, 200, "{}", honest.status_message);
}

/// A nonce far in the future would keep its entry alive past every window; it is refused.
#[tokio::test]
async fn a_far_future_nonce_is_401() {
    let axon = start(local_config(), |_| {}).await;
    let d = Dendrite::new(vali());
    let future = d
        .prepare_with_nonce(
            &axon.target(),
            &dummy(1),
            12.0,
            now_ns() + 3_600_000_000_000,
        )
        .unwrap();
    let reply = send_raw(&future).await;
    assert_eq!(reply.status, 401, "{}", reply.message());
    assert!(
        reply.message().contains("too far in the future"),
        "{}",
        reply.message()
    );
}

// ---- Hole 4: unauthenticated body reads --------------------------------------------------

/// Declared body size of the flood below: the axon's default limit, 8 MiB.
const FLOOD_BODY_BYTES: usize = 8 << 20;

/// The request line and headers of `p`, declaring a body of `content_length` bytes.
fn head(p: &PreparedRequest, content_length: usize) -> Vec<u8> {
    let path = p.url.splitn(4, '/').nth(3).unwrap_or_default();
    let mut text = format!("POST /{path} HTTP/1.1\r\nhost: axon\r\n");
    for (name, value) in &p.headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!("content-length: {content_length}\r\n\r\n"));
    text.into_bytes()
}

/// Sends `head` and the first `sent` bytes of its body, never the rest, and returns the
/// status of the reply (`None`: no reply before the guard).
async fn status_of_partial_request(
    addr: std::net::SocketAddr,
    head: &[u8],
    sent: usize,
) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // A sender the axon refuses early may find its writes refused too; the reply tells.
    if stream.write_all(head).await.is_ok() {
        let _ = stream.write_all(&vec![b' '; sent]).await;
    }
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while !reply.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(GUARD, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => reply.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
    let line = String::from_utf8_lossy(&reply);
    line.split(' ').nth(1).and_then(|code| code.parse().ok())
}

/// A request signed with btauth/1 whose SDK header signature is forged: the btauth signature
/// covers the body, but the caller is refused on its headers, before the body is read.
fn forged_btauth(target: &AxonTarget) -> PreparedRequest {
    let mut p = Dendrite::with_btauth(key("Mallory"))
        .prepare(target, &dummy(1), 1.0)
        .unwrap();
    set_header(
        &mut p,
        "bt_header_dendrite_signature",
        &format!("0x{}", "00".repeat(64)),
    );
    set_header(
        &mut p,
        "x-bittensor-signature",
        &format!("0x{}", "00".repeat(64)),
    );
    p
}

/// The measured attack: 64 concurrent senders of 8 MiB bodies with bad signatures. Each is
/// refused (401) while almost all of its body is still unsent, so the axon cannot have read or
/// buffered it: memory stays bounded by the connections' read buffers, not by the bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_bodies_are_refused_unread() {
    let axon = start(local_config(), |_| {}).await;
    let addr = axon.local_addr();
    let head = Arc::new(head(&forged_btauth(&axon.target()), FLOOD_BODY_BYTES));
    let senders: Vec<_> = (0..64)
        .map(|_| {
            let head = head.clone();
            tokio::spawn(async move { status_of_partial_request(addr, &head, 64 << 10).await })
        })
        .collect();
    for sender in senders {
        assert_eq!(sender.await.unwrap(), Some(401));
    }
}

/// A caller with a valid signature but not admitted (not registered) is refused before its
/// body is read too; and an admitted btauth caller is still served.
#[tokio::test]
async fn unadmitted_bodies_are_refused_unread() {
    let list = AllowList([(vali().public(), 10.0)].into_iter().collect());
    let axon = start(local_config(), |a| {
        a.stake_view(Arc::new(list));
    })
    .await;
    let stranger = Dendrite::with_btauth(key("Mallory"))
        .prepare(&axon.target(), &dummy(1), 1.0)
        .unwrap();
    let status =
        status_of_partial_request(axon.local_addr(), &head(&stranger, FLOOD_BODY_BYTES), 1024)
            .await;
    assert_eq!(status, Some(403));
    let honest = Dendrite::with_btauth(vali())
        .call(&axon.target(), dummy(3), T)
        .await;
    assert_eq!(honest.status_code, 200, "{}", honest.status_message);
}

/// What a connection buffers before its request is authenticated is bounded too: headers
/// larger than `max_header_bytes` (64 KiB by default) are refused with 431 or a reset, never
/// read in full, so N senders cost the axon at most N × 64 KiB.
#[tokio::test]
async fn oversized_headers_are_refused() {
    let axon = start(local_config(), |_| {}).await;
    let mut head = b"POST /Dummy HTTP/1.1\r\nhost: axon\r\nx-padding: ".to_vec();
    head.resize(head.len() + (256 << 10), b'a');
    head.extend_from_slice(b"\r\ncontent-length: 0\r\n\r\n");
    let status = status_of_partial_request(axon.local_addr(), &head, 0).await;
    assert!(matches!(status, Some(431) | None), "{status:?}");
}

// ---- Hole 3: slow and idle connections, connection exhaustion ----------------------------

/// A connection to `addr` from the loopback address `127.0.0.{last}`, as another client host.
async fn connect_from(last: u8, addr: std::net::SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, last], 0)))
        .unwrap();
    socket.connect(addr).await.unwrap()
}

/// Whether the server closes `stream` (after any reply it sends) before the guard.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(GUARD, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

/// The measured attack held ~1,100 connections open from one host. One address gets at most
/// `max_connections_per_ip`; the next is closed at once, and other hosts are still served.
#[tokio::test]
async fn connections_beyond_the_per_ip_cap_are_closed() {
    let config = AxonConfig {
        max_connections_per_ip: 4,
        ..local_config()
    };
    let axon = start(config, |_| {}).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from(2, axon.local_addr()).await);
    }
    let mut extra = connect_from(2, axon.local_addr()).await;
    assert!(closed_by_server(&mut extra).await);
    let honest = Dendrite::new(vali())
        .call(&axon.target(), dummy(2), T)
        .await;
    assert_eq!(honest.status_code, 200, "{}", honest.status_message);
}

/// Past `max_connections` in all, new connections are closed at once; once the holders go,
/// callers are served again.
#[tokio::test]
async fn connections_beyond_the_global_cap_are_closed() {
    let config = AxonConfig {
        max_connections: 6,
        max_connections_per_ip: 4,
        ..local_config()
    };
    let axon = start(config, |_| {}).await;
    let mut held = Vec::new();
    for host in [2, 2, 2, 2, 3, 3] {
        held.push(connect_from(host, axon.local_addr()).await);
    }
    let mut extra = connect_from(4, axon.local_addr()).await;
    assert!(closed_by_server(&mut extra).await);
    drop(held);
    // The axon notices the closed connections as it polls them; retry until it has.
    let d = Dendrite::new(vali());
    let mut status = 0;
    for _ in 0..100 {
        status = d.call(&axon.target(), dummy(2), T).await.status_code;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200);
}

/// Slowloris: headers that never end. The connection is closed after `header_read_timeout_ms`.
#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    let config = AxonConfig {
        header_read_timeout_ms: 300,
        ..local_config()
    };
    let axon = start(config, |_| {}).await;
    let mut slow = TcpStream::connect(axon.local_addr()).await.unwrap();
    slow.write_all(b"POST /Dummy HTTP/1.1\r\nhost: axon\r\nbt_header_dendrite_")
        .await
        .unwrap();
    assert!(closed_by_server(&mut slow).await);
}

/// A keep-alive connection left idle after its answer is closed after `idle_timeout_ms`,
/// even with a long header-read timeout.
#[tokio::test]
async fn an_idle_connection_is_closed() {
    let config = AxonConfig {
        header_read_timeout_ms: 600_000,
        idle_timeout_ms: 300,
        ..local_config()
    };
    let axon = start(config, |_| {}).await;
    let request = Dendrite::new(vali())
        .prepare(&axon.target(), &dummy(1), 12.0)
        .unwrap();
    let mut idle = TcpStream::connect(axon.local_addr()).await.unwrap();
    idle.write_all(&head(&request, request.body.len()))
        .await
        .unwrap();
    idle.write_all(&request.body).await.unwrap();
    let mut buf = [0u8; 4096];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    assert!(closed_by_server(&mut idle).await);
}

/// Pauses `millis` between its two chunks.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Pausing {
    millis: u64,
}

impl tao_axon::Synapse for Pausing {
    const NAME: &'static str = "Pausing";
    const REQUIRED_FIELDS: &'static [&'static str] = &["millis"];
    const HASH_FIELDS: &'static [&'static str] = &["millis"];
}

/// The idle timeout closes quiet connections, not answers in progress: a stream whose handler
/// is silent for longer than the idle timeout still reaches its end.
#[tokio::test]
async fn a_stream_quiet_for_longer_than_the_idle_timeout_is_not_cut() {
    let config = AxonConfig {
        idle_timeout_ms: 100,
        ..local_config()
    };
    let axon = start(config, |a| {
        a.attach(tao_axon::Handler::<Pausing>::streaming(
            |s, _, tx| async move {
                tx.send("first ").await.map_err(|e| e.to_string())?;
                tokio::time::sleep(Duration::from_millis(s.millis)).await;
                tx.send("last").await.map_err(|e| e.to_string())
            },
        ));
    })
    .await;
    let mut stream = Dendrite::new(vali())
        .call_stream(&axon.target(), &Pausing { millis: 1_000 }, T)
        .await
        .unwrap();
    assert_eq!(stream.status_code, 200);
    assert_eq!(stream.collect().await.unwrap(), b"first last");
}

/// Streams 64 KiB chunks until its client is gone or its deadline passes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Firehose {}

impl tao_axon::Synapse for Firehose {
    const NAME: &'static str = "Firehose";
}

/// A client that asks for a stream and never reads it cannot hold its connection: once the
/// synapse timeout has passed and nothing moves for the idle timeout, the connection is closed
/// with the answer unfinished.
#[tokio::test]
async fn a_client_that_never_reads_its_stream_is_cut_off() {
    let config = AxonConfig {
        max_timeout_s: 1.0,
        idle_timeout_ms: 100,
        ..local_config()
    };
    let axon = start(config, |a| {
        a.attach(tao_axon::Handler::<Firehose>::streaming(
            |_, _, tx| async move {
                while tx.send(vec![b'x'; 64 << 10]).await.is_ok() {}
                Ok(())
            },
        ));
    })
    .await;
    let request = Dendrite::new(vali())
        .prepare(&axon.target(), &Firehose {}, 1.0)
        .unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(axon.local_addr()).await.unwrap();
    stalled
        .write_all(&head(&request, request.body.len()))
        .await
        .unwrap();
    stalled.write_all(&request.body).await.unwrap();
    // Read nothing for a while (well past the 1 s timeout and the 0.1 s idle timeout, even on
    // a loaded machine), then drain what the axon sent.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut received = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match tokio::time::timeout(GUARD, stalled.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => received.extend_from_slice(&buf[..n]),
            Ok(_) => break,
            Err(_) => panic!("the connection is still open"),
        }
    }
    assert!(received.starts_with(b"HTTP/1.1 200"));
    // Cut off: the chunked answer never reached its last (empty) chunk.
    assert!(!received.ends_with(b"0\r\n\r\n"));
}

// ---- A dendrite's memory across a fan-out ------------------------------------------------

/// A stand-in miner answering every request with `reply` bytes of a valid `Dummy` answer
/// (padded with JSON whitespace), of which it sends only the first `sent` and then holds the
/// connection open, until the returned server task is aborted.
async fn miner_replying(reply: usize, sent: usize) -> (AxonTarget, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = AxonTarget {
        ip: "127.0.0.1".into(),
        port: listener.local_addr().unwrap().port(),
        hotkey: MINER_SS58.into(),
    };
    let mut body = br#"{"dummy_input":1,"dummy_output":2}"#.to_vec();
    body.resize(reply, b' ');
    let body = Arc::new(body);
    let server = tokio::spawn(async move {
        // Dropped with the server task, which closes every connection.
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            connections.spawn(answer(stream, body.clone(), sent));
        }
    });
    (target, server)
}

async fn answer(mut stream: TcpStream, body: Arc<Vec<u8>>, sent: usize) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(n) if n > 0 => request.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let head = format!(
        // One answer per connection: the client must not send another request on it.
        "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    if stream.write_all(head.as_bytes()).await.is_ok() {
        let _ = stream.write_all(&body[..sent]).await;
    }
    std::future::pending::<()>().await;
}

/// Replies buffered across every call of a dendrite are bounded by its budget: while one
/// miner holds 700 KiB of a 1 MiB budget with a stalled answer, another's complete 700 KiB
/// answer waits (here past its timeout) instead of adding to memory; once the stalled call
/// ends, the budget is whole again and answers go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dendrite_buffers_at_most_its_budget_across_calls() {
    const KIB: usize = 1024;
    let d = Dendrite::new(vali());
    d.set_max_buffered_bytes(1024 * KIB);
    let (stalled, stalled_server) = miner_replying(2048 * KIB, 700 * KIB).await;
    let (fast, _fast_server) = miner_replying(700 * KIB, 700 * KIB).await;
    let held = tokio::spawn({
        let d = d.clone();
        async move { d.call(&stalled, dummy(1), Duration::from_secs(60)).await }
    });
    let mut buffered = 0;
    for _ in 0..2000 {
        buffered = d.buffered_bytes();
        if buffered >= 600 * KIB {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!((600 * KIB..=1024 * KIB).contains(&buffered), "{buffered}");
    let waiting = d.call(&fast, dummy(1), Duration::from_secs(1)).await;
    assert_eq!(waiting.status_code, 408, "{}", waiting.status_message);
    // The stalled miner goes away: its call fails and gives its share back.
    stalled_server.abort();
    assert_ne!(held.await.unwrap().status_code, 200);
    assert_eq!(d.buffered_bytes(), 0);
    let served = d.call(&fast, dummy(1), T).await;
    assert_eq!(served.status_code, 200, "{}", served.status_message);
    assert_eq!(d.buffered_bytes(), 0);
}
