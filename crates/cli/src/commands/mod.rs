//! One module per command group.

pub mod node;
pub mod wallet;
pub mod yuma;
