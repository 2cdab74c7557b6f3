//! Syntax tree of one CQL 3 statement (Cassandra 5.0 dialect plus Strata's snapshot extensions).
//!
//! Architecture invariant: this tree is *syntax only*. It knows nothing about schemas or types:
//! literals keep their raw text and lexical kind, names are normalised but never resolved, and
//! every "does this column exist / is this value an int" question belongs to the planner.
//!
//! Conventions used throughout:
//! - [`Ident`] is the normalised identifier: unquoted identifiers are lowercased, quoted ones keep
//!   their exact text (with `""` unescaped to `"`).
//! - Places where the grammar only admits an integer literal or a bind marker (LIMIT, TTL,
//!   TIMESTAMP) hold a [`Term`] that is always either `Term::Literal` of kind
//!   [`LiteralKind::Integer`] or `Term::Bind`.
//! - Bind markers are numbered in source order across the whole statement (a batch included),
//!   exactly like Cassandra's `bindVariables` list; see [`Statement::bind_markers`].

/// A normalised identifier (lowercased unless it was double-quoted).
pub type Ident = String;

/// `[keyspace.]name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    pub keyspace: Option<Ident>,
    pub name: Ident,
}

impl QualifiedName {
    /// A name without keyspace.
    pub fn unqualified(name: impl Into<Ident>) -> Self {
        QualifiedName {
            keyspace: None,
            name: name.into(),
        }
    }

