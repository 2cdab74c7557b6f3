//! Recursive-descent parser for one CQL statement, following Cassandra's `Parser.g` rule by rule
//! (rule names are mentioned in the doc comments so the grammar can be compared).
//!
//! Errors: Cassandra's ANTLR parser says `mismatched input 'x' expecting K_FROM` when one token
//! was required, and `no viable alternative at input 'x'` when none of a rule's alternatives
//! fits. We produce the same two forms, plus Cassandra's query snippet. An error at end of input
//! is reported at `line 0:-1` like Cassandra's EOF token (see [`ParseError`]).
//!
//! Layout: this file holds the machinery (tokens, errors, speculation, depth, names, types) and
//! the statement dispatch; `dml` has SELECT/INSERT/UPDATE/DELETE/BATCH with selectors, terms
//! and relations; `schema` has DDL, DESCRIBE and Strata's CLONE/RESTORE; `auth` has the role
//! and permission statements.
//!
//! Speculation: a few places of the grammar are decided by ANTLR syntactic predicates (`SELECT
//! JSON ...`, `SELECT DISTINCT ...`, type hints `(int) ?`). We parse speculatively from a
//! [`Checkpoint`] and rewind on failure. Each speculation either succeeds or fails without
//! re-parsing what follows it, so the cost stays linear.

use super::ast::*;
use super::lexer::{escape_for_message, tokenize, Symbol, Token, TokenKind};
use super::{ParseError, MAX_DEPTH, MAX_STATEMENT_BYTES};

mod auth;
mod dml;
mod schema;

type PResult<T> = Result<T, ParseError>;

pub(super) fn parse(text: &str) -> PResult<Statement> {
    if text.len() > MAX_STATEMENT_BYTES {
        return Err(ParseError {
            line: 1,
            column: 0,
            message: format!(
                "statement of {} bytes exceeds the maximum of {MAX_STATEMENT_BYTES} bytes",
                text.len()
            ),
        });
    }
    let tokens = tokenize(text)?;
    Parser::new(text, tokens).single_statement()
}

/// Keywords that can never be identifiers (Cassandra's K_ tokens outside `unreserved_keyword`,
/// plus the BOOLEAN, NaN and Infinity literals).
const RESERVED: &[&str] = &[
    "ADD",
    "ALLOW",
    "ALTER",
    "AND",
    "APPLY",
    "ASC",
    "AUTHORIZE",
    "BATCH",
    "BEGIN",
    "BY",
    "COLUMNFAMILY",
    "CREATE",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DROP",
    "ENTRIES",
    "EXECUTE",
    "FALSE",
    "FROM",
    "FULL",
    "GRANT",
    "IF",
    "IN",
    "INDEX",
    "INFINITY",
    "INSERT",
    "INTO",
    "IS",
    "KEYSPACE",
    "LIMIT",
    "MATERIALIZED",
    "MODIFY",
    "NAN",
    "NORECURSIVE",
    "NOT",
    "NULL",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "PRIMARY",
    "RENAME",
    "REVOKE",
    "SCHEMA",
    "SELECT",
    "SET",
    "TABLE",
    "TO",
    "TOKEN",
    "TRUE",
    "TRUNCATE",
    "UNLOGGED",
    "UPDATE",
    "USE",
    "USING",
    "VIEW",
    "WHERE",
    "WITH",
];

