//! Reads: SELECT (`select`; selectors and aggregates in `selection`, GROUP BY checks in
//! `grouping`) and DESCRIBE (`describe`).

pub mod describe;
pub mod grouping;
pub mod select;
pub mod selection;