    /// A keyspace-qualified name.
    pub fn qualified(keyspace: impl Into<Ident>, name: impl Into<Ident>) -> Self {
        QualifiedName {
            keyspace: Some(keyspace.into()),
            name: name.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

/// One parsed CQL statement.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Statement {
    Select(SelectStatement),
    Insert(InsertStatement),
    Update(UpdateStatement),
    Delete(DeleteStatement),
    Batch(BatchStatement),
    /// `USE ks`
    Use(Ident),
    CreateKeyspace(CreateKeyspace),
    AlterKeyspace(AlterKeyspace),
    DropKeyspace(DropKeyspace),
    CreateTable(CreateTable),
    AlterTable(AlterTable),
    DropTable(DropObject),
    /// `TRUNCATE [TABLE] [ks.]t`
    Truncate(QualifiedName),
    CreateIndex(CreateIndex),
    DropIndex(DropObject),
    CreateType(CreateType),
    AlterType(AlterType),
    DropType(DropObject),
    CreateView(CreateView),
    AlterView(AlterView),
    DropView(DropObject),
    CreateFunction(CreateFunction),
    DropFunction(DropFunction),
    CreateAggregate(CreateAggregate),
    DropAggregate(DropFunction),
    Describe(Describe),
    /// Strata: `CREATE TABLE [IF NOT EXISTS] ks.new CLONE ks.src [AT SNAPSHOT 'tag']`
    CloneTable(CloneTable),
    /// Strata: `CREATE KEYSPACE [IF NOT EXISTS] new CLONE src [AT SNAPSHOT 'tag']`
    CloneKeyspace(CloneKeyspace),
    /// Strata: `RESTORE TABLE ks.t FROM SNAPSHOT 'tag'`
    RestoreTable(RestoreTable),
    /// Strata: `RESTORE KEYSPACE ks FROM SNAPSHOT 'tag'`
    RestoreKeyspace(RestoreKeyspace),
    /// `CREATE ROLE ...` or the legacy `CREATE USER ...`
    CreateRole(CreateRole),
    /// `ALTER ROLE ...` or `ALTER USER ...`
    AlterRole(AlterRole),
    /// `DROP ROLE ...` or `DROP USER ...`
    DropRole(DropRole),
    /// `GRANT role TO grantee`
    GrantRole(RoleGrant),
    /// `REVOKE role FROM grantee`
    RevokeRole(RoleGrant),
    /// `GRANT permission|ALL ON resource TO role`
    GrantPermissions(PermissionChange),
    /// `REVOKE permission|ALL ON resource FROM role`
    RevokePermissions(PermissionChange),
    /// `LIST ROLES [OF role] [NORECURSIVE]`
    ListRoles(ListRoles),
    /// `LIST USERS`
    ListUsers,
    /// `LIST permission|ALL [ON resource] [OF role] [NORECURSIVE]`
    ListPermissions(ListPermissions),
}

impl Statement {
    /// Whether this is a role or permission statement (CREATE/ALTER/DROP ROLE or USER,
    /// GRANT, REVOKE, LIST).
    pub fn is_access_control(&self) -> bool {
        matches!(
            self,
            Statement::CreateRole(_)
                | Statement::AlterRole(_)
                | Statement::DropRole(_)
                | Statement::GrantRole(_)
                | Statement::RevokeRole(_)
                | Statement::GrantPermissions(_)
                | Statement::RevokePermissions(_)
                | Statement::ListRoles(_)
                | Statement::ListUsers
                | Statement::ListPermissions(_)
        )
    }
}

/// `SELECT [JSON] [DISTINCT] selection FROM table [AT SNAPSHOT 'tag'] [WHERE ...] [GROUP BY ...]
/// [ORDER BY ...] [PER PARTITION LIMIT n] [LIMIT n] [ALLOW FILTERING]`
#[derive(Debug, Clone, PartialEq)]
pub struct SelectStatement {
    pub json: bool,
    pub distinct: bool,
    pub selection: Selection,
    pub table: QualifiedName,
    /// Strata extension: read the table as of the named snapshot.
    pub snapshot: Option<String>,
    pub where_clause: Vec<Relation>,
    pub group_by: Vec<Selector>,
    pub order_by: Vec<Ordering>,
    /// Integer literal or bind marker.
    pub per_partition_limit: Option<Term>,
    /// Integer literal or bind marker.
    pub limit: Option<Term>,
    pub allow_filtering: bool,
}

/// What a SELECT returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// `*`
    Wildcard,
    /// A non-empty list of selectors.
    Selectors(Vec<SelectItem>),
}

/// `selector [AS alias]`
#[derive(Debug, Clone, PartialEq)]
pub struct SelectItem {
    pub selector: Selector,
    pub alias: Option<Ident>,
}

/// One selector expression (Cassandra's `Selectable.Raw`).
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    /// A column name.
    Column(Ident),
    /// A constant, `NULL` or a bind marker.
    Term(Term),
    /// `count(*)` (any case).
    CountRows,
    /// `writetime(c)`, `maxwritetime(c)`, `ttl(c)`; the argument is a column, possibly with field
    /// or element selections (`writetime(m['k'])`).
    WriteTimeOrTtl {
        kind: WriteTimeKind,
        selector: Box<Selector>,
    },
    /// `CAST(selector AS native_type)`
    Cast {
        selector: Box<Selector>,
        ty: NativeTypeName,
    },
    /// `name(args)`: any function, including `token(...)`, `count(x)`, `toJson(x)`.
    Function {
        name: QualifiedName,
        args: Vec<Selector>,
    },
    /// `selector.field`
    Field {
        selector: Box<Selector>,
        field: Ident,
    },
    /// `selector[key]`
    Element { selector: Box<Selector>, key: Term },
    /// `selector[from..to]`; at least one bound is present.
    Slice {
        selector: Box<Selector>,
        from: Option<Term>,
        to: Option<Term>,
    },
    /// `(type) selector`
    TypeHint {
        ty: CqlType,
        selector: Box<Selector>,
    },
    /// `[a, b]`
    List(Vec<Selector>),
    /// `{a, b}` (also the empty `{}`)
    Set(Vec<Selector>),
    /// `{k: v, ...}`: a map or a UDT literal; the planner decides from the receiver.
    Map(Vec<(Selector, Selector)>),
    /// `(a, b, ...)` with at least two elements (`(a)` is just `a`).
    Tuple(Vec<Selector>),
    Arithmetic {
        op: ArithmeticOp,
        left: Box<Selector>,
        right: Box<Selector>,
    },
    /// `-selector`
    Negate(Box<Selector>),
}

/// Which of the cell-metadata functions a [`Selector::WriteTimeOrTtl`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteTimeKind {
    WriteTime,
    MaxWriteTime,
    Ttl,
}

