//! CQL 3 front end: a hand-written lexer and recursive-descent parser (Cassandra 5.0 dialect plus
//! Strata's snapshot/clone/restore extensions).
//!
//! API: [`parse_statement`] gives one [`ast::Statement`] or a [`ParseError`];
//! [`ast::Statement::bind_markers`] lists the `?`/`:name` markers in index order; every tree
//! implements `Display` as canonical CQL; [`quote_identifier`] quotes a name the way that
//! printing does (for DESCRIBE output built elsewhere).
//!
//! Layout: `lexer` turns text into located tokens, `parser` builds the [`ast`] tree, `display`
//! prints any tree back as canonical CQL (used by DESCRIBE and the round-trip tests), `visit`
//! walks a tree (bind markers).
//!
//! Architecture invariants:
//! - Syntax only. No schema, no type checking; the planner does semantics.
//! - Never panics, whatever the input: depth, size and token count are bounded ([`MAX_DEPTH`],
//!   [`MAX_STATEMENT_BYTES`]) and every failure is a [`ParseError`].
//! - Errors are worded like Cassandra's ANTLR errors (`line 1:9 mismatched input 'FORM'
//!   expecting K_FROM (SELECT * [FORM] t)`), because the server sends `error.to_string()`
//!   verbatim as a Syntax_error (0x2000) and users and tools compare these texts.
//! - Printing then parsing gives back an equal tree (tested on hundreds of thousands of random
//!   trees).

pub mod ast;
mod display;
mod lexer;
mod parser;
mod visit;

#[cfg(test)]
mod generated_tests;
#[cfg(test)]
mod tests;

use std::fmt;

/// Deepest nesting accepted for terms, selectors, types and relations. Deeper input is rejected
/// instead of overflowing the stack.
pub const MAX_DEPTH: usize = 64;

/// Longest statement text accepted (the native protocol's own default frame cap).
pub const MAX_STATEMENT_BYTES: usize = 16 * 1024 * 1024;

/// A syntax error at a position of the statement text.
///
/// `line` is 1-based and `column` is the 0-based character offset in that line, as in Cassandra
/// (ANTLR's `charPositionInLine`). An error at the end of the input (`... '<EOF>'`) has `line`
/// 0 and prints as `line 0:-1`, exactly like Cassandra. `Display` gives the complete message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: u32,
    pub column: u32,
    /// The message after the `line L:C ` header, e.g. `mismatched input 'x' expecting K_FROM (...)`.
    pub message: String,
}

impl ParseError {
    /// Whether the error is at the end of the input (reported at line 0, see the type's doc).
    pub fn is_at_end_of_input(&self) -> bool {
        self.line == 0
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_at_end_of_input() {
            // ANTLR's EOF token has no position; Cassandra prints it as `line 0:-1`.
            return write!(f, "line 0:-1 {}", self.message);
        }
        write!(f, "line {}:{} {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

/// `name` as it must be written in CQL: bare when it reads back as the same identifier,
/// otherwise double-quoted with `"` doubled (`"MyTable"`, `"select"`, `"a""b"`).
pub fn quote_identifier(name: &str) -> String {
    display::quote_identifier(name)
}

/// Parses exactly one CQL statement; a trailing `;` is optional, a second statement is an error.
pub fn parse_statement(text: &str) -> Result<ast::Statement, ParseError> {
    parser::parse(text)
}
