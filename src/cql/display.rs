//! Prints any syntax tree as canonical CQL: upper-case keywords, single spaces, identifiers
//! quoted only when needed, strings in single quotes.
//!
//! Invariant (checked by the round-trip tests): parsing the printed text gives back an equal
//! tree. That is why parentheses are added around selector sub-expressions whenever the
//! grammar would otherwise group them differently.

use std::fmt::{self, Display, Formatter};

use super::ast::*;
use super::lexer::{tokenize, TokenKind};
use super::parser::{
    is_non_function_keyword, is_reserved_word, native_type_keyword, needs_quotes_as_type_name,
};

/// An identifier, double-quoted when it would not read back as the same identifier.
struct Name<'a>(&'a str);

impl Display for Name<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if needs_quotes(self.0) {
            write!(f, "\"{}\"", self.0.replace('"', "\"\""))
        } else {
            f.write_str(self.0)
        }
    }
}

pub(super) fn quote_identifier(name: &str) -> String {
    Name(name).to_string()
}

/// Whether `ident` must be quoted: not a plain lowercase word, a reserved keyword, or text that
/// would lex as something else (`p1d` is a duration).
fn needs_quotes(ident: &str) -> bool {
    let mut chars = ident.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    // `as` is a valid column name, but `(int) as` would read as a hint followed by an alias.
    !plain || is_reserved_word(ident) || ident == "as" || !lexes_as_single_word(ident)
}

fn lexes_as_single_word(text: &str) -> bool {
    match tokenize(text).as_deref() {
        Ok([word, eof]) => word.kind == TokenKind::Word && eof.kind == TokenKind::Eof,
        _ => false,
    }
}

/// Items printed with a separator.
struct Separated<'a, T>(&'a [T], &'static str);

impl<T: Display> Display for Separated<'_, T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(self.1)?;
            }
            item.fmt(f)?;
        }
        Ok(())
    }
}

fn comma<T>(items: &[T]) -> Separated<'_, T> {
    Separated(items, ", ")
}

/// Identifiers, comma-separated.
struct Names<'a>(&'a [Ident]);

impl Display for Names<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            Name(name).fmt(f)?;
        }
        Ok(())
    }
}

/// `key: value` pairs.
struct Entries<'a, K, V>(&'a [(K, V)]);

impl<K: Display, V: Display> Display for Entries<'_, K, V> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{key}: {value}")?;
        }
        Ok(())
    }
}

impl Display for QualifiedName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(keyspace) = &self.keyspace {
            write!(f, "{}.", Name(keyspace))?;
        }
        Name(&self.name).fmt(f)
    }
}

/// A user type name: also quoted when it reads as a native type (`"int"`) or is a name
/// Cassandra refuses unquoted (`"byte"`).
struct TypeName<'a>(&'a QualifiedName);

impl Display for TypeName<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(keyspace) = &self.0.keyspace {
            write!(f, "{}.", Name(keyspace))?;
        }
        match self.0.name.as_str() {
            name if needs_quotes_as_type_name(name) => write!(f, "\"{name}\""),
            name => Name(name).fmt(f),
        }
    }
}

/// A function name: `token` and `count` print bare although they are keywords.
struct FunctionName<'a>(&'a QualifiedName);

impl Display for FunctionName<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(keyspace) = &self.0.keyspace {
            write!(f, "{}.", Name(keyspace))?;
        }
        match self.0.name.as_str() {
            name @ ("token" | "count") => f.write_str(name),
            name if is_non_function_keyword(name) => write!(f, "\"{name}\""),
            name => Name(name).fmt(f),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Terms, selectors, types
// ---------------------------------------------------------------------------------------------

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.kind {
            LiteralKind::String => write!(f, "'{}'", self.text.replace('\'', "''")),
            LiteralKind::Null => f.write_str("NULL"),
            _ => f.write_str(&self.text),
        }
    }
}

impl Display for BindMarker {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, ":{}", Name(name)),
            None => f.write_str("?"),
        }
    }
}

impl Display for ArithmeticOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArithmeticOp::Add => "+",
            ArithmeticOp::Subtract => "-",
            ArithmeticOp::Multiply => "*",
            ArithmeticOp::Divide => "/",
            ArithmeticOp::Modulo => "%",
        })
    }
}

/// Binding strength: multiplication binds tighter than addition.
fn precedence(op: ArithmeticOp) -> u8 {
    match op {
        ArithmeticOp::Add | ArithmeticOp::Subtract => 1,
        _ => 2,
    }
}