/// `ORDER BY column [ASC|DESC]` (or `ORDER BY column ANN OF term` for vector search).
#[derive(Debug, Clone, PartialEq)]
pub struct Ordering {
    pub column: Ident,
    /// `ANN OF <term>` (Cassandra 5.0 vector search).
    pub ann_of: Option<Term>,
    pub direction: OrderDirection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OrderDirection {
    #[default]
    Asc,
    Desc,
}

/// One `WHERE` relation (all relations are joined by AND).
#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    /// `col op term`, `col IN (...)`, `col IN ?`, `col CONTAINS [KEY] term`, `col LIKE term`.
    Column { column: Ident, predicate: Predicate },
    /// `col IS NOT NULL` (materialized views).
    IsNotNull { column: Ident },
    /// `col[key] op term`
    Element {
        column: Ident,
        key: Term,
        op: Operator,
        value: Term,
    },
    /// `token(a, b) op term`
    Token {
        columns: Vec<Ident>,
        op: Operator,
        value: Term,
    },
    /// `(a, b) op (1, 2)`, `(a, b) op ?`, `(a, b) IN ((1, 2), (3, 4))`, `(a, b) IN ?`.
    /// For a comparison the value is a `Term::Tuple` or a `Term::Bind`.
    MultiColumn {
        columns: Vec<Ident>,
        predicate: Predicate,
    },
    /// `expr(index_name, term)`
    CustomIndex {
        index: QualifiedName,
        expression: Term,
    },
}

/// The right-hand side of a relation or condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// A binary comparison (`=`, `<`, `CONTAINS`, `LIKE`, ...).
    Compare(Operator, Term),
    /// `IN (...)` or `IN ?`
    In(InValues),
}

/// The values of an `IN`.
#[derive(Debug, Clone, PartialEq)]
pub enum InValues {
    /// `IN (t1, t2, ...)` (possibly empty; for multi-column relations each term is a tuple or marker).
    Terms(Vec<Term>),
    /// `IN ?` / `IN :name`: one marker bound to the whole list.
    Marker(BindMarker),
}

/// Binary relation operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Contains,
    ContainsKey,
    Like,
}

// ---------------------------------------------------------------------------------------------
// Terms
// ---------------------------------------------------------------------------------------------

/// A value expression (Cassandra's `Term.Raw`).
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Literal(Literal),
    Bind(BindMarker),
    /// `[a, b]`
    List(Vec<Term>),
    /// `{a, b}`; the empty `{}` is also parsed as a set (it may be an empty map).
    Set(Vec<Term>),
    /// `{k: v, ...}` where the keys are terms.
    Map(Vec<(Term, Term)>),
    /// `(a, b, ...)`; one element is allowed (`(a)`), it is still a tuple syntactically.
    Tuple(Vec<Term>),
    /// `{field: v, ...}` where the keys are identifiers.
    Udt(Vec<(Ident, Term)>),
    /// `name(args)`, e.g. `now()`, `toTimestamp(now())`, `ks.f(1)`.
    FunctionCall {
        name: QualifiedName,
        args: Vec<Term>,
    },
    /// `(type) term`
    TypeHint {
        ty: CqlType,
        term: Box<Term>,
    },
    Arithmetic {
        op: ArithmeticOp,
        left: Box<Term>,
        right: Box<Term>,
    },
    /// `-term` for anything but a numeric literal (`-5` is folded into the literal's text).
    Negate(Box<Term>),
}

/// A constant: raw text plus lexical kind. Conversion to typed values is the planner's job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    pub kind: LiteralKind,
    /// For strings: the decoded content (quotes removed, `''` unescaped, `$$` stripped).
    /// For everything else: the source text, with a leading `-` when negated
    /// (`-5`, `-1.5e3`, `-NaN`, `-Infinity`, `-1h`).
    pub text: String,
}

/// The lexical class of a [`Literal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiteralKind {
    String,
    Integer,
    Float,
    Boolean,
    Null,
    Uuid,
    /// `0x...` (text keeps the `0x` prefix).
    Blob,
    Duration,
    NaN,
    Infinity,
}

/// A bind marker `?` or `:name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BindMarker {
    /// 0-based position among all markers of the statement, in source order.
    pub index: usize,
    /// `Some(name)` for `:name` markers.
    pub name: Option<Ident>,
}

