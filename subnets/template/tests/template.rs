//! The template's task, scoring and miner qualities, without a chain.

use tao_sdk::{Rng, Subnet, Target};
use tao_subnet_template::{Behaviour, Dummy, Template};

#[test]
fn challenges_are_fresh_and_only_the_right_answer_scores() {
    let subnet = Template::new(Behaviour::Honest(1.0));
    let target = Target {
        uid: 1,
        hotkey: tao_keys::PublicKey::from_bytes([1; 32]),
        round: 1,
    };
    let mut rng = Rng::seeded(1);
    let (first, truth) = subnet.challenge(&target, &mut rng);
    let (second, _) = subnet.challenge(&target, &mut rng);
    assert_ne!(first.dummy_input, second.dummy_input);
    assert_eq!(truth, first.dummy_input * 2);
    let answer = |output| Dummy {
        dummy_input: first.dummy_input,
        dummy_output: output,
    };
    assert_eq!(subnet.score(&truth, &answer(Some(truth))), 1.0);
    assert_eq!(subnet.score(&truth, &answer(Some(truth + 1))), 0.0);
    assert_eq!(subnet.score(&truth, &answer(None)), 0.0);
}
