//! Expressions: terms evaluated to values (`eval`), native functions, CAST and arithmetic
//! (`functions`, `arith`), JSON (`json`), parts of values (`subselect`, `collections`),
//! time-based UUIDs (`timeuuid`).

pub mod arith;
pub mod collections;
pub mod eval;
pub mod functions;
pub mod json;
pub mod subselect;
pub mod timeuuid;