/// `+ - * / %`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithmeticOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// A CQL type as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CqlType {
    Native(NativeTypeName),
    List(Box<CqlType>),
    Set(Box<CqlType>),
    Map(Box<CqlType>, Box<CqlType>),
    Tuple(Vec<CqlType>),
    Frozen(Box<CqlType>),
    /// `vector<type, dimension>`
    Vector(Box<CqlType>, u32),
    /// A user-defined type name.
    UserDefined(QualifiedName),
    /// A quoted custom type class, e.g. `'org.apache.cassandra.db.marshal.BytesType'`.
    Custom(String),
}

/// The name of a built-in scalar type as written (the executor's type is `types::NativeType`).
/// `Varchar` is kept apart from `Text` so that printing is faithful; the planner treats them as
/// the same type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NativeTypeName {
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Date,
    Decimal,
    Double,
    Duration,
    Float,
    Inet,
    Int,
    Smallint,
    Text,
    Time,
    Timestamp,
    Timeuuid,
    Tinyint,
    Uuid,
    Varchar,
    Varint,
}

// ---------------------------------------------------------------------------------------------
// Modification statements
// ---------------------------------------------------------------------------------------------

/// `USING TTL x AND TIMESTAMP y`; each value is an integer literal or bind marker.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UsingClause {
    pub ttl: Option<Term>,
    pub timestamp: Option<Term>,
}

impl UsingClause {
    pub fn is_empty(&self) -> bool {
        self.ttl.is_none() && self.timestamp.is_none()
    }
}

/// `INSERT INTO t (...) VALUES (...)` or `INSERT INTO t JSON ...`
#[derive(Debug, Clone, PartialEq)]
pub struct InsertStatement {
    pub table: QualifiedName,
    pub values: InsertValues,
    pub if_not_exists: bool,
    pub using: UsingClause,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InsertValues {
    /// `(c1, c2) VALUES (v1, v2)`; the lists may differ in length (the planner rejects that).
    Columns {
        columns: Vec<Ident>,
        values: Vec<Term>,
    },
    /// `JSON 'text' [DEFAULT NULL|UNSET]`; the value is a string literal or a bind marker.
    Json { value: Term, default_unset: bool },
}

/// `UPDATE t [USING ...] SET ... WHERE ... [IF ...]`
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateStatement {
    pub table: QualifiedName,
    pub using: UsingClause,
    pub assignments: Vec<Assignment>,
    pub where_clause: Vec<Relation>,
    pub condition: Option<UpdateCondition>,
}

/// One `SET` item.
#[derive(Debug, Clone, PartialEq)]
pub enum Assignment {
    /// `c = term`
    Set { column: Ident, value: Term },
    /// `c = c + term` / `c += term` (counter increment, collection append/union, map merge)
    Add { column: Ident, value: Term },
    /// `c = c - term` / `c -= term`
    Subtract { column: Ident, value: Term },
    /// `c = term + c` (list prepend)
    Prepend { column: Ident, value: Term },
    /// `c[key] = term`
    SetElement {
        column: Ident,
        key: Term,
        value: Term,
    },
    /// `c.field = term`
    SetField {
        column: Ident,
        field: Ident,
        value: Term,
    },
}

/// The lightweight-transaction clause of UPDATE and DELETE.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateCondition {
    /// `IF EXISTS`
    Exists,
    /// `IF cond AND cond ...`
    Conditions(Vec<Condition>),
}

/// One `IF` condition: `col [selection] predicate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: Ident,
    pub selection: Option<ConditionSelection>,
    pub predicate: Predicate,
}

/// The optional element or field selection on the left of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionSelection {
    /// `m[k]`
    Element(Term),
    /// `u.f`
    Field(Ident),
}

/// `DELETE [items] FROM t [USING TIMESTAMP n] WHERE ... [IF ...]`
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteStatement {
    /// Empty means the whole row(s).
    pub columns: Vec<Deletion>,
    pub table: QualifiedName,
    /// Integer literal or bind marker.
    pub timestamp: Option<Term>,
    pub where_clause: Vec<Relation>,
    pub condition: Option<UpdateCondition>,
}

/// One item between DELETE and FROM.
#[derive(Debug, Clone, PartialEq)]
pub enum Deletion {
    Column(Ident),
    /// `m[k]` / `l[i]`
    Element {
        column: Ident,
        key: Term,
    },
    /// `u.f`
    Field {
        column: Ident,
        field: Ident,
    },
}

