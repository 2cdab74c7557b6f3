//! SELECT selectors as expressions: columns, cell metadata, native scalar functions
//! (`expr::functions`), CAST, arithmetic and the native aggregates (`count`, `min`, `max`,
//! `sum`, `avg`), with Cassandra's result types and result column names (`system.max(v)`,
//! `cast(v as int)`, `v + 1`, `count`).
//!
//! A selection compiles once per statement into [`Selection`]; rows are then either
//! projected one by one, or fed to a [`Group`] whose aggregates are finished at the end
//! of each group (non-aggregate selectors take the group's first row, as in Cassandra).

use bytes::Bytes;

use crate::cql::ast::{self, ArithmeticOp, LiteralKind, Selector, Term, WriteTimeKind};
use crate::error::{CqlError, CqlResult};
use crate::exec::expr::aggregate::{Accumulator, AggregateKind};
use crate::exec::expr::arith;
use crate::exec::expr::eval::{self, BoundValues, Receiver};
use crate::exec::expr::functions::{
    apply_scalar, arithmetic_type, ast_native, cast_allowed, default_type, native, native_of,
    parameter_hints, resolve_scalar, Scalar,
};
use crate::exec::expr::subselect;
use crate::exec::plan::rows::FullRow;
use crate::schema::{ColumnKind, Table};
use crate::types::{self, CqlType, NativeType};

/// Bound on selector nesting, so a hostile query cannot recurse deeply at run time.
const MAX_DEPTH: usize = 32;

/// One compiled selector.
#[derive(Clone, Debug)]
enum Expr {
    Column(usize),
    WriteTime(usize),
    Ttl(usize),
    Token,
    Constant(Option<Vec<u8>>),
    Call {
        func: Scalar,
        args: Vec<(Expr, CqlType)>,
        ret: CqlType,
    },
    /// The finished value of aggregate number `n` of the selection.
    Aggregate(usize),
    /// `writetime()`/`ttl()` of each piece of a multi-cell column of type `ty`.
    PieceTimes {
        column: usize,
        ty: CqlType,
        ttl: bool,
    },
    /// A field, element or slice of a value of type `ty` (`exec::subselect`).
    Part {
        of: Box<Expr>,
        ty: CqlType,
        access: subselect::Access,
    },
}

impl Expr {
    /// Adds the columns this expression reads to `out` (once each).
    fn columns_read(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Column(c) | Expr::WriteTime(c) | Expr::Ttl(c) => {
                if !out.contains(c) {
                    out.push(*c);
                }
            }
            Expr::PieceTimes { column, .. } => Expr::Column(*column).columns_read(out),
            Expr::Call { args, .. } => args.iter().for_each(|(a, _)| a.columns_read(out)),
            Expr::Part { of, .. } => of.columns_read(out),
            Expr::Token | Expr::Constant(_) | Expr::Aggregate(_) => {}
        }
    }
}

#[derive(Clone, Debug)]
struct AggregateSpec {
    kind: AggregateKind,
    arg: Option<(Expr, CqlType)>,
}

/// An output column: its result name and type.
#[derive(Clone, Debug)]
pub struct OutputColumn {
    pub name: String,
    pub ty: CqlType,
}

/// A compiled SELECT clause.
#[derive(Clone, Debug)]
pub struct Selection {
    pub columns: Vec<OutputColumn>,
    exprs: Vec<Expr>,
    aggregates: Vec<AggregateSpec>,
}

/// Compile-time state: the table, bound values (absent at PREPARE) and aggregates met.
struct Compiler<'a> {
    table: &'a Table,
    bound: Option<&'a BoundValues>,
    aggregates: Vec<AggregateSpec>,
}

/// A compiled selector with its type and result column name.
struct Compiled {
    expr: Expr,
    ty: CqlType,
    name: String,
}