impl Display for Term {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        // Terms need no extra parentheses: the parser only builds left-deep arithmetic whose
        // right operands never contain a looser operator, and `(x)` is a tuple in term syntax.
        match self {
            Term::Literal(literal) => literal.fmt(f),
            Term::Bind(marker) => marker.fmt(f),
            Term::List(items) => write!(f, "[{}]", comma(items)),
            Term::Set(items) => write!(f, "{{{}}}", comma(items)),
            Term::Map(entries) => write!(f, "{{{}}}", Entries(entries)),
            Term::Tuple(items) => write!(f, "({})", comma(items)),
            Term::Udt(fields) => {
                f.write_str("{")?;
                for (i, (field, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {value}", Name(field))?;
                }
                f.write_str("}")
            }
            Term::FunctionCall { name, args } => {
                write!(f, "{}({})", FunctionName(name), comma(args))
            }
            Term::TypeHint { ty, term } => write!(f, "({ty}) {term}"),
            Term::Arithmetic { op, left, right } => write!(f, "{left} {op} {right}"),
            Term::Negate(term) => write!(f, "-{term}"),
        }
    }
}

impl Selector {
    /// Whether this selector is a `selectionGroupWithoutField` (prints without parentheses
    /// where the grammar wants one).
    fn is_group_without_field(&self) -> bool {
        !matches!(
            self,
            Selector::Arithmetic { .. }
                | Selector::Negate(_)
                | Selector::Field { .. }
                | Selector::Element { .. }
                | Selector::Slice { .. }
        ) && !self.starts_with_minus()
    }

    /// Whether the printed form starts with `-` (a negation or a negative literal).
    fn starts_with_minus(&self) -> bool {
        match self {
            Selector::Negate(_) => true,
            Selector::Term(Term::Literal(literal)) => literal.text.starts_with('-'),
            _ => false,
        }
    }

    /// Whether this selector can receive `.field` / `[key]` without parentheses. Numbers are
    /// wrapped too: `1.f` would lex as the float `1.` (but `('x')` would read as a type hint,
    /// so other literals stay bare).
    fn is_modifiable(&self) -> bool {
        match self {
            Selector::Arithmetic { .. } | Selector::Negate(_) => false,
            Selector::Term(Term::Literal(literal)) => {
                !matches!(literal.kind, LiteralKind::Integer | LiteralKind::Float)
                    && !literal.text.starts_with('-')
            }
            _ => true,
        }
    }
}

/// A selector wrapped in parentheses when `wrap` holds.
struct Parenthesized<'a>(&'a Selector, bool);

impl Display for Parenthesized<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.1 {
            write!(f, "({})", self.0)
        } else {
            self.0.fmt(f)
        }
    }
}

impl Display for Selector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Column(name) => Name(name).fmt(f),
            Selector::Term(term) => term.fmt(f),
            Selector::CountRows => f.write_str("count(*)"),
            Selector::WriteTimeOrTtl { kind, selector } => {
                let function = match kind {
                    WriteTimeKind::WriteTime => "writetime",
                    WriteTimeKind::MaxWriteTime => "maxwritetime",
                    WriteTimeKind::Ttl => "ttl",
                };
                write!(f, "{function}({selector})")
            }
            Selector::Cast { selector, ty } => {
                write!(f, "CAST({selector} AS {})", CqlType::Native(*ty))
            }
            Selector::Function { name, args } => {
                write!(f, "{}({})", FunctionName(name), comma(args))
            }
            Selector::Field { selector, field } => {
                let receiver = Parenthesized(selector, !selector.is_modifiable()).to_string();
                // `(int) 42.f` would lex `42.` as a float: keep a number apart from the dot.
                let gap = if receiver.ends_with(|c: char| c.is_ascii_digit() || c == '.') {
                    " "
                } else {
                    ""
                };
                write!(f, "{receiver}{gap}.{}", Name(field))
            }
            Selector::Element { selector, key } => {
                write!(
                    f,
                    "{}[{key}]",
                    Parenthesized(selector, !selector.is_modifiable())
                )
            }
            Selector::Slice { selector, from, to } => {
                write!(f, "{}[", Parenthesized(selector, !selector.is_modifiable()))?;
                if let Some(from) = from {
                    let from = from.to_string();
                    // `2...` would lex as `2` `..` `.`; keep the float `2.` apart from `..`.
                    let gap = if from.ends_with('.') { " " } else { "" };
                    write!(f, "{from}{gap}")?;
                }
                f.write_str("..")?;
                if let Some(to) = to {
                    write!(f, "{to}")?;
                }
                f.write_str("]")
            }
            Selector::TypeHint { ty, selector } => match &**selector {
                // `(a.b)` would itself read as a type hint (`a.b` is a type name): `((a).b)`.
                Selector::Field {
                    selector: receiver,
                    field,
                } if matches!(**receiver, Selector::Column(_)) => {
                    write!(f, "({ty}) (({receiver}).{})", Name(field))
                }
                selector => write!(
                    f,
                    "({ty}) {}",
                    Parenthesized(selector, !selector.is_group_without_field())
                ),
            },
            Selector::List(items) => write!(f, "[{}]", comma(items)),
            Selector::Set(items) => write!(f, "{{{}}}", comma(items)),
            Selector::Map(entries) => write!(f, "{{{}}}", Entries(entries)),
            Selector::Tuple(items) => write!(f, "({})", comma(items)),
            Selector::Arithmetic { op, left, right } => {
                let wrap = |side: &Selector, right_side: bool| match side {
                    Selector::Arithmetic { op: inner, .. } => {
                        precedence(*inner) < precedence(*op)
                            || (right_side && precedence(*inner) == precedence(*op))
                    }
                    _ => false,
                };
                write!(
                    f,
                    "{} {op} {}",
                    Parenthesized(left, wrap(left, false)),
                    Parenthesized(right, wrap(right, true))
                )
            }
            Selector::Negate(inner) => {
                let wrap =
                    matches!(**inner, Selector::Arithmetic { .. }) || inner.starts_with_minus();
                write!(f, "-{}", Parenthesized(inner, wrap))
            }
        }
    }
}

