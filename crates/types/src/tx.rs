//! Transactions: calls, signing payloads, mortality and fees.

use parity_scale_codec::{Decode, DecodeLimit, Encode};
use tao_primitives::{AccountId, Hash256, NetUid};

use crate::error::InvalidTx;
use crate::params::GlobalParams;

/// Largest encoded transaction, bytes (a full 256-uid weight row is ≈ 1 KiB).
pub const MAX_TX_BYTES: usize = 16 * 1024;
/// Longest mortality period, blocks.
pub const MAX_MORTALITY_BLOCKS: u64 = 4_096;
/// Nesting limit for decoding untrusted transaction bytes.
const DECODE_DEPTH_LIMIT: u32 = 8;
/// Domain separator of the signing payload.
const SIGNING_DOMAIN: &[u8] = b"tao/tx/v1";

/// What an owner says about a subnet (an argument of [`Call::RegisterNetwork`], kept with the
/// subnet).
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct SubnetIdentity {
    /// Display name.
    pub name: Vec<u8>,
    /// Source repository.
    pub repo: Vec<u8>,
    /// Contact address.
    pub contact: Vec<u8>,
    /// Web site.
    pub url: Vec<u8>,
    /// Description.
    pub description: Vec<u8>,
}

/// The blocks a transaction is valid in: `birth .. birth + period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Mortality {
    /// First block it may be included in (usually the current height).
    pub birth: u64,
    /// How many blocks it stays valid, `1..=MAX_MORTALITY_BLOCKS`.
    pub period: u64,
}

impl Mortality {
    /// Checks that a block at `height` may include the transaction.
    pub fn check(&self, height: u64) -> Result<(), InvalidTx> {
        if self.period == 0 || self.period > MAX_MORTALITY_BLOCKS {
            return Err(InvalidTx::BadMortality {
                max: MAX_MORTALITY_BLOCKS,
            });
        }
        let end = self.birth.saturating_add(self.period);
        if height < self.birth || height >= end {
            return Err(InvalidTx::OutsideMortality {
                birth: self.birth,
                end,
            });
        }
        Ok(())
    }
}

/// A hyperparameter and its new value (one variant per settable field of
/// [`crate::params::Hyperparams`]).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[allow(missing_docs)] // each variant is the field of the same name
pub enum HyperparamValue {
    Tempo(u16),
    Kappa(u16),
    BondsPenalty(u16),
    BondsMovingAverage(u64),
    Yuma3(bool),
    LiquidAlpha(bool),
    AlphaValues(u16, u16),
    AlphaSigmoidSteepness(i16),
    MaxAllowedUids(u16),
    MaxAllowedValidators(u16),
    MinAllowedWeights(u16),
    MaxWeightLimit(u16),
    ImmunityPeriod(u16),
    ActivityCutoff(u16),
    WeightsRateLimit(u64),
    WeightsVersionKey(u64),
    CommitRevealEnabled(bool),
    RevealPeriodEpochs(u64),
    MinBurn(u64),
    MaxBurn(u64),
    BurnHalfLife(u16),
    BurnIncreaseMultMilli(u64),
    ServingRateLimit(u64),
    RegistrationAllowed(bool),
    TransfersEnabled(bool),
    ImmuneOwnerUids(u16),
    MinNonImmuneUids(u16),
    SwapFeeRate(u16),
    MinValidatorStake(u64),
    QueryPrice(u64),
}

