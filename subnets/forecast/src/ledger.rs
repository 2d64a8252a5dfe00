//! The commitment ledger: what each miner committed to, when it arrived, and what it
//! revealed — signed by the miners (they cannot deny their forecasts and nobody can invent
//! one) and by the validator (it cannot disown its record).
//!
//! Timing rule: an entry's `committed_at` is the validator's latest finalized block when the
//! commitment arrived. A forecast counts only when `committed_at` is *before* the block that
//! drives its first target step — so none of the target steps' hashes existed — and all of
//! its target steps then did not exist either. A late commitment counts for nothing, not for
//! its remaining steps: partial credit would pay a miner for waiting and seeing the first
//! steps. A reveal counts up to `reveal_grace_blocks` after the last target block and only
//! when its digest matches the commitment.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tao_keys::{Keypair, PublicKey, Signature};
use tao_primitives::{Hash256, NetUid, Uid};

use crate::error::Error;
use crate::forecast::{Challenge, Forecast};
use crate::spec::ForecastSpec;

/// The most rounds one ledger may hold.
pub const MAX_ROUNDS: usize = 4096;
/// The most entries one round may hold (one per miner uid).
pub const MAX_ENTRIES_PER_ROUND: usize = 4096;
const COMMIT_DOMAIN: &[u8] = b"tao-forecast/commit/v1";
const LEDGER_DOMAIN: &[u8] = b"tao-forecast/ledger/v1";

/// Which miner is which hotkey (the metagraph's uid → hotkey at the time of the rounds).
pub type Roster = BTreeMap<Uid, PublicKey>;

/// `Hash256` as `0x`-hex in serde.
mod hash_hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use tao_primitives::Hash256;

    pub(super) fn serialize<S: Serializer>(hash: &Hash256, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(hash.0)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash256, D::Error> {
        let text = String::deserialize(d)?;
        let digits = text.strip_prefix("0x").unwrap_or(&text);
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digits, &mut bytes).map_err(D::Error::custom)?;
        Ok(Hash256(bytes))
    }
}

/// A miner's commitment to a forecast, signed with its hotkey.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCommitment {
    /// The subnet.
    pub netuid: NetUid,
    /// The challenge's first target step.
    pub start_step: u64,
    /// [`Forecast::digest`] of the forecast.
    #[serde(with = "hash_hex")]
    pub digest: Hash256,
    /// The miner's hotkey.
    pub miner: PublicKey,
    /// sr25519 signature of [`SignedCommitment::message`] by `miner`.
    pub signature: Signature,
}

impl SignedCommitment {
    /// The miner's side: commit to `forecast` for `netuid`.
    pub fn create(keypair: &Keypair, netuid: NetUid, forecast: &Forecast) -> Self {
        let digest = forecast.digest(netuid);
        let message = Self::message_of(netuid, forecast.start_step, &digest);
        Self {
            netuid,
            start_step: forecast.start_step,
            digest,
            miner: keypair.public(),
            signature: keypair.sign(&message),
        }
    }

    fn message_of(netuid: NetUid, start_step: u64, digest: &Hash256) -> Vec<u8> {
        let mut out = Vec::with_capacity(COMMIT_DOMAIN.len() + 42);
        out.extend_from_slice(COMMIT_DOMAIN);
        out.extend_from_slice(&netuid.0.to_le_bytes());
        out.extend_from_slice(&start_step.to_le_bytes());
        out.extend_from_slice(&digest.0);
        out
    }

    /// The signed bytes: domain ‖ netuid ‖ start step ‖ digest.
    pub fn message(&self) -> Vec<u8> {
        Self::message_of(self.netuid, self.start_step, &self.digest)
    }

    /// Whether the signature is the miner's.
    pub fn verify(&self) -> bool {
        tao_keys::verify(&self.miner, &self.message(), &self.signature)
    }
}

/// One miner's entry in a round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The miner's uid.
    pub uid: Uid,
    /// Its signed commitment.
    pub commitment: SignedCommitment,
    /// The validator's latest finalized block when the commitment arrived.
    pub committed_at: u64,
    /// The revealed forecast, once it arrived.
    pub reveal: Option<Forecast>,
    /// The validator's latest finalized block when the reveal arrived.
    pub revealed_at: Option<u64>,
}

