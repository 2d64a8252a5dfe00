//! One module per command group.

pub mod accounts;
pub mod chain;
pub mod delegates;
pub mod neuron;
pub mod node;
pub mod stake;
pub mod wallet;
pub mod weights;
pub mod yuma;