impl Display for NativeTypeName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&native_type_keyword(*self).to_ascii_lowercase())
    }
}

impl Display for CqlType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            CqlType::Native(native) => native.fmt(f),
            CqlType::List(item) => write!(f, "list<{item}>"),
            CqlType::Set(item) => write!(f, "set<{item}>"),
            CqlType::Map(key, value) => write!(f, "map<{key}, {value}>"),
            CqlType::Tuple(items) => write!(f, "tuple<{}>", comma(items)),
            CqlType::Frozen(inner) => write!(f, "frozen<{inner}>"),
            CqlType::Vector(item, dimension) => write!(f, "vector<{item}, {dimension}>"),
            CqlType::UserDefined(name) => TypeName(name).fmt(f),
            CqlType::Custom(class) => write!(f, "'{}'", class.replace('\'', "''")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clauses
// ---------------------------------------------------------------------------------------------

impl Display for Operator {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operator::Eq => "=",
            Operator::NotEq => "!=",
            Operator::Lt => "<",
            Operator::LtEq => "<=",
            Operator::Gt => ">",
            Operator::GtEq => ">=",
            Operator::Contains => "CONTAINS",
            Operator::ContainsKey => "CONTAINS KEY",
            Operator::Like => "LIKE",
        })
    }
}

impl Display for InValues {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            InValues::Terms(terms) => write!(f, "({})", comma(terms)),
            InValues::Marker(marker) => marker.fmt(f),
        }
    }
}

impl Display for Predicate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Predicate::Compare(op, term) => write!(f, "{op} {term}"),
            Predicate::In(values) => write!(f, "IN {values}"),
        }
    }
}

impl Display for Relation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Relation::Column { column, predicate } => write!(f, "{} {predicate}", Name(column)),
            Relation::IsNotNull { column } => write!(f, "{} IS NOT NULL", Name(column)),
            Relation::Element {
                column,
                key,
                op,
                value,
            } => {
                write!(f, "{}[{key}] {op} {value}", Name(column))
            }
            Relation::Token { columns, op, value } => {
                write!(f, "token({}) {op} {value}", Names(columns))
            }
            Relation::MultiColumn { columns, predicate } => {
                write!(f, "({}) {predicate}", Names(columns))
            }
            Relation::CustomIndex { index, expression } => write!(f, "expr({index}, {expression})"),
        }
    }
}

/// ` WHERE a AND b`, or nothing.
struct WhereClause<'a>(&'a [Relation]);

impl Display for WhereClause<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        write!(f, " WHERE {}", Separated(self.0, " AND "))
    }
}

impl Display for OrderDirection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OrderDirection::Asc => "ASC",
            OrderDirection::Desc => "DESC",
        })
    }
}

impl Display for Ordering {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        Name(&self.column).fmt(f)?;
        if let Some(target) = &self.ann_of {
            write!(f, " ANN OF {target}")?;
        }
        write!(f, " {}", self.direction)
    }
}

impl Display for SelectItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.selector.fmt(f)?;
        if let Some(alias) = &self.alias {
            write!(f, " AS {}", Name(alias))?;
        }
        Ok(())
    }
}

impl Display for Selection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Selection::Wildcard => f.write_str("*"),
            Selection::Selectors(items) => {
                let Some((first, rest)) = items.split_first() else {
                    return Ok(());
                };
                f.write_str(&quote_leading_modifier_word(first.to_string()))?;
                rest.iter().try_for_each(|item| write!(f, ", {item}"))
            }
        }
    }
}

/// `SELECT json ...` and `SELECT distinct ...` read `json`/`distinct` as modifiers whenever a
/// selector follows; a first selector that starts with such a column name gets it quoted.
fn quote_leading_modifier_word(selector: String) -> String {
    for word in ["json", "distinct"] {
        if let Some(rest) = selector.strip_prefix(word) {
            if !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                return format!("\"{word}\"{rest}");
            }
        }
    }
    selector
}

impl Display for UsingClause {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match (&self.ttl, &self.timestamp) {
            (None, None) => Ok(()),
            (Some(ttl), None) => write!(f, " USING TTL {ttl}"),
            (None, Some(timestamp)) => write!(f, " USING TIMESTAMP {timestamp}"),
            (Some(ttl), Some(timestamp)) => write!(f, " USING TTL {ttl} AND TIMESTAMP {timestamp}"),
        }
    }
}