/// Cassandra's `basic_unreserved_keyword`: keywords usable as identifiers and as property values.
const BASIC_UNRESERVED: &[&str] = &[
    "KEYS",
    "AS",
    "CLUSTER",
    "CLUSTERING",
    "COMPACT",
    "STORAGE",
    "TABLES",
    "TYPE",
    "TYPES",
    "VALUES",
    "MAP",
    "LIST",
    "FILTERING",
    "PERMISSION",
    "PERMISSIONS",
    "KEYSPACES",
    "ALL",
    "USER",
    "USERS",
    "ROLE",
    "ROLES",
    "IDENTITY",
    "SUPERUSER",
    "SUPERUSERS",
    "NOSUPERUSER",
    "LOGIN",
    "NOLOGIN",
    "OPTIONS",
    "PASSWORD",
    "GENERATED",
    "HASHED",
    "EXISTS",
    "CUSTOM",
    "TRIGGER",
    "CONTAINS",
    "INTERNALS",
    "ONLY",
    "STATIC",
    "FROZEN",
    "TUPLE",
    "FUNCTION",
    "FUNCTIONS",
    "AGGREGATE",
    "AGGREGATES",
    "SFUNC",
    "STYPE",
    "FINALFUNC",
    "INITCOND",
    "RETURNS",
    "LANGUAGE",
    "CALLED",
    "INPUT",
    "LIKE",
    "PER",
    "PARTITION",
    "GROUP",
    "DATACENTERS",
    "CIDRS",
    "ACCESS",
    "DEFAULT",
    "MBEAN",
    "MBEANS",
    "REPLACE",
    "UNSET",
    "MASKED",
    "UNMASK",
    "SELECT_MASKED",
    "VECTOR",
    "ANN",
    "BETWEEN",
    "CHECK",
    "INDEXES",
];

/// Unreserved keywords that are neither function names nor user type names
/// (`unreserved_keyword` minus `unreserved_function_keyword`).
const NON_FUNCTION_KEYWORDS: &[&str] = &[
    "TTL",
    "COUNT",
    "WRITETIME",
    "MAXWRITETIME",
    "KEY",
    "CAST",
    "JSON",
    "DISTINCT",
];

/// Names Cassandra refuses for user types (`reservedTypeNames`).
const RESERVED_TYPE_NAMES: &[&str] = &[
    "byte",
    "complex",
    "enum",
    "date",
    "interval",
    "macaddr",
    "bitstring",
];

const NATIVE_TYPES: &[(&str, NativeTypeName)] = &[
    ("ASCII", NativeTypeName::Ascii),
    ("BIGINT", NativeTypeName::Bigint),
    ("BLOB", NativeTypeName::Blob),
    ("BOOLEAN", NativeTypeName::Boolean),
    ("COUNTER", NativeTypeName::Counter),
    ("DATE", NativeTypeName::Date),
    ("DECIMAL", NativeTypeName::Decimal),
    ("DOUBLE", NativeTypeName::Double),
    ("DURATION", NativeTypeName::Duration),
    ("FLOAT", NativeTypeName::Float),
    ("INET", NativeTypeName::Inet),
    ("INT", NativeTypeName::Int),
    ("SMALLINT", NativeTypeName::Smallint),
    ("TEXT", NativeTypeName::Text),
    ("TIME", NativeTypeName::Time),
    ("TIMESTAMP", NativeTypeName::Timestamp),
    ("TIMEUUID", NativeTypeName::Timeuuid),
    ("TINYINT", NativeTypeName::Tinyint),
    ("UUID", NativeTypeName::Uuid),
    ("VARCHAR", NativeTypeName::Varchar),
    ("VARINT", NativeTypeName::Varint),
];

fn contains_ignore_case(list: &[&str], word: &str) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// Whether `word` is a reserved keyword (and so needs quoting as an identifier).
pub(super) fn is_reserved_word(word: &str) -> bool {
    contains_ignore_case(RESERVED, word)
}

fn native_type_named(word: &str) -> Option<NativeTypeName> {
    NATIVE_TYPES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
        .map(|(_, ty)| *ty)
}

/// Whether an unquoted `word` could not be read back as a user type name (`non_type_ident`).
pub(super) fn needs_quotes_as_type_name(word: &str) -> bool {
    native_type_named(word).is_some()
        || (contains_ignore_case(NON_FUNCTION_KEYWORDS, word) && !word.eq_ignore_ascii_case("KEY"))
        || contains_ignore_case(RESERVED_TYPE_NAMES, word)
}

/// Whether `word` is a keyword that cannot name a function (`ttl`, `writetime`, `cast`...).
pub(super) fn is_non_function_keyword(word: &str) -> bool {
    contains_ignore_case(NON_FUNCTION_KEYWORDS, word) && !word.eq_ignore_ascii_case("COUNT")
}

