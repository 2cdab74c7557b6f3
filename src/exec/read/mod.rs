//! Reads: SELECT (`select`, with GROUP BY checks in `grouping`) and DESCRIBE (`describe`).

pub mod describe;
pub mod grouping;
pub mod select;
