//! A small in-memory chain for integration tests: signs transactions with dev keys, executes
//! blocks through the real state machine and checks the invariants after every block.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use tao_keys::Keypair;
use tao_primitives::{AccountId, Hash256, NetUid};
use tao_state::block::{BlockOutcome, Header, Receipt, execute_block};
use tao_state::overlay::{Item, Overlay};
use tao_state::schema::Accounts;
use tao_state::spec::{ChainSpec, genesis_store};
use tao_state::store::MemoryStore;
use tao_types::error::TxError;
use tao_types::tx::{Call, Mortality, SignedTx, UnsignedTx};

pub struct TestChain {
    pub store: MemoryStore,
    pub genesis_hash: Hash256,
    pub height: u64,
    pub author: Option<AccountId>,
    pub last: Option<BlockOutcome>,
}

/// Dev key pairs, derived once per thread (derivation runs PBKDF2).
pub fn key(uri: &str) -> Keypair {
    thread_local! {
        static KEYS: std::cell::RefCell<std::collections::BTreeMap<String, Keypair>> = Default::default();
    }
    KEYS.with(|keys| {
        keys.borrow_mut()
            .entry(uri.to_owned())
            .or_insert_with(|| Keypair::from_uri(uri).expect("dev uri"))
            .clone()
    })
}

pub fn id(uri: &str) -> AccountId {
    AccountId(key(uri).public().to_bytes())
}

impl TestChain {
    pub fn local() -> Self {
        Self::with_spec(&ChainSpec::local())
    }

    pub fn with_spec(spec: &ChainSpec) -> Self {
        let (store, genesis) = genesis_store(spec).expect("genesis");
        tao_state::invariants::check(&store).expect("genesis invariants");
        TestChain {
            store,
            genesis_hash: genesis.genesis_hash,
            height: 0,
            author: Some(id("//Ferdie")),
            last: None,
        }
    }

    pub fn get<I: Item>(&self, key: &I::Key) -> Option<I::Value> {
        Overlay::new(&self.store).get::<I>(key).expect("decodes")
    }

    pub fn free(&self, uri: &str) -> u64 {
        self.get::<Accounts>(&id(uri)).map_or(0, |a| a.free_rao)
    }

    pub fn nonce(&self, who: &AccountId) -> u64 {
        self.get::<Accounts>(who).map_or(0, |a| a.nonce)
    }

    /// Signs `call` by `uri` with the account's next nonce plus `offset`.
    pub fn sign_with(&self, uri: &str, call: Call, offset: u64) -> SignedTx {
        let pair = key(uri);
        let signer = AccountId(pair.public().to_bytes());
        let tx = UnsignedTx {
            signer,
            nonce: self.nonce(&signer) + offset,
            mortality: Mortality {
                birth: self.height + 1,
                period: 64,
            },
            call,
        };
        let signature = pair
            .sign(&tx.signing_payload(&self.genesis_hash))
            .to_bytes();
        SignedTx { tx, signature }
    }

    pub fn sign(&self, uri: &str, call: Call) -> SignedTx {
        self.sign_with(uri, call, 0)
    }

    /// Executes a block; panics if it is invalid or breaks an invariant.
    pub fn block(&mut self, txs: &[SignedTx]) -> &BlockOutcome {
        let header = Header {
            height: self.height + 1,
            timestamp_ms: (self.height + 1) * 1000,
            author: self.author,
        };
        let outcome = execute_block(&self.store, &header, txs).expect("valid block");
        self.store.apply(&outcome.changes);
        self.height += 1;
        if let Err(broken) = tao_state::invariants::check(&self.store) {
            panic!("invariant broken after block {}: {broken}", self.height);
        }
        self.last = Some(outcome);
        self.last.as_ref().unwrap()
    }

    /// One transaction in its own block; returns its receipt.
    pub fn submit(&mut self, uri: &str, call: Call) -> Receipt {
        let tx = self.sign(uri, call);
        self.block(&[tx]).receipts[0].clone()
    }

    /// Like [`submit`], asserting success.
    pub fn ok(&mut self, uri: &str, call: Call) -> Receipt {
        let receipt = self.submit(uri, call);
        assert_eq!(receipt.result, Ok(()), "call failed");
        receipt
    }

    /// Like [`submit`], returning the call's error.
    pub fn err(&mut self, uri: &str, call: Call) -> TxError {
        self.submit(uri, call).result.expect_err("call should fail")
    }

    pub fn empty_blocks(&mut self, count: u64) {
        for _ in 0..count {
            self.block(&[]);
        }
    }

    /// A builder for the next block, to try transactions one by one.
    pub fn builder(&self) -> tao_state::block::BlockBuilder<'_> {
        let header = Header {
            height: self.height + 1,
            timestamp_ms: (self.height + 1) * 1000,
            author: self.author,
        };
        tao_state::block::BlockBuilder::begin(&self.store, &header).expect("next block")
    }

    /// Why a free call (weights, serving) would not be included.
    pub fn free_call_error(&self, uri: &str, call: Call) -> TxError {
        let tx = self.sign(uri, call);
        match self.builder().apply(&tx) {
            Err(tao_types::error::InvalidTx::FreeCallFailed(error)) => error,
            other => panic!("expected a failing free call, got {other:?}"),
        }
    }

    pub fn root(&self) -> Hash256 {
        self.last
            .as_ref()
            .map_or(Hash256::default(), |b| b.state_root)
    }
}

pub const SN1: NetUid = NetUid(1);
pub const SN2: NetUid = NetUid(2);
pub const TAO: u64 = 1_000_000_000;
