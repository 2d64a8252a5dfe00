//! The metagraph as built from the node's view: positions, hotkey lookups, axon targets and
//! the TAO value of alpha at the pool's price.

mod common;

use tao_keys::PublicKey;
use tao_sdk::Metagraph;
use tao_types::views::MetagraphView;

#[test]
fn views_become_a_metagraph_with_lookups() {
    let mut view: serde_json::Value = serde_json::from_str(&common::metagraph_json(300)).unwrap();
    view["dynamic"]["price_rao_per_alpha"] = 2_500_000_000u64.into();
    view["axons"][7] = serde_json::Value::Null;
    let view: MetagraphView = serde_json::from_value(view).unwrap();
    let graph = Metagraph::from_views(view, None);
    assert_eq!(graph.n(), 300);
    assert!(graph.weights.is_none());
    let neuron = graph.neuron(3).unwrap();
    assert_eq!(neuron.uid, 3);
    // Uid 3's alpha (1 000 α, it holds a permit) is worth 2 500 TAO at 2.5 TAO per α.
    assert_eq!(neuron.alpha_stake, 1_000_000_000_000);
    assert_eq!(neuron.alpha_value_rao, 2_500_000_000_000);
    assert_eq!(graph.uid_of(&neuron.hotkey), Some(3));
    assert_eq!(graph.uid_of(&PublicKey::from_bytes([0; 32])), None);
    let target = graph.axon_target(3).unwrap();
    assert_eq!((target.ip.as_str(), target.port), ("127.0.0.1", 8091));
    assert_eq!(target.hotkey, neuron.hotkey.to_ss58());
    assert!(graph.axon_target(7).is_none(), "uid 7 serves no axon");
    assert!(graph.neuron(300).is_none());
}
