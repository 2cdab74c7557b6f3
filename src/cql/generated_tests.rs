//! Property test of the printer: random syntax trees print to text that parses back to the
//! very same tree.
//!
//! Method: a seeded generator builds trees in the *normal form* the parser produces (numeric
//! literals carry their own `-`, `(x)` selectors are not tuples, bind markers are numbered in
//! print order, ...), with identifiers drawn from a pool of awkward names (keywords, mixed case,
//! quotes, names that lex as durations). For each tree, `parse(print(tree)) == tree`. The seed
//! is printed so a failure replays.

use super::ast::*;
use super::parse_statement;
use super::tests::Rng;

/// Identifiers that exercise quoting: plain, unreserved keywords, reserved keywords, case,
/// spaces and quotes, a duration look-alike and DESCRIBE words.
const NAMES: &[&str] = &[
    "a",
    "b_1",
    "x9",
    "key",
    "type",
    "ttl",
    "count",
    "writetime",
    "json",
    "distinct",
    "values",
    "keys",
    "token",
    "select",
    "from",
    "Mixed",
    "with space",
    "quo\"te",
    "int",
    "text",
    "p1d",
    "at",
    "snapshot",
    "clone",
    "tables",
    "cluster",
    "expr",
    "map",
    "frozen",
    "byte",
    "full",
    "é",
];

/// The literal kinds that Cassandra lexes with an optional leading `-`.
fn is_signed_kind(kind: LiteralKind) -> bool {
    matches!(
        kind,
        LiteralKind::Integer
            | LiteralKind::Float
            | LiteralKind::Duration
            | LiteralKind::NaN
            | LiteralKind::Infinity
    )
}

struct Generator {
    rng: Rng,
    next_marker: usize,
}