impl Selection {
    /// Compiles a SELECT clause. `bound` is `None` at PREPARE, where constants only need
    /// their types.
    pub fn compile(
        table: &Table,
        selection: &ast::Selection,
        bound: Option<&BoundValues>,
    ) -> CqlResult<Selection> {
        let items = match selection {
            ast::Selection::Wildcard => {
                let columns =
                    table
                        .def
                        .columns
                        .iter()
                        .zip(&table.types)
                        .map(|(c, t)| OutputColumn {
                            name: c.name.clone(),
                            ty: t.clone(),
                        });
                return Ok(Selection {
                    columns: columns.collect(),
                    exprs: (0..table.def.columns.len()).map(Expr::Column).collect(),
                    aggregates: Vec::new(),
                });
            }
            ast::Selection::Selectors(items) => items,
        };
        let mut compiler = Compiler {
            table,
            bound,
            aggregates: Vec::new(),
        };
        let mut columns = Vec::with_capacity(items.len());
        let mut exprs = Vec::with_capacity(items.len());
        for item in items {
            let compiled = compiler.selector(&item.selector, None, 0, false)?;
            columns.push(OutputColumn {
                name: item.alias.clone().unwrap_or(compiled.name),
                ty: compiled.ty,
            });
            exprs.push(compiled.expr);
        }
        Ok(Selection {
            columns,
            exprs,
            aggregates: compiler.aggregates,
        })
    }

    /// The table columns the selectors read (by index into `def.columns`), in selector
    /// order, each once.
    pub fn columns_read(&self) -> Vec<usize> {
        let mut columns = Vec::new();
        let args = self.aggregates.iter().filter_map(|a| a.arg.as_ref());
        for expr in self.exprs.iter().chain(args.map(|(e, _)| e)) {
            expr.columns_read(&mut columns);
        }
        columns
    }

    pub fn is_aggregate(&self) -> bool {
        !self.aggregates.is_empty()
    }

    /// The output positions of the table columns `columns`, appending a hidden output
    /// column for each one not selected as itself (Cassandra's ordering columns): rows
    /// are sorted on them, then cut back to the selected columns.
    pub fn ordering_positions(&mut self, table: &Table, columns: &[usize]) -> Vec<usize> {
        let mut positions = Vec::with_capacity(columns.len());
        for &column in columns {
            let selected = self
                .exprs
                .iter()
                .position(|e| matches!(e, Expr::Column(c) if *c == column));
            if let Some(position) = selected {
                positions.push(position);
            } else if let (Some(def), Some(ty)) =
                (table.def.columns.get(column), table.types.get(column))
            {
                self.exprs.push(Expr::Column(column));
                self.columns.push(OutputColumn {
                    name: def.name.clone(),
                    ty: ty.clone(),
                });
                positions.push(self.exprs.len() - 1);
            }
        }
        positions
    }

    /// The output row of one input row (non-aggregate selections).
    pub fn project(&self, row: &FullRow, now_secs: i64) -> CqlResult<Vec<Option<Bytes>>> {
        let input = Input {
            row: Some(row),
            aggregates: &[],
            now_secs,
        };
        self.exprs
            .iter()
            .map(|e| Ok(eval_expr(e, &input)?.map(Bytes::from)))
            .collect()
    }

    pub fn new_group(&self) -> Group {
        Group {
            accumulators: self
                .aggregates
                .iter()
                .map(|a| Accumulator::new(a.kind))
                .collect(),
            first: None,
        }
    }
}