/// Why an entry does not count (or that it does).
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// It counts.
    Counted,
    /// The miner sent nothing this round.
    Missing,
    /// Another entry of this uid came first.
    Duplicate,
    /// The commitment names another subnet or challenge.
    WrongChallenge,
    /// The commitment's hotkey is not the uid's in the roster.
    WrongHotkey,
    /// The miner's signature does not verify.
    BadSignature,
    /// Committed when the first target block already existed.
    Late,
    /// Never revealed.
    NotRevealed,
    /// Revealed after the grace period.
    RevealedLate,
    /// The reveal does not hash to the commitment.
    DigestMismatch,
    /// The reveal is malformed.
    Malformed(Error),
}

impl Entry {
    /// Judge the entry against its round's challenge: the forecast when it counts.
    pub fn check<'a>(
        &'a self,
        spec: &ForecastSpec,
        challenge: &Challenge,
        roster: Option<&Roster>,
    ) -> Result<&'a Forecast, Verdict> {
        let c = &self.commitment;
        if c.netuid != challenge.netuid || c.start_step != challenge.start_step {
            return Err(Verdict::WrongChallenge);
        }
        if roster.is_some_and(|r| r.get(&self.uid) != Some(&c.miner)) {
            return Err(Verdict::WrongHotkey);
        }
        if !c.verify() {
            return Err(Verdict::BadSignature);
        }
        let first_block = spec.world.block_of_step(challenge.start_step);
        if !first_block.is_ok_and(|block| self.committed_at < block) {
            return Err(Verdict::Late);
        }
        let (Some(forecast), Some(revealed_at)) = (&self.reveal, self.revealed_at) else {
            return Err(Verdict::NotRevealed);
        };
        let deadline = spec
            .world
            .block_of_step(challenge.last_step())
            .map(|block| block.saturating_add(spec.reveal_grace_blocks));
        if !deadline.is_ok_and(|deadline| revealed_at <= deadline) {
            return Err(Verdict::RevealedLate);
        }
        // Shape first: it bounds the cost of hashing what a peer sent.
        forecast.validate(challenge).map_err(Verdict::Malformed)?;
        if forecast.digest(challenge.netuid) != c.digest {
            return Err(Verdict::DigestMismatch);
        }
        Ok(forecast)
    }
}

/// One challenge and the entries that arrived for it, in arrival order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Round {
    /// The challenge.
    pub challenge: Challenge,
    /// Entries in arrival order (the order breaks plagiarism ties within a block).
    pub entries: Vec<Entry>,
}