/// The canonical (upper-case) keyword of a native type.
pub(super) fn native_type_keyword(ty: NativeTypeName) -> &'static str {
    NATIVE_TYPES
        .iter()
        .find(|(_, t)| *t == ty)
        .map_or("BLOB", |(name, _)| name)
}

/// ANTLR's token name for a keyword in "expecting ..." messages.
fn keyword_token_name(keyword: &str) -> String {
    match keyword {
        "TABLE" => "K_COLUMNFAMILY".to_string(),
        _ => format!("K_{keyword}"),
    }
}

/// The content of a `{...}` literal.
enum BraceItems<T> {
    Map(Vec<(T, T)>),
    Set(Vec<T>),
}

/// A position to rewind to after a failed speculation.
#[derive(Debug, Clone, Copy)]
struct Checkpoint {
    pos: usize,
    depth: usize,
    next_bind_index: usize,
}

struct Parser<'a> {
    source: &'a str,
    /// Every token, hidden ones included (the error snippet counts them, like Cassandra).
    tokens: Vec<Token>,
    /// Indices into `tokens` of the non-hidden tokens; the last one is EOF.
    significant: Vec<usize>,
    /// Index into `significant` of the current token.
    pos: usize,
    depth: usize,
    next_bind_index: usize,
    eof: Token,
    /// The furthest error of a failed JSON/DISTINCT keyword reading.
    speculation_error: Option<ParseError>,
}

impl<'a> Parser<'a> {
    fn new(source: &'a str, tokens: Vec<Token>) -> Self {
        let significant: Vec<usize> = tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind != TokenKind::Hidden)
            .map(|(i, _)| i)
            .collect();
        let eof = Token {
            kind: TokenKind::Eof,
            text: "<EOF>".to_string(),
            start: source.len(),
            end: source.len(),
            line: 0,
            column: 0,
        };
        Parser {
            source,
            tokens,
            significant,
            pos: 0,
            depth: 0,
            next_bind_index: 0,
            eof,
            speculation_error: None,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Token access
    // -----------------------------------------------------------------------------------------

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, offset: usize) -> &Token {
        self.significant
            .get(self.pos + offset)
            .and_then(|&i| self.tokens.get(i))
            .unwrap_or(&self.eof)
    }

    fn advance(&mut self) {
        if self.pos + 1 < self.significant.len() {
            self.pos += 1;
        }
    }

    /// The current token's text (decoded for strings and quoted names); moves past it.
    fn advance_text(&mut self) -> String {
        let text = self.peek().text.clone();
        self.advance();
        text
    }

    /// The current token as a normalised identifier; moves past it.
    fn advance_ident(&mut self) -> Ident {
        let ident = normalise_ident(self.peek());
        self.advance();
        ident
    }

    fn at(&self, symbol: Symbol) -> bool {
        self.peek().is_symbol(symbol)
    }

    fn at_word(&self, keyword: &str) -> bool {
        self.peek().is_word(keyword)
    }

    fn at_words(&self, keywords: &[&str]) -> bool {
        keywords
            .iter()
            .enumerate()
            .all(|(i, k)| self.peek_at(i).is_word(k))
    }

    fn accept(&mut self, symbol: Symbol) -> bool {
        let found = self.at(symbol);
        if found {
            self.advance();
        }
        found
    }

    fn accept_word(&mut self, keyword: &str) -> bool {
        let found = self.at_word(keyword);
        if found {
            self.advance();
        }
        found
    }

    fn expect(&mut self, symbol: Symbol) -> PResult<()> {
        if self.accept(symbol) {
            Ok(())
        } else {
            Err(self.mismatched(&format!("'{}'", symbol.text())))
        }
    }

    fn expect_word(&mut self, keyword: &str) -> PResult<()> {
        if self.accept_word(keyword) {
            Ok(())
        } else {
            Err(self.mismatched(&keyword_token_name(keyword)))
        }
    }

    fn at_eof(&self) -> bool {
        self.peek().kind == TokenKind::Eof
    }

    // -----------------------------------------------------------------------------------------
    // Errors
    // -----------------------------------------------------------------------------------------

