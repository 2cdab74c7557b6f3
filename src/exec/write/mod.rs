//! Writes: INSERT/UPDATE/DELETE/BATCH (`modify`), what a write does to one column
//! (`multicell`) and lightweight-transaction conditions (`cas`).

pub mod cas;
pub mod modify;
pub mod multicell;
