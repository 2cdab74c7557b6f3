//! Reads: SELECT (`select`; selectors and aggregates in `selection`, GROUP BY checks in
//! `grouping`) and DESCRIBE (`describe`).

pub mod describe;
pub mod grouping;
pub mod select;
#[cfg(test)]
mod select_tests;
pub mod selection;