impl HyperparamValue {
    /// The parameter's name as it appears in events and rate-limit records (and as
    /// [`HyperparamValue::parse`] reads it).
    pub fn name(&self) -> &'static str {
        use HyperparamValue as V;
        match self {
            V::Tempo(_) => "tempo",
            V::Kappa(_) => "kappa",
            V::BondsPenalty(_) => "bonds_penalty",
            V::BondsMovingAverage(_) => "bonds_moving_average",
            V::Yuma3(_) => "yuma3",
            V::LiquidAlpha(_) => "liquid_alpha",
            V::AlphaValues(..) => "alpha_values",
            V::AlphaSigmoidSteepness(_) => "alpha_sigmoid_steepness",
            V::MaxAllowedUids(_) => "max_allowed_uids",
            V::MaxAllowedValidators(_) => "max_allowed_validators",
            V::MinAllowedWeights(_) => "min_allowed_weights",
            V::MaxWeightLimit(_) => "max_weight_limit",
            V::ImmunityPeriod(_) => "immunity_period",
            V::ActivityCutoff(_) => "activity_cutoff",
            V::WeightsRateLimit(_) => "weights_rate_limit",
            V::WeightsVersionKey(_) => "weights_version_key",
            V::CommitRevealEnabled(_) => "commit_reveal_enabled",
            V::RevealPeriodEpochs(_) => "reveal_period_epochs",
            V::MinBurn(_) => "min_burn",
            V::MaxBurn(_) => "max_burn",
            V::BurnHalfLife(_) => "burn_half_life",
            V::BurnIncreaseMultMilli(_) => "burn_increase_mult",
            V::ServingRateLimit(_) => "serving_rate_limit",
            V::RegistrationAllowed(_) => "registration_allowed",
            V::TransfersEnabled(_) => "transfers_enabled",
            V::ImmuneOwnerUids(_) => "immune_owner_uids",
            V::MinNonImmuneUids(_) => "min_non_immune_uids",
            V::SwapFeeRate(_) => "swap_fee_rate",
            V::MinValidatorStake(_) => "min_validator_stake",
            V::QueryPrice(_) => "query_price",
        }
    }

    /// Every parameter name [`HyperparamValue::parse`] takes, in its order.
    pub const NAMES: &'static [&'static str] = &[
        "tempo",
        "kappa",
        "bonds_penalty",
        "bonds_moving_average",
        "yuma3",
        "liquid_alpha",
        "alpha_values",
        "alpha_sigmoid_steepness",
        "max_allowed_uids",
        "max_allowed_validators",
        "min_allowed_weights",
        "max_weight_limit",
        "immunity_period",
        "activity_cutoff",
        "weights_rate_limit",
        "weights_version_key",
        "commit_reveal_enabled",
        "reveal_period_epochs",
        "min_burn",
        "max_burn",
        "burn_half_life",
        "burn_increase_mult",
        "serving_rate_limit",
        "registration_allowed",
        "transfers_enabled",
        "immune_owner_uids",
        "min_non_immune_uids",
        "swap_fee_rate",
        "min_validator_stake",
        "query_price",
    ];

    /// Builds a value from a parameter name (as [`HyperparamValue::name`] spells it)
    /// and its text (`true`/`false`, an integer, or `low,high` for `alpha_values`).
    pub fn parse(name: &str, value: &str) -> Result<HyperparamValue, String> {
        fn num<T: core::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
            value
                .trim()
                .parse()
                .map_err(|_| format!("{name}: {value:?} is not a valid number for this parameter"))
        }
        fn flag(name: &str, value: &str) -> Result<bool, String> {
            match value.trim() {
                "true" | "1" | "on" => Ok(true),
                "false" | "0" | "off" => Ok(false),
                other => Err(format!("{name}: {other:?} is not true or false")),
            }
        }
        use HyperparamValue as V;
        Ok(match name {
            "tempo" => V::Tempo(num(name, value)?),
            "kappa" => V::Kappa(num(name, value)?),
            "bonds_penalty" => V::BondsPenalty(num(name, value)?),
            "bonds_moving_average" => V::BondsMovingAverage(num(name, value)?),
            "yuma3" => V::Yuma3(flag(name, value)?),
            "liquid_alpha" => V::LiquidAlpha(flag(name, value)?),
            "alpha_values" => {
                let (low, high) = value
                    .split_once(',')
                    .ok_or_else(|| format!("{name}: give low,high"))?;
                V::AlphaValues(num(name, low)?, num(name, high)?)
            }
            "alpha_sigmoid_steepness" => V::AlphaSigmoidSteepness(num(name, value)?),
            "max_allowed_uids" => V::MaxAllowedUids(num(name, value)?),
            "max_allowed_validators" => V::MaxAllowedValidators(num(name, value)?),
            "min_allowed_weights" => V::MinAllowedWeights(num(name, value)?),
            "max_weight_limit" => V::MaxWeightLimit(num(name, value)?),
            "immunity_period" => V::ImmunityPeriod(num(name, value)?),
            "activity_cutoff" => V::ActivityCutoff(num(name, value)?),
            "weights_rate_limit" => V::WeightsRateLimit(num(name, value)?),
            "weights_version_key" => V::WeightsVersionKey(num(name, value)?),
            "commit_reveal_enabled" => V::CommitRevealEnabled(flag(name, value)?),
            "reveal_period_epochs" => V::RevealPeriodEpochs(num(name, value)?),
            "min_burn" => V::MinBurn(num(name, value)?),
            "max_burn" => V::MaxBurn(num(name, value)?),
            "burn_half_life" => V::BurnHalfLife(num(name, value)?),
            "burn_increase_mult" => V::BurnIncreaseMultMilli(num(name, value)?),
            "serving_rate_limit" => V::ServingRateLimit(num(name, value)?),
            "registration_allowed" => V::RegistrationAllowed(flag(name, value)?),
            "transfers_enabled" => V::TransfersEnabled(flag(name, value)?),
            "immune_owner_uids" => V::ImmuneOwnerUids(num(name, value)?),
            "min_non_immune_uids" => V::MinNonImmuneUids(num(name, value)?),
            "swap_fee_rate" => V::SwapFeeRate(num(name, value)?),
            "min_validator_stake" => V::MinValidatorStake(num(name, value)?),
            "query_price" => V::QueryPrice(num(name, value)?),
            other => {
                return Err(format!(
                    "unknown hyperparameter {other:?}; the names are {}",
                    HyperparamValue::NAMES.join(", ")
                ));
            }
        })
    }
}

