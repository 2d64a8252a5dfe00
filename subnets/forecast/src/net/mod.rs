//! The subnet on the network (built on `tao-sdk`, ADR 013): the synapses, a world kept in
//! step with the finalized chain, the miner's axon service, the validator's loop with its
//! published ledger, and the audit gathered from the chain and the validators' axons.

mod audit;
mod miner;
mod validator;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tao_sdk::Chain;

pub use audit::{MinerLine, SubnetReport, gather};
pub use miner::{CopySettings, ForecastService};
pub use validator::{ValidatorOptions, run_validator};

use crate::error::Error;
use crate::forecast::Challenge;
use crate::ledger::SignedLedger;
use crate::node::Answer;
use crate::spec::ForecastSpec;
use crate::world::World;

/// A validator's question to a miner: the round's challenge; the miner fills `answer`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastSynapse {
    /// The challenge.
    pub challenge: Challenge,
    /// The miner's signed commitment and forecast.
    pub answer: Option<Answer>,
}

impl tao_axon::Synapse for ForecastSynapse {
    const NAME: &'static str = "ForecastSynapse";
    const REQUIRED_FIELDS: &'static [&'static str] = &["challenge"];
    const HASH_FIELDS: &'static [&'static str] = &["challenge"];
}

/// Anyone's request for a validator's ledger (the audit's evidence); the validator fills
/// `ledger` with its signed ledger of the rounds already due.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerSynapse {
    /// The subnet asked about.
    pub netuid: u16,
    /// The validator's signed ledger.
    pub ledger: Option<SignedLedger>,
}

impl tao_axon::Synapse for LedgerSynapse {
    const NAME: &'static str = "ForecastLedger";
    const REQUIRED_FIELDS: &'static [&'static str] = &["netuid"];
    const HASH_FIELDS: &'static [&'static str] = &["netuid"];
}

/// The most bytes of spec file read.
const MAX_SPEC_BYTES: u64 = 1 << 20;

/// The spec from a JSON file (missing fields take their defaults), or the default spec.
///
/// # Errors
/// [`Error::SpecFile`] when the file cannot be read or parsed, [`Error::Spec`] for a bad
/// value.
pub fn load_spec(path: Option<&Path>) -> Result<ForecastSpec, Error> {
    let spec = match path {
        None => ForecastSpec::default(),
        Some(path) => {
            let problem = |message: String| Error::SpecFile {
                path: path.display().to_string(),
                message,
            };
            let file = std::fs::File::open(path).map_err(|e| problem(e.to_string()))?;
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut std::io::Read::take(file, MAX_SPEC_BYTES + 1),
                &mut text,
            )
            .map_err(|e| problem(e.to_string()))?;
            if text.len() as u64 > MAX_SPEC_BYTES {
                return Err(problem(format!("larger than {MAX_SPEC_BYTES} bytes")));
            }
            serde_json::from_str(&text).map_err(|e| problem(e.to_string()))?
        }
    };
    spec.validate()?;
    Ok(spec)
}

/// Blocks fetched per request while catching up.
const CATCH_UP_BLOCKS: u64 = 4_096;

/// The world, kept in step with the finalized chain; shared by a miner's or validator's
/// tasks (the lock is held only to extend or read it, never across a request to the node).
#[derive(Clone)]
pub struct SharedWorld(Arc<Mutex<World>>);

impl SharedWorld {
    /// A world with no steps yet.
    ///
    /// # Errors
    /// [`Error::Spec`] for a bad world spec.
    pub fn new(spec: &ForecastSpec) -> Result<Self, Error> {
        Ok(Self(Arc::new(Mutex::new(World::new(spec.world.clone())?))))
    }

    /// Runs `read` on the world.
    pub fn read<T>(&self, read: impl FnOnce(&World) -> T) -> T {
        read(&self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn next_block(&self) -> Result<u64, Error> {
        self.read(World::next_block)
    }

    /// Extends the world with every step whose block is at or before `block` (a finalized
    /// block); returns the number of steps known.
    ///
    /// # Errors
    /// The node's errors ([`Error::Network`]), [`Error::Overflow`].
    pub async fn catch_up(&self, chain: &Chain, block: u64) -> Result<u64, Error> {
        loop {
            let next = self.next_block()?;
            if next > block {
                break;
            }
            let last = block.min(next.saturating_add(CATCH_UP_BLOCKS - 1));
            let hashes = chain.block_hashes(next, last).await?;
            let mut world = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            // Only the blocks that drive a step count; and another task may have extended the
            // world meanwhile, so each hash is matched against the block the world wants next.
            for (number, hash) in (next..).zip(&hashes) {
                if number == world.next_block()? {
                    world.extend(hash)?;
                }
            }
        }
        Ok(self.read(World::steps) as u64)
    }

    /// Waits (up to `patience`) until the finalized chain has the block of `step`, catching
    /// up as it goes; whether the world then has the step.
    ///
    /// # Errors
    /// As [`SharedWorld::catch_up`].
    pub async fn wait_for_step(
        &self,
        chain: &Chain,
        step: u64,
        patience: Duration,
    ) -> Result<bool, Error> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if self.read(World::steps) as u64 > step {
                return Ok(true);
            }
            let head = chain.finalized_height().await?;
            self.catch_up(chain, head).await?;
            if self.read(World::steps) as u64 > step {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_files_are_checked() {
        assert_eq!(load_spec(None).unwrap(), ForecastSpec::default());
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let good = write(
            "good.json",
            r#"{"world": {"blocks_per_step": 3}, "horizon_steps": 6}"#,
        );
        let spec = load_spec(Some(&good)).unwrap();
        assert_eq!((spec.world.blocks_per_step, spec.horizon_steps), (3, 6));
        let unknown = write("unknown.json", r#"{"horizon": 6}"#);
        assert!(matches!(
            load_spec(Some(&unknown)),
            Err(Error::SpecFile { .. })
        ));
        let bad = write("bad.json", r#"{"horizon_steps": 0}"#);
        assert!(matches!(load_spec(Some(&bad)), Err(Error::Spec { .. })));
        let huge = write("huge.json", &" ".repeat(MAX_SPEC_BYTES as usize + 1));
        assert!(matches!(
            load_spec(Some(&huge)),
            Err(Error::SpecFile { .. })
        ));
        let missing = dir.path().join("missing.json");
        assert!(matches!(
            load_spec(Some(&missing)),
            Err(Error::SpecFile { .. })
        ));
    }
}
