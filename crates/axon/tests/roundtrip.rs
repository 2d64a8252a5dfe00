//! Rust dendrite ↔ Rust axon: round trips, streaming, every rejection path, concurrency.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use tao_axon::signing::{now_ns, parse_signature, verify_message};
use tao_axon::{AllowList, AxonConfig, AxonTarget, Dendrite, Handler};
use tao_keys::{Keypair, PublicKey, VerifyingKey};

const T: Duration = Duration::from_secs(12);

fn dummy(n: i64) -> Dummy {
    Dummy {
        dummy_input: n,
        dummy_output: None,
    }
}

/// sdk.md §2.11: with the same nonce and uuid, our request has the Python dendrite's headers and
/// body (the signature is randomised, so it is checked by verification).
#[test]
fn request_matches_the_worked_example() {
    let d = Dendrite::with_identity(
        vali(),
        "127.0.0.1",
        "f845f842-e8c8-11f1-85c1-02fc00000001".into(),
    );
    let target: AxonTarget = format!("127.0.0.1:8911:{MINER_SS58}").parse().unwrap();
    let p = d
        .prepare_with_nonce(&target, &dummy(21), 12.0, 1795608528163740329)
        .unwrap();
    assert_eq!(p.url, "http://127.0.0.1:8911/Dummy");
    let h: HashMap<&str, &str> = p
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (k, v) in [
        ("name", "Dummy"),
        ("timeout", "12.0"),
        ("bt_header_axon_ip", "127.0.0.1"),
        ("bt_header_axon_port", "8911"),
        ("bt_header_axon_hotkey", MINER_SS58),
        ("bt_header_dendrite_ip", "127.0.0.1"),
        ("bt_header_dendrite_version", "10005000"),
        ("bt_header_dendrite_nonce", "1795608528163740329"),
        (
            "bt_header_dendrite_uuid",
            "f845f842-e8c8-11f1-85c1-02fc00000001",
        ),
        ("bt_header_dendrite_hotkey", VALI_SS58),
        ("bt_header_input_obj_dummy_input", "MA=="),
        (
            "computed_body_hash",
            "92458924edc5f6c19fb90d1d8cec7ec179fd1a4dc293e2d97f8578f6f13ba970",
        ),
        ("content-type", "application/json"),
    ] {
        assert_eq!(h.get(k).copied(), Some(v), "{k}");
    }
    assert!(h.contains_key("header_size") && h.contains_key("total_size"));
    // The same header set as Python's (aiohttp's own headers aside).
    assert_eq!(h.len(), 16, "{h:?}");
    assert_eq!(
        p.message,
        format!(
            "1795608528163740329.{VALI_SS58}.{MINER_SS58}.f845f842-e8c8-11f1-85c1-02fc00000001.92458924edc5f6c19fb90d1d8cec7ec179fd1a4dc293e2d97f8578f6f13ba970"
        )
    );
    let sig = parse_signature(h["bt_header_dendrite_signature"]).unwrap();
    let key = VerifyingKey::new(&PublicKey::from_ss58(VALI_SS58).unwrap()).unwrap();
    assert!(verify_message(&key, p.message.as_bytes(), &sig));
    // Body: the Python body with its own signature and total size.
    let python = r#"{"name": "Dummy", "timeout": 12.0, "total_size": 2981, "header_size": 0, "dendrite": {"status_code": null, "status_message": null, "process_time": null, "ip": "127.0.0.1", "port": null, "version": 10005000, "nonce": 1795608528163740329, "uuid": "f845f842-e8c8-11f1-85c1-02fc00000001", "hotkey": "5EPCUjPxiHAcNooYipQFWr9NmmXJKpNG5RhcntXwbtUySrgH", "signature": "SIG"}, "axon": {"status_code": null, "status_message": null, "process_time": null, "ip": "127.0.0.1", "port": 8911, "version": null, "nonce": null, "uuid": null, "hotkey": "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe", "signature": null}, "computed_body_hash": "", "dummy_input": 21, "dummy_output": null}"#;
    let mut ours: serde_json::Value = serde_json::from_slice(&p.body).unwrap();
    let mut theirs: serde_json::Value = serde_json::from_str(python).unwrap();
    assert_eq!(ours["total_size"].to_string(), h["total_size"]);
    ours["total_size"] = 0.into();
    theirs["total_size"] = 0.into();
    ours["dendrite"]["signature"] = "SIG".into();
    assert_eq!(ours, theirs);
    // Field order as pydantic's.
    let text = String::from_utf8(p.body.clone()).unwrap();
    assert!(text.starts_with(r#"{"name":"Dummy","timeout":12.0,"total_size":"#));
    assert!(text.ends_with(r#""computed_body_hash":"","dummy_input":21,"dummy_output":null}"#));
}

#[tokio::test]
async fn round_trip_and_response_shape() {
    let axon = start(local_config(), |_| {}).await;
    let d = Dendrite::new(vali());
    let r = d.call(&axon.target(), dummy(21), T).await;
    assert_eq!(r.status_code, 200, "{}", r.status_message);
    assert_eq!(r.status_message, "Success");
    assert_eq!(r.synapse.unwrap().dummy_output, Some(42));
    assert_eq!(r.axon.status_code, Some(200));
    assert!(r.axon.process_time.is_some());
    // The raw reply carries what a Python dendrite reads.
    let raw = send_raw(&d.prepare(&axon.target(), &dummy(5), 12.0).unwrap()).await;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("content-type"), Some("application/json"));
    assert_eq!(raw.header("bt_header_axon_status_code"), Some("200"));
    assert_eq!(raw.header("bt_header_axon_status_message"), Some("Success"));
    assert_eq!(raw.header("bt_header_axon_hotkey"), Some(MINER_SS58));
    assert_eq!(raw.header("bt_header_dendrite_hotkey"), Some(VALI_SS58));
    assert_eq!(raw.header("bt_header_input_obj_dummy_input"), Some("MA=="));
    assert!(raw.header("bt_header_axon_process_time").is_some());
    assert!(raw.header("bt_header_axon_signature").is_none());
    let json = raw.json();
    assert_eq!(json["dummy_output"], 10);
    assert_eq!(json["axon"]["status_code"], 200);
    assert_eq!(json["axon"]["status_message"], "Success");
    assert_eq!(json["name"], "Dummy");
    // The built-in ping route.
    let ping = d.call(&axon.target(), tao_axon::Ping {}, T).await;
    assert_eq!(ping.status_code, 200);
    assert!(
        axon.metrics_text()
            .contains("axon_requests_total{synapse=\"Dummy\",status=\"200\"} 2")
    );
}

#[tokio::test]
async fn bad_signature_is_401() {
    let axon = start(local_config(), |_| {}).await;
    let d = Dendrite::new(vali());
    let mut p = d.prepare(&axon.target(), &dummy(21), 12.0).unwrap();
    set_header(
        &mut p,
        "bt_header_dendrite_signature",
        &format!("0x{}", "00".repeat(64)),
    );
    let r = send_raw(&p).await;
    assert_eq!(r.status, 401);
    assert!(
        r.message()
            .starts_with("Not Verified with error: Signature mismatch with "),
        "{}",
        r.message()
    );
    assert_eq!(r.header("bt_header_axon_status_code"), Some("401"));
    // Bare hex (no 0x) is refused as the SDK does.
    let mut p = d.prepare(&axon.target(), &dummy(21), 12.0).unwrap();
    let sig = p
        .headers
        .iter()
        .find(|(k, _)| k == "bt_header_dendrite_signature")
        .unwrap()
        .1
        .clone();
    set_header(&mut p, "bt_header_dendrite_signature", &sig[2..]);
    let r = send_raw(&p).await;
    assert_eq!(r.status, 401);
    assert!(
        r.message().contains("Invalid signature format"),
        "{}",
        r.message()
    );
    // Signed by another key than the one claimed.
    let other = Dendrite::new(Keypair::from_uri("//Eve").unwrap());
    let mut p = other.prepare(&axon.target(), &dummy(21), 12.0).unwrap();
    set_header(&mut p, "bt_header_dendrite_hotkey", VALI_SS58);
    assert_eq!(send_raw(&p).await.status, 401);
    // Missing hotkey / nonce / signature.
    for (header, msg) in [
        (
            "bt_header_dendrite_hotkey",
            "No SS58 formatted address or public key provided.",
        ),
        ("bt_header_dendrite_nonce", "Missing Nonce"),
        ("bt_header_dendrite_signature", "Missing Signature"),
    ] {
        let mut p = d.prepare(&axon.target(), &dummy(21), 12.0).unwrap();
        p.headers.retain(|(k, _)| k != header);
        let r = send_raw(&p).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.message(), format!("Not Verified with error: {msg}"));
    }
}

#[tokio::test]
async fn replayed_and_stale_nonces_are_401() {
    let axon = start(local_config(), |_| {}).await;
    let d = Dendrite::new(vali());
    let p = d.prepare(&axon.target(), &dummy(21), 12.0).unwrap();
    assert_eq!(send_raw(&p).await.status, 200);
    let r = send_raw(&p).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.message(),
        "Not Verified with error: Nonce is too old, a newer one was last processed"
    );
    let stale = d
        .prepare_with_nonce(&axon.target(), &dummy(21), 12.0, now_ns() - 60_000_000_000)
        .unwrap();
    let r = send_raw(&stale).await;
    assert_eq!(r.status, 401);
    assert!(
        r.message()
            .contains("acceptable delta is 16.00 seconds but request was 60.0"),
        "{}",
        r.message()
    );
}

#[tokio::test]
async fn wrong_receiver_is_401() {
    let axon = start(local_config(), |_| {}).await;
    let d = Dendrite::new(vali());
    let mut target = axon.target();
    target.hotkey = Keypair::from_uri("//Ferdie").unwrap().public().to_ss58();
    let r = d.call(&target, dummy(21), T).await;
    assert_eq!(r.status_code, 401);
    assert!(
        r.status_message.contains("Signature mismatch"),
        "{}",
        r.status_message
    );
}

#[tokio::test]
async fn tampered_body_is_500_and_bad_body_422() {
    let axon = start(local_config(), |_| {}).await;
    let d = Dendrite::new(vali());
    let mut p = d.prepare(&axon.target(), &dummy(21), 12.0).unwrap();
    p.body = String::from_utf8(p.body)
        .unwrap()
        .replace("\"dummy_input\":21", "\"dummy_input\":22")
        .into_bytes();
    let r = send_raw(&p).await;
    assert_eq!(r.status, 500);
    assert!(r.message().contains("hash mismatch"), "{}", r.message());
    let mut p = d.prepare(&axon.target(), &dummy(21), 12.0).unwrap();
    p.body = String::from_utf8(p.body)
        .unwrap()
        .replace("\"dummy_input\":21", "\"dummy_input\":\"notanint\"")
        .into_bytes();
    assert_eq!(send_raw(&p).await.status, 422);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let config = AxonConfig {
        max_body_bytes: 1024,
        ..local_config()
    };
    let axon = start(config, |_| {}).await;
    let d = Dendrite::new(vali());
    let r = d
        .call(
            &axon.target(),
            Words {
                text: "x".repeat(4096),
            },
            T,
        )
        .await;
    assert_eq!(r.status_code, 413, "{}", r.status_message);
}

#[tokio::test]
async fn blacklisted_unregistered_and_low_stake_callers_are_403() {
    let axon = start(local_config(), |a| {
        a.attach(dummy_handler().blacklist(|c| {
            if c.hotkey_ss58 == VALI_SS58 {
                Err("unknown hotkey".into())
            } else {
                Ok(())
            }
        }));
    })
    .await;
    let r = Dendrite::new(vali())
        .call(&axon.target(), dummy(1), T)
        .await;
    assert_eq!(r.status_code, 403);
    assert_eq!(
        r.status_message,
        "Forbidden. Key is blacklisted: unknown hotkey."
    );
    drop(axon);

    let bob = Keypair::from_uri("//Bob").unwrap();
    let list = AllowList(
        [(vali().public(), 10.0), (bob.public(), 1.0)]
            .into_iter()
            .collect(),
    );
    let config = AxonConfig {
        min_stake: Some(5.0),
        ..local_config()
    };
    let axon = start(config, |a| {
        a.stake_view(Arc::new(list));
    })
    .await;
    assert_eq!(
        Dendrite::new(vali())
            .call(&axon.target(), dummy(1), T)
            .await
            .status_code,
        200
    );
    let low = Dendrite::new(bob).call(&axon.target(), dummy(1), T).await;
    assert_eq!(low.status_code, 403, "{}", low.status_message);
    let stranger = Dendrite::new(Keypair::from_uri("//Dave").unwrap())
        .call(&axon.target(), dummy(1), T)
        .await;
    assert_eq!(stranger.status_code, 403);
    assert!(stranger.status_message.contains("not registered"));
}

#[tokio::test]
async fn timeouts_are_408_on_both_sides() {
    let axon = start(local_config(), |_| {}).await;
    let d = Dendrite::new(vali());
    // Dendrite side: the call gives up at its timeout.
    let started = std::time::Instant::now();
    let r = d
        .call(
            &axon.target(),
            Slow { millis: 3000 },
            Duration::from_millis(300),
        )
        .await;
    assert_eq!(r.status_code, 408);
    assert_eq!(r.status_message, "Request timeout after 0.3 seconds");
    assert!(started.elapsed() < Duration::from_secs(2));
    // Axon side: the synapse timeout header is enforced even if the client waits longer.
    let mut p = d
        .prepare(&axon.target(), &Slow { millis: 3000 }, 0.3)
        .unwrap();
    set_header(&mut p, "timeout", "0.3");
    let r = send_raw(&p).await;
    assert_eq!(r.status, 408);
    assert_eq!(r.message(), "Response timeout after: 0.3s");
}

#[tokio::test]
async fn unknown_synapse_is_404_and_unreachable_503() {
    let axon = start(local_config(), |_| {}).await;
    let d = Dendrite::new(vali());
    let mut p = d.prepare(&axon.target(), &dummy(1), 12.0).unwrap();
    p.url = p.url.replace("/Dummy", "/Nope");
    let r = send_raw(&p).await;
    assert_eq!(r.status, 404);
    assert!(
        r.message()
            .starts_with("Synapse name 'Nope' not found. Available synapses ["),
        "{}",
        r.message()
    );
    let mut closed = axon.target();
    drop(axon);
    closed.port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = d.call(&closed, dummy(1), T).await;
    assert_eq!(r.status_code, 503);
    assert_eq!(
        r.status_message,
        format!("Service unavailable at 127.0.0.1:{}/Dummy", closed.port)
    );
}

#[tokio::test]
async fn rate_limit_429_and_full_queue_503() {
    let config = AxonConfig {
        rate_limit: Some((1.0, 2.0)),
        ..local_config()
    };
    let axon = start(config, |_| {}).await;
    let d = Dendrite::new(vali());
    let codes: Vec<u16> = d
        .query(&vec![axon.target(); 4], &dummy(1), T)
        .await
        .iter()
        .map(|r| r.status_code)
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 2, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 2, "{codes:?}");
    drop(axon);

    let config = AxonConfig {
        max_concurrent: 1,
        max_queue: 1,
        ..local_config()
    };
    let axon = start(config, |_| {}).await;
    let results = d
        .query(&vec![axon.target(); 4], &Slow { millis: 300 }, T)
        .await;
    let codes: Vec<u16> = results.iter().map(|r| r.status_code).collect();
    assert_eq!(codes.iter().filter(|c| **c == 503).count(), 2, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 2, "{codes:?}");
}