impl Compiler<'_> {
    fn selector(
        &mut self,
        selector: &Selector,
        hint: Option<&CqlType>,
        depth: usize,
        in_aggregate: bool,
    ) -> CqlResult<Compiled> {
        if depth > MAX_DEPTH {
            return Err(CqlError::invalid("Selector nested too deeply"));
        }
        match selector {
            Selector::Column(name) => {
                let i = self.column(name)?;
                Ok(Compiled {
                    expr: Expr::Column(i),
                    ty: self.table.column(i)?.1.clone(),
                    name: name.clone(),
                })
            }
            Selector::CountRows => {
                self.aggregate(AggregateKind::CountRows, None, "count".into(), in_aggregate)
            }
            Selector::WriteTimeOrTtl { kind, selector } => self.write_time(*kind, selector),
            Selector::Term(term) => self.constant(term, hint),
            Selector::TypeHint { ty, selector } => {
                let ty = CqlType::parse(&ty.to_string(), &types::NoUdts)
                    .map_err(|e| CqlError::invalid(e.to_string()))?;
                self.selector(selector, Some(&ty), depth + 1, in_aggregate)
            }
            Selector::Cast { selector, ty } => {
                self.cast(selector, ast_native(*ty), depth, in_aggregate)
            }
            Selector::Arithmetic { op, left, right } => {
                self.arithmetic(*op, left, right, hint, depth, in_aggregate)
            }
            Selector::Negate(inner) => {
                let arg = self.selector(inner, hint, depth + 1, in_aggregate)?;
                let t = native_of(&arg.ty).filter(|t| arith::is_numeric(*t)).ok_or_else(|| {
                    CqlError::invalid(format!("Invalid call to function system._negate: argument of type {} is not a number", arg.ty))
                })?;
                let name = format!("-{}", arg.name);
                Ok(call(Scalar::Negate, vec![arg], native(t), name))
            }
            Selector::Function { name, args } => {
                self.function(&name.name.to_ascii_lowercase(), args, depth, in_aggregate)
            }
            Selector::Field {
                selector: inner, ..
            }
            | Selector::Element {
                selector: inner, ..
            }
            | Selector::Slice {
                selector: inner, ..
            } => self.part(selector, inner, depth, in_aggregate),
            other => Err(CqlError::invalid(format!("Unsupported selector: {other}"))),
        }
    }

    /// `inner.field`, `inner[key]`, `inner[from..to]`.
    fn part(
        &mut self,
        selector: &Selector,
        inner: &Selector,
        depth: usize,
        in_aggregate: bool,
    ) -> CqlResult<Compiled> {
        let of = self.selector(inner, None, depth + 1, in_aggregate)?;
        let shown = of.name.clone();
        let (access, ty) = match selector {
            Selector::Field { field, .. } => subselect::field(&of.ty, &shown, field)?,
            Selector::Element { key, .. } => subselect::element(&of.ty, &shown, key, self.bound)?,
            Selector::Slice { from, to, .. } => (
                subselect::slice(&of.ty, &shown, from.as_ref(), to.as_ref(), self.bound)?,
                of.ty.frozen(),
            ),
            _ => {
                return Err(CqlError::invalid(format!(
                    "Unsupported selector: {selector}"
                )))
            }
        };
        let expr = Expr::Part {
            of: Box::new(of.expr),
            ty: of.ty,
            access,
        };
        Ok(Compiled {
            expr,
            ty,
            name: selector.to_string(),
        })
    }

    fn column(&self, name: &str) -> CqlResult<usize> {
        self.table.column_index(name).ok_or_else(|| {
            CqlError::invalid(format!(
                "Undefined column name {name} in table {}.{}",
                self.table.def.keyspace, self.table.def.name
            ))
        })
    }

    fn column_arg(&self, selector: &Selector) -> CqlResult<usize> {
        match selector {
            Selector::Column(name) => self.column(name),
            other => Err(CqlError::invalid(format!(
                "Only column names are supported here, got {other}"
            ))),
        }
    }

    fn write_time(&self, kind: WriteTimeKind, selector: &Selector) -> CqlResult<Compiled> {
        let i = self.column_arg(selector)?;
        let (column, column_ty) = self.table.column(i)?;
        let fname = match kind {
            WriteTimeKind::WriteTime => "writetime",
            WriteTimeKind::MaxWriteTime => "maxwritetime",
            WriteTimeKind::Ttl => "ttl",
        };
        if matches!(
            column.kind,
            ColumnKind::PartitionKey | ColumnKind::Clustering
        ) {
            return Err(CqlError::invalid(format!(
                "Cannot use selection function {fname} on PRIMARY KEY part {}",
                column.name
            )));
        }
        let (ty, expr) = match kind {
            WriteTimeKind::Ttl => (NativeType::Int, Expr::Ttl(i)),
            _ => (NativeType::Bigint, Expr::WriteTime(i)),
        };
        let name = format!("{fname}({})", column.name);
        // Cassandra 5.0: writetime()/ttl() of a multi-cell column list each element's.
        if column_ty.is_multi_cell() && kind != WriteTimeKind::MaxWriteTime {
            let ttl = kind == WriteTimeKind::Ttl;
            let list = CqlType::List {
                element: Box::new(native(ty)),
                frozen: false,
            };
            return Ok(Compiled {
                expr: Expr::PieceTimes {
                    column: i,
                    ty: column_ty.clone(),
                    ttl,
                },
                ty: list,
                name,
            });
        }
        Ok(Compiled {
            expr,
            ty: native(ty),
            name,
        })
    }

    /// A literal or bind marker; its type is the receiving parameter's, else the literal's
    /// natural type.
    fn constant(&self, term: &Term, hint: Option<&CqlType>) -> CqlResult<Compiled> {
        let ty = match hint {
            Some(t) => t.clone(),
            None => default_type(term).ok_or_else(|| {
                CqlError::invalid(format!("Cannot infer type for term {term} in selection clause (try using a cast to force a type)"))
            })?,
        };
        let name = term.to_string();
        let value = match (self.bound, term) {
            (None, Term::Bind(_)) => None,
            (bound, _) => {
                let empty = BoundValues::default();
                let receiver = Receiver {
                    name: &name,
                    ty: &ty,
                };
                eval::evaluate(term, &receiver, bound.unwrap_or(&empty))?.into_option()
            }
        };
        Ok(Compiled {
            expr: Expr::Constant(value),
            ty,
            name,
        })
    }

    fn cast(
        &mut self,
        selector: &Selector,
        to: NativeType,
        depth: usize,
        in_aggregate: bool,
    ) -> CqlResult<Compiled> {
        let arg = self.selector(selector, None, depth + 1, in_aggregate)?;
        let name = format!("cast({} as {})", arg.name, to.name());
        let from = native_of(&arg.ty);
        // A cast to the argument's own type is no function at all, not even in the name.
        if from == Some(to) {
            return Ok(arg);
        }
        if from == Some(NativeType::Ascii) && to == NativeType::Text {
            return Ok(Compiled { name, ..arg });
        }
        if !from.is_some_and(|f| cast_allowed(f, to)) {
            return Err(CqlError::invalid(format!(
                "{} cannot be cast to {}",
                arg.name,
                to.name()
            )));
        }
        Ok(call(Scalar::Cast, vec![arg], native(to), name))
    }

    fn arithmetic(
        &mut self,
        op: ArithmeticOp,
        left: &Selector,
        right: &Selector,
        hint: Option<&CqlType>,
        depth: usize,
        in_aggregate: bool,
    ) -> CqlResult<Compiled> {
        // A constant operand takes the other operand's type, as Cassandra infers it.
        let (l, r) = match (left, right) {
            (Selector::Term(_), other) => {
                let r = self.selector(other, hint, depth + 1, in_aggregate)?;
                let l = self.selector(
                    left,
                    Some(&operand_hint(left, &r.ty)),
                    depth + 1,
                    in_aggregate,
                )?;
                (l, r)
            }
            _ => {
                let l = self.selector(left, hint, depth + 1, in_aggregate)?;
                let r = self.selector(
                    right,
                    Some(&operand_hint(right, &l.ty)),
                    depth + 1,
                    in_aggregate,
                )?;
                (l, r)
            }
        };
        let ret = arithmetic_type(op, &l.ty, &r.ty)?;
        let name = format!("{} {op} {}", l.name, r.name);
        Ok(call(Scalar::Arithmetic(op), vec![l, r], native(ret), name))
    }

    fn aggregate(
        &mut self,
        kind: AggregateKind,
        arg: Option<Compiled>,
        name: String,
        in_aggregate: bool,
    ) -> CqlResult<Compiled> {
        if in_aggregate {
            return Err(CqlError::invalid(
                "Aggregate functions cannot be used as arguments of aggregate functions",
            ));
        }
        let ty = match (kind, &arg) {
            (AggregateKind::CountRows | AggregateKind::Count, _) => native(NativeType::Bigint),
            (_, Some(a)) => a.ty.clone(),
            (_, None) => native(NativeType::Bigint),
        };
        let slot = self.aggregates.len();
        self.aggregates.push(AggregateSpec {
            kind,
            arg: arg.map(|a| (a.expr, a.ty)),
        });
        Ok(Compiled {
            expr: Expr::Aggregate(slot),
            ty,
            name,
        })
    }

    fn function(
        &mut self,
        name: &str,
        args: &[Selector],
        depth: usize,
        in_aggregate: bool,
    ) -> CqlResult<Compiled> {
        if name == "token" {
            return self.token(args);
        }
        if name == "fromjson" {
            return Err(CqlError::invalid(
                "fromJson() cannot be used in the selection clause",
            ));
        }
        if let Some(kind) = aggregate_kind(name, args) {
            return self.aggregate_call(kind, name, args, depth, in_aggregate);
        }
        let hints = parameter_hints(name, args.len());
        let mut compiled: Vec<Compiled> = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            // mask_replace's replacement takes the type of the masked value.
            let same_as_first = match (name, i, compiled.first()) {
                ("mask_replace", 1, Some(first)) => Some(first.ty.clone()),
                _ => None,
            };
            let hint = same_as_first
                .as_ref()
                .or(hints.get(i).and_then(Option::as_ref));
            compiled.push(self.selector(a, hint, depth + 1, in_aggregate)?);
        }
        let types: Vec<&CqlType> = compiled.iter().map(|c| &c.ty).collect();
        let shown: Vec<&str> = compiled.iter().map(|c| c.name.as_str()).collect();
        let (func, ret) = resolve_scalar(name, &types, &shown)?;
        let column = format!(
            "system.{name}({})",
            compiled
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(call(func, compiled, ret, column))
    }

    fn aggregate_call(
        &mut self,
        kind: AggregateKind,
        name: &str,
        args: &[Selector],
        depth: usize,
        in_aggregate: bool,
    ) -> CqlResult<Compiled> {
        if kind == AggregateKind::CountRows {
            return self.aggregate(kind, None, "count".into(), in_aggregate);
        }
        let [arg] = args else {
            return Err(CqlError::invalid(format!("Invalid number of arguments in call to function system.{name}: 1 required but {} provided", args.len())));
        };
        let arg = self.selector(arg, None, depth + 1, true)?;
        if in_aggregate {
            return Err(CqlError::invalid(
                "Aggregate functions cannot be used as arguments of aggregate functions",
            ));
        }
        if matches!(kind, AggregateKind::Sum | AggregateKind::Avg)
            && !native_of(&arg.ty).is_some_and(arith::is_numeric)
        {
            return Err(CqlError::invalid(format!(
                "Type error: {} cannot be passed as argument 0 of function system.{name} of type {}",
                arg.name, arg.ty
            )));
        }
        let column = format!("system.{name}({})", arg.name);
        self.aggregate(kind, Some(arg), column, in_aggregate)
    }

    fn token(&self, args: &[Selector]) -> CqlResult<Compiled> {
        let columns = args
            .iter()
            .map(|a| self.column_arg(a))
            .collect::<CqlResult<Vec<_>>>()?;
        if columns != self.table.partition_key_indexes() {
            return Err(CqlError::invalid(
                "Type error: token() arguments must be the partition key columns in order",
            ));
        }
        let names = columns
            .iter()
            .map(|i| Ok(self.table.column(*i)?.0.name.as_str()))
            .collect::<CqlResult<Vec<&str>>>()?;
        Ok(Compiled {
            expr: Expr::Token,
            ty: native(NativeType::Bigint),
            name: format!("system.token({})", names.join(", ")),
        })
    }
}