impl Display for Assignment {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Assignment::Set { column, value } => write!(f, "{} = {value}", Name(column)),
            Assignment::Add { column, value } => write!(f, "{0} = {0} + {value}", Name(column)),
            Assignment::Subtract { column, value } => {
                write!(f, "{0} = {0} - {value}", Name(column))
            }
            Assignment::Prepend { column, value } => write!(f, "{0} = {value} + {0}", Name(column)),
            Assignment::SetElement { column, key, value } => {
                write!(f, "{}[{key}] = {value}", Name(column))
            }
            Assignment::SetField {
                column,
                field,
                value,
            } => {
                write!(f, "{}.{} = {value}", Name(column), Name(field))
            }
        }
    }
}

impl Display for Condition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        Name(&self.column).fmt(f)?;
        match &self.selection {
            Some(ConditionSelection::Element(key)) => write!(f, "[{key}]")?,
            Some(ConditionSelection::Field(field)) => write!(f, ".{}", Name(field))?,
            None => {}
        }
        write!(f, " {}", self.predicate)
    }
}

/// ` IF EXISTS` / ` IF a = 1 AND ...`, or nothing.
struct IfClause<'a>(&'a Option<UpdateCondition>);

impl Display for IfClause<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => Ok(()),
            Some(UpdateCondition::Exists) => f.write_str(" IF EXISTS"),
            Some(UpdateCondition::Conditions(conditions)) => {
                write!(f, " IF {}", Separated(conditions, " AND "))
            }
        }
    }
}

impl Display for Deletion {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Deletion::Column(column) => Name(column).fmt(f),
            Deletion::Element { column, key } => write!(f, "{}[{key}]", Name(column)),
            Deletion::Field { column, field } => write!(f, "{}.{}", Name(column), Name(field)),
        }
    }
}

impl Display for PropertyValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            PropertyValue::Literal(literal) => literal.fmt(f),
            PropertyValue::Word(word) => f.write_str(word),
            PropertyValue::Map(entries) => write!(f, "{{{}}}", Entries(entries)),
        }
    }
}

impl Display for Property {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", Name(&self.name), self.value)
    }
}

impl Display for ColumnDefinition {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", Name(&self.name), self.ty)?;
        if self.is_static {
            f.write_str(" STATIC")?;
        }
        if self.primary_key {
            f.write_str(" PRIMARY KEY")?;
        }
        Ok(())
    }
}

impl Display for PrimaryKey {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("PRIMARY KEY (")?;
        match self.partition_key.as_slice() {
            [single] => Name(single).fmt(f)?,
            columns => write!(f, "({})", Names(columns))?,
        }
        for column in &self.clustering_columns {
            write!(f, ", {}", Name(column))?;
        }
        f.write_str(")")
    }
}

impl Display for TableOptions {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut clauses: Vec<String> = self.properties.iter().map(ToString::to_string).collect();
        if !self.clustering_order.is_empty() {
            let order: Vec<String> = self
                .clustering_order
                .iter()
                .map(|(column, direction)| format!("{} {direction}", Name(column)))
                .collect();
            clauses.push(format!("CLUSTERING ORDER BY ({})", order.join(", ")));
        }
        if self.compact_storage {
            clauses.push("COMPACT STORAGE".to_string());
        }
        if clauses.is_empty() {
            return Ok(());
        }
        write!(f, " WITH {}", clauses.join(" AND "))
    }
}

fn if_not_exists(flag: bool) -> &'static str {
    if flag {
        " IF NOT EXISTS"
    } else {
        ""
    }
}

fn if_exists(flag: bool) -> &'static str {
    if flag {
        " IF EXISTS"
    } else {
        ""
    }
}

fn with_properties(properties: &[Property]) -> String {
    if properties.is_empty() {
        String::new()
    } else {
        format!(" WITH {}", Separated(properties, " AND "))
    }
}

/// ` AT SNAPSHOT 'tag'`, or nothing.
fn at_snapshot(snapshot: &Option<String>) -> String {
    snapshot
        .as_ref()
        .map_or(String::new(), |tag| format!(" AT SNAPSHOT {}", string(tag)))
}

fn string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

impl Display for SelectStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        if self.json {
            f.write_str("JSON ")?;
        }
        if self.distinct {
            f.write_str("DISTINCT ")?;
        }
        write!(
            f,
            "{} FROM {}{}",
            self.selection,
            self.table,
            at_snapshot(&self.snapshot)
        )?;
        WhereClause(&self.where_clause).fmt(f)?;
        if !self.group_by.is_empty() {
            write!(f, " GROUP BY {}", comma(&self.group_by))?;
        }
        if !self.order_by.is_empty() {
            write!(f, " ORDER BY {}", comma(&self.order_by))?;
        }
        if let Some(limit) = &self.per_partition_limit {
            write!(f, " PER PARTITION LIMIT {limit}")?;
        }
        if let Some(limit) = &self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        if self.allow_filtering {
            f.write_str(" ALLOW FILTERING")?;
        }
        Ok(())
    }
}