/// A validator's ledger for one subnet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// The subnet.
    pub netuid: NetUid,
    /// The validator's hotkey.
    pub validator: PublicKey,
    /// Rounds in the order they were opened.
    pub rounds: Vec<Round>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new(netuid: NetUid, validator: PublicKey) -> Self {
        Self {
            netuid,
            validator,
            rounds: Vec::new(),
        }
    }

    /// Open a round for `challenge`.
    ///
    /// # Errors
    /// [`Error::WrongChallenge`] for another subnet or a first target step not after the last
    /// round's (rounds are kept in the order they become due, which is the order the moving
    /// average and the audit fold them in), [`Error::TooLarge`] past [`MAX_ROUNDS`].
    pub fn open_round(&mut self, challenge: Challenge) -> Result<(), Error> {
        if challenge.netuid != self.netuid {
            return Err(Error::WrongChallenge { what: "netuid" });
        }
        let last = self.rounds.last().map(|r| r.challenge.start_step);
        if last.is_some_and(|last| challenge.start_step <= last) {
            return Err(Error::WrongChallenge {
                what: "first target step not after the previous round's",
            });
        }
        bounded("ledger rounds", self.rounds.len() + 1, MAX_ROUNDS)?;
        self.rounds.push(Round {
            challenge,
            entries: Vec::new(),
        });
        Ok(())
    }

    /// Check a ledger from elsewhere (deserialized, published): sizes within bounds, every
    /// round for this subnet, issuable by `spec`, and in increasing order.
    ///
    /// # Errors
    /// [`Error::TooLarge`] or [`Error::WrongChallenge`] naming the first problem.
    pub fn check(&self, spec: &ForecastSpec) -> Result<(), Error> {
        bounded("ledger rounds", self.rounds.len(), MAX_ROUNDS)?;
        let mut previous: Option<u64> = None;
        for round in &self.rounds {
            bounded("round entries", round.entries.len(), MAX_ENTRIES_PER_ROUND)?;
            let largest_reveal = round
                .entries
                .iter()
                .filter_map(|e| e.reveal.as_ref())
                .flat_map(|f| [f.point.len(), f.q10.len(), f.q50.len(), f.q90.len()])
                .max()
                .unwrap_or(0);
            bounded("reveal cells", largest_reveal, crate::forecast::MAX_CELLS)?;
            let c = &round.challenge;
            if c.netuid != self.netuid || !c.conforms(spec) {
                return Err(Error::WrongChallenge {
                    what: "round challenge does not conform to the spec",
                });
            }
            if previous.is_some_and(|p| c.start_step <= p) {
                return Err(Error::WrongChallenge {
                    what: "rounds out of order",
                });
            }
            previous = Some(c.start_step);
        }
        Ok(())
    }

    /// Drop the rounds whose first target step is before `start_step` (a long-running
    /// validator publishes a window; see the README on what the audit then assumes).
    pub fn prune_before(&mut self, start_step: u64) {
        self.rounds.retain(|r| r.challenge.start_step >= start_step);
    }

    /// The round whose first target step is `start_step`.
    pub fn round(&self, start_step: u64) -> Option<&Round> {
        self.rounds
            .iter()
            .find(|r| r.challenge.start_step == start_step)
    }

    fn round_mut(&mut self, start_step: u64) -> Result<&mut Round, Error> {
        self.rounds
            .iter_mut()
            .find(|r| r.challenge.start_step == start_step)
            .ok_or(Error::UnknownRound { start_step })
    }

    /// Record a commitment that arrived when `block` was the latest finalized block. The
    /// signature is checked now so junk never enters the ledger (and again by every scorer).
    ///
    /// # Errors
    /// [`Error::UnknownRound`], [`Error::WrongChallenge`], [`Error::BadSignature`],
    /// [`Error::Duplicate`], [`Error::TooLarge`].
    pub fn record_commitment(
        &mut self,
        uid: Uid,
        commitment: SignedCommitment,
        block: u64,
    ) -> Result<(), Error> {
        if commitment.netuid != self.netuid {
            return Err(Error::WrongChallenge { what: "netuid" });
        }
        if !commitment.verify() {
            return Err(Error::BadSignature { what: "commitment" });
        }
        let round = self.round_mut(commitment.start_step)?;
        if round.entries.iter().any(|e| e.uid == uid) {
            return Err(Error::Duplicate {
                uid: uid.0,
                start_step: commitment.start_step,
            });
        }
        bounded(
            "round entries",
            round.entries.len() + 1,
            MAX_ENTRIES_PER_ROUND,
        )?;
        round.entries.push(Entry {
            uid,
            commitment,
            committed_at: block,
            reveal: None,
            revealed_at: None,
        });
        Ok(())
    }

    /// Record the reveal of `uid`'s forecast, arrived at `block`. It is stored even when it
    /// does not match: the mismatch is evidence too, judged by [`Entry::check`].
    ///
    /// # Errors
    /// [`Error::UnknownRound`], [`Error::WrongChallenge`] without a commitment of `uid`,
    /// [`Error::Duplicate`] for a second reveal, [`Error::TooLarge`] for an oversized one.
    pub fn record_reveal(&mut self, uid: Uid, forecast: Forecast, block: u64) -> Result<(), Error> {
        if forecast.cells() > crate::forecast::MAX_CELLS
            || [&forecast.point, &forecast.q10, &forecast.q50, &forecast.q90]
                .iter()
                .any(|c| c.len() > crate::forecast::MAX_CELLS)
        {
            return Err(Error::TooLarge {
                what: "reveal cells",
                len: forecast.point.len(),
                max: crate::forecast::MAX_CELLS,
            });
        }
        let start_step = forecast.start_step;
        let round = self.round_mut(start_step)?;
        let entry =
            round
                .entries
                .iter_mut()
                .find(|e| e.uid == uid)
                .ok_or(Error::WrongChallenge {
                    what: "reveal without a commitment",
                })?;
        if entry.reveal.is_some() {
            return Err(Error::Duplicate {
                uid: uid.0,
                start_step,
            });
        }
        entry.reveal = Some(forecast);
        entry.revealed_at = Some(block);
        Ok(())
    }

    /// Commitment and reveal in one message (the simple protocol: the miner answers the
    /// challenge with both).
    ///
    /// # Errors
    /// As [`Ledger::record_commitment`] and [`Ledger::record_reveal`].
    pub fn record_answer(
        &mut self,
        uid: Uid,
        commitment: SignedCommitment,
        forecast: Forecast,
        block: u64,
    ) -> Result<(), Error> {
        self.record_commitment(uid, commitment, block)?;
        self.record_reveal(uid, forecast, block)
    }

    /// The canonical bytes the validator signs.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(LEDGER_DOMAIN);
        out.extend_from_slice(&self.netuid.0.to_le_bytes());
        out.extend_from_slice(self.validator.as_bytes());
        put_len(&mut out, self.rounds.len());
        for round in &self.rounds {
            let c = &round.challenge;
            out.extend_from_slice(&c.netuid.0.to_le_bytes());
            out.extend_from_slice(&c.anchor_step.to_le_bytes());
            out.extend_from_slice(&c.start_step.to_le_bytes());
            out.extend_from_slice(&c.horizon.to_le_bytes());
            out.extend_from_slice(&c.series.to_le_bytes());
            put_len(&mut out, round.entries.len());
            for entry in &round.entries {
                put_entry(&mut out, entry);
            }
        }
        out
    }

    /// blake2b-256 of the canonical bytes.
    pub fn digest(&self) -> Hash256 {
        Hash256::blake2(&self.canonical_bytes())
    }

    /// Sign the ledger with the validator's hotkey.
    ///
    /// # Errors
    /// [`Error::WrongChallenge`] when `keypair` is not the ledger's validator.
    pub fn sign(self, keypair: &Keypair) -> Result<SignedLedger, Error> {
        if keypair.public() != self.validator {
            return Err(Error::WrongChallenge {
                what: "signing key is not the ledger's validator",
            });
        }
        let signature = keypair.sign(&self.digest().0);
        Ok(SignedLedger {
            ledger: self,
            signature,
        })
    }
}

