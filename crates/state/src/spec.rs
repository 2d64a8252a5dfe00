//! Chain specifications (JSON) and the genesis state they describe.
//!
//! Accounts in a spec are SS58 addresses or secret URIs of well-known development keys
//! (`//Alice`, `//Bob`, ...); a URI is only a convenience for local networks, the state
//! stores public keys. Two specs ship with the crate: [`ChainSpec::local`] (fast blocks,
//! tempo 10, funded dev accounts, two subnets ready) and [`ChainSpec::finney`] (the live
//! network's defaults and 12 s blocks, with no sudo key and no balances: an operator adds
//! their own accounts and validators, never a well-known development key).

use parity_scale_codec::Encode;
use serde::{Deserialize, Serialize};
use tao_keys::{Keypair, PublicKey};
use tao_primitives::{AccountId, Hash256, NetUid};

use crate::calls;
use crate::ctx::Ctx;
use crate::error::{StateError, TxError};
use crate::overlay::Overlay;
use crate::params::{GlobalParams, Hyperparams};
use crate::schema::{
    AccountInfo, Accounts, Chain, ChainInfo, DefaultHparams, Economy, Globals, Hparams,
    SubnetEconomy, SubnetInfo, Subnets,
};
use crate::store::{ChangeSet, MemoryStore, Store};

/// Why a chain spec cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The JSON does not parse or has unknown fields.
    #[error("chain spec: {0}")]
    Json(String),
    /// An account is neither an SS58 address nor a secret URI.
    #[error("chain spec: bad account {account:?}: {reason}")]
    BadAccount {
        /// The text given.
        account: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The spec is inconsistent (the message says how).
    #[error("chain spec: {0}")]
    Invalid(String),
    /// Building the genesis state failed.
    #[error("chain spec: genesis: {0}")]
    Genesis(String),
}

/// A validator of the chain, for the node (consensus identities are ed25519, not accounts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSpec {
    /// Display name.
    pub name: String,
    /// Hex ed25519 public key of the validator's node, or a seed name the node derives it
    /// from on local networks.
    pub identity: String,
    /// `host:port` of its p2p socket.
    pub address: String,
}

/// A subnet that exists from genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetSpec {
    /// Owner coldkey (pays the lock from its genesis balance).
    pub owner: String,
    /// Owner hotkey (uid 0).
    pub owner_hotkey: String,
    /// Emissions on from block 1 (as if `start_call` was made at genesis).
    #[serde(default)]
    pub started: bool,
    /// Overrides of the subnet's hyperparameters.
    #[serde(default)]
    pub hyperparams: Option<Hyperparams>,
}

/// A chain specification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    /// Human name.
    pub name: String,
    /// Short id, part of the genesis hash (so two chains never share one).
    pub id: String,
    /// Target block time, ms.
    pub block_time_ms: u64,
    /// Sudo account, if any.
    #[serde(default)]
    pub sudo: Option<String>,
    /// Genesis balances: `[account, rao]`.
    #[serde(default)]
    pub balances: Vec<(String, u64)>,
    /// Consensus validators.
    #[serde(default)]
    pub validators: Vec<ValidatorSpec>,
    /// Chain-wide parameters (missing fields take the live defaults).
    #[serde(default)]
    pub globals: GlobalParams,
    /// Hyperparameters for new subnets (missing fields take the live defaults).
    #[serde(default)]
    pub subnet_defaults: Hyperparams,
    /// Subnets registered at genesis, in netuid order from 1.
    #[serde(default)]
    pub subnets: Vec<SubnetSpec>,
}

/// The genesis state of a spec.
#[derive(Clone, Debug)]
pub struct Genesis {
    /// The state's entries.
    pub changes: ChangeSet,
    /// Its root.
    pub state_root: Hash256,
    /// The chain's identity: signed into every transaction.
    pub genesis_hash: Hash256,
}

impl ChainSpec {
    /// Parses a spec.
    pub fn from_json(text: &str) -> Result<ChainSpec, SpecError> {
        serde_json::from_str(text).map_err(|error| SpecError::Json(error.to_string()))
    }

    /// The built-in spec of that name (`local` or `finney`).
    pub fn named(name: &str) -> Option<ChainSpec> {
        match name {
            "local" | "dev" => Some(ChainSpec::local()),
            "finney" => Some(ChainSpec::finney()),
            _ => None,
        }
    }

    /// Local networks: 1 s blocks, tempo 10, dev accounts funded, two subnets running.
    pub fn local() -> ChainSpec {
        // The shipped file is tested to parse; an empty spec would fail loudly at genesis.
        ChainSpec::from_json(include_str!("../specs/local.json"))
            .unwrap_or_else(|_| ChainSpec::empty("local"))
    }

    /// The live network's defaults with 12 s blocks; no sudo, no balances, no validators.
    pub fn finney() -> ChainSpec {
        ChainSpec::from_json(include_str!("../specs/finney.json"))
            .unwrap_or_else(|_| ChainSpec::empty("finney"))
    }

    fn empty(id: &str) -> ChainSpec {
        ChainSpec {
            name: id.to_owned(),
            id: id.to_owned(),
            block_time_ms: 12_000,
            sudo: None,
            balances: Vec::new(),
            validators: Vec::new(),
            globals: GlobalParams::default(),
            subnet_defaults: Hyperparams::default(),
            subnets: Vec::new(),
        }
    }

