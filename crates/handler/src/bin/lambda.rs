//! Native `lambda_runtime` binary (placeholder until the handler issue fills it).
fn main() {}
