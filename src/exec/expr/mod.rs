//! Expressions: terms evaluated to values (`eval`), native functions, CAST and arithmetic
//! (`functions`, `arith`, `math`, `aggregate`, `masking`), JSON (`json`)
//! and parts of values (`subselect`, `collections`).

pub mod aggregate;
pub mod arith;
pub mod collections;
pub mod eval;
pub mod functions;
pub mod json;
pub mod masking;
pub mod math;
pub mod subselect;