/// `BEGIN [UNLOGGED|COUNTER] BATCH [USING ...] stmts APPLY BATCH`
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStatement {
    pub kind: BatchKind,
    pub using: UsingClause,
    pub statements: Vec<BatchChild>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BatchKind {
    #[default]
    Logged,
    Unlogged,
    Counter,
}

/// A statement allowed inside a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchChild {
    Insert(InsertStatement),
    Update(UpdateStatement),
    Delete(DeleteStatement),
}

// ---------------------------------------------------------------------------------------------
// Schema statements
// ---------------------------------------------------------------------------------------------

/// `name = value` in a `WITH` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: Ident,
    pub value: PropertyValue,
}

/// The value of a [`Property`].
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    /// A constant: `'text'`, `0.01`, `true`, `864000`.
    Literal(Literal),
    /// An unreserved keyword or bare word used as a value (Cassandra's `propertyValue`).
    Word(Ident),
    /// `{'k': 'v', ...}`: constants only (Cassandra rejects anything else as a syntax error).
    Map(Vec<(Literal, Literal)>),
}

/// `CREATE KEYSPACE [IF NOT EXISTS] ks WITH ...`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateKeyspace {
    pub if_not_exists: bool,
    pub name: Ident,
    pub properties: Vec<Property>,
}

/// `ALTER KEYSPACE [IF EXISTS] ks WITH ...`
#[derive(Debug, Clone, PartialEq)]
pub struct AlterKeyspace {
    pub if_exists: bool,
    pub name: Ident,
    pub properties: Vec<Property>,
}

/// `DROP KEYSPACE [IF EXISTS] ks`
#[derive(Debug, Clone, PartialEq)]
pub struct DropKeyspace {
    pub if_exists: bool,
    pub name: Ident,
}

/// `DROP TABLE|INDEX|TYPE|MATERIALIZED VIEW [IF EXISTS] [ks.]name`
#[derive(Debug, Clone, PartialEq)]
pub struct DropObject {
    pub if_exists: bool,
    pub name: QualifiedName,
}

/// `CREATE TABLE [IF NOT EXISTS] name (columns..., PRIMARY KEY (...)) [WITH options]`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    pub if_not_exists: bool,
    pub name: QualifiedName,
    pub columns: Vec<ColumnDefinition>,
    /// The `PRIMARY KEY (...)` clause, if present. The planner checks that exactly one of this
    /// and a column-level `PRIMARY KEY` is used.
    pub primary_key: Option<PrimaryKey>,
    pub options: TableOptions,
}

/// `name type [STATIC] [PRIMARY KEY]`
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDefinition {
    pub name: Ident,
    pub ty: CqlType,
    pub is_static: bool,
    pub primary_key: bool,
}

/// `PRIMARY KEY ((p1, p2), c1, c2)` or `PRIMARY KEY (p, c1)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryKey {
    pub partition_key: Vec<Ident>,
    pub clustering_columns: Vec<Ident>,
}

/// The `WITH` clause of CREATE TABLE / CREATE MATERIALIZED VIEW.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableOptions {
    pub properties: Vec<Property>,
    /// `CLUSTERING ORDER BY (c1 DESC, c2 ASC)`
    pub clustering_order: Vec<(Ident, OrderDirection)>,
    /// `COMPACT STORAGE` (parsed; the planner rejects it like Cassandra 5.0).
    pub compact_storage: bool,
}

impl TableOptions {
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty() && self.clustering_order.is_empty() && !self.compact_storage
    }
}

