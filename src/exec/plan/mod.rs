//! Statement analysis shared by reads and writes: WHERE restrictions (`restrict`, with
//! the clustering-column part in its child `restrict::clustering`), materialised rows (`rows`) and
//! bind-marker receivers (`bind`).

pub mod bind;
pub mod restrict;
pub mod rows;
