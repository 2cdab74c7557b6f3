//! Writes: INSERT/UPDATE/DELETE/BATCH (`modify`), what a write does to one column
//! (`multicell`), lightweight-transaction conditions (`cas`) and INSERT JSON
//! (`insert_json`).

pub mod cas;
pub mod insert_json;
pub mod modify;
#[cfg(test)]
mod modify_tests;
pub mod multicell;