fn bounded(what: &'static str, len: usize, max: usize) -> Result<(), Error> {
    if len > max {
        Err(Error::TooLarge { what, len, max })
    } else {
        Ok(())
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u64).to_le_bytes());
}

fn put_entry(out: &mut Vec<u8>, entry: &Entry) {
    out.extend_from_slice(&entry.uid.0.to_le_bytes());
    let c = &entry.commitment;
    out.extend_from_slice(&c.message());
    out.extend_from_slice(c.miner.as_bytes());
    out.extend_from_slice(c.signature.as_ref());
    out.extend_from_slice(&entry.committed_at.to_le_bytes());
    match (&entry.reveal, entry.revealed_at) {
        (Some(forecast), Some(block)) => {
            out.push(1);
            out.extend_from_slice(&block.to_le_bytes());
            let bytes = forecast.canonical_bytes(c.netuid);
            put_len(out, bytes.len());
            out.extend_from_slice(&bytes);
        }
        _ => out.push(0),
    }
}

/// A ledger with its validator's signature over [`Ledger::digest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedLedger {
    /// The ledger.
    pub ledger: Ledger,
    /// The validator's sr25519 signature of the digest's 32 bytes.
    pub signature: Signature,
}

impl SignedLedger {
    /// Whether the validator signed exactly this ledger.
    pub fn verify(&self) -> bool {
        tao_keys::verify(
            &self.ledger.validator,
            &self.ledger.digest().0,
            &self.signature,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (ForecastSpec, Challenge, Keypair, Forecast) {
        let spec = ForecastSpec::default();
        let challenge = Challenge::at_block(&spec, NetUid(2), 100).unwrap();
        let miner = Keypair::from_uri("//Miner").unwrap();
        let mut forecast = Forecast::zeros(&challenge);
        forecast.q90.iter_mut().for_each(|v| *v = 1.0);
        (spec, challenge, miner, forecast)
    }

    fn ledger(challenge: Challenge) -> Ledger {
        let mut ledger = Ledger::new(NetUid(2), Keypair::from_uri("//Val").unwrap().public());
        ledger.open_round(challenge).unwrap();
        ledger
    }

    #[test]
    fn an_answer_in_time_counts() {
        let (spec, challenge, miner, forecast) = setup();
        let mut ledger = ledger(challenge);
        let commitment = SignedCommitment::create(&miner, NetUid(2), &forecast);
        ledger
            .record_answer(Uid(4), commitment, forecast.clone(), 101)
            .unwrap();
        let entry = &ledger.rounds[0].entries[0];
        let roster = Roster::from([(Uid(4), miner.public())]);
        assert_eq!(entry.check(&spec, &challenge, Some(&roster)), Ok(&forecast));
        let wrong_roster = Roster::from([(Uid(4), Keypair::from_uri("//X").unwrap().public())]);
        assert_eq!(
            entry.check(&spec, &challenge, Some(&wrong_roster)),
            Err(Verdict::WrongHotkey)
        );
    }

    #[test]
    fn late_mismatched_and_forged_entries_do_not_count() {
        let (spec, challenge, miner, forecast) = setup();
        // The first target step 102 is driven by block 102: arriving at 102 is late.
        let commitment = SignedCommitment::create(&miner, NetUid(2), &forecast);
        let mut late = ledger(challenge);
        late.record_answer(Uid(1), commitment.clone(), forecast.clone(), 102)
            .unwrap();
        assert_eq!(
            late.rounds[0].entries[0].check(&spec, &challenge, None),
            Err(Verdict::Late)
        );

        let mut other = forecast.clone();
        other.point[0] = 5.0;
        let mut mismatch = ledger(challenge);
        mismatch
            .record_commitment(Uid(1), commitment.clone(), 100)
            .unwrap();
        mismatch.record_reveal(Uid(1), other, 105).unwrap();
        assert_eq!(
            mismatch.rounds[0].entries[0].check(&spec, &challenge, None),
            Err(Verdict::DigestMismatch)
        );

        let mut slow = ledger(challenge);
        slow.record_commitment(Uid(1), commitment.clone(), 100)
            .unwrap();
        slow.record_reveal(Uid(1), forecast.clone(), 113 + 12 + 1)
            .unwrap();
        assert_eq!(
            slow.rounds[0].entries[0].check(&spec, &challenge, None),
            Err(Verdict::RevealedLate)
        );

        let mut forged = commitment.clone();
        forged.digest = Hash256([7; 32]);
        let mut book = ledger(challenge);
        assert_eq!(
            book.record_commitment(Uid(1), forged, 100),
            Err(Error::BadSignature { what: "commitment" })
        );
        book.record_commitment(Uid(1), commitment.clone(), 100)
            .unwrap();
        assert!(matches!(
            book.record_commitment(Uid(1), commitment, 100),
            Err(Error::Duplicate { .. })
        ));
        assert!(matches!(
            book.record_reveal(Uid(9), forecast, 100),
            Err(Error::WrongChallenge { .. })
        ));
    }

    #[test]
    fn ledger_signature_binds_content_and_round_trips() {
        let (_, challenge, miner, forecast) = setup();
        let mut book = ledger(challenge);
        let commitment = SignedCommitment::create(&miner, NetUid(2), &forecast);
        book.record_answer(Uid(3), commitment, forecast, 100)
            .unwrap();
        // Rounds only move forward; pruning drops the old ones.
        assert!(book.open_round(challenge).is_err());
        let next = Challenge {
            start_step: challenge.start_step + 12,
            ..challenge
        };
        let mut pruned = book.clone();
        pruned.open_round(next).unwrap();
        pruned.prune_before(next.start_step);
        assert_eq!(pruned.rounds.len(), 1);
        assert!(pruned.round(challenge.start_step).is_none());
        let spec = ForecastSpec::default();
        assert!(book.check(&spec).is_ok());
        let mut disordered = book.clone();
        disordered.rounds.push(disordered.rounds[0].clone());
        assert!(disordered.check(&spec).is_err());
        let mut skewed = book.clone();
        skewed.rounds[0].challenge.horizon = 200;
        assert!(skewed.check(&spec).is_err());
        let validator = Keypair::from_uri("//Val").unwrap();
        let signed = book.clone().sign(&validator).unwrap();
        assert!(signed.verify());
        let text = serde_json::to_string(&signed).unwrap();
        let back: SignedLedger = serde_json::from_str(&text).unwrap();
        assert!(back.verify());
        let mut tampered = signed.clone();
        tampered.ledger.rounds[0].entries[0].committed_at = 99;
        assert!(!tampered.verify());
        assert!(book.sign(&miner).is_err());
    }
}