#[tokio::test]
async fn streaming_round_trip() {
    let axon = start(local_config(), |_| {}).await;
    let d = Dendrite::new(vali());
    let mut s = d
        .call_stream(
            &axon.target(),
            &Words {
                text: "hello from the stream".into(),
            },
            T,
        )
        .await
        .unwrap();
    assert_eq!(s.status_code, 200);
    assert_eq!(s.axon.status_code, Some(200));
    let mut chunks = Vec::new();
    while let Some(c) = s.next_chunk().await {
        chunks.push(String::from_utf8(c.unwrap().to_vec()).unwrap());
    }
    assert_eq!(chunks.concat(), "hello from the stream ");
    assert!(!chunks.is_empty());
    // A refused streaming call reports the status and yields nothing.
    let bad = Dendrite::new(vali());
    let mut target = axon.target();
    target.hotkey = VALI_SS58.into();
    let mut s = bad
        .call_stream(&target, &Words { text: "x".into() }, T)
        .await
        .unwrap();
    assert_eq!(s.status_code, 401);
    assert!(s.next_chunk().await.is_none());
}

/// Streams one chunk, waits `millis`, streams another.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Lingering {
    millis: u64,
}

impl tao_axon::Synapse for Lingering {
    const NAME: &'static str = "Lingering";
    const REQUIRED_FIELDS: &'static [&'static str] = &["millis"];
    const HASH_FIELDS: &'static [&'static str] = &["millis"];
}

