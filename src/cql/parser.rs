//! Recursive-descent parser for one CQL statement, following Cassandra's `Parser.g` rule by rule
//! (rule names are mentioned in the doc comments so the grammar can be compared).
//!
//! Errors: Cassandra's ANTLR parser says `mismatched input 'x' expecting K_FROM` when one token
//! was required, and `no viable alternative at input 'x'` when none of a rule's alternatives
//! fits. We produce the same two forms, plus Cassandra's query snippet. An error at end of input
//! is reported at `line 0:-1` like Cassandra's EOF token (see [`ParseError`]).
//!
//! Speculation: a few places of the grammar are decided by ANTLR syntactic predicates (`SELECT
//! JSON ...`, `SELECT DISTINCT ...`, type hints `(int) ?`). We parse speculatively from a
//! [`Checkpoint`] and rewind on failure. Each speculation either succeeds or fails without
//! re-parsing what follows it, so the cost stays linear.

use super::ast::*;
use super::lexer::{escape_for_message, tokenize, Symbol, Token, TokenKind};
use super::{ParseError, MAX_DEPTH, MAX_STATEMENT_BYTES};

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

const NATIVE_TYPES: &[(&str, NativeType)] = &[
    ("ASCII", NativeType::Ascii),
    ("BIGINT", NativeType::Bigint),
    ("BLOB", NativeType::Blob),
    ("BOOLEAN", NativeType::Boolean),
    ("COUNTER", NativeType::Counter),
    ("DATE", NativeType::Date),
    ("DECIMAL", NativeType::Decimal),
    ("DOUBLE", NativeType::Double),
    ("DURATION", NativeType::Duration),
    ("FLOAT", NativeType::Float),
    ("INET", NativeType::Inet),
    ("INT", NativeType::Int),
    ("SMALLINT", NativeType::Smallint),
    ("TEXT", NativeType::Text),
    ("TIME", NativeType::Time),
    ("TIMESTAMP", NativeType::Timestamp),
    ("TIMEUUID", NativeType::Timeuuid),
    ("TINYINT", NativeType::Tinyint),
    ("UUID", NativeType::Uuid),
    ("VARCHAR", NativeType::Varchar),
    ("VARINT", NativeType::Varint),
];

fn contains_ignore_case(list: &[&str], word: &str) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// Whether `word` is a reserved keyword (and so needs quoting as an identifier).
pub(super) fn is_reserved_word(word: &str) -> bool {
    contains_ignore_case(RESERVED, word)
}