fn call(func: Scalar, args: Vec<Compiled>, ret: CqlType, name: String) -> Compiled {
    let args = args.into_iter().map(|a| (a.expr, a.ty)).collect();
    Compiled {
        expr: Expr::Call {
            func,
            args,
            ret: ret.clone(),
        },
        ty: ret,
        name,
    }
}

fn aggregate_kind(name: &str, args: &[Selector]) -> Option<AggregateKind> {
    Some(match name {
        "count" if is_count_rows_argument(args) => AggregateKind::CountRows,
        "count" => AggregateKind::Count,
        "min" => AggregateKind::Min,
        "max" => AggregateKind::Max,
        "sum" => AggregateKind::Sum,
        "avg" => AggregateKind::Avg,
        _ => return None,
    })
}

/// `count(1)` counts rows like `count(*)`.
fn is_count_rows_argument(args: &[Selector]) -> bool {
    matches!(args, [Selector::Term(Term::Literal(l))] if l.text == "1" && l.kind == LiteralKind::Integer)
}

/// The type a constant operand of an arithmetic operation takes: the other operand's,
/// but a float literal next to an integer is a double, and temporal arithmetic takes a
/// duration.
fn operand_hint(operand: &Selector, other: &CqlType) -> CqlType {
    let literal_kind = match operand {
        Selector::Term(Term::Literal(l)) => Some(l.kind),
        _ => None,
    };
    match (native_of(other), literal_kind) {
        (Some(NativeType::Timestamp | NativeType::Date), _) | (_, Some(LiteralKind::Duration)) => {
            native(NativeType::Duration)
        }
        (Some(t), Some(LiteralKind::Float))
            if !matches!(
                t,
                NativeType::Float | NativeType::Double | NativeType::Decimal
            ) =>
        {
            native(NativeType::Double)
        }
        (Some(NativeType::Counter), _) => native(NativeType::Bigint),
        _ => other.clone(),
    }
}

