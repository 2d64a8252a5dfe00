//! Property tests: the axon's request parsing never panics and always answers with one of the
//! SDK's status codes, whatever the headers and body; Python float printing round-trips.

mod common;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tao_axon::headers::RequestHeaders;
use tao_axon::pyrepr::py_float;
use tao_axon::{Dendrite, Envelope, body_hash};

const NAMES: &[&str] = &[
    "name",
    "timeout",
    "computed_body_hash",
    "bt_header_dendrite_hotkey",
    "bt_header_dendrite_nonce",
    "bt_header_dendrite_uuid",
    "bt_header_dendrite_signature",
    "bt_header_dendrite_version",
    "bt_header_axon_hotkey",
    "bt_header_axon_port",
    "bt_header_axon_process_time",
    "bt_header_input_obj_dummy_input",
    "content-length",
    "content-type",
];

fn header_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        proptest::sample::select(NAMES).prop_map(str::to_owned),
        "bt_header_[a-z_]{0,12}",
    ];
    let value = prop_oneof![
        "[ -~]{0,40}",
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        Just(VALI_SS58.to_owned()),
        Just(format!("0x{}", "ab".repeat(64))),
    ];
    proptest::collection::vec((name, value), 0..12)
}

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        "[ -~]{0,200}".prop_map(String::into_bytes),
        (any::<i64>(), "[ -~]{0,20}").prop_map(|(n, s)| {
            serde_json::json!({"dummy_input": n, "name": s, "dendrite": {"nonce": n}, "timeout": s})
                .to_string()
                .into_bytes()
        }),
    ]
}

#[test]
fn random_requests_get_sdk_status_codes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let axon = rt.block_on(start(local_config(), |_| {}));
    let valid = Dendrite::new(vali());
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut runner = TestRunner::new(Config {
        cases: 96,
        ..Config::default()
    });
    let strategy = (
        header_strategy(),
        body_strategy(),
        proptest::sample::select(&["/Dummy", "/Words", "/Nope", "/", "/Dummy/x"][..]),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(headers, body, path, start_valid)| {
            // Half the cases start from a validly signed request and corrupt it.
            let mut all = if start_valid {
                valid
                    .prepare(
                        &axon.target(),
                        &Dummy {
                            dummy_input: 3,
                            dummy_output: None,
                        },
                        12.0,
                    )
                    .unwrap()
                    .headers
            } else {
                Vec::new()
            };
            all.extend(headers);
            let mut b = http::Request::post(format!("http://{}{path}", axon.local_addr()));
            for (k, v) in &all {
                if k == "content-length" {
                    continue;
                }
                if let (Ok(n), Ok(v)) = (
                    http::HeaderName::from_bytes(k.as_bytes()),
                    http::HeaderValue::from_str(v),
                ) {
                    b = b.header(n, v);
                }
            }
            let req = b.body(Full::new(Bytes::from(body))).unwrap();
            let (status, reply) = rt.block_on(async {
                let r = client.request(req).await.unwrap();
                let status = r.status().as_u16();
                (status, r.into_body().collect().await.unwrap().to_bytes())
            });
            prop_assert!(
                [200, 401, 403, 404, 408, 413, 422, 429, 500, 503].contains(&status),
                "status {status}"
            );
            let json: serde_json::Value = serde_json::from_slice(&reply).unwrap();
            prop_assert!(status == 200 || json["message"].is_string());
            Ok(())
        })
        .unwrap();
    // Still serving.
    let r = rt.block_on(valid.call(
        &axon.target(),
        Dummy {
            dummy_input: 2,
            dummy_output: None,
        },
        std::time::Duration::from_secs(5),
    ));
    assert_eq!(r.status_code, 200);
}

proptest! {
    #[test]
    fn parsers_never_panic(headers in header_strategy(), body in body_strategy()) {
        let mut map = http::HeaderMap::new();
        for (k, v) in &headers {
            if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(v)) {
                map.append(n, v);
            }
        }
        let _ = RequestHeaders::parse(&map);
        if let Ok(env) = Envelope::<Dummy>::from_json(&body) {
            let _ = body_hash(&env.synapse);
            let _ = env.to_json();
        }
    }

    #[test]
    fn python_floats_round_trip(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let text = py_float(f);
        prop_assert_eq!(text.parse::<f64>().unwrap(), f);
        prop_assert!(text.contains('.') || text.contains('e'));
    }
}