    /// An error at the current token, with Cassandra's snippet.
    fn error(&self, message: String) -> ParseError {
        let token = self.peek();
        if token.kind == TokenKind::Eof {
            return ParseError {
                line: 0,
                column: 0,
                message,
            };
        }
        let snippet = self.snippet();
        ParseError {
            line: token.line,
            column: token.column,
            message: format!("{message}{snippet}"),
        }
    }

    /// An error without snippet at the current token (Cassandra's `addRecognitionError`).
    fn plain_error(&self, message: String) -> ParseError {
        let token = self.peek();
        ParseError {
            line: token.line,
            column: token.column,
            message,
        }
    }

    fn offending_text(&self) -> String {
        let token = self.peek();
        match token.kind {
            TokenKind::String | TokenKind::QuotedName | TokenKind::Eof => {
                escape_for_message(&token.text)
            }
            _ => escape_for_message(self.source.get(token.start..token.end).unwrap_or("")),
        }
    }

    fn no_viable(&self) -> ParseError {
        self.error(format!(
            "no viable alternative at input '{}'",
            self.offending_text()
        ))
    }

    fn mismatched(&self, expecting: &str) -> ParseError {
        self.error(format!(
            "mismatched input '{}' expecting {expecting}",
            self.offending_text()
        ))
    }

    /// A clean refusal of syntax Strata does not implement; `what` is plural ("GRANT statements").
    fn unsupported(&self, what: &str) -> ParseError {
        self.plain_error(format!("{what} are not supported by Strata"))
    }

    /// `unsupported` for the statement that starts with `prefix` and the current word.
    fn unsupported_statement(&self, prefix: &str) -> ParseError {
        let word = self.peek().text.to_ascii_uppercase();
        self.unsupported(&format!("{prefix}{word} statements"))
    }

    /// Cassandra's `ErrorCollector.appendSnippet`: from 10 raw tokens before the offending one to
    /// 2 after, the offending token in brackets, `...` where the query goes on. Cassandra omits
    /// the snippet when that window reaches the EOF token (its position is invalid), so do we.
    fn snippet(&self) -> String {
        let Some(&offending) = self.significant.get(self.pos) else {
            return String::new();
        };
        let last = self.tokens.len().saturating_sub(1);
        let (from, to) = (offending.saturating_sub(10), (offending + 2).min(last));
        let (Some(from), Some(to), Some(bad)) = (
            self.tokens.get(from),
            self.tokens.get(to),
            self.tokens.get(offending),
        ) else {
            return String::new();
        };
        if to.kind == TokenKind::Eof {
            return String::new();
        }
        let slice = |a: usize, b: usize| self.source.get(a..b).unwrap_or("");
        let mut snippet = String::from(" (");
        if from.start != 0 {
            snippet.push_str("...");
        }
        snippet.push_str(slice(from.start, bad.start));
        snippet.push('[');
        snippet.push_str(slice(bad.start, bad.end));
        snippet.push(']');
        snippet.push_str(slice(bad.end, to.end));
        if to.end != self.source.len() {
            snippet.push_str("...");
        }
        snippet.push(')');
        snippet.replace('\n', "")
    }

