//! Statement analysis shared by reads and writes: WHERE restrictions (`restrict`),
//! materialised rows (`rows`), bind-marker receivers (`bind`) and the prepared-statement
//! cache (`prepared`).

pub mod bind;
pub mod prepared;
pub mod restrict;
pub mod rows;
