//! Data statements: SELECT (with selectors), terms, WHERE relations, INSERT, UPDATE, DELETE,
//! BATCH.

use super::super::ast::*;
use super::super::lexer::{Symbol, TokenKind};
use super::super::ParseError;
use super::{
    error_position, negate_literal, selector_arithmetic, term_arithmetic, word_literal, BraceItems,
    PResult, Parser,
};

impl Parser<'_> {
    // ---- SELECT ------------------------------------------------------------------------------

    /// `selectStatement`
    pub(super) fn select_statement(&mut self) -> PResult<SelectStatement> {
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
    pub(super) fn keyword_before_selection(&mut self, keyword: &str) -> bool {
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

    pub(super) fn keep_furthest_speculation_error(&mut self, error: ParseError) {
        let further = self
            .speculation_error
            .as_ref()
            .is_none_or(|kept| error_position(&error) > error_position(kept));
        if further {
            self.speculation_error = Some(error);
        }
    }

    /// Strata: `AT SNAPSHOT 'tag'` after a table name.
    pub(super) fn at_snapshot(&mut self) -> PResult<Option<String>> {
        if !self.at_words(&["AT", "SNAPSHOT"]) {
            return Ok(None);
        }
        self.advance();
        self.advance();
        Ok(Some(self.string_literal()?))
    }

    pub(super) fn string_literal(&mut self) -> PResult<String> {
        if self.peek().kind != TokenKind::String {
            return Err(self.mismatched("STRING_LITERAL"));
        }
        Ok(self.advance_text())
    }

    /// `selectors`: `*` or a comma-separated list of `selector [AS alias]`.
    pub(super) fn selection(&mut self) -> PResult<Selection> {
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
    pub(super) fn ordering(&mut self) -> PResult<Ordering> {
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

    pub(super) fn comma_separated<T>(
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
    pub(super) fn parenthesized_list<T>(
        &mut self,
        item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        self.expect(Symbol::LParen)?;
        let items = self.comma_separated(item)?;
        self.expect(Symbol::RParen)?;
        Ok(items)
    }

    /// `'(' [item (',' item)*] ')'`
    pub(super) fn optional_parenthesized_list<T>(
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
    pub(super) fn int_value(&mut self) -> PResult<Term> {
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
    pub(super) fn selector(&mut self) -> PResult<Selector> {
        self.nested(Self::selector_addition)
    }

    pub(super) fn selector_addition(&mut self) -> PResult<Selector> {
        self.left_associative(
            Self::selector_multiplication,
            Self::additive_operator,
            selector_arithmetic,
        )
    }

    pub(super) fn selector_multiplication(&mut self) -> PResult<Selector> {
        self.left_associative(
            Self::selector_group,
            Self::multiplicative_operator,
            selector_arithmetic,
        )
    }

    /// `operand (op operand)*` for the operators `operator` recognises, grouped to the left.
    pub(super) fn left_associative<T>(
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

    pub(super) fn additive_operator(&self) -> Option<ArithmeticOp> {
        match self.peek().kind {
            TokenKind::Symbol(Symbol::Plus) => Some(ArithmeticOp::Add),
            TokenKind::Symbol(Symbol::Minus) => Some(ArithmeticOp::Subtract),
            _ => None,
        }
    }

    pub(super) fn multiplicative_operator(&self) -> Option<ArithmeticOp> {
        match self.peek().kind {
            TokenKind::Symbol(Symbol::Star) => Some(ArithmeticOp::Multiply),
            TokenKind::Symbol(Symbol::Slash) => Some(ArithmeticOp::Divide),
            TokenKind::Symbol(Symbol::Percent) => Some(ArithmeticOp::Modulo),
            _ => None,
        }
    }

    /// `selectionGroup`: `-group` or a group with its field/element modifiers.
    pub(super) fn selector_group(&mut self) -> PResult<Selector> {
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
    pub(super) fn selector_modifiers(&mut self, mut receiver: Selector) -> PResult<Selector> {
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
    pub(super) fn collection_sub_selection(&mut self, receiver: Selector) -> PResult<Selector> {
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
    pub(super) fn selector_group_without_field(&mut self) -> PResult<Selector> {
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
    pub(super) fn selection_type_hint(&mut self) -> PResult<Selector> {
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
    pub(super) fn list_items<T>(
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
    pub(super) fn selection_map_or_set(&mut self) -> PResult<Selector> {
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
    pub(super) fn map_or_set_rest<T>(
        &mut self,
        item: fn(&mut Self) -> PResult<T>,
    ) -> PResult<BraceItems<T>> {
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
    pub(super) fn selection_function_or_column(&mut self) -> PResult<Selector> {
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
    pub(super) fn term(&mut self) -> PResult<Term> {
        self.nested(Self::term_addition)
    }

    pub(super) fn term_addition(&mut self) -> PResult<Term> {
        self.left_associative(
            Self::term_multiplication,
            Self::term_additive_operator,
            term_arithmetic,
        )
    }

    /// `+`/`-`, except before a bare column: `l = [1] + l` is a list prepend, not arithmetic.
    pub(super) fn term_additive_operator(&self) -> Option<ArithmeticOp> {
        if self.bare_column_at(1) {
            return None;
        }
        self.additive_operator()
    }

    pub(super) fn term_multiplication(&mut self) -> PResult<Term> {
        self.left_associative(
            Self::term_group,
            Self::multiplicative_operator,
            term_arithmetic,
        )
    }

    /// `termGroup`: `[-] simpleTerm`; `-` on a numeric literal becomes part of the literal.
    pub(super) fn term_group(&mut self) -> PResult<Term> {
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
    pub(super) fn constant_or_marker_ahead(&self) -> bool {
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
    pub(super) fn simple_term(&mut self) -> PResult<Term> {
        self.nested(Self::simple_term_inner)
    }

    pub(super) fn simple_term_inner(&mut self) -> PResult<Term> {
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
        if self.function_call_ahead() {
            let (name, args) = self.function_call(Self::term)?;
            return Ok(Term::FunctionCall { name, args });
        }
        Err(self.no_viable())
    }

    /// `CAST '(' operand AS native_type ')'`, at the CAST word.
    pub(super) fn cast<T>(
        &mut self,
        operand: fn(&mut Self) -> PResult<T>,
    ) -> PResult<(T, NativeTypeName)> {
        self.expect_word("CAST")?;
        self.expect(Symbol::LParen)?;
        let value = operand(self)?;
        self.expect_word("AS")?;
        let ty = self.native_type()?;
        self.expect(Symbol::RParen)?;
        Ok((value, ty))
    }

    /// `functionName '(' [argument (',' argument)*] ')'`
    pub(super) fn function_call<T>(
        &mut self,
        argument: fn(&mut Self) -> PResult<T>,
    ) -> PResult<(QualifiedName, Vec<T>)> {
        let name = self.function_name()?;
        self.expect(Symbol::LParen)?;
        let args = self.list_items(Symbol::RParen, argument)?;
        Ok((name, args))
    }

    /// `'(' comparatorType ')' simpleTerm`
    pub(super) fn term_type_hint(&mut self) -> PResult<Term> {
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
    pub(super) fn brace_literal(&mut self) -> PResult<Term> {
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
    pub(super) fn accept_literal(&mut self) -> Option<Literal> {
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
    pub(super) fn bind_marker(&mut self) -> PResult<BindMarker> {
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
    pub(super) fn where_clause(&mut self) -> PResult<Vec<Relation>> {
        self.and_separated(Self::relation)
    }

    /// `relation` (a parenthesized relation is flattened into `out`).
    pub(super) fn relation(&mut self, out: &mut Vec<Relation>) -> PResult<()> {
        self.nested(|p| p.relation_inner(out))
    }

    pub(super) fn relation_inner(&mut self, out: &mut Vec<Relation>) -> PResult<()> {
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
    pub(super) fn predicate(&mut self, single_column: bool) -> PResult<Predicate> {
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
    pub(super) fn relation_operator(&mut self) -> PResult<Operator> {
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
    pub(super) fn in_values(&mut self) -> PResult<InValues> {
        if self.at(Symbol::QMark) || self.at(Symbol::Colon) {
            return Ok(InValues::Marker(self.bind_marker()?));
        }
        Ok(InValues::Terms(
            self.optional_parenthesized_list(Self::term)?,
        ))
    }

    // ---- INSERT / UPDATE / DELETE / BATCH ----------------------------------------------------

    /// `insertStatement`
    pub(super) fn insert_statement(&mut self) -> PResult<InsertStatement> {
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
    pub(super) fn using_clause(&mut self) -> PResult<UsingClause> {
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
    pub(super) fn update_statement(&mut self) -> PResult<UpdateStatement> {
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
    pub(super) fn assignments(&mut self) -> PResult<Vec<Assignment>> {
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
    pub(super) fn assignment(&mut self) -> PResult<Assignment> {
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
    pub(super) fn same_column(&mut self, column: &str, form: &str) -> PResult<()> {
        let at = self.plain_error(format!(
            "Only expressions of the form {form} are supported."
        ));
        if self.ident()? != column {
            return Err(at);
        }
        Ok(())
    }

    /// `IF EXISTS` or `IF condition AND ...` of UPDATE and DELETE.
    pub(super) fn update_condition(&mut self) -> PResult<Option<UpdateCondition>> {
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
    pub(super) fn condition(&mut self) -> PResult<Condition> {
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
    pub(super) fn delete_statement(&mut self) -> PResult<DeleteStatement> {
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
    pub(super) fn deletion(&mut self) -> PResult<Deletion> {
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
    pub(super) fn batch_statement(&mut self) -> PResult<BatchStatement> {
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
}