/// `ALTER TABLE [IF EXISTS] name action`
#[derive(Debug, Clone, PartialEq)]
pub struct AlterTable {
    pub if_exists: bool,
    pub name: QualifiedName,
    pub action: AlterTableAction,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlterTableAction {
    /// `ALTER [IF EXISTS] col TYPE type`
    AlterColumnType {
        if_exists: bool,
        column: Ident,
        ty: CqlType,
    },
    /// `ADD [IF NOT EXISTS] col type [STATIC]` or `ADD (col type, ...)`; `primary_key` is false.
    Add {
        if_not_exists: bool,
        columns: Vec<ColumnDefinition>,
    },
    /// `DROP [IF EXISTS] col` / `DROP (c1, c2)` `[USING TIMESTAMP n]`
    Drop {
        if_exists: bool,
        columns: Vec<Ident>,
        timestamp: Option<i64>,
    },
    /// `RENAME [IF EXISTS] a TO b [AND c TO d ...]`
    Rename {
        if_exists: bool,
        renames: Vec<(Ident, Ident)>,
    },
    /// `WITH prop = value AND ...`
    WithProperties(Vec<Property>),
    /// `DROP COMPACT STORAGE`
    DropCompactStorage,
}

/// `CREATE [CUSTOM] INDEX [IF NOT EXISTS] [name] ON table (targets) [USING 'class'] [WITH ...]`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateIndex {
    pub custom: bool,
    pub if_not_exists: bool,
    pub name: Option<Ident>,
    pub table: QualifiedName,
    /// Empty only for the legacy `ON t ()` custom form.
    pub targets: Vec<IndexTarget>,
    pub using: Option<String>,
    pub properties: Vec<Property>,
}

/// A column to index and which part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexTarget {
    pub column: Ident,
    pub kind: IndexTargetSyntax,
}

/// How an index target is written (the stored form is `schema::IndexTargetKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexTargetSyntax {
    /// `col` (values of a non-frozen collection, or the column itself)
    Simple,
    /// `keys(m)`
    Keys,
    /// `values(c)`
    Values,
    /// `entries(m)`
    Entries,
    /// `full(frozen_collection)`
    Full,
}

/// `CREATE TYPE [IF NOT EXISTS] name (field type, ...)`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateType {
    pub if_not_exists: bool,
    pub name: QualifiedName,
    pub fields: Vec<(Ident, CqlType)>,
}

/// `ALTER TYPE [IF EXISTS] name action`
#[derive(Debug, Clone, PartialEq)]
pub struct AlterType {
    pub if_exists: bool,
    pub name: QualifiedName,
    pub action: AlterTypeAction,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlterTypeAction {
    /// `ALTER field TYPE type` (rejected by Cassandra 5.0's planner, kept for messages)
    AlterField { field: Ident, ty: CqlType },
    /// `ADD [IF NOT EXISTS] field type`
    Add {
        if_not_exists: bool,
        field: Ident,
        ty: CqlType,
    },
    /// `RENAME [IF EXISTS] a TO b [AND ...]`
    Rename {
        if_exists: bool,
        renames: Vec<(Ident, Ident)>,
    },
}

/// `CREATE MATERIALIZED VIEW [IF NOT EXISTS] name AS SELECT ... FROM base WHERE ...
/// PRIMARY KEY (...) [WITH ...]`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateView {
    pub if_not_exists: bool,
    pub name: QualifiedName,
    pub selection: Selection,
    pub base_table: QualifiedName,
    pub where_clause: Vec<Relation>,
    pub primary_key: PrimaryKey,
    pub options: TableOptions,
}

/// `ALTER MATERIALIZED VIEW name WITH ...`
#[derive(Debug, Clone, PartialEq)]
pub struct AlterView {
    pub name: QualifiedName,
    pub properties: Vec<Property>,
}

/// `CREATE [OR REPLACE] FUNCTION [IF NOT EXISTS] name (arg type, ...) (CALLED|RETURNS NULL) ON
/// NULL INPUT RETURNS type LANGUAGE lang AS 'body'`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateFunction {
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub name: QualifiedName,
    pub arguments: Vec<(Ident, CqlType)>,
    pub called_on_null_input: bool,
    pub return_type: CqlType,
    pub language: Ident,
    pub body: String,
}

/// `DROP FUNCTION|AGGREGATE [IF EXISTS] name [(types)]`
#[derive(Debug, Clone, PartialEq)]
pub struct DropFunction {
    pub if_exists: bool,
    pub name: QualifiedName,
    /// `None` when no argument list was written.
    pub argument_types: Option<Vec<CqlType>>,
}