/// What expressions are evaluated against.
struct Input<'a> {
    row: Option<&'a FullRow>,
    aggregates: &'a [Option<Vec<u8>>],
    now_secs: i64,
}

fn eval_expr(expr: &Expr, input: &Input<'_>) -> CqlResult<Option<Vec<u8>>> {
    Ok(match expr {
        Expr::Column(i) => input.row.and_then(|r| r.value(*i)).map(<[u8]>::to_vec),
        Expr::WriteTime(i) => input
            .row
            .and_then(|r| r.cells.get(*i)?.as_ref())
            .map(|c| c.timestamp.to_be_bytes().to_vec()),
        Expr::Ttl(i) => input
            .row
            .and_then(|r| r.cells.get(*i)?.as_ref())
            .filter(|c| c.expires_at_secs > 0)
            .map(|c| {
                let remaining = (c.expires_at_secs - input.now_secs).max(0) as i32;
                remaining.to_be_bytes().to_vec()
            }),
        Expr::Token => input.row.map(|r| r.token.to_be_bytes().to_vec()),
        Expr::Constant(v) => v.clone(),
        Expr::Aggregate(slot) => input.aggregates.get(*slot).cloned().flatten(),
        Expr::PieceTimes { column, ty, ttl } => input
            .row
            .and_then(|r| r.cells.get(*column)?.as_ref())
            .and_then(|c| subselect::piece_times(ty, c, *ttl, input.now_secs)),
        Expr::Part { of, ty, access } => {
            eval_expr(of, input)?.and_then(|v| subselect::apply(access, ty, &v))
        }
        Expr::Call { func, args, ret } => {
            let values = args
                .iter()
                .map(|(e, _)| eval_expr(e, input))
                .collect::<CqlResult<Vec<_>>>()?;
            let types: Vec<&CqlType> = args.iter().map(|(_, t)| t).collect();
            apply_scalar(*func, &types, &values, ret)?
        }
    })
}

