//! The one trait a subnet implements: its synapse, the miner's answer, the validator's
//! challenge and score. Everything around them is the SDK's.

use std::future::Future;
use std::sync::Arc;

use tao_axon::{Caller, Dendrite};
use tao_keys::PublicKey;

use crate::metagraph::{Metagraph, SharedMetagraph};

/// A subnet: what miners are asked, how they answer, how validators score.
///
/// A validator must be able to score without trusting the miner: [`challenge`] creates a
/// fresh task per miner together with the private [`Truth`] the answer is checked against.
///
/// [`challenge`]: Subnet::challenge
/// [`Truth`]: Subnet::Truth
pub trait Subnet: Send + Sync + 'static {
    /// The request/response exchanged with miners (the Python class name is its route).
    type Synapse: tao_axon::Synapse;
    /// What the validator keeps to score an answer (the known answer, a reference, ...).
    type Truth: Send + 'static;

    /// Miner side: answer `request` (`Err`: the axon answers 500 with the message).
    fn answer(
        &self,
        request: Self::Synapse,
        miner: &MinerContext,
    ) -> impl Future<Output = Result<Self::Synapse, String>> + Send;

    /// Validator side: a fresh challenge for `target`, drawn from `rng`.
    fn challenge(&self, target: &Target, rng: &mut Rng) -> (Self::Synapse, Self::Truth);

    /// Validator side: the score of `answer` against `truth`, in 0..=1 (out-of-range and NaN
    /// scores are clamped to 0..=1 and 0).
    fn score(&self, truth: &Self::Truth, answer: &Self::Synapse) -> f64;

    /// Whether the miner's axon serves callers without a validator permit or below the
    /// subnet's `min_validator_stake` (default: no, only validators may query).
    fn open_to_non_validators(&self) -> bool {
        false
    }
}

/// The miner side of a subnet: what [`run_miner`](crate::run_miner) serves. Every
/// [`Subnet`] is one. A subnet whose validators do not fit [`Subnet`] — answers scored only
/// later, or against each other — implements just this for its miners and drives its
/// validator from the SDK's parts ([`MetagraphSync`](crate::MetagraphSync),
/// [`query_all`](crate::query_all), [`WeightSetter`](crate::WeightSetter),
/// [`Chain::block_hashes`](crate::Chain::block_hashes)); ADR 013.
pub trait MinerService: Send + Sync + 'static {
    /// The request/response the axon serves.
    type Request: tao_axon::Synapse;

    /// Answer `request` (`Err`: the axon answers 500 with the message).
    fn respond(
        &self,
        request: Self::Request,
        miner: &MinerContext,
    ) -> impl Future<Output = Result<Self::Request, String>> + Send;

    /// Whether callers without a validator permit (or below `min_validator_stake`) are
    /// served too.
    fn serves_non_validators(&self) -> bool {
        false
    }
}

impl<S: Subnet> MinerService for S {
    type Request = S::Synapse;

    fn respond(
        &self,
        request: Self::Request,
        miner: &MinerContext,
    ) -> impl Future<Output = Result<Self::Request, String>> + Send {
        self.answer(request, miner)
    }

    fn serves_non_validators(&self) -> bool {
        self.open_to_non_validators()
    }
}

/// A miner chosen for a challenge.
#[derive(Clone, Debug)]
pub struct Target {
    /// Its uid.
    pub uid: u16,
    /// Its hotkey.
    pub hotkey: PublicKey,
    /// The validator's round number.
    pub round: u64,
}

/// What a miner's handler may look at: its own identity and the network.
#[derive(Clone, Debug)]
pub struct MinerContext {
    /// The miner's hotkey.
    pub hotkey: PublicKey,
    /// The metagraph, kept current by the runner.
    pub metagraph: SharedMetagraph,
    /// A dendrite signing as the miner (for subnets whose miners call others).
    pub dendrite: Dendrite,
    /// Who is calling (set per request).
    pub caller: Option<Arc<Caller>>,
}

impl MinerContext {
    /// The current metagraph.
    pub fn graph(&self) -> Arc<Metagraph> {
        self.metagraph.get()
    }

    /// The miner's uid, if registered.
    pub fn uid(&self) -> Option<u16> {
        self.graph().uid_of(&self.hotkey)
    }
}

/// A small, fast pseudo-random generator (SplitMix64) for challenges and sampling; seed it
/// from the OS ([`Rng::from_os`]) so miners cannot predict challenges.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator with this seed (reproducible).
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A generator seeded by the operating system (falls back to the clock).
    pub fn from_os() -> Rng {
        let mut bytes = [0u8; 8];
        if getrandom::getrandom(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = (nanos as u64).to_le_bytes();
        }
        Rng(u64::from_le_bytes(bytes))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// A float in `0..1`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
