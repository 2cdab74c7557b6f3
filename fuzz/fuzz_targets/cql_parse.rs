//! The CQL parser must return a statement or a `ParseError` for any input, never panic
//! or overflow the stack; a parsed statement must print and re-parse to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(statement) = strata::cql::parse_statement(text) {
        let printed = statement.to_string();
        let reparsed = strata::cql::parse_statement(&printed);
        assert_eq!(reparsed.as_ref().ok(), Some(&statement), "round trip of {printed:?}");
    }
});
