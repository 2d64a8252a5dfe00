//! Transfers, fees, nonces, mortality and signatures.

mod common;

use common::{TAO, TestChain, id, key};
use tao_primitives::Hash256;
use tao_state::block::{
    BlockBuilder, Header, VerifiedTx, execute_block, execute_block_with, validate_ahead,
};
use tao_state::error::BlockError;
use tao_types::error::{InvalidTx, TxError};
use tao_types::tx::{Call, Mortality, SignedTx};

fn transfer(to: &str, amount_rao: u64) -> Call {
    Call::Transfer {
        dest: id(to),
        amount_rao,
    }
}

#[test]
fn transfer_moves_balance_and_pays_the_fee_to_the_author() {
    let mut chain = TestChain::local();
    let (alice, bob, ferdie) = (
        chain.free("//Alice"),
        chain.free("//Bob"),
        chain.free("//Ferdie"),
    );
    let receipt = chain.ok("//Alice", transfer("//Bob", 5 * TAO));
    assert!(receipt.fee_rao > 0);
    assert_eq!(chain.free("//Alice"), alice - 5 * TAO - receipt.fee_rao);
    assert_eq!(chain.free("//Bob"), bob + 5 * TAO);
    assert_eq!(chain.free("//Ferdie"), ferdie + receipt.fee_rao);
}

#[test]
fn a_failing_transfer_pays_its_fee_and_changes_nothing_else() {
    let mut chain = TestChain::local();
    let alice = chain.free("//Alice");
    let receipt = chain.submit("//Alice", transfer("//Bob", alice + 1));
    assert_eq!(receipt.result, Err(TxError::InsufficientBalance));
    assert_eq!(chain.free("//Alice"), alice - receipt.fee_rao);
    assert_eq!(chain.nonce(&id("//Alice")), 1);
    assert_eq!(
        chain.err("//Alice", transfer("//Bob", 0)),
        TxError::AmountTooLow
    );
    assert_eq!(
        chain.err("//Alice", transfer("//Nobody", 1)),
        TxError::ExistentialDeposit
    );
    assert!(
        receipt
            .events
            .iter()
            .all(|e| matches!(e, tao_types::events::Event::FeePaid { .. }))
    );
}

#[test]
fn transfer_all_empties_the_account() {
    let mut chain = TestChain::local();
    chain.ok("//Eve", Call::TransferAll { dest: id("//Bob") });
    assert_eq!(chain.free("//Eve"), 0);
}

fn header(chain: &TestChain) -> Header {
    Header {
        height: chain.height + 1,
        timestamp_ms: (chain.height + 1) * 1000,
        author: None,
    }
}

#[test]
fn replays_gaps_expired_and_foreign_transactions_are_invalid() {
    let mut chain = TestChain::local();
    let tx = chain.sign("//Alice", transfer("//Bob", TAO));
    chain.block(std::slice::from_ref(&tx));
    let mut builder = BlockBuilder::begin(&chain.store, &header(&chain)).unwrap();
    assert_eq!(
        builder.apply(&tx).unwrap_err(),
        InvalidTx::StaleNonce { expected: 1 }
    );
    let gap = chain.sign_with("//Alice", transfer("//Bob", TAO), 1);
    assert_eq!(
        builder.apply(&gap).unwrap_err(),
        InvalidTx::FutureNonce { expected: 1 }
    );
    let mut expired = chain.sign("//Alice", transfer("//Bob", TAO));
    expired.tx.mortality = Mortality {
        birth: 0,
        period: 1,
    };
    let pair = key("//Alice");
    expired.signature = pair
        .sign(&expired.tx.signing_payload(&chain.genesis_hash))
        .to_bytes();
    assert_eq!(
        builder.apply(&expired).unwrap_err(),
        InvalidTx::OutsideMortality { birth: 0, end: 1 }
    );
    let mut foreign = chain.sign("//Alice", transfer("//Bob", TAO));
    foreign.signature = pair
        .sign(&foreign.tx.signing_payload(&Hash256([7; 32])))
        .to_bytes();
    assert_eq!(
        builder.apply(&foreign).unwrap_err(),
        InvalidTx::BadSignature
    );
    assert!(builder.receipts().is_empty());
}

#[test]
fn a_nonce_ahead_is_judged_as_if_the_ones_before_it_were_used() {
    let mut chain = TestChain::local();
    let used = chain.sign("//Alice", transfer("//Bob", TAO));
    chain.block(std::slice::from_ref(&used));
    let judge = |tx: SignedTx| {
        let verified = VerifiedTx::verify(tx, &chain.genesis_hash).unwrap();
        validate_ahead(&chain.store, &verified)
    };
    // A funded account's later nonce: its fee is what it would pay, and nothing is kept.
    let later = chain.sign_with("//Alice", transfer("//Bob", TAO), 5);
    let fee_rao = judge(later).unwrap().fee_rao;
    assert!(fee_rao > 0);
    assert_eq!(chain.nonce(&id("//Alice")), 1);
    // A used nonce stays refused.
    assert_eq!(judge(used), Err(InvalidTx::StaleNonce { expected: 1 }));
    // An account that holds nothing cannot queue a paid call at any nonce...
    let broke = chain.sign_with("//Nobody", transfer("//Bob", TAO), 3);
    assert!(matches!(judge(broke), Err(InvalidTx::CannotPayFee { .. })));
    // ...nor a free call that fails on the current state.
    let weights = Call::SetWeights {
        netuid: tao_primitives::NetUid(1),
        uids: vec![0],
        values: vec![1],
        version_key: 0,
    };
    assert!(matches!(
        judge(chain.sign_with("//Nobody", weights, 3)),
        Err(InvalidTx::FreeCallFailed(_))
    ));
}

