//! One module per command group.

pub mod chain;
pub mod node;
pub mod wallet;
pub mod yuma;