fn native_type_named(word: &str) -> Option<NativeType> {
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
pub(super) fn native_type_keyword(ty: NativeType) -> &'static str {
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
            "GRANT" | "REVOKE" | "LIST" => Err(self.unsupported_statement("")),
            _ => Err(self.no_viable()),
        }
    }

    // ---- SELECT ------------------------------------------------------------------------------

    /// `selectStatement`
    fn select_statement(&mut self) -> PResult<SelectStatement> {
        self.expect_word("SELECT")?;
        // `json` and `distinct` are also valid column names: they are keywords only when a
        // select clause follows (Cassandra's syntactic predicates).
        let json = self.keyword_before_selection("JSON");
        let distinct = self.keyword_before_selection("DISTINCT");
        let selection = self.selection()?;
        self.expect_word("FROM")?;
        let table = self.qualified_name()?;
        let snapshot = self.at_snapshot()?;
        let where_clause = if self.accept_word("WHERE") {
            self.where_clause()?
        } else {
            Vec::new()
        };
        let mut group_by = Vec::new();
        if self.at_words(&["GROUP", "BY"]) {
            self.advance();
            self.advance();
            group_by = self.comma_separated(Self::selector)?;
        }
        let mut order_by = Vec::new();
        if self.accept_word("ORDER") {
            self.expect_word("BY")?;
            order_by = self.comma_separated(Self::ordering)?;
        }
        let mut per_partition_limit = None;
        if self.at_words(&["PER", "PARTITION"]) {
            self.advance();
            self.advance();
            self.expect_word("LIMIT")?;
            per_partition_limit = Some(self.int_value()?);
        }
        let limit = if self.accept_word("LIMIT") {
            Some(self.int_value()?)
        } else {
            None
        };
        let allow_filtering = self.accept_word("ALLOW");
        if allow_filtering {
            self.expect_word("FILTERING")?;
        }
        Ok(SelectStatement {
            json,
            distinct,
            selection,
            table,
            snapshot,
            where_clause,
            group_by,
            order_by,
            per_partition_limit,
            limit,
            allow_filtering,
        })
    }

    /// Consumes `keyword` if it is followed by a select clause and FROM.
    /// If both readings fail, the error of the keyword reading is kept when it is further into
    /// the text (see `single_statement`): it is usually the user's intent.
    fn keyword_before_selection(&mut self, keyword: &str) -> bool {
        if !self.at_word(keyword) {
            return false;
        }
        let checkpoint = self.checkpoint();
        self.advance();
        let rest = (|| {
            if keyword == "JSON" {
                let _ = self.keyword_before_selection("DISTINCT");
            }
            self.selection()?;
            self.expect_word("FROM")
        })();
        self.restore(checkpoint);
        match rest {
            Ok(()) => {
                self.advance();
                true
            }
            Err(error) => {
                self.keep_furthest_speculation_error(error);
                false
            }
        }
    }

    fn keep_furthest_speculation_error(&mut self, error: ParseError) {
        let further = self
            .speculation_error
            .as_ref()
            .is_none_or(|kept| error_position(&error) > error_position(kept));
        if further {
            self.speculation_error = Some(error);
        }
    }

    /// Strata: `AT SNAPSHOT 'tag'` after a table name.
    fn at_snapshot(&mut self) -> PResult<Option<String>> {
        if !self.at_words(&["AT", "SNAPSHOT"]) {
            return Ok(None);
        }
        self.advance();
        self.advance();
        Ok(Some(self.string_literal()?))
    }

    fn string_literal(&mut self) -> PResult<String> {
        if self.peek().kind != TokenKind::String {
            return Err(self.mismatched("STRING_LITERAL"));
        }
        Ok(self.advance_text())
    }

    /// `selectors`: `*` or a comma-separated list of `selector [AS alias]`.
    fn selection(&mut self) -> PResult<Selection> {
        if self.accept(Symbol::Star) {
            return Ok(Selection::Wildcard);
        }
        let items = self.comma_separated(|p| {
            let selector = p.selector()?;
            let alias = if p.accept_word("AS") {
                Some(p.ident()?)
            } else {
                None
            };
            Ok(SelectItem { selector, alias })
        })?;
        Ok(Selection::Selectors(items))
    }

    /// `orderByClause`: `column [ANN OF term] [ASC|DESC]`
    fn ordering(&mut self) -> PResult<Ordering> {
        let column = self.ident()?;
        let ann_of = if self.at_words(&["ANN", "OF"]) {
            self.advance();
            self.advance();
            Some(self.term()?)
        } else {
            None
        };
        let direction = if self.accept_word("DESC") {
            OrderDirection::Desc
        } else {
            let _ = self.accept_word("ASC");
            OrderDirection::Asc
        };
        Ok(Ordering {
            column,
            ann_of,
            direction,
        })
    }

    fn comma_separated<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        let mut items = vec![item(self)?];
        while self.accept(Symbol::Comma) {
            items.push(item(self)?);
        }
        Ok(items)
    }

    /// `'(' item (',' item)* ')'`
    fn parenthesized_list<T>(
        &mut self,
        item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.expect(Symbol::LParen)?;
        let items = self.comma_separated(item)?;
        self.expect(Symbol::RParen)?;
        Ok(items)
    }

    /// `'(' [item (',' item)*] ')'`
    fn optional_parenthesized_list<T>(
        &mut self,
        item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        if self.peek_at(1).is_symbol(Symbol::RParen) {
            self.expect(Symbol::LParen)?;
            self.advance();
            return Ok(Vec::new());
        }
        self.parenthesized_list(item)
    }

    /// `intValue`: an integer literal or a bind marker.
    fn int_value(&mut self) -> PResult<Term> {
        let negative = self.at(Symbol::Minus) && self.peek_at(1).kind == TokenKind::Integer;
        if negative {
            self.advance();
        }
        if self.peek().kind == TokenKind::Integer {
            let text = self.advance_text();
            let text = if negative { format!("-{text}") } else { text };
            return Ok(Term::Literal(Literal {
                kind: LiteralKind::Integer,
                text,
            }));
        }
        if self.at(Symbol::QMark) || self.at(Symbol::Colon) {
            return Ok(Term::Bind(self.bind_marker()?));
        }
        Err(self.no_viable())
    }

    // ---- Selectors ---------------------------------------------------------------------------

    /// `unaliasedSelector`
    fn selector(&mut self) -> PResult<Selector> {
        self.nested(Self::selector_addition)
    }

    fn selector_addition(&mut self) -> PResult<Selector> {
        self.left_associative(
            Self::selector_multiplication,
            Self::additive_operator,
            selector_arithmetic,
        )
    }

    fn selector_multiplication(&mut self) -> PResult<Selector> {
        self.left_associative(
            Self::selector_group,
            Self::multiplicative_operator,
            selector_arithmetic,
        )
    }

    /// `operand (op operand)*` for the operators `operator` recognises, grouped to the left.
    fn left_associative<T>(
        &mut self,
        operand: fn(&mut Self) -> PResult<T>,
        operator: fn(&Self) -> Option<ArithmeticOp>,
        combine: fn(ArithmeticOp, T, T) -> T,
    ) -> PResult<T> {
        let mut left = operand(self)?;
        while let Some(op) = operator(self) {
            self.advance();
            let right = operand(self)?;
            left = combine(op, left, right);
        }
        Ok(left)
    }

    fn additive_operator(&self) -> Option<ArithmeticOp> {
        match self.peek().kind {
            TokenKind::Symbol(Symbol::Plus) => Some(ArithmeticOp::Add),
            TokenKind::Symbol(Symbol::Minus) => Some(ArithmeticOp::Subtract),
            _ => None,
        }
    }

    fn multiplicative_operator(&self) -> Option<ArithmeticOp> {
        match self.peek().kind {
            TokenKind::Symbol(Symbol::Star) => Some(ArithmeticOp::Multiply),
            TokenKind::Symbol(Symbol::Slash) => Some(ArithmeticOp::Divide),
            TokenKind::Symbol(Symbol::Percent) => Some(ArithmeticOp::Modulo),
            _ => None,
        }
    }

    /// `selectionGroup`: `-group` or a group with its field/element modifiers.
    fn selector_group(&mut self) -> PResult<Selector> {
        if self.accept(Symbol::Minus) {
            let inner = self.nested(Self::selector_group)?;
            return Ok(match inner {
                Selector::Term(Term::Literal(literal)) => match negate_literal(&literal) {
                    Some(negated) => Selector::Term(Term::Literal(negated)),
                    None => Selector::Negate(Box::new(Selector::Term(Term::Literal(literal)))),
                },
                other => Selector::Negate(Box::new(other)),
            });
        }
        let group = self.selector_group_without_field()?;
        self.selector_modifiers(group)
    }

    /// `selectorModifier`: any number of `.field` and `[element]` / `[from..to]`.
    fn selector_modifiers(&mut self, mut receiver: Selector) -> PResult<Selector> {
        loop {
            if self.accept(Symbol::Dot) {
                let field = self.ident()?;
                receiver = Selector::Field {
                    selector: Box::new(receiver),
                    field,
                };
            } else if self.accept(Symbol::LBracket) {
                receiver = self.collection_sub_selection(receiver)?;
                self.expect(Symbol::RBracket)?;
            } else {
                return Ok(receiver);
            }
        }
    }

    /// `collectionSubSelection`: `[t]`, `[t..]`, `[..t]`, `[t..t]`.
    fn collection_sub_selection(&mut self, receiver: Selector) -> PResult<Selector> {
        let selector = Box::new(receiver);
        if self.accept(Symbol::Range) {
            let to = Some(self.term()?);
            return Ok(Selector::Slice {
                selector,
                from: None,
                to,
            });
        }
        let from = self.term()?;
        if !self.accept(Symbol::Range) {
            return Ok(Selector::Element {
                selector,
                key: from,
            });
        }
        let to = if self.at(Symbol::RBracket) {
            None
        } else {
            Some(self.term()?)
        };
        Ok(Selector::Slice {
            selector,
            from: Some(from),
            to,
        })
    }

    /// `selectionGroupWithoutField`
    fn selector_group_without_field(&mut self) -> PResult<Selector> {
        let token = self.peek();
        match token.kind {
            TokenKind::Symbol(Symbol::LParen) => {
                if let Some(hint) = self.attempt(Self::selection_type_hint) {
                    return Ok(hint);
                }
                let mut items = self.parenthesized_list(Self::selector)?;
                Ok(match (items.pop(), items.is_empty()) {
                    (Some(only), true) => only,
                    (Some(last), false) => {
                        items.push(last);
                        Selector::Tuple(items)
                    }
                    (None, _) => Selector::Tuple(items),
                })
            }
            TokenKind::Symbol(Symbol::LBracket) => {
                self.advance();
                let items = self.list_items(Symbol::RBracket, Self::selector)?;
                Ok(Selector::List(items))
            }
            TokenKind::Symbol(Symbol::LBrace) => self.selection_map_or_set(),
            _ if self.constant_or_marker_ahead() => Ok(Selector::Term(self.simple_term()?)),
            _ => self.selection_function_or_column(),
        }
    }

    /// `'(' comparatorType ')' selectionGroupWithoutField`
    fn selection_type_hint(&mut self) -> PResult<Selector> {
        self.expect(Symbol::LParen)?;
        let ty = self.cql_type()?;
        self.expect(Symbol::RParen)?;
        // `(a.b) AS x` is a parenthesized selector with an alias, not a hint on a column `as`.
        if self.at_word("AS") {
            return Err(self.no_viable());
        }
        let selector = self.nested(Self::selector_group_without_field)?;
        // `{(a.b): f(x)}`: the "marker" `:f` is the map colon and a function name.
        let named_marker = matches!(
            selector,
            Selector::Term(Term::Bind(BindMarker { name: Some(_), .. }))
        );
        if named_marker && self.at(Symbol::LParen) {
            return Err(self.no_viable());
        }
        Ok(Selector::TypeHint {
            ty,
            selector: Box::new(selector),
        })
    }

    /// Items up to `close` (already past the opening bracket), possibly none.
    fn list_items<T>(
        &mut self,
        close: Symbol,
        item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        if self.accept(close) {
            return Ok(Vec::new());
        }
        let items = self.comma_separated(item)?;
        self.expect(close)?;
        Ok(items)
    }

    /// `selectionMapOrSet`: `{}`, `{a, b}` or `{k: v, ...}` (maps and UDT literals look alike).
    fn selection_map_or_set(&mut self) -> PResult<Selector> {
        self.expect(Symbol::LBrace)?;
        if self.accept(Symbol::RBrace) {
            return Ok(Selector::Set(Vec::new()));
        }
        Ok(match self.map_or_set_rest(Self::selector)? {
            BraceItems::Map(entries) => Selector::Map(entries),
            BraceItems::Set(items) => Selector::Set(items),
        })
    }

    /// After `{`: `k: v, ...}` (a map) or `a, b, ...}` (a set), decided by the first `:`.
    fn map_or_set_rest<T>(&mut self, item: fn(&mut Self) -> PResult<T>) -> PResult<BraceItems<T>> {
        let first = item(self)?;
        let items = if self.accept(Symbol::Colon) {
            let mut entries = vec![(first, item(self)?)];
            while self.accept(Symbol::Comma) {
                let key = item(self)?;
                self.expect(Symbol::Colon)?;
                entries.push((key, item(self)?));
            }
            BraceItems::Map(entries)
        } else {
            let mut items = vec![first];
            while self.accept(Symbol::Comma) {
                items.push(item(self)?);
            }
            BraceItems::Set(items)
        };
        self.expect(Symbol::RBrace)?;
        Ok(items)
    }

    /// `selectionFunction` or `sident`.
    fn selection_function_or_column(&mut self) -> PResult<Selector> {
        let next_is_paren = self.peek_at(1).is_symbol(Symbol::LParen);
        if next_is_paren && self.at_word("COUNT") && self.peek_at(2).is_symbol(Symbol::Star) {
            self.advance();
            self.advance();
            self.advance();
            self.expect(Symbol::RParen)?;
            return Ok(Selector::CountRows);
        }
        let write_time_kind = [
            ("WRITETIME", WriteTimeKind::WriteTime),
            ("MAXWRITETIME", WriteTimeKind::MaxWriteTime),
            ("TTL", WriteTimeKind::Ttl),
        ]
        .into_iter()
        .find(|(word, _)| self.at_word(word))
        .map(|(_, kind)| kind);
        if let (true, Some(kind)) = (next_is_paren, write_time_kind) {
            self.advance();
            self.advance();
            let column = Selector::Column(self.ident()?);
            let selector = self.selector_modifiers(column)?;
            self.expect(Symbol::RParen)?;
            return Ok(Selector::WriteTimeOrTtl {
                kind,
                selector: Box::new(selector),
            });
        }
        if next_is_paren && self.at_word("CAST") {
            let (selector, ty) = self.cast(Self::selector)?;
            return Ok(Selector::Cast {
                selector: Box::new(selector),
                ty,
            });
        }
        if self.function_call_ahead() {
            let (name, args) = self.function_call(Self::selector)?;
            return Ok(Selector::Function { name, args });
        }
        Ok(Selector::Column(self.ident()?))
    }

    // ---- Terms -------------------------------------------------------------------------------

    /// `term`: arithmetic over simple terms.
    fn term(&mut self) -> PResult<Term> {
        self.nested(Self::term_addition)
    }

    fn term_addition(&mut self) -> PResult<Term> {
        self.left_associative(
            Self::term_multiplication,
            Self::term_additive_operator,
            term_arithmetic,
        )
    }

    /// `+`/`-`, except before a bare column: `l = [1] + l` is a list prepend, not arithmetic.
    fn term_additive_operator(&self) -> Option<ArithmeticOp> {
        if self.bare_column_at(1) {
            return None;
        }
        self.additive_operator()
    }

    fn term_multiplication(&mut self) -> PResult<Term> {
        self.left_associative(
            Self::term_group,
            Self::multiplicative_operator,
            term_arithmetic,
        )
    }

    /// `termGroup`: `[-] simpleTerm`; `-` on a numeric literal becomes part of the literal.
    fn term_group(&mut self) -> PResult<Term> {
        if !self.accept(Symbol::Minus) {
            return self.simple_term();
        }
        Ok(match self.simple_term()? {
            Term::Literal(literal) => match negate_literal(&literal) {
                Some(negated) => Term::Literal(negated),
                None => Term::Negate(Box::new(Term::Literal(literal))),
            },
            other => Term::Negate(Box::new(other)),
        })
    }

    /// Whether a constant, NULL or bind marker starts here.
    fn constant_or_marker_ahead(&self) -> bool {
        let token = self.peek();
        match token.kind {
            TokenKind::String
            | TokenKind::Integer
            | TokenKind::Float
            | TokenKind::Uuid
            | TokenKind::Hex
            | TokenKind::Duration
            | TokenKind::Symbol(Symbol::QMark) => true,
            TokenKind::Symbol(Symbol::Colon) => self.ident_at(1),
            TokenKind::Word => word_literal(&token.text).is_some(),
            _ => false,
        }
    }

    /// `simpleTerm`
    fn simple_term(&mut self) -> PResult<Term> {
        self.nested(Self::simple_term_inner)
    }

    fn simple_term_inner(&mut self) -> PResult<Term> {
        if let Some(literal) = self.accept_literal() {
            return Ok(Term::Literal(literal));
        }
        match self.peek().kind {
            TokenKind::Symbol(Symbol::QMark | Symbol::Colon) => {
                return Ok(Term::Bind(self.bind_marker()?))
            }
            TokenKind::Symbol(Symbol::LParen) => {
                if let Some(hint) = self.attempt(Self::term_type_hint) {
                    return Ok(hint);
                }
                return Ok(Term::Tuple(self.parenthesized_list(Self::term)?));
            }
            TokenKind::Symbol(Symbol::LBracket) => {
                self.advance();
                return Ok(Term::List(self.list_items(Symbol::RBracket, Self::term)?));
            }
            TokenKind::Symbol(Symbol::LBrace) => return self.brace_literal(),
            _ => {}
        }
        if self.at_word("CAST") && self.peek_at(1).is_symbol(Symbol::LParen) {
            let (term, ty) = self.cast(Self::simple_term)?;
            return Ok(Term::Cast {
                term: Box::new(term),
                ty,
            });
        }
        if self.function_call_ahead() {
            let (name, args) = self.function_call(Self::term)?;
            return Ok(Term::FunctionCall { name, args });
        }
        Err(self.no_viable())
    }

    /// `CAST '(' operand AS native_type ')'`, at the CAST word.
    fn cast<T>(&mut self, operand: fn(&mut Self) -> PResult<T>) -> PResult<(T, NativeType)> {
        self.expect_word("CAST")?;
        self.expect(Symbol::LParen)?;
        let value = operand(self)?;
        self.expect_word("AS")?;
        let ty = self.native_type()?;
        self.expect(Symbol::RParen)?;
        Ok((value, ty))
    }

    /// `functionName '(' [argument (',' argument)*] ')'`
    fn function_call<T>(
        &mut self,
        argument: fn(&mut Self) -> PResult<T>,
    ) -> PResult<(QualifiedName, Vec<T>)> {
        let name = self.function_name()?;
        self.expect(Symbol::LParen)?;
        let args = self.list_items(Symbol::RParen, argument)?;
        Ok((name, args))
    }

    /// `'(' comparatorType ')' simpleTerm`
    fn term_type_hint(&mut self) -> PResult<Term> {
        self.expect(Symbol::LParen)?;
        let ty = self.cql_type()?;
        self.expect(Symbol::RParen)?;
        let term = self.simple_term()?;
        // In `{('a'): f()}` the "marker" `:f` is the map colon and a function name: a term is
        // never followed by `(` or `.`, so this was a one-element tuple, not a type hint.
        let named_marker = matches!(term, Term::Bind(BindMarker { name: Some(_), .. }));
        if named_marker && (self.at(Symbol::LParen) || self.at(Symbol::Dot)) {
            return Err(self.no_viable());
        }
        Ok(Term::TypeHint {
            ty,
            term: Box::new(term),
        })
    }

    /// `{}` (empty set), `{field: v}` (UDT), `{k: v}` (map) or `{a, b}` (set).
    fn brace_literal(&mut self) -> PResult<Term> {
        self.expect(Symbol::LBrace)?;
        if self.accept(Symbol::RBrace) {
            return Ok(Term::Set(Vec::new()));
        }
        if self.ident_at(0) && self.peek_at(1).is_symbol(Symbol::Colon) {
            let fields = self.comma_separated(|p| {
                let field = p.ident()?;
                p.expect(Symbol::Colon)?;
                Ok((field, p.term()?))
            })?;
            self.expect(Symbol::RBrace)?;
            return Ok(Term::Udt(fields));
        }
        Ok(match self.map_or_set_rest(Self::term)? {
            BraceItems::Map(entries) => Term::Map(entries),
            BraceItems::Set(items) => Term::Set(items),
        })
    }

    /// Consumes a constant or NULL (`constant` / `K_NULL`), if one is here.
    fn accept_literal(&mut self) -> Option<Literal> {
        let token = self.peek();
        let kind = match token.kind {
            TokenKind::String => LiteralKind::String,
            TokenKind::Integer => LiteralKind::Integer,
            TokenKind::Float => LiteralKind::Float,
            TokenKind::Uuid => LiteralKind::Uuid,
            TokenKind::Hex => LiteralKind::Blob,
            TokenKind::Duration => LiteralKind::Duration,
            TokenKind::Word => {
                let literal = word_literal(&token.text)?;
                self.advance();
                return Some(literal);
            }
            _ => return None,
        };
        Some(Literal {
            kind,
            text: self.advance_text(),
        })
    }

    /// `marker`: `?` or `:name`, numbered in source order.
    fn bind_marker(&mut self) -> PResult<BindMarker> {
        let name = if self.accept(Symbol::QMark) {
            None
        } else if self.accept(Symbol::Colon) {
            Some(self.ident()?)
        } else {
            return Err(self.no_viable());
        };
        let index = self.next_bind_index;
        self.next_bind_index += 1;
        Ok(BindMarker { index, name })
    }

    // ---- WHERE -------------------------------------------------------------------------------

    /// `whereClause`: relations joined by AND.
    fn where_clause(&mut self) -> PResult<Vec<Relation>> {
        let mut relations = Vec::new();
        loop {
            self.relation(&mut relations)?;
            if !self.accept_word("AND") {
                return Ok(relations);
            }
        }
    }

    /// `relation` (a parenthesized relation is flattened into `out`).
    fn relation(&mut self, out: &mut Vec<Relation>) -> PResult<()> {
        self.nested(|p| p.relation_inner(out))
    }

    fn relation_inner(&mut self, out: &mut Vec<Relation>) -> PResult<()> {
        if self.at_word("TOKEN") && self.peek_at(1).is_symbol(Symbol::LParen) {
            self.advance();
            let columns = self.parenthesized_list(Self::ident)?;
            let op = self.relation_operator()?;
            let value = self.term()?;
            out.push(Relation::Token { columns, op, value });
            return Ok(());
        }
        if self.at(Symbol::LParen) {
            let tuple_of_identifiers = self.ident_at(1)
                && (self.peek_at(2).is_symbol(Symbol::Comma)
                    || self.peek_at(2).is_symbol(Symbol::RParen));
            if tuple_of_identifiers {
                let columns = self.parenthesized_list(Self::ident)?;
                let predicate = self.predicate(false)?;
                out.push(Relation::MultiColumn { columns, predicate });
            } else {
                self.advance();
                self.relation(out)?;
                self.expect(Symbol::RParen)?;
            }
            return Ok(());
        }
        if self.at_word("EXPR") && self.peek_at(1).is_symbol(Symbol::LParen) {
            self.advance();
            self.advance();
            let index = self.qualified_name()?;
            self.expect(Symbol::Comma)?;
            let expression = self.term()?;
            self.expect(Symbol::RParen)?;
            out.push(Relation::CustomIndex { index, expression });
            return Ok(());
        }
        let column = self.ident()?;
        if self.accept(Symbol::LBracket) {
            let key = self.term()?;
            self.expect(Symbol::RBracket)?;
            let op = self.relation_operator()?;
            let value = self.term()?;
            out.push(Relation::Element {
                column,
                key,
                op,
                value,
            });
            return Ok(());
        }
        if self.at_words(&["IS", "NOT", "NULL"]) {
            self.advance();
            self.advance();
            self.advance();
            out.push(Relation::IsNotNull { column });
            return Ok(());
        }
        let predicate = self.predicate(true)?;
        out.push(Relation::Column { column, predicate });
        Ok(())
    }

    /// `op term`, `IN values`, and for single columns `CONTAINS [KEY] term` and `LIKE term`.
    fn predicate(&mut self, single_column: bool) -> PResult<Predicate> {
        if self.accept_word("IN") {
            return Ok(Predicate::In(self.in_values()?));
        }
        if single_column && self.accept_word("CONTAINS") {
            // `CONTAINS key.f(x)` calls a function of keyspace `key`.
            let key = self.at_word("KEY") && !self.peek_at(1).is_symbol(Symbol::Dot);
            let op = if key && self.accept_word("KEY") {
                Operator::ContainsKey
            } else {
                Operator::Contains
            };
            return Ok(Predicate::Compare(op, self.term()?));
        }
        if single_column && self.accept_word("LIKE") {
            return Ok(Predicate::Compare(Operator::Like, self.term()?));
        }
        let op = self.relation_operator()?;
        Ok(Predicate::Compare(op, self.term()?))
    }

    /// `relationType`
    fn relation_operator(&mut self) -> PResult<Operator> {
        let op = match self.peek().kind {
            TokenKind::Symbol(Symbol::Eq) => Operator::Eq,
            TokenKind::Symbol(Symbol::NotEq) => Operator::NotEq,
            TokenKind::Symbol(Symbol::Lt) => Operator::Lt,
            TokenKind::Symbol(Symbol::LtEq) => Operator::LtEq,
            TokenKind::Symbol(Symbol::Gt) => Operator::Gt,
            TokenKind::Symbol(Symbol::GtEq) => Operator::GtEq,
            _ => return Err(self.no_viable()),
        };
        self.advance();
        Ok(op)
    }

    /// `singleColumnInValues` / `multiColumnInValues`: `(t, ...)`, `()` or a marker.
    fn in_values(&mut self) -> PResult<InValues> {
        if self.at(Symbol::QMark) || self.at(Symbol::Colon) {
            return Ok(InValues::Marker(self.bind_marker()?));
        }
        Ok(InValues::Terms(
            self.optional_parenthesized_list(Self::term)?,
        ))
    }

    // ---- INSERT / UPDATE / DELETE / BATCH ----------------------------------------------------

    /// `insertStatement`
    fn insert_statement(&mut self) -> PResult<InsertStatement> {
        self.expect_word("INSERT")?;
        self.expect_word("INTO")?;
        let table = self.qualified_name()?;
        let values = if self.accept_word("JSON") {
            let value = if self.peek().kind == TokenKind::String {
                Term::Literal(Literal {
                    kind: LiteralKind::String,
                    text: self.advance_text(),
                })
            } else {
                Term::Bind(self.bind_marker()?)
            };
            let mut default_unset = false;
            if self.accept_word("DEFAULT") {
                default_unset = self.accept_word("UNSET");
                if !default_unset {
                    self.expect_word("NULL")?;
                }
            }
            InsertValues::Json {
                value,
                default_unset,
            }
        } else if self.at(Symbol::LParen) {
            let columns = self.parenthesized_list(Self::ident)?;
            self.expect_word("VALUES")?;
            let values = self.parenthesized_list(Self::term)?;
            InsertValues::Columns { columns, values }
        } else {
            return Err(self.no_viable());
        };
        let if_not_exists = self.if_not_exists()?;
        let using = self.using_clause()?;
        Ok(InsertStatement {
            table,
            values,
            if_not_exists,
            using,
        })
    }

    /// `usingClause`: `USING (TTL n | TIMESTAMP n) [AND ...]` (last value wins, as in Cassandra).
    fn using_clause(&mut self) -> PResult<UsingClause> {
        let mut using = UsingClause::default();
        if !self.accept_word("USING") {
            return Ok(using);
        }
        loop {
            if self.accept_word("TTL") {
                using.ttl = Some(self.int_value()?);
            } else if self.accept_word("TIMESTAMP") {
                using.timestamp = Some(self.int_value()?);
            } else {
                return Err(self.no_viable());
            }
            if !self.accept_word("AND") {
                return Ok(using);
            }
        }
    }

    /// `updateStatement`
    fn update_statement(&mut self) -> PResult<UpdateStatement> {
        self.expect_word("UPDATE")?;
        let table = self.qualified_name()?;
        let using = self.using_clause()?;
        self.expect_word("SET")?;
        let assignments = self.assignments()?;
        self.expect_word("WHERE")?;
        let where_clause = self.where_clause()?;
        let condition = self.update_condition()?;
        Ok(UpdateStatement {
            table,
            using,
            assignments,
            where_clause,
            condition,
        })
    }

    /// `columnOperation (',' columnOperation)*`, refusing what Cassandra's `addRawUpdate`
    /// refuses: a column set as a whole and also changed otherwise, or one UDT field set twice.
    fn assignments(&mut self) -> PResult<Vec<Assignment>> {
        let mut assignments: Vec<Assignment> = Vec::new();
        // Per column: whether it is set as a whole, and whether any other change touches it.
        let mut seen: std::collections::HashMap<Ident, (bool, bool)> =
            std::collections::HashMap::new();
        let mut fields_set: std::collections::HashSet<(Ident, Ident)> =
            std::collections::HashSet::new();
        loop {
            let at = self.plain_error(String::new());
            let assignment = self.assignment()?;
            let (column, whole) = match &assignment {
                Assignment::Set { column, .. } => (column, true),
                Assignment::Add { column, .. }
                | Assignment::Subtract { column, .. }
                | Assignment::Prepend { column, .. }
                | Assignment::SetElement { column, .. }
                | Assignment::SetField { column, .. } => (column, false),
            };
            let duplicate_field = match &assignment {
                Assignment::SetField { column, field, .. } => {
                    !fields_set.insert((column.clone(), field.clone()))
                }
                _ => false,
            };
            let (set_whole, changed) = seen.entry(column.clone()).or_default();
            // Anything after a whole-column set, a whole-column set after anything, a field twice.
            if *set_whole || (whole && *changed) || duplicate_field {
                return Err(ParseError {
                    message: format!("Multiple incompatible setting of column {column}"),
                    ..at
                });
            }
            *set_whole |= whole;
            *changed |= !whole;
            assignments.push(assignment);
            if !self.accept(Symbol::Comma) {
                return Ok(assignments);
            }
        }
    }

    /// `columnOperation`
    fn assignment(&mut self) -> PResult<Assignment> {
        let column = self.ident()?;
        if self.accept(Symbol::PlusEq) {
            return Ok(Assignment::Add {
                column,
                value: self.term()?,
            });
        }
        if self.accept(Symbol::MinusEq) {
            return Ok(Assignment::Subtract {
                column,
                value: self.term()?,
            });
        }
        if self.accept(Symbol::LBracket) {
            let key = self.term()?;
            self.expect(Symbol::RBracket)?;
            self.expect(Symbol::Eq)?;
            return Ok(Assignment::SetElement {
                column,
                key,
                value: self.term()?,
            });
        }
        if self.accept(Symbol::Dot) {
            let field = self.ident()?;
            self.expect(Symbol::Eq)?;
            return Ok(Assignment::SetField {
                column,
                field,
                value: self.term()?,
            });
        }
        if !self.accept(Symbol::Eq) {
            return Err(self.no_viable());
        }
        let additive_next = matches!(
            self.peek_at(1).kind,
            TokenKind::Symbol(Symbol::Plus | Symbol::Minus)
        );
        if self.bare_column_at(0) && additive_next {
            // `c = c + t` / `c = c - t`
            self.same_column(&column, "X = X + <value>")?;
            let add = self.at(Symbol::Plus);
            self.advance();
            let value = self.term()?;
            return Ok(if add {
                Assignment::Add { column, value }
            } else {
                Assignment::Subtract { column, value }
            });
        }
        let value = self.term()?;
        if self.accept(Symbol::Plus) {
            // `l = t + l` (prepend)
            self.same_column(&column, "X = <value> + X")?;
            return Ok(Assignment::Prepend { column, value });
        }
        Ok(Assignment::Set { column, value })
    }

    /// Consumes the column on the right of an assignment; it must be the assigned column.
    fn same_column(&mut self, column: &str, form: &str) -> PResult<()> {
        let at = self.plain_error(format!(
            "Only expressions of the form {form} are supported."
        ));
        if self.ident()? != column {
            return Err(at);
        }
        Ok(())
    }

    /// `IF EXISTS` or `IF condition AND ...` of UPDATE and DELETE.
    fn update_condition(&mut self) -> PResult<Option<UpdateCondition>> {
        if !self.accept_word("IF") {
            return Ok(None);
        }
        if self.accept_word("EXISTS") {
            return Ok(Some(UpdateCondition::Exists));
        }
        let mut conditions = vec![self.condition()?];
        while self.accept_word("AND") {
            conditions.push(self.condition()?);
        }
        Ok(Some(UpdateCondition::Conditions(conditions)))
    }

    /// `columnCondition`
    fn condition(&mut self) -> PResult<Condition> {
        let column = self.ident()?;
        let selection = if self.accept(Symbol::LBracket) {
            let key = self.term()?;
            self.expect(Symbol::RBracket)?;
            Some(ConditionSelection::Element(key))
        } else if self.accept(Symbol::Dot) {
            Some(ConditionSelection::Field(self.ident()?))
        } else {
            None
        };
        let predicate = self.predicate(selection.is_none())?;
        if matches!(predicate, Predicate::Compare(Operator::Like, _)) {
            return Err(self.no_viable());
        }
        Ok(Condition {
            column,
            selection,
            predicate,
        })
    }

    /// `deleteStatement`
    fn delete_statement(&mut self) -> PResult<DeleteStatement> {
        self.expect_word("DELETE")?;
        let columns = if self.at_word("FROM") {
            Vec::new()
        } else {
            self.comma_separated(Self::deletion)?
        };
        self.expect_word("FROM")?;
        let table = self.qualified_name()?;
        let timestamp = if self.accept_word("USING") {
            self.expect_word("TIMESTAMP")?;
            Some(self.int_value()?)
        } else {
            None
        };
        self.expect_word("WHERE")?;
        let where_clause = self.where_clause()?;
        let condition = self.update_condition()?;
        Ok(DeleteStatement {
            columns,
            table,
            timestamp,
            where_clause,
            condition,
        })
    }

    /// `deleteOp`
    fn deletion(&mut self) -> PResult<Deletion> {
        let column = self.ident()?;
        if self.accept(Symbol::LBracket) {
            let key = self.term()?;
            self.expect(Symbol::RBracket)?;
            return Ok(Deletion::Element { column, key });
        }
        if self.accept(Symbol::Dot) {
            return Ok(Deletion::Field {
                column,
                field: self.ident()?,
            });
        }
        Ok(Deletion::Column(column))
    }

    /// `batchStatement`
    fn batch_statement(&mut self) -> PResult<BatchStatement> {
        self.expect_word("BEGIN")?;
        let kind = if self.accept_word("UNLOGGED") {
            BatchKind::Unlogged
        } else if self.accept_word("COUNTER") {
            BatchKind::Counter
        } else {
            BatchKind::Logged
        };
        self.expect_word("BATCH")?;
        let using = self.using_clause()?;
        let mut statements = Vec::new();
        loop {
            let child = if self.at_word("INSERT") {
                BatchChild::Insert(self.insert_statement()?)
            } else if self.at_word("UPDATE") {
                BatchChild::Update(self.update_statement()?)
            } else if self.at_word("DELETE") {
                BatchChild::Delete(self.delete_statement()?)
            } else {
                break;
            };
            statements.push(child);
            let _ = self.accept(Symbol::Semicolon);
        }
        self.expect_word("APPLY")?;
        self.expect_word("BATCH")?;
        Ok(BatchStatement {
            kind,
            using,
            statements,
        })
    }

    // ---- Schema statements -------------------------------------------------------------------

    fn if_not_exists(&mut self) -> PResult<bool> {
        if !self.accept_word("IF") {
            return Ok(false);
        }
        self.expect_word("NOT")?;
        self.expect_word("EXISTS")?;
        Ok(true)
    }

    fn if_exists(&mut self) -> PResult<bool> {
        if !self.accept_word("IF") {
            return Ok(false);
        }
        self.expect_word("EXISTS")?;
        Ok(true)
    }

    fn accept_table_keyword(&mut self) -> bool {
        self.accept_word("TABLE") || self.accept_word("COLUMNFAMILY")
    }

    fn create_statement(&mut self) -> PResult<Statement> {
        self.expect_word("CREATE")?;
        if self.accept_word("KEYSPACE") {
            return self.create_keyspace();
        }
        if self.accept_table_keyword() {
            return self.create_table();
        }
        if self.at_word("INDEX") || self.at_words(&["CUSTOM", "INDEX"]) {
            return Ok(Statement::CreateIndex(self.create_index()?));
        }
        if self.accept_word("TYPE") {
            return Ok(Statement::CreateType(self.create_type()?));
        }
        if self.accept_word("MATERIALIZED") {
            self.expect_word("VIEW")?;
            return Ok(Statement::CreateView(self.create_view()?));
        }
        let or_replace = self.accept_word("OR");
        if or_replace {
            self.expect_word("REPLACE")?;
        }
        if self.accept_word("FUNCTION") {
            return Ok(Statement::CreateFunction(self.create_function(or_replace)?));
        }
        if self.accept_word("AGGREGATE") {
            return Ok(Statement::CreateAggregate(
                self.create_aggregate(or_replace)?,
            ));
        }
        if !or_replace && ["ROLE", "USER", "TRIGGER"].iter().any(|w| self.at_word(w)) {
            return Err(self.unsupported_statement("CREATE "));
        }
        Err(self.no_viable())
    }

    /// `createKeyspaceStatement`, or Strata's `CREATE KEYSPACE new CLONE src [AT SNAPSHOT 'x']`.
    fn create_keyspace(&mut self) -> PResult<Statement> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.keyspace_name()?;
        if self.accept_word("CLONE") {
            let source = self.keyspace_name()?;
            let snapshot = self.at_snapshot()?;
            return Ok(Statement::CloneKeyspace(CloneKeyspace {
                if_not_exists,
                name,
                source,
                snapshot,
            }));
        }
        self.expect_word("WITH")?;
        let properties = self.properties()?;
        Ok(Statement::CreateKeyspace(CreateKeyspace {
            if_not_exists,
            name,
            properties,
        }))
    }

    /// `createTableStatement`, or Strata's `CREATE TABLE new CLONE src [AT SNAPSHOT 'x']`.
    fn create_table(&mut self) -> PResult<Statement> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.qualified_name()?;
        if self.accept_word("CLONE") {
            let source = self.qualified_name()?;
            let snapshot = self.at_snapshot()?;
            return Ok(Statement::CloneTable(CloneTable {
                if_not_exists,
                name,
                source,
                snapshot,
            }));
        }
        self.expect(Symbol::LParen)?;
        let mut columns = Vec::new();
        let mut primary_key = None;
        loop {
            if self.accept_word("PRIMARY") {
                self.expect_word("KEY")?;
                if primary_key.is_some() {
                    return Err(self.plain_error("Multiple PRIMARY KEY clauses specified".into()));
                }
                primary_key = Some(self.primary_key_columns()?);
            } else {
                columns.push(self.column_definition(true)?);
            }
            // `tableColumns (',' tableColumns?)*`: a trailing comma is allowed.
            if !self.accept(Symbol::Comma) || self.at(Symbol::RParen) {
                break;
            }
        }
        self.expect(Symbol::RParen)?;
        let options = if self.accept_word("WITH") {
            self.table_options()?
        } else {
            TableOptions::default()
        };
        Ok(Statement::CreateTable(CreateTable {
            if_not_exists,
            name,
            columns,
            primary_key,
            options,
        }))
    }

    /// `name type [STATIC] [PRIMARY KEY]` (the key only where `allow_primary_key`).
    fn column_definition(&mut self, allow_primary_key: bool) -> PResult<ColumnDefinition> {
        let name = self.ident()?;
        let ty = self.cql_type()?;
        let is_static = self.accept_word("STATIC");
        self.refuse_column_mask()?;
        let primary_key = allow_primary_key && self.accept_word("PRIMARY");
        if primary_key {
            self.expect_word("KEY")?;
        }
        Ok(ColumnDefinition {
            name,
            ty,
            is_static,
            primary_key,
        })
    }

    /// Cassandra 5.0 dynamic data masking (`MASKED WITH ...`) gets a clear refusal rather
    /// than a confusing "expecting ')'".
    fn refuse_column_mask(&self) -> PResult<()> {
        if self.at_words(&["MASKED", "WITH"]) {
            return Err(self.unsupported("Column masks (MASKED WITH)"));
        }
        Ok(())
    }

    /// `'(' partitionKey (',' clustering)* ')'` where partitionKey is `k` or `(k1, k2)`.
    fn primary_key_columns(&mut self) -> PResult<PrimaryKey> {
        self.expect(Symbol::LParen)?;
        let partition_key = if self.at(Symbol::LParen) {
            self.parenthesized_list(Self::ident)?
        } else {
            vec![self.ident()?]
        };
        let mut clustering_columns = Vec::new();
        while self.accept(Symbol::Comma) {
            clustering_columns.push(self.ident()?);
        }
        self.expect(Symbol::RParen)?;
        Ok(PrimaryKey {
            partition_key,
            clustering_columns,
        })
    }

    /// `tableProperty (AND tableProperty)*`
    fn table_options(&mut self) -> PResult<TableOptions> {
        let mut options = TableOptions::default();
        loop {
            if self.at_words(&["COMPACT", "STORAGE"]) {
                self.advance();
                self.advance();
                options.compact_storage = true;
            } else if self.at_words(&["CLUSTERING", "ORDER"]) {
                self.advance();
                self.advance();
                self.expect_word("BY")?;
                let order = self.parenthesized_list(|p| {
                    let column = p.ident()?;
                    if p.accept_word("ASC") {
                        Ok((column, OrderDirection::Asc))
                    } else if p.accept_word("DESC") {
                        Ok((column, OrderDirection::Desc))
                    } else {
                        Err(p.no_viable())
                    }
                })?;
                options.clustering_order.extend(order);
            } else {
                self.property(&mut options.properties)?;
            }
            if !self.accept_word("AND") {
                return Ok(options);
            }
        }
    }

    /// `properties`: `property (AND property)*`
    fn properties(&mut self) -> PResult<Vec<Property>> {
        let mut properties = Vec::new();
        loop {
            self.property(&mut properties)?;
            if !self.accept_word("AND") {
                return Ok(properties);
            }
        }
    }

    /// `property`: `name = constant | unreserved_keyword | {map of constants}`.
    fn property(&mut self, out: &mut Vec<Property>) -> PResult<()> {
        let at_name = self.plain_error(String::new());
        let name = self.ident()?;
        self.expect(Symbol::Eq)?;
        let value = if self.at(Symbol::LBrace) {
            PropertyValue::Map(self.property_map(&name)?)
        } else if let Some(literal) = self.property_constant() {
            PropertyValue::Literal(literal)
        } else if self.peek().kind == TokenKind::Word && self.unreserved_keyword_at(0) {
            PropertyValue::Word(self.advance_text().to_ascii_lowercase())
        } else {
            return Err(self.no_viable());
        };
        if out.iter().any(|p| p.name == name) {
            return Err(ParseError {
                message: format!("Multiple definition for property {name}"),
                ..at_name
            });
        }
        out.push(Property { name, value });
        Ok(())
    }

    fn unreserved_keyword_at(&self, offset: usize) -> bool {
        let word = &self.peek_at(offset).text;
        contains_ignore_case(BASIC_UNRESERVED, word)
            || contains_ignore_case(NON_FUNCTION_KEYWORDS, word)
            || native_type_named(word).is_some()
    }

    /// A constant (not NULL), with an optional leading `-` on numbers.
    fn property_constant(&mut self) -> Option<Literal> {
        self.attempt(|p| match p.term_group()? {
            Term::Literal(literal) if literal.kind != LiteralKind::Null => Ok(literal),
            _ => Err(p.no_viable()),
        })
    }

    /// `fullMapLiteral` whose keys and values must be constants (`convertPropertyMap`).
    fn property_map(&mut self, property: &str) -> PResult<Vec<(Literal, Literal)>> {
        self.expect(Symbol::LBrace)?;
        let entries = self.list_items(Symbol::RBrace, |p| {
            let key_at = p.plain_error(String::new());
            let key = p.term()?;
            p.expect(Symbol::Colon)?;
            let value_at = p.plain_error(String::new());
            let value = p.term()?;
            let key = constant_of(key).map_err(|t| ParseError {
                message: format!("Invalid property name: {t}{}", ddl_marker_note(&t)),
                ..key_at
            })?;
            let value = constant_of(value).map_err(|t| ParseError {
                message: format!(
                    "Invalid property value: {t} for property: {}{}",
                    key.text,
                    ddl_marker_note(&t)
                ),
                ..value_at
            })?;
            Ok((key, value))
        })?;
        let mut seen = std::collections::HashSet::new();
        if let Some((duplicate, _)) = entries.iter().find(|(k, _)| !seen.insert(k.text.clone())) {
            return Err(self.plain_error(format!(
                "Multiple definition for property {} in {property}",
                duplicate.text
            )));
        }
        Ok(entries)
    }

    /// `createIndexStatement`
    fn create_index(&mut self) -> PResult<CreateIndex> {
        let custom = self.accept_word("CUSTOM");
        self.expect_word("INDEX")?;
        let if_not_exists = self.if_not_exists()?;
        let name = if self.at_word("ON") {
            None
        } else {
            Some(self.ident()?)
        };
        self.expect_word("ON")?;
        let table = self.qualified_name()?;
        let targets = self.optional_parenthesized_list(Self::index_target)?;
        let using = if self.accept_word("USING") {
            Some(self.string_literal()?)
        } else {
            None
        };
        let properties = if self.accept_word("WITH") {
            self.properties()?
        } else {
            Vec::new()
        };
        Ok(CreateIndex {
            custom,
            if_not_exists,
            name,
            table,
            targets,
            using,
            properties,
        })
    }

    /// `indexIdent`: `col`, `keys(col)`, `values(col)`, `entries(col)`, `full(col)`.
    fn index_target(&mut self) -> PResult<IndexTarget> {
        const KINDS: [(&str, IndexTargetKind); 4] = [
            ("KEYS", IndexTargetKind::Keys),
            ("VALUES", IndexTargetKind::Values),
            ("ENTRIES", IndexTargetKind::Entries),
            ("FULL", IndexTargetKind::Full),
        ];
        let wrapped = KINDS
            .iter()
            .find(|(word, _)| self.at_word(word))
            .map(|(_, kind)| *kind);
        match wrapped {
            Some(kind) if self.peek_at(1).is_symbol(Symbol::LParen) => {
                self.advance();
                self.advance();
                let column = self.ident()?;
                self.expect(Symbol::RParen)?;
                Ok(IndexTarget { column, kind })
            }
            _ => Ok(IndexTarget {
                column: self.ident()?,
                kind: IndexTargetKind::Simple,
            }),
        }
    }

    /// `createTypeStatement`
    fn create_type(&mut self) -> PResult<CreateType> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.user_type_name()?;
        self.expect(Symbol::LParen)?;
        let mut fields = Vec::new();
        loop {
            let field = self.ident()?;
            fields.push((field, self.cql_type()?));
            if !self.accept(Symbol::Comma) || self.at(Symbol::RParen) {
                break;
            }
        }
        self.expect(Symbol::RParen)?;
        Ok(CreateType {
            if_not_exists,
            name,
            fields,
        })
    }

    /// `createMaterializedViewStatement`
    fn create_view(&mut self) -> PResult<CreateView> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.qualified_name()?;
        self.expect_word("AS")?;
        self.expect_word("SELECT")?;
        let selection = self.selection()?;
        self.expect_word("FROM")?;
        let base_table = self.qualified_name()?;
        let where_clause = if self.accept_word("WHERE") {
            self.where_clause()?
        } else {
            Vec::new()
        };
        self.expect_word("PRIMARY")?;
        self.expect_word("KEY")?;
        let primary_key = self.primary_key_columns()?;
        let options = if self.accept_word("WITH") {
            self.table_options()?
        } else {
            TableOptions::default()
        };
        Ok(CreateView {
            if_not_exists,
            name,
            selection,
            base_table,
            where_clause,
            primary_key,
            options,
        })
    }

    /// `createFunctionStatement`
    fn create_function(&mut self, or_replace: bool) -> PResult<CreateFunction> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.function_name()?;
        let arguments = self.optional_parenthesized_list(|p| {
            let argument = p.ident()?;
            Ok((argument, p.cql_type()?))
        })?;
        let called_on_null_input = if self.accept_word("CALLED") {
            true
        } else if self.accept_word("RETURNS") {
            self.expect_word("NULL")?;
            false
        } else {
            return Err(self.no_viable());
        };
        self.expect_word("ON")?;
        self.expect_word("NULL")?;
        self.expect_word("INPUT")?;
        self.expect_word("RETURNS")?;
        let return_type = self.cql_type()?;
        self.expect_word("LANGUAGE")?;
        if self.peek().kind != TokenKind::Word || is_reserved_word(&self.peek().text) {
            return Err(self.mismatched("IDENT"));
        }
        let language = self.advance_text().to_lowercase();
        self.expect_word("AS")?;
        let body = self.string_literal()?;
        Ok(CreateFunction {
            or_replace,
            if_not_exists,
            name,
            arguments,
            called_on_null_input,
            return_type,
            language,
            body,
        })
    }

    /// `createAggregateStatement`
    fn create_aggregate(&mut self, or_replace: bool) -> PResult<CreateAggregate> {
        let if_not_exists = self.if_not_exists()?;
        let name = self.function_name()?;
        let argument_types = self.optional_parenthesized_list(Self::cql_type)?;
        self.expect_word("SFUNC")?;
        let state_function = self.allowed_function_name()?;
        self.expect_word("STYPE")?;
        let state_type = self.cql_type()?;
        let final_function = if self.accept_word("FINALFUNC") {
            Some(self.allowed_function_name()?)
        } else {
            None
        };
        let initial_condition = if self.accept_word("INITCOND") {
            Some(self.term()?)
        } else {
            None
        };
        Ok(CreateAggregate {
            or_replace,
            if_not_exists,
            name,
            argument_types,
            state_function,
            state_type,
            final_function,
            initial_condition,
        })
    }

    /// `allowedFunctionName` (unqualified).
    fn allowed_function_name(&mut self) -> PResult<Ident> {
        if !self.function_name_at(0) {
            return Err(self.no_viable());
        }
        Ok(self.advance_ident())
    }

    fn alter_statement(&mut self) -> PResult<Statement> {
        self.expect_word("ALTER")?;
        if self.accept_word("KEYSPACE") {
            let if_exists = self.if_exists()?;
            let name = self.keyspace_name()?;
            self.expect_word("WITH")?;
            let properties = self.properties()?;
            return Ok(Statement::AlterKeyspace(AlterKeyspace {
                if_exists,
                name,
                properties,
            }));
        }
        if self.accept_table_keyword() {
            let if_exists = self.if_exists()?;
            let name = self.qualified_name()?;
            let action = self.alter_table_action()?;
            return Ok(Statement::AlterTable(AlterTable {
                if_exists,
                name,
                action,
            }));
        }
        if self.accept_word("TYPE") {
            let if_exists = self.if_exists()?;
            let name = self.user_type_name()?;
            let action = self.alter_type_action()?;
            return Ok(Statement::AlterType(AlterType {
                if_exists,
                name,
                action,
            }));
        }
        if self.accept_word("MATERIALIZED") {
            self.expect_word("VIEW")?;
            let name = self.qualified_name()?;
            self.expect_word("WITH")?;
            let properties = self.properties()?;
            return Ok(Statement::AlterView(AlterView { name, properties }));
        }
        if ["ROLE", "USER"].iter().any(|w| self.at_word(w)) {
            return Err(self.unsupported_statement("ALTER "));
        }
        Err(self.no_viable())
    }

    /// The action of `alterTableStatement`.
    fn alter_table_action(&mut self) -> PResult<AlterTableAction> {
        if self.accept_word("ALTER") {
            let if_exists = self.if_exists()?;
            let column = self.ident()?;
            self.refuse_column_mask()?;
            if self.at_words(&["DROP", "MASKED"]) {
                return Err(self.unsupported("Column masks (DROP MASKED)"));
            }
            self.expect_word("TYPE")?;
            let ty = self.cql_type()?;
            return Ok(AlterTableAction::AlterColumnType {
                if_exists,
                column,
                ty,
            });
        }
        if self.accept_word("ADD") {
            let if_not_exists = self.if_not_exists()?;
            let columns = if self.at(Symbol::LParen) {
                self.parenthesized_list(|p| p.column_definition(false))?
            } else {
                vec![self.column_definition(false)?]
            };
            return Ok(AlterTableAction::Add {
                if_not_exists,
                columns,
            });
        }
        if self.at_words(&["DROP", "COMPACT", "STORAGE"]) {
            self.advance();
            self.advance();
            self.advance();
            return Ok(AlterTableAction::DropCompactStorage);
        }
        if self.accept_word("DROP") {
            let if_exists = self.if_exists()?;
            let columns = if self.at(Symbol::LParen) {
                self.parenthesized_list(Self::ident)?
            } else {
                vec![self.ident()?]
            };
            let timestamp = if self.accept_word("USING") {
                self.expect_word("TIMESTAMP")?;
                Some(self.i64_literal()?)
            } else {
                None
            };
            return Ok(AlterTableAction::Drop {
                if_exists,
                columns,
                timestamp,
            });
        }
        if self.accept_word("RENAME") {
            let if_exists = self.if_exists()?;
            let renames = self.renames()?;
            return Ok(AlterTableAction::Rename { if_exists, renames });
        }
        if self.accept_word("WITH") {
            return Ok(AlterTableAction::WithProperties(self.properties()?));
        }
        Err(self.no_viable())
    }

    /// `a TO b (AND c TO d)*`
    fn renames(&mut self) -> PResult<Vec<(Ident, Ident)>> {
        let mut renames = Vec::new();
        loop {
            let from = self.ident()?;
            self.expect_word("TO")?;
            renames.push((from, self.ident()?));
            if !self.accept_word("AND") {
                return Ok(renames);
            }
        }
    }

    fn i64_literal(&mut self) -> PResult<i64> {
        let negative = self.at(Symbol::Minus) && self.peek_at(1).kind == TokenKind::Integer;
        if negative {
            self.advance();
        }
        if self.peek().kind != TokenKind::Integer {
            return Err(self.mismatched("INTEGER"));
        }
        let text = if negative {
            format!("-{}", self.peek().text)
        } else {
            self.peek().text.clone()
        };
        let value = text
            .parse()
            .map_err(|_| self.plain_error(format!("Invalid integer {text}")))?;
        self.advance();
        Ok(value)
    }

    /// The action of `alterTypeStatement`.
    fn alter_type_action(&mut self) -> PResult<AlterTypeAction> {
        if self.accept_word("ALTER") {
            let field = self.ident()?;
            self.expect_word("TYPE")?;
            return Ok(AlterTypeAction::AlterField {
                field,
                ty: self.cql_type()?,
            });
        }
        if self.accept_word("ADD") {
            let if_not_exists = self.if_not_exists()?;
            let field = self.ident()?;
            return Ok(AlterTypeAction::Add {
                if_not_exists,
                field,
                ty: self.cql_type()?,
            });
        }
        if self.accept_word("RENAME") {
            let if_exists = self.if_exists()?;
            return Ok(AlterTypeAction::Rename {
                if_exists,
                renames: self.renames()?,
            });
        }
        Err(self.no_viable())
    }

    fn drop_statement(&mut self) -> PResult<Statement> {
        self.expect_word("DROP")?;
        if self.accept_word("KEYSPACE") {
            let if_exists = self.if_exists()?;
            return Ok(Statement::DropKeyspace(DropKeyspace {
                if_exists,
                name: self.keyspace_name()?,
            }));
        }
        if self.accept_table_keyword() {
            return Ok(Statement::DropTable(
                self.drop_object(Self::qualified_name)?,
            ));
        }
        if self.accept_word("INDEX") {
            return Ok(Statement::DropIndex(
                self.drop_object(Self::qualified_name)?,
            ));
        }
        if self.accept_word("TYPE") {
            return Ok(Statement::DropType(self.drop_object(Self::user_type_name)?));
        }
        if self.accept_word("MATERIALIZED") {
            self.expect_word("VIEW")?;
            return Ok(Statement::DropView(self.drop_object(Self::qualified_name)?));
        }
        if self.accept_word("FUNCTION") {
            return Ok(Statement::DropFunction(self.drop_function()?));
        }
        if self.accept_word("AGGREGATE") {
            return Ok(Statement::DropAggregate(self.drop_function()?));
        }
        if ["ROLE", "USER", "TRIGGER", "IDENTITY"]
            .iter()
            .any(|w| self.at_word(w))
        {
            return Err(self.unsupported_statement("DROP "));
        }
        Err(self.no_viable())
    }

    fn drop_object(
        &mut self,
        name: impl FnOnce(&mut Self) -> PResult<QualifiedName>,
    ) -> PResult<DropObject> {
        let if_exists = self.if_exists()?;
        Ok(DropObject {
            if_exists,
            name: name(self)?,
        })
    }

    /// `dropFunctionStatement` / `dropAggregateStatement`
    fn drop_function(&mut self) -> PResult<DropFunction> {
        let if_exists = self.if_exists()?;
        let name = self.function_name()?;
        let argument_types = if self.at(Symbol::LParen) {
            Some(self.optional_parenthesized_list(Self::cql_type)?)
        } else {
            None
        };
        Ok(DropFunction {
            if_exists,
            name,
            argument_types,
        })
    }

    /// `describeStatement`
    fn describe_statement(&mut self) -> PResult<Describe> {
        if !(self.accept_word("DESCRIBE") || self.accept_word("DESC")) {
            return Err(self.no_viable());
        }
        let target = self.describe_target()?;
        let with_internals = self.at_words(&["WITH", "INTERNALS"]);
        if with_internals {
            self.advance();
            self.advance();
        }
        Ok(Describe {
            target,
            with_internals,
        })
    }

    fn describe_target(&mut self) -> PResult<DescribeTarget> {
        const LISTINGS: [(&str, DescribeTarget); 6] = [
            ("CLUSTER", DescribeTarget::Cluster),
            ("KEYSPACES", DescribeTarget::Keyspaces),
            ("TABLES", DescribeTarget::Tables),
            ("TYPES", DescribeTarget::Types),
            ("FUNCTIONS", DescribeTarget::Functions),
            ("AGGREGATES", DescribeTarget::Aggregates),
        ];
        if let Some((_, target)) = LISTINGS.iter().find(|(word, _)| self.at_word(word)) {
            self.advance();
            return Ok(target.clone());
        }
        if self.at_words(&["FULL", "SCHEMA"]) || self.at_word("SCHEMA") {
            let full = self.accept_word("FULL");
            self.advance();
            return Ok(DescribeTarget::Schema { full });
        }
        if self.at_words(&["ONLY", "KEYSPACE"]) || self.at_word("KEYSPACE") {
            let only = self.accept_word("ONLY");
            self.advance();
            let name = if self.ident_at(0) {
                Some(self.keyspace_name()?)
            } else {
                None
            };
            return Ok(DescribeTarget::Keyspace { only, name });
        }
        if self.accept_table_keyword() {
            return Ok(DescribeTarget::Table(self.qualified_name()?));
        }
        if self.accept_word("INDEX") {
            return Ok(DescribeTarget::Index(self.qualified_name()?));
        }
        if self.accept_word("MATERIALIZED") {
            self.expect_word("VIEW")?;
            return Ok(DescribeTarget::MaterializedView(self.qualified_name()?));
        }
        if self.accept_word("TYPE") {
            return Ok(DescribeTarget::Type(self.user_type_name()?));
        }
        if self.accept_word("FUNCTION") {
            return Ok(DescribeTarget::Function(self.function_name()?));
        }
        if self.accept_word("AGGREGATE") {
            return Ok(DescribeTarget::Aggregate(self.function_name()?));
        }
        Ok(DescribeTarget::Generic(self.qualified_name()?))
    }

    /// Strata: `RESTORE TABLE t FROM SNAPSHOT 'tag'` / `RESTORE KEYSPACE ks FROM SNAPSHOT 'tag'`.
    fn restore_statement(&mut self) -> PResult<Statement> {
        self.expect_word("RESTORE")?;
        if self.accept_table_keyword() {
            let table = self.qualified_name()?;
            let snapshot = self.restore_snapshot_tag()?;
            return Ok(Statement::RestoreTable(RestoreTable { table, snapshot }));
        }
        if self.accept_word("KEYSPACE") {
            let keyspace = self.keyspace_name()?;
            let snapshot = self.restore_snapshot_tag()?;
            return Ok(Statement::RestoreKeyspace(RestoreKeyspace {
                keyspace,
                snapshot,
            }));
        }
        Err(self.no_viable())
    }

    fn restore_snapshot_tag(&mut self) -> PResult<String> {
        self.expect_word("FROM")?;
        self.expect_word("SNAPSHOT")?;
        self.string_literal()
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
    fn native_type(&mut self) -> PResult<NativeType> {
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

/// The constant inside a property map entry, or the offending term.
fn constant_of(term: Term) -> Result<Literal, Term> {
    match term {
        Term::Literal(literal) if literal.kind != LiteralKind::Null => Ok(literal),
        other => Err(other),
    }
}

fn ddl_marker_note(term: &Term) -> &'static str {
    if matches!(term, Term::Bind(_)) {
        " (bind variables are not supported in DDL queries)"
    } else {
        ""
    }
}