    /// `item (AND item)*`; each item appends to the list (a parenthesized relation may append
    /// several, a property checks the ones before it).
    fn and_separated<T>(
        &mut self,
        item: fn(&mut Self, &mut Vec<T>) -> PResult<()>,
    ) -> PResult<Vec<T>> {
        let mut items = Vec::new();
        loop {
            item(self, &mut items)?;
            if !self.accept_word("AND") {
                return Ok(items);
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Speculation and depth
    // -----------------------------------------------------------------------------------------

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            pos: self.pos,
            depth: self.depth,
            next_bind_index: self.next_bind_index,
        }
    }

    fn restore(&mut self, checkpoint: Checkpoint) {
        self.pos = checkpoint.pos;
        self.depth = checkpoint.depth;
        self.next_bind_index = checkpoint.next_bind_index;
    }

    /// Runs `rule`; on failure rewinds and returns `None`.
    fn attempt<T>(&mut self, rule: impl FnOnce(&mut Self) -> PResult<T>) -> Option<T> {
        let checkpoint = self.checkpoint();
        match rule(self) {
            Ok(value) => Some(value),
            Err(_) => {
                self.restore(checkpoint);
                None
            }
        }
    }

    /// Runs a recursive rule one level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested<T>(&mut self, rule: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_DEPTH {
            return Err(self.plain_error(format!("maximum nesting depth of {MAX_DEPTH} exceeded")));
        }
        self.depth += 1;
        let result = rule(self);
        self.depth -= 1;
        result
    }

    // -----------------------------------------------------------------------------------------
    // Identifiers and names
    // -----------------------------------------------------------------------------------------

    /// Whether the token `offset` ahead can be an identifier (`ident`: IDENT, QUOTED_NAME or an
    /// unreserved keyword).
    fn ident_at(&self, offset: usize) -> bool {
        let token = self.peek_at(offset);
        match token.kind {
            TokenKind::Word => !is_reserved_word(&token.text),
            TokenKind::QuotedName => !token.text.is_empty(),
            _ => false,
        }
    }

    /// `ident` / `cident` / `noncol_ident` / `fident`: lowercased unless quoted.
    fn ident(&mut self) -> PResult<Ident> {
        if self.at(Symbol::QMark) {
            return Err(self.plain_error("Bind variables cannot be used for names".to_string()));
        }
        if !self.ident_at(0) {
            return Err(self.no_viable());
        }
        Ok(self.advance_ident())
    }

    /// `keyspaceName`
    fn keyspace_name(&mut self) -> PResult<Ident> {
        if self.at(Symbol::QMark) {
            return Err(self.plain_error("Bind variables cannot be used for keyspace names".into()));
        }
        self.ident()
    }

    /// `columnFamilyName` / `indexName`: `[ks.]name`.
    fn qualified_name(&mut self) -> PResult<QualifiedName> {
        let first = self.keyspace_name()?;
        if self.accept(Symbol::Dot) {
            if self.at(Symbol::QMark) {
                return Err(
                    self.plain_error("Bind variables cannot be used for table names".into())
                );
            }
            let name = self.ident()?;
            return Ok(QualifiedName {
                keyspace: Some(first),
                name,
            });
        }
        Ok(QualifiedName {
            keyspace: None,
            name: first,
        })
    }

    /// `non_type_ident`: an identifier that is not a native type or function-like keyword.
    fn non_type_ident(&mut self) -> PResult<Ident> {
        let token = self.peek();
        if token.kind == TokenKind::Word {
            let word = token.text.as_str();
            let type_like = native_type_named(word).is_some()
                || contains_ignore_case(NON_FUNCTION_KEYWORDS, word);
            if type_like && !word.eq_ignore_ascii_case("KEY") {
                return Err(self.no_viable());
            }
            if contains_ignore_case(RESERVED_TYPE_NAMES, word) {
                return Err(self.plain_error(format!("Invalid (reserved) user type name {word}")));
            }
        }
        self.ident()
    }

    /// `userTypeName`: `[ks.]type`.
    fn user_type_name(&mut self) -> PResult<QualifiedName> {
        if self.peek_at(1).is_symbol(Symbol::Dot) {
            let keyspace = self.ident()?;
            self.advance();
            let name = self.non_type_ident()?;
            return Ok(QualifiedName {
                keyspace: Some(keyspace),
                name,
            });
        }
        Ok(QualifiedName {
            keyspace: None,
            name: self.non_type_ident()?,
        })
    }

    /// Whether the token `offset` ahead is an `allowedFunctionName`.
    fn function_name_at(&self, offset: usize) -> bool {
        let token = self.peek_at(offset);
        match token.kind {
            TokenKind::Word => {
                let word = token.text.as_str();
                (!is_reserved_word(word) || word.eq_ignore_ascii_case("TOKEN"))
                    && (!contains_ignore_case(NON_FUNCTION_KEYWORDS, word)
                        || word.eq_ignore_ascii_case("COUNT"))
            }
            TokenKind::QuotedName => !token.text.is_empty(),
            _ => false,
        }
    }

    /// Whether a function call (`[ks.]name(`) starts here.
    fn function_call_ahead(&self) -> bool {
        (self.function_name_at(0) && self.peek_at(1).is_symbol(Symbol::LParen))
            || (self.ident_at(0)
                && self.peek_at(1).is_symbol(Symbol::Dot)
                && self.function_name_at(2)
                && self.peek_at(3).is_symbol(Symbol::LParen))
    }

    /// `functionName`: `[ks.]allowedFunctionName`.
    fn function_name(&mut self) -> PResult<QualifiedName> {
        let keyspace = if self.peek_at(1).is_symbol(Symbol::Dot) {
            let keyspace = self.keyspace_name()?;
            self.advance();
            Some(keyspace)
        } else {
            None
        };
        if !self.function_name_at(0) {
            return Err(self.no_viable());
        }
        let name = self.advance_ident();
        Ok(QualifiedName { keyspace, name })
    }

    /// Whether a bare column reference (an identifier that does not start a function call) is
    /// `offset` tokens ahead. Used for `c = c + 1` and `l = [1] + l`.
    fn bare_column_at(&self, offset: usize) -> bool {
        self.ident_at(offset)
            && !self.peek_at(offset + 1).is_symbol(Symbol::LParen)
            && !self.peek_at(offset + 1).is_symbol(Symbol::Dot)
    }

    // -----------------------------------------------------------------------------------------
    // Statements
    // -----------------------------------------------------------------------------------------

    /// `query: cqlStatement (';')* EOF`
    fn single_statement(mut self) -> PResult<Statement> {
        let result = self.statement().and_then(|statement| {
            while self.accept(Symbol::Semicolon) {}
            if !self.at_eof() {
                return Err(self.mismatched("EOF"));
            }
            Ok(statement)
        });
        result.map_err(|error| match self.speculation_error.take() {
            Some(kept) if error_position(&kept) > error_position(&error) => kept,
            _ => error,
        })
    }

    /// `cqlStatement`
    fn statement(&mut self) -> PResult<Statement> {
        let token = self.peek();
        if token.kind != TokenKind::Word {
            return Err(self.no_viable());
        }
        match token.text.to_ascii_uppercase().as_str() {
            "SELECT" => Ok(Statement::Select(self.select_statement()?)),
            "INSERT" => Ok(Statement::Insert(self.insert_statement()?)),
            "UPDATE" => Ok(Statement::Update(self.update_statement()?)),
            "DELETE" => Ok(Statement::Delete(self.delete_statement()?)),
            "BEGIN" => Ok(Statement::Batch(self.batch_statement()?)),
            "USE" => {
                self.advance();
                Ok(Statement::Use(self.keyspace_name()?))
            }
            "TRUNCATE" => {
                self.advance();
                let _ = self.accept_word("TABLE") || self.accept_word("COLUMNFAMILY");
                Ok(Statement::Truncate(self.qualified_name()?))
            }
            "CREATE" => self.create_statement(),
            "ALTER" => self.alter_statement(),
            "DROP" => self.drop_statement(),
            "DESCRIBE" | "DESC" => Ok(Statement::Describe(self.describe_statement()?)),
            "RESTORE" => self.restore_statement(),
            "GRANT" => self.grant_statement(true),
            "REVOKE" => self.grant_statement(false),
            "LIST" => self.list_statement(),
            _ => Err(self.no_viable()),
        }
    }

    // ---- Types -------------------------------------------------------------------------------

    /// `comparatorType`
    fn cql_type(&mut self) -> PResult<CqlType> {
        self.nested(Self::cql_type_inner)
    }

    fn cql_type_inner(&mut self) -> PResult<CqlType> {
        let token = self.peek();
        if token.kind == TokenKind::String {
            return Ok(CqlType::Custom(self.advance_text()));
        }
        let qualified = self.peek_at(1).is_symbol(Symbol::Dot);
        if token.kind == TokenKind::Word && !qualified {
            if let Some(native) = native_type_named(&token.text) {
                self.advance();
                return Ok(CqlType::Native(native));
            }
            if self.peek_at(1).is_symbol(Symbol::Lt) {
                if let Some(ty) = self.parameterized_type()? {
                    return Ok(ty);
                }
            }
        }
        Ok(CqlType::UserDefined(self.user_type_name()?))
    }

    /// `map<k, v>`, `list<t>`, `set<t>`, `frozen<t>`, `tuple<t, ...>`, `vector<t, n>`; `None`
    /// when the word is none of those (it is then a user type name).
    fn parameterized_type(&mut self) -> PResult<Option<CqlType>> {
        let word = self.peek().text.to_ascii_uppercase();
        if !["MAP", "LIST", "SET", "FROZEN", "TUPLE", "VECTOR"].contains(&word.as_str()) {
            return Ok(None);
        }
        self.advance();
        self.expect(Symbol::Lt)?;
        let first = Box::new(self.cql_type()?);
        let ty = match word.as_str() {
            "MAP" => {
                self.expect(Symbol::Comma)?;
                CqlType::Map(first, Box::new(self.cql_type()?))
            }
            "LIST" => CqlType::List(first),
            "SET" => CqlType::Set(first),
            "FROZEN" => CqlType::Frozen(first),
            "TUPLE" => {
                let mut items = vec![*first];
                while self.accept(Symbol::Comma) {
                    items.push(self.cql_type()?);
                }
                CqlType::Tuple(items)
            }
            _ => {
                self.expect(Symbol::Comma)?;
                if self.peek().kind != TokenKind::Integer {
                    return Err(self.mismatched("INTEGER"));
                }
                let text = self.peek().text.clone();
                let dimension = text
                    .parse()
                    .map_err(|_| self.plain_error(format!("Invalid vector dimension {text}")))?;
                self.advance();
                CqlType::Vector(first, dimension)
            }
        };
        self.expect(Symbol::Gt)?;
        Ok(Some(ty))
    }

    /// `native_type`
    fn native_type(&mut self) -> PResult<NativeTypeName> {
        let token = self.peek();
        match (token.kind, native_type_named(&token.text)) {
            (TokenKind::Word, Some(native)) => {
                self.advance();
                Ok(native)
            }
            _ => Err(self.no_viable()),
        }
    }
}

