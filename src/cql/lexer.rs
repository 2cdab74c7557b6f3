//! CQL lexer: text to located tokens, following Cassandra's `Lexer.g`.
//!
//! The whole input is lexed before parsing, as ANTLR's token stream does, so a lexical error is
//! reported before any syntax error, as in Cassandra. Whitespace and comments are kept as
//! *hidden* tokens: the parser skips them, but the error snippet counts them exactly like
//! Cassandra's `ErrorCollector` does (it indexes the raw token stream).
//!
//! Differences from ANTLR's lexer, on purpose:
//! - `-` is always its own token. Cassandra lexes `-5` as one INTEGER, which makes `x-1` fail
//!   to parse; the parser folds `-` into a following numeric literal instead.
//! - A `--`/`//` comment may end at end of input (Cassandra wants a newline).

use super::ParseError;

/// Most tokens (whitespace and comments included) in one statement. A token costs about 60
/// bytes, so this bounds the lexer's memory near 30 MB whatever the input; a batch of a
/// thousand inserts needs a few tens of thousands.
pub(super) const MAX_TOKENS: usize = 500_000;

/// The lexical class of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenKind {
    /// An unquoted word: identifier or keyword; the parser decides which.
    Word,
    /// `"..."` (text = unescaped content, possibly empty).
    QuotedName,
    /// `'...'` or `$$...$$` (text = decoded content).
    String,
    Integer,
    Float,
    Uuid,
    /// `0x...`
    Hex,
    Duration,
    Symbol(Symbol),
    /// Whitespace or a comment.
    Hidden,
    Eof,
}

/// Punctuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Symbol {
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Semicolon,
    Colon,
    Dot,
    Range,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    QMark,
    PlusEq,
    MinusEq,
}

impl Symbol {
    /// Longest first, so that `<=` wins over `<` and `..` over `.`.
    const ALL: [(&'static str, Symbol); 25] = [
        ("..", Symbol::Range),
        ("!=", Symbol::NotEq),
        ("<=", Symbol::LtEq),
        (">=", Symbol::GtEq),
        ("+=", Symbol::PlusEq),
        ("-=", Symbol::MinusEq),
        ("(", Symbol::LParen),
        (")", Symbol::RParen),
        ("[", Symbol::LBracket),
        ("]", Symbol::RBracket),
        ("{", Symbol::LBrace),
        ("}", Symbol::RBrace),
        (",", Symbol::Comma),
        (";", Symbol::Semicolon),
        (":", Symbol::Colon),
        (".", Symbol::Dot),
        ("=", Symbol::Eq),
        ("<", Symbol::Lt),
        (">", Symbol::Gt),
        ("+", Symbol::Plus),
        ("-", Symbol::Minus),
        ("*", Symbol::Star),
        ("/", Symbol::Slash),
        ("%", Symbol::Percent),
        ("?", Symbol::QMark),
    ];

    /// The source text of the symbol.
    pub(super) fn text(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("?", |(text, _)| text)
    }
}

/// One token with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: TokenKind,
    /// Decoded content for strings and quoted names, the source text otherwise.
    pub text: String,
    /// Byte range in the source.
    pub start: usize,
    pub end: usize,
    /// 1-based line.
    pub line: u32,
    /// 0-based character offset in the line.
    pub column: u32,
}

impl Token {
    pub(super) fn is_symbol(&self, symbol: Symbol) -> bool {
        self.kind == TokenKind::Symbol(symbol)
    }

    /// A word equal to `keyword`, ignoring ASCII case.
    pub(super) fn is_word(&self, keyword: &str) -> bool {
        self.kind == TokenKind::Word && self.text.eq_ignore_ascii_case(keyword)
    }
}