impl Generator {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.rng.below(100) < percent
    }

    fn name(&mut self) -> Ident {
        self.pick(NAMES).to_string()
    }

    fn qualified(&mut self) -> QualifiedName {
        let keyspace = if self.chance(40) {
            Some(self.name())
        } else {
            None
        };
        QualifiedName {
            keyspace,
            name: self.name(),
        }
    }

    fn count(&mut self, min: usize, max: usize) -> usize {
        min + self.rng.below(max - min + 1)
    }

    fn marker(&mut self) -> BindMarker {
        let name = if self.chance(30) {
            Some(self.name())
        } else {
            None
        };
        let index = self.next_marker;
        self.next_marker += 1;
        BindMarker { index, name }
    }

    fn literal(&mut self, allow_negative: bool) -> Literal {
        let (kind, text) = *self.pick(&[
            (LiteralKind::String, "it's"),
            (LiteralKind::String, ""),
            (LiteralKind::Integer, "42"),
            (LiteralKind::Float, "1.5e3"),
            (LiteralKind::Float, "2."),
            (LiteralKind::Boolean, "true"),
            (LiteralKind::Null, "null"),
            (LiteralKind::Uuid, "123e4567-e89b-12d3-a456-426614174000"),
            (LiteralKind::Blob, "0xcafe"),
            (LiteralKind::Duration, "1h30m"),
            (LiteralKind::Duration, "P1Y2M"),
            (LiteralKind::NaN, "NaN"),
            (LiteralKind::Infinity, "Infinity"),
        ]);
        let signed = is_signed_kind(kind);
        let text = if allow_negative && signed && self.chance(30) {
            format!("-{text}")
        } else {
            text.to_string()
        };
        Literal { kind, text }
    }

    fn native(&mut self) -> NativeTypeName {
        *self.pick(&[
            NativeTypeName::Int,
            NativeTypeName::Text,
            NativeTypeName::Varchar,
            NativeTypeName::Blob,
            NativeTypeName::Timestamp,
            NativeTypeName::Counter,
        ])
    }

    fn cql_type(&mut self, depth: usize) -> CqlType {
        if depth == 0 {
            return match self.rng.below(3) {
                0 => CqlType::UserDefined(self.qualified()),
                1 => CqlType::Custom("org.x.T".into()),
                _ => CqlType::Native(self.native()),
            };
        }
        let inner = |g: &mut Self| Box::new(g.cql_type(depth - 1));
        match self.rng.below(7) {
            0 => CqlType::List(inner(self)),
            1 => CqlType::Set(inner(self)),
            2 => {
                let key = inner(self);
                CqlType::Map(key, inner(self))
            }
            3 => CqlType::Frozen(inner(self)),
            4 => CqlType::Vector(inner(self), 3),
            5 => {
                let n = self.count(1, 3);
                CqlType::Tuple((0..n).map(|_| self.cql_type(depth - 1)).collect())
            }
            _ => self.cql_type(0),
        }
    }

    // ---- terms -------------------------------------------------------------------------------

    /// Any term: arithmetic over groups.
    fn term(&mut self, depth: usize) -> Term {
        if depth == 0 || self.chance(60) {
            return self.term_group(depth);
        }
        let additive = self.chance(50);
        let left = self.term(depth - 1);
        let op = if additive {
            *self.pick(&[ArithmeticOp::Add, ArithmeticOp::Subtract])
        } else {
            *self.pick(&[
                ArithmeticOp::Multiply,
                ArithmeticOp::Divide,
                ArithmeticOp::Modulo,
            ])
        };
        // The parser builds left-deep trees: the right operand of `+` is a product or a group,
        // the right operand of `*` is a group, and the left operand of `*` is not a sum.
        let left = match (&left, additive) {
            (
                Term::Arithmetic {
                    op: ArithmeticOp::Add | ArithmeticOp::Subtract,
                    ..
                },
                false,
            ) => Term::Tuple(vec![left]),
            _ => left,
        };
        let right = if additive && self.chance(50) {
            let product_left = self.term_group(depth - 1);
            let product_right = self.term_group(depth - 1);
            Term::Arithmetic {
                op: ArithmeticOp::Multiply,
                left: Box::new(product_left),
                right: Box::new(product_right),
            }
        } else {
            self.term_group(depth - 1)
        };
        Term::Arithmetic {
            op,
            left: Box::new(left),
            right: Box::new(right),
        }
    }

    /// `termGroup`: a simple term, or its negation (folded into numeric literals).
    fn term_group(&mut self, depth: usize) -> Term {
        let inner = self.simple_term(depth);
        if !self.chance(15) {
            return inner;
        }
        match inner {
            Term::Literal(literal) if literal.text.starts_with('-') => Term::Literal(literal),
            Term::Literal(literal) if is_signed_kind(literal.kind) => Term::Literal(Literal {
                kind: literal.kind,
                text: format!("-{}", literal.text),
            }),
            other => Term::Negate(Box::new(other)),
        }
    }

    fn terms(&mut self, depth: usize, min: usize) -> Vec<Term> {
        let n = self.count(min, 3);
        (0..n).map(|_| self.term(depth)).collect()
    }

    fn simple_term(&mut self, depth: usize) -> Term {
        if depth == 0 {
            return if self.chance(30) {
                Term::Bind(self.marker())
            } else {
                Term::Literal(self.literal(false))
            };
        }
        let d = depth - 1;
        match self.rng.below(10) {
            0 => Term::List(self.terms(d, 0)),
            1 => Term::Set(self.terms(d, 0)),
            2 => {
                let n = self.count(1, 3);
                Term::Map((0..n).map(|_| (self.term(d), self.term(d))).collect())
            }
            3 => Term::Tuple(self.terms(d, 1)),
            4 => {
                let n = self.count(1, 3);
                Term::Udt((0..n).map(|_| (self.name(), self.term(d))).collect())
            }
            5 => Term::FunctionCall {
                name: self.qualified(),
                args: self.terms(d, 0),
            },
            6 => Term::TypeHint {
                ty: self.cql_type(2),
                term: Box::new(self.simple_term(d)),
            },
            7 => Term::Literal(self.literal(false)),
            _ => self.simple_term(0),
        }
    }

    // ---- selectors ---------------------------------------------------------------------------

    fn selector(&mut self, depth: usize) -> Selector {
        if depth == 0 {
            return match self.rng.below(4) {
                0 => Selector::Term(Term::Literal(self.literal(true))),
                1 => Selector::Term(Term::Bind(self.marker())),
                2 => Selector::CountRows,
                _ => Selector::Column(self.name()),
            };
        }
        let d = depth - 1;
        match self.rng.below(16) {
            0 => {
                let kind = *self.pick(&[
                    WriteTimeKind::WriteTime,
                    WriteTimeKind::MaxWriteTime,
                    WriteTimeKind::Ttl,
                ]);
                let column = Selector::Column(self.name());
                Selector::WriteTimeOrTtl {
                    kind,
                    selector: Box::new(self.modified(column, d)),
                }
            }
            1 => Selector::Cast {
                selector: Box::new(self.selector(d)),
                ty: self.native(),
            },
            2 => {
                let n = self.count(0, 3);
                Selector::Function {
                    name: self.qualified(),
                    args: (0..n).map(|_| self.selector(d)).collect(),
                }
            }
            3..=5 => {
                let receiver = self.selector(d);
                self.modified(receiver, d)
            }
            6 => Selector::TypeHint {
                ty: self.cql_type(2),
                selector: Box::new(self.selector(d)),
            },
            7 => Selector::List((0..self.count(0, 3)).map(|_| self.selector(d)).collect()),
            8 => Selector::Set((0..self.count(0, 3)).map(|_| self.selector(d)).collect()),
            9 => {
                let n = self.count(1, 3);
                Selector::Map(
                    (0..n)
                        .map(|_| (self.selector(d), self.selector(d)))
                        .collect(),
                )
            }
            10 => Selector::Tuple((0..self.count(2, 3)).map(|_| self.selector(d)).collect()),
            11 | 12 => {
                let op = *self.pick(&[
                    ArithmeticOp::Add,
                    ArithmeticOp::Subtract,
                    ArithmeticOp::Multiply,
                    ArithmeticOp::Divide,
                    ArithmeticOp::Modulo,
                ]);
                let left = self.selector(d);
                Selector::Arithmetic {
                    op,
                    left: Box::new(left),
                    right: Box::new(self.selector(d)),
                }
            }
            13 => match self.selector(d) {
                // `-5` is a literal, not a negation.
                Selector::Term(Term::Literal(literal)) if !literal.text.starts_with('-') => {
                    Selector::Term(Term::Literal(literal))
                }
                other => Selector::Negate(Box::new(other)),
            },
            _ => self.selector(0),
        }
    }

    /// `receiver` with one to three `.field`, `[key]` or `[from..to]` selections.
    fn modified(&mut self, mut receiver: Selector, depth: usize) -> Selector {
        for _ in 0..self.count(1, 3) {
            let selector = Box::new(receiver);
            receiver = match self.rng.below(3) {
                0 => Selector::Field {
                    selector,
                    field: self.name(),
                },
                1 => Selector::Element {
                    selector,
                    key: self.term(depth),
                },
                _ => {
                    let from = if self.chance(50) {
                        Some(self.term(depth))
                    } else {
                        None
                    };
                    let to = if from.is_none() || self.chance(50) {
                        Some(self.term(depth))
                    } else {
                        None
                    };
                    Selector::Slice { selector, from, to }
                }
            };
        }
        receiver
    }

    // ---- relations and statements ------------------------------------------------------------

    fn operator(&mut self) -> Operator {
        *self.pick(&[
            Operator::Eq,
            Operator::NotEq,
            Operator::Lt,
            Operator::LtEq,
            Operator::Gt,
            Operator::GtEq,
        ])
    }

    fn in_values(&mut self, depth: usize) -> InValues {
        if self.chance(30) {
            InValues::Marker(self.marker())
        } else {
            InValues::Terms(self.terms(depth, 0))
        }
    }

    fn relation(&mut self, depth: usize) -> Relation {
        match self.rng.below(7) {
            0 => Relation::IsNotNull {
                column: self.name(),
            },
            1 => {
                let column = self.name();
                let key = self.term(depth);
                let op = self.operator();
                Relation::Element {
                    column,
                    key,
                    op,
                    value: self.term(depth),
                }
            }
            2 => {
                let columns = (0..self.count(1, 2)).map(|_| self.name()).collect();
                let op = self.operator();
                Relation::Token {
                    columns,
                    op,
                    value: self.term(depth),
                }
            }
            3 => {
                let columns = (0..self.count(1, 3)).map(|_| self.name()).collect();
                let predicate = if self.chance(50) {
                    Predicate::In(self.in_values(depth))
                } else {
                    let op = self.operator();
                    Predicate::Compare(op, self.term(depth))
                };
                Relation::MultiColumn { columns, predicate }
            }
            4 => Relation::CustomIndex {
                index: self.qualified(),
                expression: self.term(depth),
            },
            _ => {
                let column = self.name();
                let predicate = match self.rng.below(3) {
                    0 => Predicate::In(self.in_values(depth)),
                    1 => {
                        let op = *self.pick(&[
                            Operator::Contains,
                            Operator::ContainsKey,
                            Operator::Like,
                        ]);
                        Predicate::Compare(op, self.term(depth))
                    }
                    _ => {
                        let op = self.operator();
                        Predicate::Compare(op, self.term(depth))
                    }
                };
                Relation::Column { column, predicate }
            }
        }
    }

    fn int_value(&mut self) -> Term {
        if self.chance(50) {
            Term::Bind(self.marker())
        } else {
            Term::Literal(Literal {
                kind: LiteralKind::Integer,
                text: "10".into(),
            })
        }
    }

    fn select(&mut self) -> Statement {
        let selection = if self.chance(15) {
            Selection::Wildcard
        } else {
            let n = self.count(1, 3);
            Selection::Selectors(
                (0..n)
                    .map(|_| SelectItem {
                        selector: self.selector(3),
                        alias: if self.chance(20) {
                            Some(self.name())
                        } else {
                            None
                        },
                    })
                    .collect(),
            )
        };
        let table = self.qualified();
        let snapshot = if self.chance(20) {
            Some("tag'1".into())
        } else {
            None
        };
        let where_clause = (0..self.count(0, 3)).map(|_| self.relation(2)).collect();
        let group_by = (0..self.count(0, 1)).map(|_| self.selector(1)).collect();
        let order_by = (0..self.count(0, 2))
            .map(|_| Ordering {
                column: self.name(),
                ann_of: None,
                direction: *self.pick(&[OrderDirection::Asc, OrderDirection::Desc]),
            })
            .collect();
        let per_partition_limit = if self.chance(20) {
            Some(self.int_value())
        } else {
            None
        };
        let limit = if self.chance(30) {
            Some(self.int_value())
        } else {
            None
        };
        Statement::Select(SelectStatement {
            json: self.chance(20),
            distinct: self.chance(20),
            selection,
            table,
            snapshot,
            where_clause,
            group_by,
            order_by,
            per_partition_limit,
            limit,
            allow_filtering: self.chance(20),
        })
    }

    fn using(&mut self) -> UsingClause {
        UsingClause {
            ttl: if self.chance(30) {
                Some(self.int_value())
            } else {
                None
            },
            timestamp: if self.chance(30) {
                Some(self.int_value())
            } else {
                None
            },
        }
    }

    fn condition(&mut self) -> Condition {
        let column = self.name();
        let selection = match self.rng.below(3) {
            0 => Some(ConditionSelection::Element(self.term(1))),
            1 => Some(ConditionSelection::Field(self.name())),
            _ => None,
        };
        let predicate = if self.chance(30) {
            Predicate::In(self.in_values(1))
        } else if selection.is_none() && self.chance(30) {
            Predicate::Compare(Operator::Contains, self.term(1))
        } else {
            let op = self.operator();
            Predicate::Compare(op, self.term(1))
        };
        Condition {
            column,
            selection,
            predicate,
        }
    }

    fn update(&mut self) -> Statement {
        let table = self.qualified();
        let using = self.using();
        // One assignment per column: a column set twice is a syntax error (see `assignments`).
        let mut columns: Vec<Ident> = (0..self.count(1, 3)).map(|_| self.name()).collect();
        columns.sort();
        columns.dedup();
        let assignments = columns
            .into_iter()
            .map(|column| match self.rng.below(6) {
                0 => Assignment::Add {
                    column,
                    value: self.term(2),
                },
                1 => Assignment::Subtract {
                    column,
                    value: self.term(2),
                },
                2 => Assignment::Prepend {
                    column,
                    value: self.term(2),
                },
                3 => {
                    let key = self.term(1);
                    Assignment::SetElement {
                        column,
                        key,
                        value: self.term(2),
                    }
                }
                4 => Assignment::SetField {
                    column,
                    field: self.name(),
                    value: self.term(2),
                },
                _ => Assignment::Set {
                    column,
                    value: self.term(2),
                },
            })
            .collect();
        let where_clause = (0..self.count(1, 2)).map(|_| self.relation(1)).collect();
        let condition = self.update_condition();
        Statement::Update(UpdateStatement {
            table,
            using,
            assignments,
            where_clause,
            condition,
        })
    }

    fn create_table(&mut self) -> Statement {
        let name = self.qualified();
        let columns = (0..self.count(1, 3))
            .map(|_| ColumnDefinition {
                name: self.name(),
                ty: self.cql_type(3),
                is_static: self.chance(20),
                primary_key: self.chance(20),
            })
            .collect();
        let primary_key = if self.chance(60) {
            Some(PrimaryKey {
                partition_key: (0..self.count(1, 2)).map(|_| self.name()).collect(),
                clustering_columns: (0..self.count(0, 2)).map(|_| self.name()).collect(),
            })
        } else {
            None
        };
        Statement::CreateTable(CreateTable {
            if_not_exists: self.chance(50),
            name,
            columns,
            primary_key,
            options: TableOptions::default(),
        })
    }

    fn insert(&mut self) -> InsertStatement {
        let table = self.qualified();
        let values = if self.chance(20) {
            let value = if self.chance(50) {
                Term::Bind(self.marker())
            } else {
                Term::Literal(Literal {
                    kind: LiteralKind::String,
                    text: "{\"a\": 1}".into(),
                })
            };
            InsertValues::Json {
                value,
                default_unset: self.chance(50),
            }
        } else {
            let columns = (0..self.count(1, 3)).map(|_| self.name()).collect();
            InsertValues::Columns {
                columns,
                values: self.terms(2, 1),
            }
        };
        let if_not_exists = self.chance(30);
        InsertStatement {
            table,
            values,
            if_not_exists,
            using: self.using(),
        }
    }

    fn delete(&mut self) -> DeleteStatement {
        let columns = (0..self.count(0, 3))
            .map(|_| {
                let column = self.name();
                match self.rng.below(3) {
                    0 => Deletion::Element {
                        column,
                        key: self.term(1),
                    },
                    1 => Deletion::Field {
                        column,
                        field: self.name(),
                    },
                    _ => Deletion::Column(column),
                }
            })
            .collect();
        let table = self.qualified();
        let timestamp = if self.chance(30) {
            Some(self.int_value())
        } else {
            None
        };
        let where_clause = (0..self.count(1, 2)).map(|_| self.relation(1)).collect();
        let condition = self.update_condition();
        DeleteStatement {
            columns,
            table,
            timestamp,
            where_clause,
            condition,
        }
    }

    fn update_condition(&mut self) -> Option<UpdateCondition> {
        match self.rng.below(3) {
            0 => Some(UpdateCondition::Exists),
            1 => Some(UpdateCondition::Conditions(
                (0..self.count(1, 2)).map(|_| self.condition()).collect(),
            )),
            _ => None,
        }
    }

    fn batch(&mut self) -> Statement {
        let kind = *self.pick(&[BatchKind::Logged, BatchKind::Unlogged, BatchKind::Counter]);
        let using = self.using();
        let statements = (0..self.count(0, 3))
            .map(|_| match self.rng.below(3) {
                0 => BatchChild::Insert(self.insert()),
                1 => match self.update() {
                    Statement::Update(update) => BatchChild::Update(update),
                    _ => BatchChild::Delete(self.delete()),
                },
                _ => BatchChild::Delete(self.delete()),
            })
            .collect();
        Statement::Batch(BatchStatement {
            kind,
            using,
            statements,
        })
    }

    /// One to three properties with distinct names.
    fn properties(&mut self) -> Vec<Property> {
        let mut properties: Vec<Property> = Vec::new();
        for _ in 0..self.count(1, 3) {
            let name = self.name();
            if properties.iter().any(|p| p.name == name) {
                continue;
            }
            let value = match self.rng.below(3) {
                0 => PropertyValue::Word(
                    self.pick(&["keys", "all", "type", "map", "int"])
                        .to_string(),
                ),
                1 => {
                    let mut entries: Vec<(Literal, Literal)> = Vec::new();
                    for key in ["class", "replication_factor", "it's"] {
                        if self.chance(60) {
                            let value = self.property_literal();
                            entries.push((
                                Literal {
                                    kind: LiteralKind::String,
                                    text: key.into(),
                                },
                                value,
                            ));
                        }
                    }
                    PropertyValue::Map(entries)
                }
                _ => PropertyValue::Literal(self.property_literal()),
            };
            properties.push(Property { name, value });
        }
        properties
    }

    fn property_literal(&mut self) -> Literal {
        loop {
            let literal = self.literal(true);
            if literal.kind != LiteralKind::Null {
                return literal;
            }
        }
    }

    fn table_options(&mut self) -> TableOptions {
        if self.chance(40) {
            return TableOptions::default();
        }
        let direction = |g: &mut Self| *g.pick(&[OrderDirection::Asc, OrderDirection::Desc]);
        TableOptions {
            properties: if self.chance(60) {
                self.properties()
            } else {
                Vec::new()
            },
            clustering_order: (0..self.count(0, 2))
                .map(|_| (self.name(), direction(self)))
                .collect(),
            compact_storage: self.chance(20),
        }
    }

    fn primary_key(&mut self) -> PrimaryKey {
        PrimaryKey {
            partition_key: (0..self.count(1, 2)).map(|_| self.name()).collect(),
            clustering_columns: (0..self.count(0, 2)).map(|_| self.name()).collect(),
        }
    }

    fn column_definition(&mut self, primary_key: bool) -> ColumnDefinition {
        ColumnDefinition {
            name: self.name(),
            ty: self.cql_type(3),
            is_static: self.chance(20),
            primary_key: primary_key && self.chance(20),
        }
    }

    fn renames(&mut self) -> Vec<(Ident, Ident)> {
        (0..self.count(1, 2))
            .map(|_| (self.name(), self.name()))
            .collect()
    }

    fn alter_table(&mut self) -> Statement {
        let action = match self.rng.below(6) {
            0 => AlterTableAction::AlterColumnType {
                if_exists: self.chance(30),
                column: self.name(),
                ty: self.cql_type(2),
            },
            1 => AlterTableAction::Add {
                if_not_exists: self.chance(30),
                columns: (0..self.count(1, 3))
                    .map(|_| self.column_definition(false))
                    .collect(),
            },
            2 => AlterTableAction::Drop {
                if_exists: self.chance(30),
                columns: (0..self.count(1, 3)).map(|_| self.name()).collect(),
                timestamp: if self.chance(30) { Some(-5) } else { None },
            },
            3 => AlterTableAction::Rename {
                if_exists: self.chance(30),
                renames: self.renames(),
            },
            4 => AlterTableAction::WithProperties(self.properties()),
            _ => AlterTableAction::DropCompactStorage,
        };
        Statement::AlterTable(AlterTable {
            if_exists: self.chance(30),
            name: self.qualified(),
            action,
        })
    }

    fn schema_object(&mut self) -> Statement {
        let drop = |g: &mut Self| DropObject {
            if_exists: g.chance(50),
            name: g.qualified(),
        };
        match self.rng.below(14) {
            0 => Statement::CreateKeyspace(CreateKeyspace {
                if_not_exists: self.chance(50),
                name: self.name(),
                properties: self.properties(),
            }),
            1 => Statement::AlterKeyspace(AlterKeyspace {
                if_exists: self.chance(50),
                name: self.name(),
                properties: self.properties(),
            }),
            2 => Statement::DropKeyspace(DropKeyspace {
                if_exists: self.chance(50),
                name: self.name(),
            }),
            3 => self.alter_table(),
            4 => Statement::CreateIndex(CreateIndex {
                custom: self.chance(30),
                if_not_exists: self.chance(30),
                name: if self.chance(50) {
                    Some(self.name())
                } else {
                    None
                },
                table: self.qualified(),
                targets: (0..self.count(0, 2))
                    .map(|_| IndexTarget {
                        column: self.name(),
                        kind: *self.pick(&[
                            IndexTargetSyntax::Simple,
                            IndexTargetSyntax::Keys,
                            IndexTargetSyntax::Values,
                            IndexTargetSyntax::Entries,
                            IndexTargetSyntax::Full,
                        ]),
                    })
                    .collect(),
                using: if self.chance(50) {
                    Some("sai".into())
                } else {
                    None
                },
                properties: if self.chance(50) {
                    self.properties()
                } else {
                    Vec::new()
                },
            }),
            5 => Statement::CreateType(CreateType {
                if_not_exists: self.chance(30),
                name: self.qualified(),
                fields: (0..self.count(1, 3))
                    .map(|_| (self.name(), self.cql_type(2)))
                    .collect(),
            }),
            6 => {
                let action = match self.rng.below(3) {
                    0 => AlterTypeAction::AlterField {
                        field: self.name(),
                        ty: self.cql_type(2),
                    },
                    1 => AlterTypeAction::Add {
                        if_not_exists: self.chance(30),
                        field: self.name(),
                        ty: self.cql_type(2),
                    },
                    _ => AlterTypeAction::Rename {
                        if_exists: self.chance(30),
                        renames: self.renames(),
                    },
                };
                Statement::AlterType(AlterType {
                    if_exists: self.chance(30),
                    name: self.qualified(),
                    action,
                })
            }
            7 => Statement::CreateView(CreateView {
                if_not_exists: self.chance(30),
                name: self.qualified(),
                selection: Selection::Selectors(vec![SelectItem {
                    selector: Selector::Column(self.name()),
                    alias: None,
                }]),
                base_table: self.qualified(),
                where_clause: (0..self.count(0, 2))
                    .map(|_| Relation::IsNotNull {
                        column: self.name(),
                    })
                    .collect(),
                primary_key: self.primary_key(),
                options: self.table_options(),
            }),
            8 => Statement::CreateFunction(CreateFunction {
                or_replace: self.chance(30),
                if_not_exists: self.chance(30),
                name: self.qualified(),
                arguments: (0..self.count(0, 2))
                    .map(|_| (self.name(), self.cql_type(1)))
                    .collect(),
                called_on_null_input: self.chance(50),
                return_type: self.cql_type(1),
                language: self.pick(&["java", "javascript"]).to_string(),
                body: "return 'x';".into(),
            }),
            9 => Statement::CreateAggregate(CreateAggregate {
                or_replace: self.chance(30),
                if_not_exists: self.chance(30),
                name: self.qualified(),
                argument_types: (0..self.count(0, 2)).map(|_| self.cql_type(1)).collect(),
                state_function: self.name(),
                state_type: self.cql_type(1),
                final_function: if self.chance(50) {
                    Some(self.name())
                } else {
                    None
                },
                initial_condition: if self.chance(50) {
                    Some(self.term(2))
                } else {
                    None
                },
            }),
            10 => {
                let function = DropFunction {
                    if_exists: self.chance(30),
                    name: self.qualified(),
                    argument_types: if self.chance(50) {
                        Some((0..self.count(0, 2)).map(|_| self.cql_type(1)).collect())
                    } else {
                        None
                    },
                };
                if self.chance(50) {
                    Statement::DropFunction(function)
                } else {
                    Statement::DropAggregate(function)
                }
            }
            11 => match self.rng.below(4) {
                0 => Statement::DropTable(drop(self)),
                1 => Statement::DropIndex(drop(self)),
                2 => Statement::DropType(drop(self)),
                _ => Statement::DropView(drop(self)),
            },
            12 => Statement::AlterView(AlterView {
                name: self.qualified(),
                properties: self.properties(),
            }),
            _ => {
                let mut table = self.create_table();
                if let Statement::CreateTable(create) = &mut table {
                    create.options = self.table_options();
                }
                table
            }
        }
    }

    fn describe(&mut self) -> Statement {
        let target = match self.rng.below(15) {
            0 => DescribeTarget::Cluster,
            1 => DescribeTarget::Schema {
                full: self.chance(50),
            },
            2 => DescribeTarget::Keyspaces,
            3 => DescribeTarget::Keyspace {
                only: self.chance(50),
                name: if self.chance(50) {
                    Some(self.name())
                } else {
                    None
                },
            },
            4 => DescribeTarget::Tables,
            5 => DescribeTarget::Table(self.qualified()),
            6 => DescribeTarget::Index(self.qualified()),
            7 => DescribeTarget::MaterializedView(self.qualified()),
            8 => DescribeTarget::Types,
            9 => DescribeTarget::Type(self.qualified()),
            10 => DescribeTarget::Functions,
            11 => DescribeTarget::Function(self.qualified()),
            12 => DescribeTarget::Aggregates,
            13 => DescribeTarget::Aggregate(self.qualified()),
            _ => DescribeTarget::Generic(self.qualified()),
        };
        Statement::Describe(Describe {
            target,
            with_internals: self.chance(30),
        })
    }

    fn strata_extension(&mut self) -> Statement {
        let snapshot = |g: &mut Self| {
            if g.chance(50) {
                Some("tag'1".to_string())
            } else {
                None
            }
        };
        match self.rng.below(6) {
            0 => Statement::CloneTable(CloneTable {
                if_not_exists: self.chance(50),
                name: self.qualified(),
                source: self.qualified(),
                snapshot: snapshot(self),
            }),
            1 => Statement::CloneKeyspace(CloneKeyspace {
                if_not_exists: self.chance(50),
                name: self.name(),
                source: self.name(),
                snapshot: snapshot(self),
            }),
            2 => Statement::RestoreTable(RestoreTable {
                table: self.qualified(),
                snapshot: "t".into(),
            }),
            3 => Statement::RestoreKeyspace(RestoreKeyspace {
                keyspace: self.name(),
                snapshot: "".into(),
            }),
            4 => Statement::Use(self.name()),
            _ => Statement::Truncate(self.qualified()),
        }
    }

    fn statement(&mut self) -> Statement {
        self.next_marker = 0;
        match self.rng.below(10) {
            0 => self.update(),
            1 => Statement::Insert(self.insert()),
            2 => Statement::Delete(self.delete()),
            3 => self.batch(),
            4 | 5 => self.schema_object(),
            6 => self.describe(),
            7 => self.strata_extension(),
            _ => self.select(),
        }
    }
}

#[test]
fn random_trees_print_and_parse_back() {
    let seed = super::tests::seed_from_env(0xA57_2026);
    println!("random_trees_print_and_parse_back seed = {seed:#x}");
    let mut generator = Generator {
        rng: Rng(seed),
        next_marker: 0,
    };
    for _ in 0..3_000 {
        let tree = generator.statement();
        let printed = tree.to_string();
        if std::env::var("STRATA_CQL_SHOW").is_ok() {
            println!("{printed}");
        }
        let reparsed =
            parse_statement(&printed).unwrap_or_else(|e| panic!("seed {seed}: {printed}\n  {e}"));
        assert_eq!(reparsed, tree, "seed {seed}: {printed}");
    }
}
