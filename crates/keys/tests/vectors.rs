//! Known-answer tests: `shared/reference/sdk.md` §4.2 and §4.4 (bittensor-wallet 4.1.1) and the
//! sp-core sr25519 tests (dev accounts, soft derivation, seed vectors).

use proptest::prelude::*;
use tao_keys::{
    DEV_PHRASE, KeyError, Keypair, PublicKey, Signature, VerifyingKey, verify, verify_batch,
    verify_batch_prepared,
};

fn hex32(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).unwrap();
    out
}

struct Vector {
    phrase: &'static str,
    entropy: [u8; 16],
    mini: &'static str,
    public: &'static str,
    ss58: &'static str,
}

const VECTORS: [Vector; 2] = [
    Vector {
        phrase: "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                 abandon about",
        entropy: [0; 16],
        mini: "4ed8d4b17698ddeaa1f1559f152f87b5d472f725ca86d341bd0276f1b61197e2",
        public: "66933bd1f37070ef87bd1198af3dacceb095237f803f3d32b173e6b425ed7972",
        ss58: "5EPCUjPxiHAcNooYipQFWr9NmmXJKpNG5RhcntXwbtUySrgH",
    },
    Vector {
        phrase: "legal winner thank year wave sausage worth useful legal winner thank yellow",
        entropy: [0x7f; 16],
        mini: "6fa2796b0071cac425d8a7851038318c2c37dcebfe4bae73197ce93e75909bd2",
        public: "625e25364c7b68e0a83065ccb40afed43f8fe933e669b24f3d69a57eddb3b715",
        ss58: "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe",
    },
];

#[test]
fn sdk_mnemonic_vectors() {
    for v in &VECTORS {
        // Phrase -> entropy (round trip through generation).
        assert_eq!(
            Keypair::generate_mnemonic(12, &v.entropy).unwrap(),
            v.phrase
        );
        // Entropy -> mini secret -> public key -> SS58.
        let from_entropy = Keypair::from_entropy(&v.entropy, None).unwrap();
        assert_eq!(from_entropy.mini_secret(), Some(hex32(v.mini)));
        assert_eq!(from_entropy.public().to_bytes(), hex32(v.public));
        assert_eq!(from_entropy.public().to_ss58(), v.ss58);
        // Phrase, mini secret and URI all agree.
        let from_phrase = Keypair::from_phrase(v.phrase, None).unwrap();
        assert_eq!(from_phrase.mini_secret(), Some(hex32(v.mini)));
        assert_eq!(from_phrase.public().to_ss58(), v.ss58);
        assert_eq!(
            Keypair::from_mini_secret(hex32(v.mini)).public(),
            from_phrase.public()
        );
        assert_eq!(
            Keypair::from_uri(v.phrase).unwrap().public(),
            from_phrase.public()
        );
        assert_eq!(
            Keypair::from_uri(&format!("0x{}", v.mini))
                .unwrap()
                .public(),
            from_phrase.public()
        );
        assert_eq!(
            PublicKey::from_ss58(v.ss58).unwrap().to_bytes(),
            hex32(v.public)
        );
    }
}

#[test]
fn sdk_keyfile_private_key() {
    // §4.2: `privateKey` is the 64-byte schnorrkel secret of `secretSeed`.
    let pair = Keypair::from_mini_secret(hex32(VECTORS[1].mini));
    let private = "ad8a44476e667ef8eab356d1d6f09303f21ba1ac44a3f8b96210bdd603d1900b\
                   b25d15f130020fffc3261f584f84168e7a6f0009f6c3abb2f3fa460f493b0595";
    assert_eq!(hex::encode(*pair.secret_key_bytes()), private);
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(private, &mut bytes).unwrap();
    let loaded = Keypair::from_secret_key_bytes(&bytes).unwrap();
    assert_eq!(loaded.public(), pair.public());
    assert_eq!(loaded.mini_secret(), None);
    assert_eq!(
        Keypair::from_secret_key_bytes(&[0xff; 64]).unwrap_err(),
        KeyError::BadSecretKey
    );
    let sig = loaded.sign(b"keyfile");
    assert!(verify(&pair.public(), b"keyfile", &sig));
}

#[test]
fn standard_bip39_seed_is_not_used() {
    // §4.4 negative test: PBKDF2 of the *phrase* gives this address; we must not.
    let wrong = "5EqgEeg5SfVAMYLbxzv7kyXoCZsDYwscpjtgQ5gGnVVtZ5U2";
    let pair = Keypair::from_phrase(VECTORS[0].phrase, None).unwrap();
    assert_ne!(pair.public().to_ss58(), wrong);
    // It is a well-formed address all the same, so the comparison is meaningful.
    assert!(PublicKey::from_ss58(wrong).is_ok());
}