/// Lexes the whole input; the last token is always `Eof`.
pub(super) fn tokenize(source: &str) -> Result<Vec<Token>, ParseError> {
    let mut lexer = Lexer {
        source,
        pos: 0,
        line: 1,
        column: 0,
        tokens: Vec::new(),
    };
    while lexer.pos < source.len() {
        if lexer.tokens.len() >= MAX_TOKENS {
            return Err(lexer.error_here(format!("statement has more than {MAX_TOKENS} tokens")));
        }
        lexer.next_token()?;
    }
    lexer.push(
        TokenKind::Eof,
        lexer.pos,
        lexer.line,
        lexer.column,
        "<EOF>".to_string(),
    );
    Ok(lexer.tokens)
}

struct Lexer<'a> {
    source: &'a str,
    /// Byte offset of the next character.
    pos: usize,
    line: u32,
    column: u32,
    tokens: Vec<Token>,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        self.source.get(self.pos..).unwrap_or("")
    }

    fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_byte_at(&self, offset: usize) -> Option<u8> {
        self.source.as_bytes().get(self.pos + offset).copied()
    }

    /// Moves past `bytes` bytes of input (always a whole number of characters), tracking line
    /// and column.
    fn advance(&mut self, bytes: usize) {
        let end = (self.pos + bytes).min(self.source.len());
        for c in self.source.get(self.pos..end).unwrap_or("").chars() {
            if c == '\n' {
                self.line = self.line.saturating_add(1);
                self.column = 0;
            } else {
                self.column = self.column.saturating_add(1);
            }
        }
        self.pos = end;
    }

    fn push(&mut self, kind: TokenKind, start: usize, line: u32, column: u32, text: String) {
        self.tokens.push(Token {
            kind,
            text,
            start,
            end: self.pos,
            line,
            column,
        });
    }

    /// Lexes one token of `len` bytes whose text is its source text.
    fn simple(&mut self, kind: TokenKind, len: usize) {
        let (start, line, column) = (self.pos, self.line, self.column);
        self.advance(len);
        // Whitespace, comments and punctuation keep no copy of their text (it is in the
        // source): a long statement of small tokens should not cost an allocation per token.
        let text = match kind {
            TokenKind::Hidden | TokenKind::Symbol(_) => String::new(),
            _ => self.source.get(start..self.pos).unwrap_or("").to_string(),
        };
        self.push(kind, start, line, column, text);
    }

    fn error_here(&self, message: String) -> ParseError {
        ParseError {
            line: self.line,
            column: self.column,
            message,
        }
    }

    /// ANTLR's lexer message for an input that ends inside a token.
    fn eof_error(&self, expecting: char) -> ParseError {
        self.error_here(format!(
            "mismatched character '<EOF>' expecting '{expecting}'"
        ))
    }

    fn next_token(&mut self) -> Result<(), ParseError> {
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return Ok(());
        };
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            let len = rest
                .find(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
                .unwrap_or(rest.len());
            self.simple(TokenKind::Hidden, len);
        } else if rest.starts_with("--") || rest.starts_with("//") {
            let len = rest.find('\n').map_or(rest.len(), |i| i + 1);
            self.simple(TokenKind::Hidden, len);
        } else if rest.starts_with("/*") {
            let len = rest.find("*/").map(|i| i + 2).ok_or_else(|| {
                let mut at_end = Lexer {
                    tokens: Vec::new(),
                    ..*self
                };
                at_end.advance(rest.len());
                at_end.eof_error('*')
            })?;
            self.simple(TokenKind::Hidden, len);
        } else if c == '\'' {
            self.quoted(TokenKind::String, '\'')?;
        } else if c == '"' {
            self.quoted(TokenKind::QuotedName, '"')?;
        } else if rest.starts_with("$$") {
            self.dollar_string()?;
        } else if let Some(len) = uuid_len(rest) {
            self.simple(TokenKind::Uuid, len);
        } else if c.is_ascii_digit() {
            self.number();
        } else if c.is_ascii_alphabetic() {
            self.word();
        } else if let Some((text, symbol)) = Symbol::ALL.iter().find(|(t, _)| rest.starts_with(t)) {
            self.simple(TokenKind::Symbol(*symbol), text.len());
        } else {
            return Err(self.error_here(format!(
                "no viable alternative at character '{}'",
                escape_for_message(&c.to_string())
            )));
        }
        Ok(())
    }

    /// `'...'` with `''` escapes, or `"..."` with `""` escapes.
    fn quoted(&mut self, kind: TokenKind, quote: char) -> Result<(), ParseError> {
        let (start, line, column) = (self.pos, self.line, self.column);
        self.advance(1);
        let mut text = String::new();
        loop {
            let rest = self.rest();
            let Some(i) = rest.find(quote) else {
                self.advance(rest.len());
                return Err(self.eof_error(quote));
            };
            text.push_str(rest.get(..i).unwrap_or(""));
            self.advance(i + 1);
            if self.peek_char() == Some(quote) {
                text.push(quote);
                self.advance(1);
            } else {
                break;
            }
        }
        self.push(kind, start, line, column, text);
        Ok(())
    }

    /// `$$...$$`: no escapes; the content cannot contain `$$`.
    fn dollar_string(&mut self) -> Result<(), ParseError> {
        let (start, line, column) = (self.pos, self.line, self.column);
        self.advance(2);
        let rest = self.rest();
        let Some(i) = rest.find("$$") else {
            self.advance(rest.len());
            return Err(self.eof_error('$'));
        };
        let text = rest.get(..i).unwrap_or("").to_string();
        self.advance(i + 2);
        self.push(TokenKind::String, start, line, column, text);
        Ok(())
    }

    /// INTEGER, FLOAT, HEXNUMBER or DURATION starting with a digit.
    fn number(&mut self) {
        let rest = self.rest();
        if let [b'0', b'x' | b'X', ..] = rest.as_bytes() {
            let hex = rest
                .get(2..)
                .unwrap_or("")
                .bytes()
                .take_while(u8::is_ascii_hexdigit)
                .count();
            return self.simple(TokenKind::Hex, 2 + hex);
        }
        if let Some(len) = unit_duration_len(rest) {
            return self.simple(TokenKind::Duration, len);
        }
        let digits = count_digits(rest);
        let mut len = digits;
        let mut kind = TokenKind::Integer;
        // `1..2` is INTEGER RANGE INTEGER (slices), not FLOAT `1.` followed by `.2`.
        if self.peek_byte_at(len) == Some(b'.') && self.peek_byte_at(len + 1) != Some(b'.') {
            len += 1 + count_digits(rest.get(len + 1..).unwrap_or(""));
            kind = TokenKind::Float;
        }
        if let Some(exponent) = exponent_len(rest.get(len..).unwrap_or("")) {
            len += exponent;
            kind = TokenKind::Float;
        }
        self.simple(kind, len);
    }

    /// IDENT (or keyword, boolean, NaN...) or an ISO 8601 DURATION such as `P1Y2M`.
    fn word(&mut self) {
        let rest = self.rest();
        if let Some(len) = iso_duration_len(rest) {
            return self.simple(TokenKind::Duration, len);
        }
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.simple(TokenKind::Word, len);
    }
}