fn selector_arithmetic(op: ArithmeticOp, left: Selector, right: Selector) -> Selector {
    Selector::Arithmetic {
        op,
        left: Box::new(left),
        right: Box::new(right),
    }
}

fn term_arithmetic(op: ArithmeticOp, left: Term, right: Term) -> Term {
    Term::Arithmetic {
        op,
        left: Box::new(left),
        right: Box::new(right),
    }
}

/// Orders errors by where they are; end-of-input errors (line 0) come last.
fn error_position(error: &ParseError) -> (u32, u32) {
    match error.line {
        0 => (u32::MAX, u32::MAX),
        line => (line, error.column),
    }
}

/// Lowercases unquoted identifiers; quoted ones keep their exact (unescaped) text.
fn normalise_ident(token: &Token) -> Ident {
    match token.kind {
        TokenKind::QuotedName => token.text.clone(),
        _ => token.text.to_lowercase(),
    }
}

/// The literal a keyword-like word denotes (`true`, `false`, `NaN`, `Infinity`, `NULL`).
fn word_literal(word: &str) -> Option<Literal> {
    let (kind, text) = match word.to_ascii_lowercase().as_str() {
        "true" => (LiteralKind::Boolean, "true"),
        "false" => (LiteralKind::Boolean, "false"),
        "nan" => (LiteralKind::NaN, "NaN"),
        "infinity" => (LiteralKind::Infinity, "Infinity"),
        "null" => (LiteralKind::Null, "null"),
        _ => return None,
    };
    Some(Literal {
        kind,
        text: text.to_string(),
    })
}

/// `-literal` folded into the literal for the kinds Cassandra lexes with a sign.
fn negate_literal(literal: &Literal) -> Option<Literal> {
    let signed = matches!(
        literal.kind,
        LiteralKind::Integer
            | LiteralKind::Float
            | LiteralKind::Duration
            | LiteralKind::NaN
            | LiteralKind::Infinity
    );
    (signed && !literal.text.starts_with('-')).then(|| Literal {
        kind: literal.kind,
        text: format!("-{}", literal.text),
    })
}
