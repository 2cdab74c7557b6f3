//! Derived data: secondary indexes (`index`), materialized views (`view`) and the
//! write-path hook that keeps both in step with base-table writes (`hook`).

pub mod hook;
pub mod index;
pub mod view;