#[test]
fn a_block_with_a_bad_signature_is_rejected_at_its_index() {
    let chain = TestChain::local();
    let good = chain.sign("//Alice", transfer("//Bob", TAO));
    let mut bad = chain.sign("//Bob", transfer("//Alice", TAO));
    bad.signature[0] ^= 1;
    let error = execute_block(&chain.store, &header(&chain), &[good, bad]).unwrap_err();
    assert_eq!(
        error,
        BlockError::InvalidTransaction {
            index: 1,
            error: InvalidTx::BadSignature
        }
    );
}

#[test]
fn only_signatures_not_vouched_for_are_checked_and_bad_ones_keep_their_index() {
    let chain = TestChain::local();
    let first = chain.sign("//Alice", transfer("//Bob", TAO));
    let second = chain.sign("//Bob", transfer("//Alice", TAO));
    let mut forged = chain.sign("//Charlie", transfer("//Alice", TAO));
    forged.signature[0] ^= 1;
    let block = [first.clone(), second, forged.clone()];
    // The first is vouched for, so the bad one is still reported at its index in the block.
    let error =
        execute_block_with(&chain.store, &header(&chain), &block, |tx| *tx == first).unwrap_err();
    assert_eq!(
        error,
        BlockError::InvalidTransaction {
            index: 2,
            error: InvalidTx::BadSignature
        }
    );
    // A transaction the caller vouched for is not checked again (the caller's promise: it
    // checked that exact signature itself, as a node does at admission).
    let vouched = execute_block_with(&chain.store, &header(&chain), &block, |_| true).unwrap();
    assert_eq!(vouched.receipts.len(), 3);
    // Proofs are only made by checking.
    assert_eq!(
        VerifiedTx::verify(forged, &chain.genesis_hash),
        Err(InvalidTx::BadSignature)
    );
    let proof = VerifiedTx::verify(first.clone(), &chain.genesis_hash).unwrap();
    assert_eq!(proof.signed(), &first);
    let mut builder = BlockBuilder::begin(&chain.store, &header(&chain)).unwrap();
    assert!(builder.apply_verified(&proof).unwrap().result.is_ok());
}

#[test]
fn blocks_must_follow_their_parent() {
    let chain = TestChain::local();
    let skip = Header {
        height: 2,
        timestamp_ms: 0,
        author: None,
    };
    assert!(matches!(
        execute_block(&chain.store, &skip, &[]),
        Err(BlockError::BadHeight { parent: 0, got: 2 })
    ));
}

#[test]
fn hostile_bytes_decode_to_errors() {
    assert_eq!(SignedTx::decode_bounded(&[]), Err(InvalidTx::Malformed));
    assert_eq!(
        SignedTx::decode_bounded(&[0xff; 100]),
        Err(InvalidTx::Malformed)
    );
    assert!(matches!(
        SignedTx::decode_bounded(&vec![0; 20_000]),
        Err(InvalidTx::TooLarge { .. })
    ));
    let chain = TestChain::local();
    let tx = chain.sign("//Alice", transfer("//Bob", TAO));
    let mut bytes = parity_scale_codec::Encode::encode(&tx);
    assert_eq!(SignedTx::decode_bounded(&bytes), Ok(tx));
    bytes.push(0);
    assert_eq!(SignedTx::decode_bounded(&bytes), Err(InvalidTx::Malformed));
}

#[test]
fn the_same_blocks_give_the_same_root() {
    let run = || {
        let mut chain = TestChain::local();
        let tx = chain.sign("//Alice", transfer("//Bob", TAO));
        chain.block(&[tx]);
        chain.empty_blocks(12);
        chain.root()
    };
    assert_eq!(run(), run());
}

#[test]
fn events_serialize_with_ss58_accounts() {
    let event = tao_types::events::Event::Transfer {
        from: id("//Alice"),
        to: id("//Bob"),
        amount_rao: 5,
    };
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(
        json["Transfer"]["from"],
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    );
    assert_eq!(
        serde_json::from_value::<tao_types::events::Event>(json).unwrap(),
        event
    );
}

/// A gossip message's signatures are checked in one batch: all verified, or those before the
/// first bad one and that one (the rest are dropped unchecked).
#[test]
fn a_batch_of_signatures_verifies_up_to_the_first_bad_one() {
    let chain = TestChain::local();
    let genesis = chain.genesis_hash;
    let txs: Vec<SignedTx> = ["//Alice", "//Bob", "//Charlie", "//Dave"]
        .iter()
        .map(|uri| chain.sign(uri, transfer("//Eve", TAO)))
        .collect();
    let (verified, bad) = VerifiedTx::verify_all(txs.clone(), &genesis);
    assert_eq!(bad, None);
    let signed: Vec<SignedTx> = verified.into_iter().map(VerifiedTx::into_signed).collect();
    assert_eq!(signed, txs);

    let mut forged = txs.clone();
    forged[2].signature[0] ^= 1;
    let (verified, bad) = VerifiedTx::verify_all(forged.clone(), &genesis);
    assert_eq!(bad.as_ref(), Some(&forged[2]));
    let signed: Vec<&SignedTx> = verified.iter().map(VerifiedTx::signed).collect();
    assert_eq!(signed, [&txs[0], &txs[1]]);

    let (verified, bad) = VerifiedTx::verify_all(Vec::new(), &genesis);
    assert!(verified.is_empty() && bad.is_none());
}