    /// Builds the genesis state.
    pub fn genesis(&self) -> Result<Genesis, SpecError> {
        let mut globals = self.globals.clone();
        globals
            .check()
            .map_err(|field| SpecError::Invalid(format!("globals.{field} is out of range")))?;
        globals.sudo = self.sudo.as_deref().map(parse_account).transpose()?;
        let mut balances: Vec<(AccountId, u64)> = Vec::with_capacity(self.balances.len());
        for (account, rao) in &self.balances {
            balances.push((parse_account(account)?, *rao));
        }
        let issuance = balances
            .iter()
            .try_fold(0u64, |sum, (_, rao)| sum.checked_add(*rao));
        let issuance = issuance.ok_or_else(|| SpecError::Invalid("balances overflow".into()))?;
        if issuance > crate::economics::emission::MAX_ISSUANCE_RAO {
            return Err(SpecError::Invalid(
                "balances exceed the 21 M TAO cap".into(),
            ));
        }
        let empty = MemoryStore::default();
        let mut state = Overlay::new(&empty);
        state.put::<Globals>(&(), &globals);
        state.put::<DefaultHparams>(&(), &self.subnet_defaults);
        state.put::<Chain>(
            &(),
            &ChainInfo {
                total_issuance_rao: issuance,
                ..ChainInfo::default()
            },
        );
        for (account, rao) in &balances {
            let mut info = state
                .get_or_default::<Accounts>(account)
                .map_err(genesis_error)?;
            info.free_rao = info.free_rao.saturating_add(*rao);
            state.put::<Accounts>(account, &AccountInfo { nonce: 0, ..info });
        }
        put_root_subnet(&mut state);
        let mut ctx = Ctx::new(state, 0, None, globals);
        for subnet in &self.subnets {
            self.genesis_subnet(&mut ctx, subnet)?;
        }
        let (state, _) = ctx.into_parts();
        let (first, lattice) = state.into_changes().map_err(genesis_error)?;
        let genesis_hash = Hash256::blake2(&(b"tao/genesis/v1", &self.id, lattice.root()).encode());
        // Record the genesis hash in the state itself (it is signed into transactions).
        let layered = crate::store::Layered::new(&empty, &first);
        let mut state = Overlay::new(&layered);
        let mut chain = state
            .get::<Chain>(&())
            .map_err(genesis_error)?
            .unwrap_or_default();
        chain.genesis_hash = genesis_hash;
        state.put::<Chain>(&(), &chain);
        let (second, lattice) = state.into_changes().map_err(genesis_error)?;
        Ok(Genesis {
            changes: ChangeSet::merged(&first, &second),
            state_root: lattice.root(),
            genesis_hash,
        })
    }

    fn genesis_subnet(&self, ctx: &mut Ctx<'_>, subnet: &SubnetSpec) -> Result<(), SpecError> {
        let owner = parse_account(&subnet.owner)?;
        let hotkey = parse_account(&subnet.owner_hotkey)?;
        calls::subnets::register_network(ctx, &owner, &hotkey, None).map_err(tx_error)?;
        let netuid = ctx
            .state
            .scan::<Subnets>(&())
            .map_err(genesis_error)?
            .into_iter()
            .filter(|(_, info)| info.owner_hotkey == hotkey)
            .map(|(netuid, _)| netuid)
            .max()
            .ok_or_else(|| SpecError::Genesis("subnet not created".into()))?;
        if let Some(params) = &subnet.hyperparams {
            ctx.state.put::<Hparams>(&netuid, params);
        }
        if subnet.started {
            let mut info = ctx.subnet(netuid).map_err(tx_error)?;
            info.first_emission_block = Some(1);
            ctx.state.put::<Subnets>(&netuid, &info);
        }
        Ok(())
    }
}

/// The root subnet (netuid 0): a 1:1 pool where TAO staked to a hotkey counts on every subnet
/// through `tao_weight`.
fn put_root_subnet(state: &mut Overlay<'_>) {
    state.put::<Subnets>(
        &NetUid::ROOT,
        &SubnetInfo {
            symbol: "τ".as_bytes().to_vec(),
            ..SubnetInfo::default()
        },
    );
    state.put::<Hparams>(
        &NetUid::ROOT,
        &Hyperparams {
            swap_fee_rate: 0,
            ..Hyperparams::default()
        },
    );
    state.put::<SubnetEconomy>(&NetUid::ROOT, &Economy::default());
}

/// An SS58 address or a secret URI (`//Alice`).
pub fn parse_account(text: &str) -> Result<AccountId, SpecError> {
    let bad = |reason: String| SpecError::BadAccount {
        account: text.to_owned(),
        reason,
    };
    if text.starts_with("//") || text.contains(' ') || text.starts_with("0x") && text.len() == 66 {
        let pair = Keypair::from_uri(text).map_err(|error| bad(error.to_string()))?;
        return Ok(AccountId(pair.public().to_bytes()));
    }
    let public = PublicKey::from_ss58(text).map_err(|error| bad(error.to_string()))?;
    Ok(AccountId(public.to_bytes()))
}

fn genesis_error(error: StateError) -> SpecError {
    SpecError::Genesis(error.to_string())
}

fn tx_error(error: TxError) -> SpecError {
    SpecError::Genesis(error.to_string())
}

/// Applies a genesis to an empty store (for tests and tools).
pub fn genesis_store(spec: &ChainSpec) -> Result<(MemoryStore, Genesis), SpecError> {
    let genesis = spec.genesis()?;
    let mut store = MemoryStore::default();
    store.apply(&genesis.changes);
    debug_assert!(store.get(crate::root::LATTICE_KEY).is_some());
    Ok((store, genesis))
}