#[test]
fn dev_accounts() {
    let alice = Keypair::from_uri("//Alice").unwrap();
    assert_eq!(
        alice.public().to_ss58(),
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    );
    assert_eq!(
        alice.public().to_bytes(),
        hex32("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
    );
    let bob = Keypair::from_uri("//Bob").unwrap();
    assert_eq!(
        bob.public().to_ss58(),
        "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
    );
    // The bare form is the dev phrase plus the path; hard derivation keeps the mini secret.
    let explicit = Keypair::from_uri(&format!("{DEV_PHRASE}//Alice")).unwrap();
    assert_eq!(explicit.public(), alice.public());
    assert!(alice.mini_secret().is_some());
    assert_eq!(alice.mini_secret(), explicit.mini_secret());
    // The root is the dev phrase's own account (sp-core DEV_ADDRESS).
    assert_eq!(
        Keypair::from_uri("").unwrap().public().to_ss58(),
        "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"
    );
}

#[test]
fn soft_derivation_known_vector() {
    // sp-core `derive_soft_known_pair_should_work`: DEV_PHRASE/Alice.
    let soft = Keypair::from_uri(&format!("{DEV_PHRASE}/Alice")).unwrap();
    assert_eq!(
        soft.public().to_bytes(),
        hex32("d6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e")
    );
    assert_eq!(Keypair::from_uri("/Alice").unwrap().public(), soft.public());
    // A soft step forgets the mini secret.
    assert_eq!(soft.mini_secret(), None);
    assert_eq!(Keypair::from_uri("//Alice/0").unwrap().mini_secret(), None);
    // Derived keys still sign.
    let sig = soft.sign(b"soft");
    assert!(verify(&soft.public(), b"soft", &sig));
}

#[test]
fn password_and_paths() {
    // sp-core `default_phrase_should_be_used`.
    let with_password = Keypair::from_uri("//Alice///password").unwrap();
    let phrase_with_password = Keypair::from_phrase(DEV_PHRASE, Some("password"))
        .unwrap()
        .derive([tao_keys::DeriveJunction::from_code("Alice", true)]);
    assert_eq!(with_password.public(), phrase_with_password.public());
    assert_ne!(
        with_password.public(),
        Keypair::from_uri("//Alice").unwrap().public()
    );
    // Numeric and textual junctions differ; hard and soft differ.
    let a = Keypair::from_uri("//1").unwrap().public();
    let b = Keypair::from_uri("//one").unwrap().public();
    let c = Keypair::from_uri("/1").unwrap().public();
    assert!(a != b && a != c && b != c);
    // Paths compose: `//Alice//stash` is `//Alice` then `//stash`.
    assert_eq!(
        Keypair::from_uri("//Alice//stash").unwrap().public(),
        Keypair::from_uri("//Alice")
            .unwrap()
            .derive([tao_keys::DeriveJunction::from_code("stash", true)])
            .public()
    );
    // The //Alice//stash dev account address.
    assert_eq!(
        Keypair::from_uri("//Alice//stash")
            .unwrap()
            .public()
            .to_ss58(),
        "5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY"
    );
}

#[test]
fn sp_core_seed_vectors() {
    let pair =
        Keypair::from_uri("0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap();
    assert_eq!(
        pair.public().to_bytes(),
        hex32("44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f")
    );
    let pair = Keypair::from_mini_secret(*b"12345678901234567890123456789012");
    assert_eq!(
        pair.public().to_bytes(),
        hex32("741c08a06f41c596608f6774259bd9043304adfa5d3eea62760bd9be97634d63")
    );
}

#[test]
fn bad_uris_and_phrases() {
    assert_eq!(
        Keypair::from_phrase("abandon abandon", None).unwrap_err(),
        KeyError::MnemonicWordCount(2)
    );
    let unknown = "abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                   abandon abandon zzzz";
    assert_eq!(
        Keypair::from_phrase(unknown, None).unwrap_err(),
        KeyError::MnemonicUnknownWord { index: 11 }
    );
    let bad_checksum = "abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                        abandon abandon abandon";
    assert_eq!(
        Keypair::from_phrase(bad_checksum, None).unwrap_err(),
        KeyError::MnemonicChecksum
    );
    assert!(matches!(
        Keypair::from_uri("0xnothex"),
        Err(KeyError::BadHex(_))
    ));
    assert_eq!(
        Keypair::from_uri("0x0102").unwrap_err(),
        KeyError::BadLength {
            what: "seed",
            expected: 32,
            actual: 2
        }
    );
    assert!(matches!(
        Keypair::from_uri("//Alice//"),
        Err(KeyError::BadDerivationPath(_))
    ));
    assert!(matches!(
        Keypair::from_uri("//Alice/"),
        Err(KeyError::BadDerivationPath(_))
    ));
    assert!(matches!(
        Keypair::from_uri("/"),
        Err(KeyError::BadDerivationPath(_))
    ));
    assert_eq!(
        Keypair::from_entropy(&[0; 17], None).unwrap_err(),
        KeyError::BadEntropyLength(17)
    );
}

#[test]
fn random_mnemonics_are_valid_and_fresh() {
    for words in [12, 15, 18, 21, 24] {
        let phrase = Keypair::random_mnemonic(words).unwrap();
        assert_eq!(phrase.split(' ').count(), words);
        assert!(Keypair::from_phrase(&phrase, None).is_ok());
    }
    assert_ne!(
        Keypair::random_mnemonic(24).unwrap(),
        Keypair::random_mnemonic(24).unwrap()
    );
    assert_eq!(
        Keypair::random_mnemonic(11).unwrap_err(),
        KeyError::MnemonicWordCount(11)
    );
}

#[test]
fn sign_and_verify() {
    let alice = Keypair::from_uri("//Alice").unwrap();
    let bob = Keypair::from_uri("//Bob").unwrap();
    let message = b"transfer 1 TAO";
    let sig = alice.sign(message);
    assert!(verify(&alice.public(), message, &sig));
    // Randomised signing: another signature, equally valid.
    let sig2 = alice.sign(message);
    assert_ne!(sig, sig2);
    assert!(verify(&alice.public(), message, &sig2));
    // Tampered message, signature, or the wrong key.
    assert!(!verify(&alice.public(), b"transfer 2 TAO", &sig));
    assert!(!verify(&bob.public(), message, &sig));
    for i in [0, 31, 32, 62] {
        let mut bytes = sig.to_bytes();
        bytes[i] ^= 0x01;
        assert!(!verify(
            &alice.public(),
            message,
            &Signature::from_bytes(bytes)
        ));
    }
    // Malformed bytes: no schnorrkel marker bit, not a point, all zero.
    let mut unmarked = sig.to_bytes();
    unmarked[63] &= 0x7f;
    assert!(!verify(
        &alice.public(),
        message,
        &Signature::from_bytes(unmarked)
    ));
    assert!(!verify(&PublicKey::from_bytes([0xff; 32]), message, &sig));
    assert!(!verify(
        &alice.public(),
        message,
        &Signature::from_bytes([0; 64])
    ));
    assert!(!verify(
        &alice.public(),
        message,
        &Signature::from_bytes([0xff; 64])
    ));
}

#[test]
fn signatures_are_bound_to_their_key() {
    let alice = Keypair::from_uri("//Alice").unwrap();
    let others: Vec<PublicKey> = ["//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie"]
        .iter()
        .map(|uri| Keypair::from_uri(uri).unwrap().public())
        .collect();
    for i in 0u32..16 {
        let message = i.to_le_bytes();
        let sig = alice.sign(&message);
        assert!(verify(&alice.public(), &message, &sig));
        assert!(others.iter().all(|other| !verify(other, &message, &sig)));
    }
}

#[test]
fn pre_audit_signature_is_rejected() {
    // sp-core `verify_known_old_message_should_work`: a schnorrkel 0.1.1 signature, which
    // Substrate accepts only through `verify_deprecated`; plain verification must refuse it.
    let public =
        PublicKey::from_hex("b4bfa1f7a5166695eb75299fd1c4c03ea212871c342f2c5dfea0902b2c246918")
            .unwrap();
    let signature = Signature::from_hex(
        "5a9755f069939f45d96aaf125cf5ce7ba1db998686f87f2fb3cbdea922078741\
         a73891ba265f70c31436e18a9acd14d189d73c12317ab6c313285cd938453202",
    )
    .unwrap();
    let message =
        b"Verifying that I am the owner of 5G9hQLdsKQswNPgB499DeA5PkFBbgkLPJWkkS6FAM6xGQ8xD. \
                    Hash: 221455a3\n";
    assert!(!verify(&public, message, &signature));
}

#[test]
fn batch_verification() {
    let pairs: Vec<Keypair> = (0u8..64)
        .map(|i| Keypair::from_mini_secret([i; 32]))
        .collect();
    let messages: Vec<Vec<u8>> = (0u8..64).map(|i| vec![i; usize::from(i)]).collect();
    let mut batch: Vec<(PublicKey, &[u8], Signature)> = pairs
        .iter()
        .zip(&messages)
        .map(|(pair, message)| (pair.public(), message.as_slice(), pair.sign(message)))
        .collect();
    assert!(verify_batch(&batch));
    assert!(verify_batch(&[]));
    assert!(verify_batch(&batch[..1]));
    // The same key signing several messages is fine.
    let alice = &pairs[0];
    let repeated: Vec<(PublicKey, &[u8], Signature)> = messages
        .iter()
        .map(|m| (alice.public(), m.as_slice(), alice.sign(m)))
        .collect();
    assert!(verify_batch(&repeated));
    // One bad signature fails the batch.
    let good = batch[17].2;
    batch[17].2 = pairs[18].sign(&messages[17]);
    assert!(!verify_batch(&batch));
    batch[17].2 = good;
    assert!(verify_batch(&batch));
    // One swapped message, one malformed signature, one bad key.
    batch[5].1 = b"other";
    assert!(!verify_batch(&batch));
    batch[5].1 = &messages[5];
    batch[9].2 = Signature::from_bytes([0; 64]);
    assert!(!verify_batch(&batch));
    batch[9].2 = pairs[9].sign(&messages[9]);
    batch[3].0 = PublicKey::from_bytes([0xff; 32]);
    assert!(!verify_batch(&batch));
}

proptest! {
    #[test]
    fn ss58_round_trips(bytes in any::<[u8; 32]>()) {
        let key = PublicKey::from_bytes(bytes);
        let text = key.to_ss58();
        prop_assert!(text.starts_with('5'));
        prop_assert_eq!(PublicKey::from_ss58(&text), Ok(key));
        prop_assert_eq!(text.parse::<PublicKey>(), Ok(key));
        for prefix in [0u8, 2, 42, 63] {
            let other = key.to_ss58_with_prefix(prefix).unwrap();
            prop_assert_eq!(PublicKey::from_ss58_any_prefix(&other), Ok((key, prefix)));
        }
    }

    #[test]
    fn ss58_single_character_corruption_is_caught(bytes in any::<[u8; 32]>(), pos in 0usize..48, c in 0usize..58) {
        const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        let key = PublicKey::from_bytes(bytes);
        let text = key.to_ss58();
        let mut chars = text.into_bytes();
        let pos = pos % chars.len();
        prop_assume!(chars[pos] != ALPHABET[c]);
        chars[pos] = ALPHABET[c];
        let corrupted = String::from_utf8(chars).unwrap();
        // Two checksum bytes catch all but about 1 in 65536 corruptions; a miss must at least
        // decode to a different key.
        if let Ok(other) = PublicKey::from_ss58(&corrupted) {
            prop_assert_ne!(other, key);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,120}") {
        let _ = PublicKey::from_ss58(&text);
        let _ = PublicKey::from_ss58_any_prefix(&text);
        let _ = PublicKey::from_hex(&text);
        let _ = Signature::from_hex(&text);
        let _ = Keypair::from_phrase(&text, None);
    }

    #[test]
    fn arbitrary_uris_never_panic(text in "[a-z0-9 /]{0,40}") {
        let _ = Keypair::from_uri(&format!("//{text}"));
    }

    #[test]
    fn arbitrary_bytes_never_verify(key in any::<[u8; 32]>(), sig in prop::collection::vec(any::<u8>(), 64)) {
        let mut bytes = [0u8; 64];
        bytes.copy_from_slice(&sig);
        let sig = Signature::from_bytes(bytes);
        prop_assert!(!verify(&PublicKey::from_bytes(key), b"m", &sig));
        prop_assert!(!verify_batch(&[(PublicKey::from_bytes(key), b"m".as_slice(), sig)]));
    }
}

#[test]
fn prepared_keys() {
    let pairs: Vec<Keypair> = (0u8..8)
        .map(|i| Keypair::from_mini_secret([i; 32]))
        .collect();
    let mut batch: Vec<(VerifyingKey, &[u8], Signature)> = pairs
        .iter()
        .map(|pair| {
            let key = VerifyingKey::new(&pair.public()).unwrap();
            assert_eq!(key.public(), pair.public());
            (key, b"prepared".as_slice(), pair.sign(b"prepared"))
        })
        .collect();
    assert!(batch.iter().all(|(key, m, sig)| key.verify(m, sig)));
    assert!(verify_batch_prepared(&batch));
    assert!(!batch[0].0.verify(b"other", &batch[0].2));
    batch[3].2 = batch[4].2;
    assert!(!verify_batch_prepared(&batch));
    assert_eq!(
        VerifyingKey::new(&PublicKey::from_bytes([0xff; 32])),
        Err(KeyError::BadPublicKey)
    );
}