/// What a transaction asks the chain to do. The signer is the origin: a coldkey for money
/// and ownership calls, a hotkey for weights and serving.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Call {
    /// Send free balance.
    #[codec(index = 0)]
    Transfer {
        /// Receiver.
        dest: AccountId,
        /// Amount, rao.
        amount_rao: u64,
    },
    /// Send all free balance minus the fee.
    #[codec(index = 1)]
    TransferAll {
        /// Receiver.
        dest: AccountId,
    },
    /// Create a subnet, paying the lock cost; `hotkey` becomes its owner hotkey (uid 0).
    #[codec(index = 10)]
    RegisterNetwork {
        /// Owner hotkey.
        hotkey: AccountId,
        /// Optional identity.
        identity: Option<SubnetIdentity>,
    },
    /// Owner starts emissions on a subnet.
    #[codec(index = 11)]
    StartCall {
        /// The subnet.
        netuid: NetUid,
    },
    /// Owner (or sudo) sets a hyperparameter.
    #[codec(index = 12)]
    SetHyperparam {
        /// The subnet.
        netuid: NetUid,
        /// Parameter and value.
        value: HyperparamValue,
    },
    /// Sudo dissolves a subnet, paying its TAO out to stakers.
    #[codec(index = 13)]
    SudoDissolveNetwork {
        /// The subnet.
        netuid: NetUid,
    },
    /// Sudo replaces the chain-wide parameters.
    #[codec(index = 14)]
    SudoSetGlobals {
        /// New parameters.
        params: GlobalParams,
    },
    /// Register a hotkey on a subnet by burning the registration price.
    #[codec(index = 20)]
    BurnedRegister {
        /// The subnet.
        netuid: NetUid,
        /// The hotkey to register (owned by the signer).
        hotkey: AccountId,
        /// Highest burn the signer accepts, rao (`u64::MAX`: any).
        limit_rao: u64,
    },
    /// Publish an axon endpoint (signed by the hotkey).
    #[codec(index = 21)]
    ServeAxon {
        /// The subnet.
        netuid: NetUid,
        /// Software version.
        version: u32,
        /// Address.
        ip: u128,
        /// Port.
        port: u16,
        /// 4 or 6.
        ip_type: u8,
        /// Protocol tag.
        protocol: u8,
    },
    /// Publish a Prometheus endpoint (signed by the hotkey).
    #[codec(index = 22)]
    ServePrometheus {
        /// The subnet.
        netuid: NetUid,
        /// Software version.
        version: u32,
        /// Address.
        ip: u128,
        /// Port.
        port: u16,
        /// 4 or 6.
        ip_type: u8,
    },
    /// Stake TAO to a hotkey on a subnet (bought as alpha through the pool).
    #[codec(index = 30)]
    AddStake {
        /// Validator hotkey.
        hotkey: AccountId,
        /// The subnet.
        netuid: NetUid,
        /// TAO to stake, rao.
        amount_rao: u64,
        /// Optional price protection.
        limit: Option<PriceLimit>,
    },
    /// Unstake alpha from a hotkey on a subnet (sold for TAO through the pool).
    #[codec(index = 31)]
    RemoveStake {
        /// Validator hotkey.
        hotkey: AccountId,
        /// The subnet.
        netuid: NetUid,
        /// Alpha to unstake.
        alpha: u64,
        /// Optional price protection.
        limit: Option<PriceLimit>,
    },
    /// Move stake to another hotkey and/or subnet, keeping the coldkey.
    #[codec(index = 32)]
    MoveStake {
        /// Current hotkey.
        origin_hotkey: AccountId,
        /// New hotkey.
        dest_hotkey: AccountId,
        /// Current subnet.
        origin_netuid: NetUid,
        /// New subnet.
        dest_netuid: NetUid,
        /// Alpha to move.
        alpha: u64,
    },
    /// Swap stake of one hotkey from one subnet to another.
    #[codec(index = 33)]
    SwapStake {
        /// The hotkey.
        hotkey: AccountId,
        /// Current subnet.
        origin_netuid: NetUid,
        /// New subnet.
        dest_netuid: NetUid,
        /// Alpha to swap.
        alpha: u64,
        /// Optional protection on the combined price (origin price / destination price).
        limit: Option<PriceLimit>,
    },
    /// Give stake to another coldkey (same hotkey), possibly on another subnet.
    #[codec(index = 34)]
    TransferStake {
        /// New owner.
        dest_coldkey: AccountId,
        /// The hotkey.
        hotkey: AccountId,
        /// Current subnet.
        origin_netuid: NetUid,
        /// New subnet.
        dest_netuid: NetUid,
        /// Alpha to transfer.
        alpha: u64,
    },
    /// Unstake everything the signer has on a hotkey, on every subnet.
    #[codec(index = 35)]
    UnstakeAll {
        /// The hotkey.
        hotkey: AccountId,
    },
    /// Raise a delegate's take (rate-limited).
    #[codec(index = 40)]
    IncreaseTake {
        /// The hotkey (owned by the signer).
        hotkey: AccountId,
        /// New take, u16 proportion.
        take: u16,
    },
    /// Lower a delegate's take.
    #[codec(index = 41)]
    DecreaseTake {
        /// The hotkey (owned by the signer).
        hotkey: AccountId,
        /// New take, u16 proportion.
        take: u16,
    },
    /// Set a weight row (signed by the hotkey).
    #[codec(index = 50)]
    SetWeights {
        /// The subnet.
        netuid: NetUid,
        /// Destination uids.
        uids: Vec<u16>,
        /// Raw weights, any scale.
        values: Vec<u16>,
        /// Version key of the validator software.
        version_key: u64,
    },
    /// Commit to a weight row by its hash.
    #[codec(index = 51)]
    CommitWeights {
        /// The subnet.
        netuid: NetUid,
        /// `commit_hash` of the later reveal.
        hash: Hash256,
    },
    /// Reveal a committed weight row.
    #[codec(index = 52)]
    RevealWeights {
        /// The subnet.
        netuid: NetUid,
        /// Destination uids.
        uids: Vec<u16>,
        /// Raw weights.
        values: Vec<u16>,
        /// Salt used in the commit.
        salt: Vec<u16>,
        /// Version key.
        version_key: u64,
    },
}