/// A stream keeps its slot among `max_concurrent` until its handler ends, not just until its
/// headers are sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_holds_its_slot_until_it_ends() {
    let config = AxonConfig {
        max_concurrent: 1,
        max_queue: 0,
        ..local_config()
    };
    let axon = start(config, |axon| {
        axon.attach(Handler::<Lingering>::streaming(|s, _, tx| async move {
            tx.send("first ").await.map_err(|e| e.to_string())?;
            tokio::time::sleep(Duration::from_millis(s.millis)).await;
            tx.send("last").await.map_err(|e| e.to_string())?;
            Ok(())
        }));
    })
    .await;
    let d = Dendrite::new(vali());
    let mut stream = d
        .call_stream(&axon.target(), &Lingering { millis: 1_500 }, T)
        .await
        .unwrap();
    assert_eq!(stream.status_code, 200);
    assert_eq!(stream.next_chunk().await.unwrap().unwrap(), "first ");
    // The stream is still running, so the only slot is taken and nothing may queue.
    let busy = d.call(&axon.target(), dummy(1), T).await;
    assert_eq!(busy.status_code, 503, "{:?}", busy.status_message);
    while stream.next_chunk().await.is_some() {}
    // Ended: the slot is free again (its release may trail the end of the stream by a moment).
    let mut freed = None;
    for _ in 0..50 {
        let reply = d.call(&axon.target(), dummy(2), T).await;
        if reply.status_code == 200 {
            freed = reply.synapse.and_then(|s| s.dummy_output);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(freed, Some(4));
}

/// Many requests in flight from one dendrite (one uuid) to one axon: none trips the nonce check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_from_one_dendrite() {
    let config = AxonConfig {
        rate_limit: None,
        // 500 requests at once open up to 500 connections from one address.
        max_connections_per_ip: 512,
        ..local_config()
    };
    let axon = start(config, |_| {}).await;
    let d = Dendrite::new(vali());
    let results = d.query(&vec![axon.target(); 500], &dummy(7), T).await;
    for r in &results {
        assert_eq!(r.status_code, 200, "{}", r.status_message);
        assert_eq!(r.synapse.as_ref().unwrap().dummy_output, Some(14));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_to_many_axons() {
    let mut axons = Vec::new();
    for _ in 0..16 {
        axons.push(start(local_config(), |_| {}).await);
    }
    let mut targets: Vec<AxonTarget> = axons.iter().map(|a| a.target()).collect();
    targets.push(AxonTarget {
        ip: "127.0.0.1".into(),
        port: 1,
        hotkey: MINER_SS58.into(),
    });
    let results = Dendrite::new(vali()).query(&targets, &dummy(3), T).await;
    assert_eq!(results.len(), 17);
    assert!(
        results[..16]
            .iter()
            .all(|r| r.synapse.as_ref().and_then(|s| s.dummy_output) == Some(6))
    );
    assert_eq!(results[16].status_code, 503);
}

#[tokio::test]
async fn custom_verify_hook_runs_after_the_signature() {
    let axon = start(local_config(), |a| {
        a.attach(
            dummy_handler()
                .verify(|c| {
                    if c.version.unwrap_or(0) >= 10_000_000 {
                        Err("too new".into())
                    } else {
                        Ok(())
                    }
                })
                .priority(|_| 1.0),
        );
    })
    .await;
    let r = Dendrite::new(vali())
        .call(&axon.target(), dummy(1), T)
        .await;
    assert_eq!(r.status_code, 401);
    assert_eq!(r.status_message, "Not Verified with error: too new");
    let _ = Handler::<Dummy>::forward(|s, _| async move { Ok(s) });
}

/// btauth/1 as the alternative scheme: a dendrite signing with it is served; tampering with the
/// body, the nonce or the receiver is refused by the btauth checks.
#[tokio::test]
async fn btauth_requests_are_verified_over_the_raw_body() {
    let axon = start(local_config(), |_| {}).await;
    let d = Dendrite::with_btauth(vali());
    let r = d.call(&axon.target(), dummy(21), T).await;
    assert_eq!(r.status_code, 200, "{:?}", r.status_message);
    assert_eq!(r.synapse.unwrap().dummy_output, Some(42));

    // Any change to the body breaks the btauth signature (even where the SDK hash would pass).
    let mut p = d.prepare(&axon.target(), &dummy(21), 12.0).unwrap();
    p.body.push(b' ');
    let r = send_raw(&p).await;
    assert_eq!(r.status, 401, "{}", r.message());
    assert!(r.message().contains("BadSignature"), "{}", r.message());

    // Replays are refused.
    let p = d.prepare(&axon.target(), &dummy(21), 12.0).unwrap();
    assert_eq!(send_raw(&p).await.status, 200);
    assert_eq!(send_raw(&p).await.status, 401);

    // A request for another axon is refused with 403.
    let other = AxonTarget {
        hotkey: VALI_SS58.to_owned(),
        ..axon.target()
    };
    let mut p = d.prepare(&other, &dummy(21), 12.0).unwrap();
    p.url = axon.target().url("Dummy");
    assert_eq!(send_raw(&p).await.status, 403);
}

/// `GET /metrics` serves the Prometheus exposition when enabled, and is an unknown route
/// otherwise.
#[tokio::test]
async fn metrics_are_served_only_when_enabled() {
    async fn get_metrics(addr: std::net::SocketAddr) -> String {
        tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: axon\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut text = String::new();
            stream.read_to_string(&mut text).unwrap();
            text
        })
        .await
        .unwrap()
    }
    let config = AxonConfig {
        serve_metrics: true,
        ..local_config()
    };
    let axon = start(config, |_| {}).await;
    let d = Dendrite::new(vali());
    assert_eq!(d.call(&axon.target(), dummy(1), T).await.status_code, 200);
    let text = get_metrics(axon.local_addr()).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("axon_requests_total{synapse=\"Dummy\",status=\"200\"} 1"),
        "{text}"
    );
    let closed = start(local_config(), |_| {}).await;
    assert!(
        get_metrics(closed.local_addr())
            .await
            .starts_with("HTTP/1.1 404")
    );
}
