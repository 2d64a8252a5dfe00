//! The template subnet, on `tao-sdk`: the bittensor subnet template's task (double the input;
//! the same `Dummy` synapse, so Python template miners take part), miners of selectable
//! quality, and a copier the validators must defeat. The tutorial is `docs/subnet-guide.md`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The request and its answer: `dummy_output` must be `2 × dummy_input` (the bittensor
/// template's synapse, as the axon's examples serve it).
pub use tao_axon::demo::Dummy;
use tao_sdk::{MinerContext, Rng, Subnet, Target};

/// How a template miner answers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Behaviour {
    /// Correct on a `quality` (0..=1) share of each validator's requests, spread evenly.
    Honest(f64),
    /// Relays each request to the best other miner and returns its answer, else the last
    /// answer it copied (defeated by the miners' permit check and by fresh challenges).
    Copier,
}

/// The template subnet; the behaviour matters to miners only.
#[derive(Debug)]
pub struct Template {
    behaviour: Behaviour,
    /// Honest: correct answers owed to each caller; copier: the last answer copied.
    memory: Mutex<(HashMap<String, f64>, Option<i64>)>,
}

impl Template {
    /// A template subnet whose miner behaves as `behaviour`.
    pub fn new(behaviour: Behaviour) -> Template {
        let memory = Mutex::new((HashMap::new(), None));
        Template { behaviour, memory }
    }

    fn honest(&self, input: i64, quality: f64, caller: &str) -> i64 {
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        if memory.0.len() > 4096 {
            memory.0.clear();
        }
        let owed = memory.0.entry(caller.to_owned()).or_insert(0.0);
        *owed += quality.clamp(0.0, 1.0);
        let correct = *owed >= 1.0;
        *owed -= f64::from(u8::from(correct));
        input.wrapping_mul(2).wrapping_add(i64::from(!correct))
    }

    async fn copy(&self, request: Dummy, miner: &MinerContext) -> Option<i64> {
        let graph = miner.graph();
        let others = graph.neurons.iter().filter(|n| n.hotkey != miner.hotkey);
        let best = others
            .max_by_key(|n| n.incentive)
            .and_then(|n| graph.axon_target(n.uid));
        let copied = match best {
            Some(target) => {
                miner
                    .dendrite
                    .call(&target, request, Duration::from_secs(2))
                    .await
            }
            None => return self.memory.lock().unwrap_or_else(|e| e.into_inner()).1,
        };
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        memory.1 = copied.synapse.and_then(|s| s.dummy_output).or(memory.1);
        memory.1
    }
}

impl Subnet for Template {
    type Synapse = Dummy;
    type Truth = i64;

    async fn answer(&self, mut request: Dummy, miner: &MinerContext) -> Result<Dummy, String> {
        let input = request.dummy_input;
        request.dummy_output = match self.behaviour {
            Behaviour::Honest(quality) => {
                let caller = miner.caller.as_ref().map_or("", |c| c.hotkey_ss58.as_str());
                Some(self.honest(input, quality, caller))
            }
            Behaviour::Copier => self.copy(request.clone(), miner).await,
        };
        Ok(request)
    }

    fn challenge(&self, _target: &Target, rng: &mut Rng) -> (Dummy, i64) {
        let input = rng.below(1 << 40) as i64;
        let request = Dummy {
            dummy_input: input,
            dummy_output: None,
        };
        (request, input * 2)
    }

    fn score(&self, truth: &i64, answer: &Dummy) -> f64 {
        f64::from(u8::from(answer.dummy_output == Some(*truth)))
    }
}
