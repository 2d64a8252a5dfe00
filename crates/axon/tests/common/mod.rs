//! Shared fixtures of the integration tests: the SDK test wallets, the template's `Dummy`
//! synapse, a raw HTTP sender for tampered requests.

#![allow(dead_code, missing_docs)]

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tao_axon::{Axon, AxonConfig, AxonHandle, Handler, PreparedRequest, Synapse};
use tao_keys::Keypair;

pub const MINER_MN: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";
pub const VALI_MN: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
pub const MINER_SS58: &str = "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe";
pub const VALI_SS58: &str = "5EPCUjPxiHAcNooYipQFWr9NmmXJKpNG5RhcntXwbtUySrgH";

pub fn miner() -> Keypair {
    Keypair::from_phrase(MINER_MN, None).unwrap()
}

pub fn vali() -> Keypair {
    Keypair::from_phrase(VALI_MN, None).unwrap()
}

/// The subnet template's synapse, as the example binaries serve it.
pub use tao_axon::demo::Dummy;

/// Sleeps `millis` before answering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slow {
    pub millis: u64,
}

impl Synapse for Slow {
    const NAME: &'static str = "Slow";
    const REQUIRED_FIELDS: &'static [&'static str] = &["millis"];
    const HASH_FIELDS: &'static [&'static str] = &["millis"];
}

/// Streams the words of `text`, one chunk each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Words {
    pub text: String,
}

impl Synapse for Words {
    const NAME: &'static str = "Words";
    const REQUIRED_FIELDS: &'static [&'static str] = &["text"];
    const HASH_FIELDS: &'static [&'static str] = &["text"];
}

pub fn local_config() -> AxonConfig {
    AxonConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..AxonConfig::default()
    }
}

pub fn dummy_handler() -> Handler<Dummy> {
    Handler::forward(|mut s: Dummy, _| async move {
        s.dummy_output = Some(s.dummy_input * 2);
        Ok(s)
    })
}

pub async fn start(config: AxonConfig, setup: impl FnOnce(&mut Axon)) -> AxonHandle {
    let mut axon = Axon::new(miner(), config);
    axon.attach(dummy_handler());
    axon.attach(Handler::<Slow>::forward(|s, _| async move {
        tokio::time::sleep(Duration::from_millis(s.millis)).await;
        Ok(s)
    }));
    axon.attach(Handler::<Words>::streaming(|s, _, tx| async move {
        for word in s.text.split(' ') {
            tx.send(format!("{word} "))
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }));
    setup(&mut axon);
    axon.serve().await.unwrap()
}

/// A raw reply.
pub struct Raw {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Raw {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Send a (possibly tampered) prepared request.
pub async fn send_raw(p: &PreparedRequest) -> Raw {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut b = http::Request::post(&p.url);
    for (k, v) in &p.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let response = client
        .request(b.body(Full::new(Bytes::from(p.body.clone()))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Raw {
        status,
        headers,
        body,
    }
}

pub fn set_header(p: &mut PreparedRequest, name: &str, value: &str) {
    for (k, v) in &mut p.headers {
        if k == name {
            *v = value.to_owned();
            return;
        }
    }
    p.headers.push((name.to_owned(), value.to_owned()));
}