impl Display for InsertStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "INSERT INTO {} ", self.table)?;
        match &self.values {
            InsertValues::Columns { columns, values } => {
                write!(f, "({}) VALUES ({})", Names(columns), comma(values))?
            }
            InsertValues::Json {
                value,
                default_unset,
            } => {
                write!(f, "JSON {value}")?;
                if *default_unset {
                    f.write_str(" DEFAULT UNSET")?;
                }
            }
        }
        write!(f, "{}{}", if_not_exists(self.if_not_exists), self.using)
    }
}

impl Display for UpdateStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UPDATE {}{} SET {}",
            self.table,
            self.using,
            comma(&self.assignments)
        )?;
        write!(
            f,
            "{}{}",
            WhereClause(&self.where_clause),
            IfClause(&self.condition)
        )
    }
}

impl Display for DeleteStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("DELETE ")?;
        if !self.columns.is_empty() {
            write!(f, "{} ", comma(&self.columns))?;
        }
        write!(f, "FROM {}", self.table)?;
        if let Some(timestamp) = &self.timestamp {
            write!(f, " USING TIMESTAMP {timestamp}")?;
        }
        write!(
            f,
            "{}{}",
            WhereClause(&self.where_clause),
            IfClause(&self.condition)
        )
    }
}

impl Display for BatchChild {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            BatchChild::Insert(s) => s.fmt(f),
            BatchChild::Update(s) => s.fmt(f),
            BatchChild::Delete(s) => s.fmt(f),
        }
    }
}

impl Display for BatchStatement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            BatchKind::Logged => "BEGIN BATCH",
            BatchKind::Unlogged => "BEGIN UNLOGGED BATCH",
            BatchKind::Counter => "BEGIN COUNTER BATCH",
        })?;
        self.using.fmt(f)?;
        for statement in &self.statements {
            write!(f, " {statement};")?;
        }
        f.write_str(" APPLY BATCH")
    }
}

impl Display for AlterTableAction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            AlterTableAction::AlterColumnType {
                if_exists: flag,
                column,
                ty,
            } => {
                write!(f, "ALTER{} {} TYPE {ty}", if_exists(*flag), Name(column))
            }
            AlterTableAction::Add {
                if_not_exists: flag,
                columns,
            } => match columns.as_slice() {
                [single] => write!(f, "ADD{} {single}", if_not_exists(*flag)),
                columns => write!(f, "ADD{} ({})", if_not_exists(*flag), comma(columns)),
            },
            AlterTableAction::Drop {
                if_exists: flag,
                columns,
                timestamp,
            } => {
                match columns.as_slice() {
                    [single] => write!(f, "DROP{} {}", if_exists(*flag), Name(single))?,
                    columns => write!(f, "DROP{} ({})", if_exists(*flag), Names(columns))?,
                }
                if let Some(timestamp) = timestamp {
                    write!(f, " USING TIMESTAMP {timestamp}")?;
                }
                Ok(())
            }
            AlterTableAction::Rename {
                if_exists: flag,
                renames,
            } => {
                write!(f, "RENAME{} {}", if_exists(*flag), Renames(renames))
            }
            AlterTableAction::WithProperties(properties) => {
                f.write_str(with_properties(properties).trim_start())
            }
            AlterTableAction::DropCompactStorage => f.write_str("DROP COMPACT STORAGE"),
        }
    }
}

/// `a TO b AND c TO d`
struct Renames<'a>(&'a [(Ident, Ident)]);

impl Display for Renames<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, (from, to)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" AND ")?;
            }
            write!(f, "{} TO {}", Name(from), Name(to))?;
        }
        Ok(())
    }
}

impl Display for AlterTypeAction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            AlterTypeAction::AlterField { field, ty } => {
                write!(f, "ALTER {} TYPE {ty}", Name(field))
            }
            AlterTypeAction::Add {
                if_not_exists: flag,
                field,
                ty,
            } => {
                write!(f, "ADD{} {} {ty}", if_not_exists(*flag), Name(field))
            }
            AlterTypeAction::Rename {
                if_exists: flag,
                renames,
            } => {
                write!(f, "RENAME{} {}", if_exists(*flag), Renames(renames))
            }
        }
    }
}

impl Display for IndexTarget {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let wrapper = match self.kind {
            IndexTargetSyntax::Simple => return Name(&self.column).fmt(f),
            IndexTargetSyntax::Keys => "KEYS",
            IndexTargetSyntax::Values => "VALUES",
            IndexTargetSyntax::Entries => "ENTRIES",
            IndexTargetSyntax::Full => "FULL",
        };
        write!(f, "{wrapper}({})", Name(&self.column))
    }
}

impl Display for CreateIndex {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(if self.custom {
            "CREATE CUSTOM INDEX"
        } else {
            "CREATE INDEX"
        })?;
        f.write_str(if_not_exists(self.if_not_exists))?;
        if let Some(name) = &self.name {
            write!(f, " {}", Name(name))?;
        }
        write!(f, " ON {} ({})", self.table, comma(&self.targets))?;
        if let Some(class) = &self.using {
            write!(f, " USING {}", string(class))?;
        }
        f.write_str(&with_properties(&self.properties))
    }
}

