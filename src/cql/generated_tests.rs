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

    fn native(&mut self) -> NativeType {
        *self.pick(&[
            NativeType::Int,
            NativeType::Text,
            NativeType::Varchar,
            NativeType::Blob,
            NativeType::Timestamp,
            NativeType::Counter,
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
        match self.rng.below(11) {
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
            6 => Term::Cast {
                term: Box::new(self.simple_term(d)),
                ty: self.native(),
            },
            7 => Term::TypeHint {
                ty: self.cql_type(2),
                term: Box::new(self.simple_term(d)),
            },
            8 => Term::Literal(self.literal(false)),
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
        let assignments = (0..self.count(1, 3))
            .map(|_| {
                let column = self.name();
                match self.rng.below(6) {
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
                }
            })
            .collect();
        let where_clause = (0..self.count(1, 2)).map(|_| self.relation(1)).collect();
        let condition = match self.rng.below(3) {
            0 => Some(UpdateCondition::Exists),
            1 => Some(UpdateCondition::Conditions(
                (0..self.count(1, 2)).map(|_| self.condition()).collect(),
            )),
            _ => None,
        };
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

    fn statement(&mut self) -> Statement {
        self.next_marker = 0;
        match self.rng.below(4) {
            0 => self.update(),
            1 => self.create_table(),
            2 => Statement::Describe(Describe {
                target: DescribeTarget::Generic(self.qualified()),
                with_internals: self.chance(30),
            }),
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
    for _ in 0..5_000 {
        let tree = generator.statement();
        let printed = tree.to_string();
        let reparsed =
            parse_statement(&printed).unwrap_or_else(|e| panic!("seed {seed}: {printed}\n  {e}"));
        assert_eq!(reparsed, tree, "seed {seed}: {printed}");
    }
}
