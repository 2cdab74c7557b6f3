//! Statement analysis shared by reads and writes: WHERE restrictions (`restrict`, with
//! the clustering-column part in `clustering`), materialised rows (`rows`) and
//! bind-marker receivers (`bind`).

pub mod bind;
pub mod clustering;
pub mod restrict;
pub mod rows;