impl Display for CreateFunction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(if self.or_replace {
            "CREATE OR REPLACE FUNCTION"
        } else {
            "CREATE FUNCTION"
        })?;
        write!(
            f,
            "{} {}(",
            if_not_exists(self.if_not_exists),
            FunctionName(&self.name)
        )?;
        for (i, (argument, ty)) in self.arguments.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} {ty}", Name(argument))?;
        }
        let on_null = if self.called_on_null_input {
            "CALLED"
        } else {
            "RETURNS NULL"
        };
        write!(
            f,
            ") {on_null} ON NULL INPUT RETURNS {} LANGUAGE {} AS {}",
            self.return_type,
            self.language,
            string(&self.body)
        )
    }
}

impl Display for CreateAggregate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(if self.or_replace {
            "CREATE OR REPLACE AGGREGATE"
        } else {
            "CREATE AGGREGATE"
        })?;
        write!(
            f,
            "{} {}({}) SFUNC {} STYPE {}",
            if_not_exists(self.if_not_exists),
            FunctionName(&self.name),
            comma(&self.argument_types),
            FunctionName(&QualifiedName::unqualified(self.state_function.clone())),
            self.state_type
        )?;
        if let Some(final_function) = &self.final_function {
            write!(
                f,
                " FINALFUNC {}",
                FunctionName(&QualifiedName::unqualified(final_function.clone()))
            )?;
        }
        if let Some(initial) = &self.initial_condition {
            write!(f, " INITCOND {initial}")?;
        }
        Ok(())
    }
}

/// Words that mean something right after DESCRIBE; a generic name spelled like one of them
/// must be quoted to stay a name.
const DESCRIBE_WORDS: [&str; 13] = [
    "cluster",
    "keyspaces",
    "tables",
    "types",
    "functions",
    "aggregates",
    "only",
    "keyspace",
    "type",
    "function",
    "aggregate",
    "schema",
    "full",
];