fn count_digits(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// `E [+-]? DIGIT+`
fn exponent_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    if !matches!(bytes.first(), Some(b'e' | b'E')) {
        return None;
    }
    let sign = usize::from(matches!(bytes.get(1), Some(b'+' | b'-')));
    let digits = count_digits(s.get(1 + sign..)?);
    (digits > 0).then_some(1 + sign + digits)
}

/// `HEX{8}-HEX{4}-HEX{4}-HEX{4}-HEX{12}`
fn uuid_len(s: &str) -> Option<usize> {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let bytes = s.as_bytes();
    let mut at = 0;
    for (i, group) in GROUPS.iter().enumerate() {
        if i > 0 {
            if bytes.get(at) != Some(&b'-') {
                return None;
            }
            at += 1;
        }
        if !bytes.get(at..at + group)?.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        at += group;
    }
    Some(at)
}

/// Duration units, longest first so that `mo`/`ms` win over `m`.
const DURATION_UNITS: [&str; 12] = [
    "mo", "ms", "us", "µs", "μs", "ns", "y", "w", "d", "h", "m", "s",
];

/// `(DIGIT+ unit)+`, e.g. `12h30m`, `1mo`, `500ms`.
fn unit_duration_len(s: &str) -> Option<usize> {
    let mut len = 0;
    loop {
        let rest = s.get(len..)?;
        let digits = count_digits(rest);
        if digits == 0 {
            break;
        }
        let after = rest.get(digits..).unwrap_or("");
        let Some(unit) = DURATION_UNITS
            .iter()
            .find(|u| starts_with_ignore_case(after, u))
        else {
            break;
        };
        len += digits + unit.len();
    }
    (len > 0).then_some(len)
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// ISO 8601 durations: `P[nY][nM][nD][T[nH][nM][nS]]`, `PnW`, `PYYYY-MM-DDThh:mm:ss`. At least
/// one component is required and the match must end the word, so that identifiers such as `p`,
/// `pt` or `p1x` stay identifiers.
fn iso_duration_len(s: &str) -> Option<usize> {
    if !matches!(s.as_bytes().first(), Some(b'p' | b'P')) {
        return None;
    }
    let len = iso_alternative_len(s)
        .or_else(|| iso_week_len(s))
        .or_else(|| iso_designator_len(s))?;
    let ends_word = s
        .as_bytes()
        .get(len)
        .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_'));
    ends_word.then_some(len)
}

/// `P DIGIT+ W`
fn iso_week_len(s: &str) -> Option<usize> {
    let digits = count_digits(s.get(1..)?);
    (digits > 0 && matches!(s.as_bytes().get(1 + digits), Some(b'w' | b'W'))).then_some(digits + 2)
}

/// `PYYYY-MM-DDThh:mm:ss`
fn iso_alternative_len(s: &str) -> Option<usize> {
    const SHAPE: &[u8] = b"P9999-99-99T99:99:99";
    let bytes = s.as_bytes().get(..SHAPE.len())?;
    let fits = bytes.iter().zip(SHAPE).all(|(b, shape)| match shape {
        b'9' => b.is_ascii_digit(),
        _ => b.eq_ignore_ascii_case(shape),
    });
    fits.then_some(SHAPE.len())
}

/// `P[nY][nM][nD][T[nH][nM][nS]]` with at least one component.
fn iso_designator_len(s: &str) -> Option<usize> {
    let (mut len, date_components) = designated_components(s, 1, b"YMD");
    let mut components = date_components;
    if matches!(s.as_bytes().get(len), Some(b't' | b'T')) {
        let (time_len, time_components) = designated_components(s, len + 1, b"HMS");
        if time_components > 0 {
            len = time_len;
            components += time_components;
        }
    }
    (components > 0).then_some(len)
}

/// Matches the optional `DIGIT+ designator` groups from `start`, in order; returns the end
/// offset and how many groups matched.
fn designated_components(s: &str, start: usize, designators: &[u8]) -> (usize, usize) {
    let mut len = start;
    let mut components = 0;
    for designator in designators {
        let rest = s.get(len..).unwrap_or("");
        let digits = count_digits(rest);
        if digits > 0
            && rest
                .as_bytes()
                .get(digits)
                .is_some_and(|b| b.eq_ignore_ascii_case(designator))
        {
            len += digits + 1;
            components += 1;
        }
    }
    (len, components)
}

/// ANTLR's `getTokenErrorDisplay` escaping: newlines and tabs are shown as `\n`, `\r`, `\t`.
pub(super) fn escape_for_message(text: &str) -> String {
    text.replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<(TokenKind, String)> {
        tokenize(source)
            .unwrap_or_else(|e| panic!("{source}: {e}"))
            .into_iter()
            .filter(|t| !matches!(t.kind, TokenKind::Hidden | TokenKind::Eof))
            .map(|t| match t.kind {
                TokenKind::Symbol(symbol) => (t.kind, symbol.text().to_string()),
                _ => (t.kind, t.text),
            })
            .collect()
    }

    fn single(source: &str) -> (TokenKind, String) {
        let tokens = kinds(source);
        assert_eq!(tokens.len(), 1, "{source}: {tokens:?}");
        tokens
            .into_iter()
            .next()
            .unwrap_or((TokenKind::Eof, String::new()))
    }

    #[test]
    fn literal_kinds() {
        use TokenKind::*;
        let cases: &[(&str, TokenKind, &str)] = &[
            ("42", Integer, "42"),
            ("1.5", Float, "1.5"),
            ("1.", Float, "1."),
            ("1e10", Float, "1e10"),
            ("2.5E-3", Float, "2.5E-3"),
            ("'it''s'", String, "it's"),
            ("''", String, ""),
            ("$$a 'b' $ c$$", String, "a 'b' $ c"),
            ("\"MyCol\"", QuotedName, "MyCol"),
            ("\"a\"\"b\"", QuotedName, "a\"b"),
            ("\"\"", QuotedName, ""),
            ("0xCAFE", Hex, "0xCAFE"),
            ("0x", Hex, "0x"),
            (
                "123e4567-e89b-12d3-a456-426614174000",
                Uuid,
                "123e4567-e89b-12d3-a456-426614174000",
            ),
            (
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                Uuid,
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            ),
            ("12h30m", Duration, "12h30m"),
            ("1y2mo", Duration, "1y2mo"),
            ("500ms", Duration, "500ms"),
            ("3µs", Duration, "3µs"),
            ("1MO", Duration, "1MO"),
            ("P1Y2M", Duration, "P1Y2M"),
            ("PT2H", Duration, "PT2H"),
            ("P2W", Duration, "P2W"),
            ("P0001-02-03T04:05:06", Duration, "P0001-02-03T04:05:06"),
            ("p", Word, "p"),
            ("pt", Word, "pt"),
            ("p1x", Word, "p1x"),
            ("key_2", Word, "key_2"),
        ];
        for (source, kind, text) in cases {
            assert_eq!(single(source), (*kind, text.to_string()), "{source}");
        }
    }

    #[test]
    fn symbols_and_ranges() {
        let tokens = kinds("a[1..2] <= >= != += -= -5");
        let texts: Vec<&str> = tokens.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            ["a", "[", "1", "..", "2", "]", "<=", ">=", "!=", "+=", "-=", "-", "5"]
        );
    }

    #[test]
    fn comments_are_hidden() {
        let tokens = kinds("SELECT -- one\n * /* two\n */ FROM // three");
        let texts: Vec<&str> = tokens.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["SELECT", "*", "FROM"]);
    }

    #[test]
    fn positions_are_line_and_character_column() {
        let tokens = tokenize("SELECT\n  'é', x").unwrap_or_default();
        let x = tokens.iter().find(|t| t.text == "x").cloned();
        assert_eq!(x.map(|t| (t.line, t.column)), Some((2, 7)));
    }

    #[test]
    fn lexical_errors() {
        let cases = [
            (
                "SELECT # FROM t",
                "line 1:7 no viable alternative at character '#'",
            ),
            (
                "SELECT 'abc",
                "line 1:11 mismatched character '<EOF>' expecting '''",
            ),
            (
                "SELECT \"abc",
                "line 1:11 mismatched character '<EOF>' expecting '\"'",
            ),
            (
                "SELECT $$abc",
                "line 1:12 mismatched character '<EOF>' expecting '$'",
            ),
            (
                "SELECT /* x",
                "line 1:11 mismatched character '<EOF>' expecting '*'",
            ),
        ];
        for (source, expected) in cases {
            let error = tokenize(source).err().map(|e| e.to_string());
            assert_eq!(error.as_deref(), Some(expected), "{source}");
        }
    }
}
