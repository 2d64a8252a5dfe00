//! One module per command group.

pub mod chain;
pub mod wallet;
pub mod yuma;