/// Price protection of a stake operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PriceLimit {
    /// Worst acceptable price, rao of TAO per whole alpha (10⁹ alpha units).
    pub price_rao: u64,
    /// Execute the part that fits under the limit instead of failing.
    pub allow_partial: bool,
}

impl Call {
    /// Weights and serving calls pay no fee (they are rate-limited instead).
    pub fn is_free(&self) -> bool {
        matches!(
            self,
            Call::SetWeights { .. }
                | Call::CommitWeights { .. }
                | Call::RevealWeights { .. }
                | Call::ServeAxon { .. }
                | Call::ServePrometheus { .. }
        )
    }

    /// The fee a transaction carrying this call pays, rao: `base_fee + byte_fee · tx_bytes +
    /// weight_fee · max(0, weight − LIGHT_WEIGHT)` (`tx_bytes`: the signed transaction's
    /// encoded size; `weight`: [`crate::metering::call_weight`]), or 0 for a free call.
    pub fn fee_rao(&self, tx_bytes: usize, weight: u64, globals: &GlobalParams) -> u64 {
        crate::metering::fee_rao(self, tx_bytes, weight, globals)
    }
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct UnsignedTx {
    /// Who signs (and pays).
    pub signer: AccountId,
    /// The signer's next nonce.
    pub nonce: u64,
    /// Blocks it is valid in.
    pub mortality: Mortality,
    /// What to do.
    pub call: Call,
}

/// A transaction as submitted and included in blocks.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedTx {
    /// The signed content.
    pub tx: UnsignedTx,
    /// sr25519 signature of [`UnsignedTx::signing_payload`] by the signer.
    pub signature: [u8; 64],
}

