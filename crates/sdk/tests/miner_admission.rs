//! The miner's axon admits only registered validators with a permit and the subnet's
//! minimum stake, unless the subnet opts out; the handler sees who called.

mod common;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tao_axon::Dendrite;
use tao_sdk::{MinerConfig, MinerContext, Rng, SharedMetagraph, Subnet, Target, miner_axon};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Echo {
    caller: Option<String>,
}

impl tao_axon::Synapse for Echo {
    const NAME: &'static str = "Echo";
}

struct EchoSubnet {
    open: bool,
}

impl Subnet for EchoSubnet {
    type Synapse = Echo;
    type Truth = ();

    async fn answer(&self, _request: Echo, miner: &MinerContext) -> Result<Echo, String> {
        Ok(Echo {
            caller: miner.caller.as_ref().map(|c| c.hotkey_ss58.clone()),
        })
    }

    fn challenge(&self, _target: &Target, _rng: &mut Rng) -> (Echo, ()) {
        (Echo { caller: None }, ())
    }

    fn score(&self, _truth: &(), _answer: &Echo) -> f64 {
        1.0
    }

    fn open_to_non_validators(&self) -> bool {
        self.open
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_permitted_validators_with_stake_get_answers() {
    let mut poor = common::neuron(3, common::key(3).public(), true, None);
    poor.alpha_stake = 5;
    let mut graph = common::graph(vec![
        common::neuron(0, common::key(0).public(), false, None),
        common::neuron(1, common::key(1).public(), true, None),
        common::neuron(2, common::key(2).public(), false, None),
        poor,
    ]);
    graph.hyperparams.min_validator_stake = 10;
    let shared = SharedMetagraph::new(Arc::new(graph));
    let config = MinerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..MinerConfig::default()
    };
    for open in [false, true] {
        let axon = miner_axon(
            Arc::new(EchoSubnet { open }),
            common::key(0),
            &config,
            &shared,
        );
        let running = axon.serve().await.unwrap();
        let ask = |i: usize| {
            let target = running.target();
            async move {
                Dendrite::new(common::key(i))
                    .call(&target, Echo { caller: None }, Duration::from_secs(5))
                    .await
            }
        };
        // uid 1: a validator with a permit and stake.
        let answer = ask(1).await;
        assert_eq!(answer.status_code, 200, "{}", answer.status_message);
        assert_eq!(
            answer.synapse.unwrap().caller,
            Some(common::key(1).public().to_ss58())
        );
        // uid 2: no permit; uid 3: a permit but less stake than the subnet's minimum;
        // key 9: not registered.
        for (i, reason) in [
            (2, "no validator permit"),
            (3, "below the subnet's minimum"),
            (9, "not registered"),
        ] {
            let answer = ask(i).await;
            if open {
                assert_eq!(answer.status_code, 200, "{}", answer.status_message);
            } else {
                assert_eq!(answer.status_code, 403, "{}", answer.status_message);
                assert!(
                    answer.status_message.contains(reason),
                    "{}",
                    answer.status_message
                );
            }
        }
    }
}
