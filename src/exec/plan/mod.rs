//! Statement analysis shared by reads and writes: WHERE restrictions (`restrict`),
//! materialised rows (`rows`) and bind-marker receivers (`bind`).

pub mod bind;
pub mod restrict;
pub mod rows;