impl Display for DescribeTarget {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            DescribeTarget::Cluster => f.write_str("CLUSTER"),
            DescribeTarget::Schema { full: true } => f.write_str("FULL SCHEMA"),
            DescribeTarget::Schema { full: false } => f.write_str("SCHEMA"),
            DescribeTarget::Keyspaces => f.write_str("KEYSPACES"),
            DescribeTarget::Keyspace { only, name } => {
                f.write_str(if *only { "ONLY KEYSPACE" } else { "KEYSPACE" })?;
                match name {
                    Some(name) => write!(f, " {}", Name(name)),
                    None => Ok(()),
                }
            }
            DescribeTarget::Tables => f.write_str("TABLES"),
            DescribeTarget::Table(name) => write!(f, "TABLE {name}"),
            DescribeTarget::Index(name) => write!(f, "INDEX {name}"),
            DescribeTarget::MaterializedView(name) => write!(f, "MATERIALIZED VIEW {name}"),
            DescribeTarget::Types => f.write_str("TYPES"),
            DescribeTarget::Type(name) => write!(f, "TYPE {}", TypeName(name)),
            DescribeTarget::Functions => f.write_str("FUNCTIONS"),
            DescribeTarget::Function(name) => write!(f, "FUNCTION {}", FunctionName(name)),
            DescribeTarget::Aggregates => f.write_str("AGGREGATES"),
            DescribeTarget::Aggregate(name) => write!(f, "AGGREGATE {}", FunctionName(name)),
            DescribeTarget::Generic(QualifiedName {
                keyspace: None,
                name,
            }) if DESCRIBE_WORDS.contains(&name.as_str()) => {
                write!(f, "\"{name}\"")
            }
            DescribeTarget::Generic(QualifiedName {
                keyspace: Some(keyspace),
                name,
            }) if DESCRIBE_WORDS.contains(&keyspace.as_str()) => {
                write!(f, "\"{keyspace}\".{}", Name(name))
            }
            DescribeTarget::Generic(name) => name.fmt(f),
        }
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Select(s) => s.fmt(f),
            Statement::Insert(s) => s.fmt(f),
            Statement::Update(s) => s.fmt(f),
            Statement::Delete(s) => s.fmt(f),
            Statement::Batch(s) => s.fmt(f),
            Statement::Use(keyspace) => write!(f, "USE {}", Name(keyspace)),
            Statement::CreateKeyspace(s) => write!(
                f,
                "CREATE KEYSPACE{} {}{}",
                if_not_exists(s.if_not_exists),
                Name(&s.name),
                with_properties(&s.properties)
            ),
            Statement::AlterKeyspace(s) => write!(
                f,
                "ALTER KEYSPACE{} {}{}",
                if_exists(s.if_exists),
                Name(&s.name),
                with_properties(&s.properties)
            ),
            Statement::DropKeyspace(s) => write!(
                f,
                "DROP KEYSPACE{} {}",
                if_exists(s.if_exists),
                Name(&s.name)
            ),
            Statement::CreateTable(s) => {
                write!(
                    f,
                    "CREATE TABLE{} {} ({}",
                    if_not_exists(s.if_not_exists),
                    s.name,
                    comma(&s.columns)
                )?;
                if let Some(primary_key) = &s.primary_key {
                    if !s.columns.is_empty() {
                        f.write_str(", ")?;
                    }
                    primary_key.fmt(f)?;
                }
                write!(f, "){}", s.options)
            }
            Statement::AlterTable(s) => {
                write!(
                    f,
                    "ALTER TABLE{} {} {}",
                    if_exists(s.if_exists),
                    s.name,
                    s.action
                )
            }
            Statement::DropTable(s) => write!(f, "DROP TABLE{} {}", if_exists(s.if_exists), s.name),
            Statement::Truncate(name) => write!(f, "TRUNCATE TABLE {name}"),
            Statement::CreateIndex(s) => s.fmt(f),
            Statement::DropIndex(s) => write!(f, "DROP INDEX{} {}", if_exists(s.if_exists), s.name),
            Statement::CreateType(s) => {
                write!(
                    f,
                    "CREATE TYPE{} {} (",
                    if_not_exists(s.if_not_exists),
                    TypeName(&s.name)
                )?;
                for (i, (field, ty)) in s.fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} {ty}", Name(field))?;
                }
                f.write_str(")")
            }
            Statement::AlterType(s) => write!(
                f,
                "ALTER TYPE{} {} {}",
                if_exists(s.if_exists),
                TypeName(&s.name),
                s.action
            ),
            Statement::DropType(s) => {
                write!(
                    f,
                    "DROP TYPE{} {}",
                    if_exists(s.if_exists),
                    TypeName(&s.name)
                )
            }
            Statement::CreateView(s) => {
                write!(
                    f,
                    "CREATE MATERIALIZED VIEW{} {} AS SELECT {} FROM {}",
                    if_not_exists(s.if_not_exists),
                    s.name,
                    s.selection,
                    s.base_table
                )?;
                write!(
                    f,
                    "{} {}{}",
                    WhereClause(&s.where_clause),
                    s.primary_key,
                    s.options
                )
            }
            Statement::AlterView(s) => {
                write!(
                    f,
                    "ALTER MATERIALIZED VIEW {}{}",
                    s.name,
                    with_properties(&s.properties)
                )
            }
            Statement::DropView(s) => write!(
                f,
                "DROP MATERIALIZED VIEW{} {}",
                if_exists(s.if_exists),
                s.name
            ),
            Statement::CreateFunction(s) => s.fmt(f),
            Statement::DropFunction(s) => write_drop_function(f, "FUNCTION", s),
            Statement::CreateAggregate(s) => s.fmt(f),
            Statement::DropAggregate(s) => write_drop_function(f, "AGGREGATE", s),
            Statement::Describe(s) => {
                write!(f, "DESCRIBE {}", s.target)?;
                if s.with_internals {
                    f.write_str(" WITH INTERNALS")?;
                }
                Ok(())
            }
            Statement::CloneTable(s) => write!(
                f,
                "CREATE TABLE{} {} CLONE {}{}",
                if_not_exists(s.if_not_exists),
                s.name,
                s.source,
                at_snapshot(&s.snapshot)
            ),
            Statement::CloneKeyspace(s) => write!(
                f,
                "CREATE KEYSPACE{} {} CLONE {}{}",
                if_not_exists(s.if_not_exists),
                Name(&s.name),
                Name(&s.source),
                at_snapshot(&s.snapshot)
            ),
            Statement::RestoreTable(s) => {
                write!(
                    f,
                    "RESTORE TABLE {} FROM SNAPSHOT {}",
                    s.table,
                    string(&s.snapshot)
                )
            }
            Statement::RestoreKeyspace(s) => {
                write!(
                    f,
                    "RESTORE KEYSPACE {} FROM SNAPSHOT {}",
                    Name(&s.keyspace),
                    string(&s.snapshot)
                )
            }
            Statement::CreateRole(s) => RoleStatement {
                verb: "CREATE",
                user: s.user,
                condition: if_not_exists(s.if_not_exists),
                name: &s.name,
                options: Some(&s.options),
            }
            .fmt(f),
            Statement::AlterRole(s) => RoleStatement {
                verb: "ALTER",
                user: s.user,
                condition: if_exists(s.if_exists),
                name: &s.name,
                options: Some(&s.options),
            }
            .fmt(f),
            Statement::DropRole(s) => RoleStatement {
                verb: "DROP",
                user: s.user,
                condition: if_exists(s.if_exists),
                name: &s.name,
                options: None,
            }
            .fmt(f),
            Statement::GrantRole(s) => {
                write!(f, "GRANT {} TO {}", Name(&s.role), Name(&s.grantee))
            }
            Statement::RevokeRole(s) => {
                write!(f, "REVOKE {} FROM {}", Name(&s.role), Name(&s.grantee))
            }
            Statement::GrantPermissions(s) => write!(
                f,
                "GRANT {} ON {} TO {}",
                PermissionsClause(&s.permissions, s.all),
                s.resource,
                Name(&s.role)
            ),
            Statement::RevokePermissions(s) => write!(
                f,
                "REVOKE {} ON {} FROM {}",
                PermissionsClause(&s.permissions, s.all),
                s.resource,
                Name(&s.role)
            ),
            Statement::ListRoles(s) => {
                f.write_str("LIST ROLES")?;
                if let Some(of) = &s.of {
                    write!(f, " OF {}", Name(of))?;
                }
                if !s.recursive {
                    f.write_str(" NORECURSIVE")?;
                }
                Ok(())
            }
            Statement::ListUsers => f.write_str("LIST USERS"),
            Statement::ListPermissions(s) => {
                write!(f, "LIST {}", PermissionsClause(&s.permissions, s.all))?;
                if let Some(resource) = &s.resource {
                    write!(f, " ON {resource}")?;
                }
                if let Some(of) = &s.of {
                    write!(f, " OF {}", Name(of))?;
                }
                if !s.recursive {
                    f.write_str(" NORECURSIVE")?;
                }
                Ok(())
            }
        }
    }
}