/// `CREATE [OR REPLACE] AGGREGATE [IF NOT EXISTS] name (types) SFUNC f STYPE t [FINALFUNC g]
/// [INITCOND term]`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAggregate {
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub name: QualifiedName,
    pub argument_types: Vec<CqlType>,
    pub state_function: Ident,
    pub state_type: CqlType,
    pub final_function: Option<Ident>,
    pub initial_condition: Option<Term>,
}

// ---------------------------------------------------------------------------------------------
// DESCRIBE and Strata extensions
// ---------------------------------------------------------------------------------------------

/// `DESCRIBE|DESC target [WITH INTERNALS]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Describe {
    pub target: DescribeTarget,
    pub with_internals: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DescribeTarget {
    Cluster,
    /// `[FULL] SCHEMA`
    Schema {
        full: bool,
    },
    Keyspaces,
    /// `[ONLY] KEYSPACE [ks]` (no name = the current keyspace)
    Keyspace {
        only: bool,
        name: Option<Ident>,
    },
    Tables,
    Table(QualifiedName),
    Index(QualifiedName),
    MaterializedView(QualifiedName),
    Types,
    Type(QualifiedName),
    Functions,
    Function(QualifiedName),
    Aggregates,
    Aggregate(QualifiedName),
    /// `DESCRIBE name` / `DESCRIBE ks.name`: keyspace, table, view, index, type, function...
    Generic(QualifiedName),
}

/// Strata: `CREATE TABLE [IF NOT EXISTS] name CLONE source [AT SNAPSHOT 'tag']`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneTable {
    pub if_not_exists: bool,
    pub name: QualifiedName,
    pub source: QualifiedName,
    pub snapshot: Option<String>,
}

/// Strata: `CREATE KEYSPACE [IF NOT EXISTS] name CLONE source [AT SNAPSHOT 'tag']`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneKeyspace {
    pub if_not_exists: bool,
    pub name: Ident,
    pub source: Ident,
    pub snapshot: Option<String>,
}

/// Strata: `RESTORE TABLE name FROM SNAPSHOT 'tag'`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreTable {
    pub table: QualifiedName,
    pub snapshot: String,
}

/// Strata: `RESTORE KEYSPACE ks FROM SNAPSHOT 'tag'`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreKeyspace {
    pub keyspace: Ident,
    pub snapshot: String,
}

// ---- Roles and permissions ------------------------------------------------------------------

/// `CREATE ROLE [IF NOT EXISTS] name [WITH options]`, or `CREATE USER [IF NOT EXISTS] name
/// [WITH [HASHED] PASSWORD 'p'] [SUPERUSER|NOSUPERUSER]` (`user`: the legacy form, which
/// implies LOGIN).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateRole {
    pub if_not_exists: bool,
    pub name: Ident,
    pub options: RoleOptions,
    pub user: bool,
}

/// `ALTER ROLE [IF EXISTS] name [WITH options]` or `ALTER USER ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlterRole {
    pub if_exists: bool,
    pub name: Ident,
    pub options: RoleOptions,
    pub user: bool,
}

/// `DROP ROLE [IF EXISTS] name` or `DROP USER ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropRole {
    pub if_exists: bool,
    pub name: Ident,
    pub user: bool,
}

/// Cassandra's `RoleOptions`: each option at most once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoleOptions {
    pub password: Option<String>,
    pub hashed_password: Option<String>,
    pub login: Option<bool>,
    pub superuser: Option<bool>,
    pub options: Option<Vec<(String, String)>>,
}

impl RoleOptions {
    pub fn is_empty(&self) -> bool {
        *self == RoleOptions::default()
    }
}

/// `GRANT role TO grantee` / `REVOKE role FROM grantee`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleGrant {
    pub role: Ident,
    pub grantee: Ident,
}

/// Cassandra's `Permission`, in its declaration order (LIST sorts by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    Create,
    Alter,
    Drop,
    Select,
    Modify,
    Authorize,
    Describe,
    Execute,
    Unmask,
    SelectMasked,
}

impl Permission {
    pub const ALL: [Permission; 10] = [
        Permission::Create,
        Permission::Alter,
        Permission::Drop,
        Permission::Select,
        Permission::Modify,
        Permission::Authorize,
        Permission::Describe,
        Permission::Execute,
        Permission::Unmask,
        Permission::SelectMasked,
    ];

