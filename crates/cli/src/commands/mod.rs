//! One module per command group.

pub mod wallet;
pub mod yuma;
