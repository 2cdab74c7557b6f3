//! Minimised failures found by the model test (`tests/model.rs`), frozen as named tests.
//!
//! Each test replays a short op list through the same harness as the random run; its doc
//! comment tells the story of the bug it pins (what went wrong, why, and what the fix was).

#[allow(unused_imports)]
use super::support::{run_ops, Config, Op, Payload, VRef, Write};
