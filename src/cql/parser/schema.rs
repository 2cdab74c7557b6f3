//! Schema statements (keyspaces, tables, indexes, types, views, functions, aggregates),
//! DESCRIBE, and Strata's CLONE / RESTORE.

use super::super::ast::*;
use super::super::lexer::{Symbol, TokenKind};
use super::super::ParseError;
use super::{
    contains_ignore_case, is_reserved_word, native_type_named, PResult, Parser, BASIC_UNRESERVED,
    NON_FUNCTION_KEYWORDS,
};

impl Parser<'_> {
    // ---- Schema statements -------------------------------------------------------------------

    pub(super) fn if_not_exists(&mut self) -> PResult<bool> {
        if !self.accept_word("IF") {
            return Ok(false);
        }
        self.expect_word("NOT")?;
        self.expect_word("EXISTS")?;
        Ok(true)
    }

    pub(super) fn if_exists(&mut self) -> PResult<bool> {
        if !self.accept_word("IF") {
            return Ok(false);
        }
        self.expect_word("EXISTS")?;
        Ok(true)
    }

    pub(super) fn accept_table_keyword(&mut self) -> bool {
        self.accept_word("TABLE") || self.accept_word("COLUMNFAMILY")
    }

    pub(super) fn create_statement(&mut self) -> PResult<Statement> {
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
        if !or_replace {
            if let Some(statement) = self.create_role_statement()? {
                return Ok(statement);
            }
            if self.at_word("TRIGGER") {
                return Err(self.unsupported_statement("CREATE "));
            }
        }
        Err(self.no_viable())
    }

    /// `createKeyspaceStatement`, or Strata's `CREATE KEYSPACE new CLONE src [AT SNAPSHOT 'x']`.
    pub(super) fn create_keyspace(&mut self) -> PResult<Statement> {
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
    pub(super) fn create_table(&mut self) -> PResult<Statement> {
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
    pub(super) fn column_definition(
        &mut self,
        allow_primary_key: bool,
    ) -> PResult<ColumnDefinition> {
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
    pub(super) fn refuse_column_mask(&self) -> PResult<()> {
        if self.at_words(&["MASKED", "WITH"]) {
            return Err(self.unsupported("Column masks (MASKED WITH)"));
        }
        Ok(())
    }

    /// `'(' partitionKey (',' clustering)* ')'` where partitionKey is `k` or `(k1, k2)`.
    pub(super) fn primary_key_columns(&mut self) -> PResult<PrimaryKey> {
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
    pub(super) fn table_options(&mut self) -> PResult<TableOptions> {
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
    pub(super) fn properties(&mut self) -> PResult<Vec<Property>> {
        self.and_separated(Self::property)
    }

    /// `property`: `name = constant | unreserved_keyword | {map of constants}`.
    pub(super) fn property(&mut self, out: &mut Vec<Property>) -> PResult<()> {
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

    pub(super) fn unreserved_keyword_at(&self, offset: usize) -> bool {
        let word = &self.peek_at(offset).text;
        contains_ignore_case(BASIC_UNRESERVED, word)
            || contains_ignore_case(NON_FUNCTION_KEYWORDS, word)
            || native_type_named(word).is_some()
    }

    /// A constant (not NULL), with an optional leading `-` on numbers.
    pub(super) fn property_constant(&mut self) -> Option<Literal> {
        self.attempt(|p| match p.term_group()? {
            Term::Literal(literal) if literal.kind != LiteralKind::Null => Ok(literal),
            _ => Err(p.no_viable()),
        })
    }

    /// `fullMapLiteral` whose keys and values must be constants (`convertPropertyMap`).
    pub(super) fn property_map(&mut self, property: &str) -> PResult<Vec<(Literal, Literal)>> {
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
    pub(super) fn create_index(&mut self) -> PResult<CreateIndex> {
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
    pub(super) fn index_target(&mut self) -> PResult<IndexTarget> {
        const KINDS: [(&str, IndexTargetSyntax); 4] = [
            ("KEYS", IndexTargetSyntax::Keys),
            ("VALUES", IndexTargetSyntax::Values),
            ("ENTRIES", IndexTargetSyntax::Entries),
            ("FULL", IndexTargetSyntax::Full),
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
                kind: IndexTargetSyntax::Simple,
            }),
        }
    }

    /// `createTypeStatement`
    pub(super) fn create_type(&mut self) -> PResult<CreateType> {
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
    pub(super) fn create_view(&mut self) -> PResult<CreateView> {
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
    pub(super) fn create_function(&mut self, or_replace: bool) -> PResult<CreateFunction> {
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
    pub(super) fn create_aggregate(&mut self, or_replace: bool) -> PResult<CreateAggregate> {
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
    pub(super) fn allowed_function_name(&mut self) -> PResult<Ident> {
        if !self.function_name_at(0) {
            return Err(self.no_viable());
        }
        Ok(self.advance_ident())
    }

    pub(super) fn alter_statement(&mut self) -> PResult<Statement> {
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
        if let Some(statement) = self.alter_role_statement()? {
            return Ok(statement);
        }
        Err(self.no_viable())
    }

    /// The action of `alterTableStatement`.
    pub(super) fn alter_table_action(&mut self) -> PResult<AlterTableAction> {
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
    pub(super) fn renames(&mut self) -> PResult<Vec<(Ident, Ident)>> {
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

    pub(super) fn i64_literal(&mut self) -> PResult<i64> {
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
    pub(super) fn alter_type_action(&mut self) -> PResult<AlterTypeAction> {
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

    pub(super) fn drop_statement(&mut self) -> PResult<Statement> {
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
        if let Some(statement) = self.drop_role_statement()? {
            return Ok(statement);
        }
        if ["TRIGGER", "IDENTITY"].iter().any(|w| self.at_word(w)) {
            return Err(self.unsupported_statement("DROP "));
        }
        Err(self.no_viable())
    }

    pub(super) fn drop_object(
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
    pub(super) fn drop_function(&mut self) -> PResult<DropFunction> {
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
    pub(super) fn describe_statement(&mut self) -> PResult<Describe> {
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

    pub(super) fn describe_target(&mut self) -> PResult<DescribeTarget> {
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
    pub(super) fn restore_statement(&mut self) -> PResult<Statement> {
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

    pub(super) fn restore_snapshot_tag(&mut self) -> PResult<String> {
        self.expect_word("FROM")?;
        self.expect_word("SNAPSHOT")?;
        self.string_literal()
    }
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