/// `CREATE|ALTER|DROP ROLE|USER [IF ...] name [options]`.
struct RoleStatement<'a> {
    verb: &'static str,
    user: bool,
    condition: &'static str,
    name: &'a str,
    options: Option<&'a RoleOptions>,
}

impl Display for RoleStatement<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let kind = if self.user { "USER" } else { "ROLE" };
        write!(
            f,
            "{} {kind}{} {}",
            self.verb,
            self.condition,
            Name(self.name)
        )?;
        match self.options {
            Some(options) => RoleOptionsClause(options, self.user).fmt(f),
            None => Ok(()),
        }
    }
}

/// ` WITH ...` of a role statement, or the legacy USER form.
struct RoleOptionsClause<'a>(&'a RoleOptions, bool);

impl Display for RoleOptionsClause<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let RoleOptionsClause(options, user) = *self;
        if user {
            if let Some(password) = &options.password {
                write!(f, " WITH PASSWORD {}", string(password))?;
            } else if let Some(hashed) = &options.hashed_password {
                write!(f, " WITH HASHED PASSWORD {}", string(hashed))?;
            }
            return match options.superuser {
                Some(true) => f.write_str(" SUPERUSER"),
                Some(false) => f.write_str(" NOSUPERUSER"),
                None => Ok(()),
            };
        }
        let mut clauses = Vec::new();
        if let Some(password) = &options.password {
            clauses.push(format!("PASSWORD = {}", string(password)));
        }
        if let Some(hashed) = &options.hashed_password {
            clauses.push(format!("HASHED PASSWORD = {}", string(hashed)));
        }
        if let Some(login) = options.login {
            clauses.push(format!("LOGIN = {login}"));
        }
        if let Some(superuser) = options.superuser {
            clauses.push(format!("SUPERUSER = {superuser}"));
        }
        if let Some(map) = &options.options {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", string(k), string(v)))
                .collect();
            clauses.push(format!("OPTIONS = {{{}}}", entries.join(", ")));
        }
        if clauses.is_empty() {
            return Ok(());
        }
        write!(f, " WITH {}", clauses.join(" AND "))
    }
}

/// `ALL PERMISSIONS` or the one permission.
struct PermissionsClause<'a>(&'a [Permission], bool);

impl Display for PermissionsClause<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            PermissionsClause(_, true) => f.write_str("ALL PERMISSIONS"),
            PermissionsClause(permissions, false) => {
                let names: Vec<&str> = permissions.iter().map(|p| p.name()).collect();
                f.write_str(&names.join(", "))
            }
        }
    }
}

impl Display for Resource {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Resource::AllKeyspaces => f.write_str("ALL KEYSPACES"),
            Resource::Keyspace(ks) => write!(f, "KEYSPACE {}", Name(ks)),
            Resource::Table(name) => write!(f, "TABLE {name}"),
            Resource::AllRoles => f.write_str("ALL ROLES"),
            Resource::Role(role) => write!(f, "ROLE {}", Name(role)),
            Resource::AllFunctions => f.write_str("ALL FUNCTIONS"),
            Resource::FunctionsIn(ks) => write!(f, "ALL FUNCTIONS IN KEYSPACE {}", Name(ks)),
            Resource::Function {
                name,
                argument_types,
            } => write!(
                f,
                "FUNCTION {}({})",
                FunctionName(name),
                comma(argument_types)
            ),
        }
    }
}

fn write_drop_function(f: &mut Formatter<'_>, what: &str, s: &DropFunction) -> fmt::Result {
    write!(
        f,
        "DROP {what}{} {}",
        if_exists(s.if_exists),
        FunctionName(&s.name)
    )?;
    if let Some(types) = &s.argument_types {
        write!(f, "({})", comma(types))?;
    }
    Ok(())
}
