//! Derived data: secondary indexes (`index`), materialized views (`view`) and the
//! write-path hook that keeps both in step with base-table writes (`hook`), and the
//! build of a new index or view from existing rows (`backfill`).

pub mod backfill;
pub mod hook;
pub mod index;
pub mod view;