/// The aggregates of one group, plus its first row for non-aggregate selectors.
pub struct Group {
    accumulators: Vec<Accumulator>,
    first: Option<FullRow>,
}

impl Group {
    pub fn add(&mut self, selection: &Selection, row: &FullRow, now_secs: i64) -> CqlResult<()> {
        let input = Input {
            row: Some(row),
            aggregates: &[],
            now_secs,
        };
        for (acc, spec) in self.accumulators.iter_mut().zip(&selection.aggregates) {
            let value = match &spec.arg {
                Some((expr, _)) => eval_expr(expr, &input)?,
                None => None,
            };
            acc.add(spec.kind, spec.arg.as_ref().map(|(_, t)| t), value)?;
        }
        if self.first.is_none() {
            self.first = Some(row.clone());
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// The output row of the group.
    pub fn finish(self, selection: &Selection, now_secs: i64) -> CqlResult<Vec<Option<Bytes>>> {
        let aggregates = self
            .accumulators
            .into_iter()
            .zip(&selection.aggregates)
            .map(|(acc, spec)| acc.finish(spec.arg.as_ref().map(|(_, t)| t)))
            .collect::<CqlResult<Vec<_>>>()?;
        let input = Input {
            row: self.first.as_ref(),
            aggregates: &aggregates,
            now_secs,
        };
        selection
            .exprs
            .iter()
            .map(|e| Ok(eval_expr(e, &input)?.map(Bytes::from)))
            .collect()
    }
}