impl UnsignedTx {
    /// The bytes the signer signs: a domain tag, the chain's genesis hash and the transaction,
    /// so a signature is valid on one chain, for one nonce, within its mortality only.
    pub fn signing_payload(&self, genesis_hash: &Hash256) -> Vec<u8> {
        let mut payload = SIGNING_DOMAIN.to_vec();
        genesis_hash.encode_to(&mut payload);
        self.encode_to(&mut payload);
        payload
    }
}

impl SignedTx {
    /// Decodes untrusted bytes: bounded size and nesting, no trailing bytes.
    pub fn decode_bounded(bytes: &[u8]) -> Result<SignedTx, InvalidTx> {
        if bytes.len() > MAX_TX_BYTES {
            return Err(InvalidTx::too_large(bytes.len()));
        }
        let mut input = bytes;
        let tx = SignedTx::decode_with_depth_limit(DECODE_DEPTH_LIMIT, &mut input)
            .map_err(|_| InvalidTx::Malformed)?;
        if input.is_empty() {
            Ok(tx)
        } else {
            Err(InvalidTx::Malformed)
        }
    }

    /// The transaction's hash (blake2b-256 of its encoding).
    pub fn hash(&self) -> Hash256 {
        Hash256::blake2(&self.encode())
    }
}

#[cfg(test)]
mod hyperparam_name_tests {
    use super::HyperparamValue;

    #[test]
    fn every_listed_name_parses_and_spells_itself() {
        for name in HyperparamValue::NAMES {
            let text = if *name == "alpha_values" { "1,2" } else { "1" };
            let parsed = HyperparamValue::parse(name, text);
            assert_eq!(parsed.as_ref().map(HyperparamValue::name), Ok(*name));
        }
        let unknown = HyperparamValue::parse("kapa", "1")
            .err()
            .unwrap_or_default();
        assert!(unknown.contains("the names are tempo, kappa,"), "{unknown}");
    }
}