    /// The name Cassandra prints and stores (`SELECT`, `SELECT_MASKED`).
    pub fn name(self) -> &'static str {
        match self {
            Permission::Create => "CREATE",
            Permission::Alter => "ALTER",
            Permission::Drop => "DROP",
            Permission::Select => "SELECT",
            Permission::Modify => "MODIFY",
            Permission::Authorize => "AUTHORIZE",
            Permission::Describe => "DESCRIBE",
            Permission::Execute => "EXECUTE",
            Permission::Unmask => "UNMASK",
            Permission::SelectMasked => "SELECT_MASKED",
        }
    }

    pub fn from_name(name: &str) -> Option<Permission> {
        Permission::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }
}

/// What a permission is granted on (Cassandra's `IResource`s a statement can name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `ALL KEYSPACES`
    AllKeyspaces,
    /// `KEYSPACE ks`
    Keyspace(Ident),
    /// `[TABLE] [ks.]t`
    Table(QualifiedName),
    /// `ALL ROLES`
    AllRoles,
    /// `ROLE r`
    Role(Ident),
    /// `ALL FUNCTIONS`
    AllFunctions,
    /// `ALL FUNCTIONS IN KEYSPACE ks`
    FunctionsIn(Ident),
    /// `FUNCTION [ks.]f(types)`
    Function {
        name: QualifiedName,
        argument_types: Vec<CqlType>,
    },
}

impl Resource {
    /// What kind of resource this is, for its applicable permissions.
    pub fn level(&self) -> ResourceLevel {
        match self {
            Resource::AllKeyspaces | Resource::Keyspace(_) => ResourceLevel::Keyspace,
            Resource::Table(_) => ResourceLevel::Table,
            Resource::AllRoles => ResourceLevel::AllRoles,
            Resource::Role(_) => ResourceLevel::Role,
            Resource::AllFunctions | Resource::FunctionsIn(_) => ResourceLevel::Functions,
            Resource::Function { .. } => ResourceLevel::Function,
        }
    }

    /// Cassandra's class name of the resource, as its messages print it.
    pub fn class_name(&self) -> &'static str {
        match self {
            Resource::AllKeyspaces | Resource::Keyspace(_) | Resource::Table(_) => "DataResource",
            Resource::AllRoles | Resource::Role(_) => "RoleResource",
            _ => "FunctionResource",
        }
    }
}

/// The levels of resources that differ in what can be granted on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceLevel {
    /// All keyspaces or one keyspace.
    Keyspace,
    Table,
    AllRoles,
    Role,
    /// All functions, or those of a keyspace.
    Functions,
    Function,
}

impl ResourceLevel {
    /// Cassandra's `applicablePermissions()` of resources of this level.
    pub fn applicable_permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            ResourceLevel::Keyspace => &[
                Create,
                Alter,
                Drop,
                Select,
                Modify,
                Authorize,
                Unmask,
                SelectMasked,
            ],
            ResourceLevel::Table => &[Alter, Drop, Select, Modify, Authorize, Unmask, SelectMasked],
            ResourceLevel::AllRoles => &[Create, Alter, Drop, Authorize, Describe],
            ResourceLevel::Role => &[Alter, Drop, Authorize],
            ResourceLevel::Functions => &[Create, Alter, Drop, Authorize, Execute],
            ResourceLevel::Function => &[Alter, Drop, Authorize, Execute],
        }
    }
}

/// `GRANT`/`REVOKE` of permissions: `permissions` are those applicable to the resource
/// (all of them for `ALL [PERMISSIONS]`, which `all` records).
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionChange {
    pub permissions: Vec<Permission>,
    pub all: bool,
    pub resource: Resource,
    pub role: Ident,
}

/// `LIST ROLES [OF role] [NORECURSIVE]`
#[derive(Debug, Clone, PartialEq)]
pub struct ListRoles {
    pub of: Option<Ident>,
    pub recursive: bool,
}

/// `LIST permission|ALL [PERMISSIONS] [ON resource] [OF role] [NORECURSIVE]`
#[derive(Debug, Clone, PartialEq)]
pub struct ListPermissions {
    pub permissions: Vec<Permission>,
    pub all: bool,
    pub resource: Option<Resource>,
    pub of: Option<Ident>,
    pub recursive: bool,
}
