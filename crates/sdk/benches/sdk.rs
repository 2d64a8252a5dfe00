//! Benchmarks of the SDK (see the crate README).

fn main() {}
