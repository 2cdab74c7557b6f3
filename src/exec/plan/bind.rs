//! Bind-marker receivers: the name and type of every `?` of a statement, for PREPARE
//! metadata and for resolving named values.
//!
//! Invariant: receivers are listed by marker index; the names follow Cassandra
//! (`in(col)`, `[limit]`, `[ttl]`, `[timestamp]`, `partition key token`).

use crate::cql::ast::{
    Assignment, BatchChild, ConditionSelection, Deletion, InValues, InsertValues, Predicate,
    Relation, SelectStatement, Selection, Selector, Statement, Term, UpdateCondition, UsingClause,
};
use crate::error::{CqlError, CqlResult};
use crate::exec::context::Context;
use crate::prepared_cache::BindSpec;
use crate::schema::Table;
use crate::types::{CqlType, NativeType};

struct Collector<'t> {
    table: &'t Table,
    specs: Vec<Option<BindSpec>>,
    /// A function used where Cassandra refuses it (`toJson` outside the selection),
    /// reported before any untyped marker.
    misuse: Option<CqlError>,
}

impl Collector<'_> {
    fn add(&mut self, index: usize, name: &str, ty: CqlType, partition_key_column: Option<usize>) {
        if self.specs.len() <= index {
            self.specs.resize(index + 1, None);
        }
        let Some(slot) = self.specs.get_mut(index) else {
            return;
        };
        *slot = Some(BindSpec {
            keyspace: self.table.def.keyspace.clone(),
            table: self.table.def.name.clone(),
            name: name.to_string(),
            ty,
            partition_key_column,
        });
    }

    /// Records the markers inside `term`, whose receiver is `name` of type `ty`. Markers
    /// inside a literal are named after their receiver as Cassandra names them:
    /// `value(l)`, `key(m)`, `t[0]`, `u.field`.
    fn term(&mut self, term: &Term, name: &str, ty: &CqlType, pk: Option<usize>) {
        match (term, ty) {
            (Term::Bind(m), _) => self.add(m.index, name, ty.clone(), pk),
            (Term::TypeHint { term, .. }, _) => self.term(term, name, ty, pk),
            (Term::List(items), CqlType::List { element, .. })
            | (Term::List(items), CqlType::Vector { element, .. })
            | (Term::Set(items), CqlType::Set { element, .. }) => {
                for item in items {
                    self.term(item, &format!("value({name})"), element, None);
                }
            }
            (Term::Map(pairs), CqlType::Map { key, value, .. }) => {
                for (k, v) in pairs {
                    self.term(k, &format!("key({name})"), key, None);
                    self.term(v, &format!("value({name})"), value, None);
                }
            }
            (Term::Tuple(items), CqlType::Tuple(types)) => {
                for (i, (item, t)) in items.iter().zip(types).enumerate() {
                    self.term(item, &format!("{name}[{i}]"), t, None);
                }
            }
            (Term::Udt(fields), CqlType::Udt { def, .. }) => {
                for (field, value) in fields {
                    if let Some((_, t)) = def.fields.iter().find(|(n, _)| n == field) {
                        self.term(value, &format!("{name}.{field}"), t, None);
                    }
                }
            }
            (
                Term::FunctionCall {
                    name: function,
                    args,
                },
                _,
            ) => {
                if function.name.eq_ignore_ascii_case("tojson") {
                    self.misuse
                        .get_or_insert_with(crate::exec::expr::eval::to_json_misuse);
                }
                let hints =
                    crate::exec::expr::functions::parameter_hints(&function.name, args.len());
                for (i, (arg, hint)) in args.iter().zip(hints).enumerate() {
                    if let Some(ty) = hint {
                        self.term(arg, &format!("arg{i}(system.{})", function.name), &ty, None);
                    }
                }
            }
            _ => {}
        }
    }

    fn column(&self, name: &str) -> CqlResult<(usize, CqlType)> {
        let index = self.table.column_index(name).ok_or_else(|| {
            CqlError::invalid(format!(
                "Undefined column name {name} in table {}.{}",
                self.table.def.keyspace, self.table.def.name
            ))
        })?;
        Ok((index, self.table.column(index)?.1.clone()))
    }

    fn pk_position(&self, index: usize) -> Option<usize> {
        self.table
            .partition_key_indexes()
            .iter()
            .position(|i| *i == index)
            .map(|_| index)
    }

    fn relations(&mut self, relations: &[Relation]) -> CqlResult<()> {
        for relation in relations {
            match relation {
                Relation::Column { column, predicate } => {
                    let (index, ty) = self.column(column)?;
                    self.predicate(predicate, column, &ty, index)?;
                }
                Relation::Token { value, .. } => match value {
                    Term::FunctionCall { name, args } if name.name == "token" => {
                        for (arg, index) in args.iter().zip(self.table.partition_key_indexes()) {
                            let (column, ty) = self.table.column(index)?;
                            let (column, ty) = (column.name.clone(), ty.clone());
                            self.term(arg, &column, &ty, None);
                        }
                    }
                    _ => self.term(
                        value,
                        "partition key token",
                        &CqlType::Native(NativeType::Bigint),
                        None,
                    ),
                },
                Relation::MultiColumn { columns, predicate } => {
                    let types = columns
                        .iter()
                        .map(|c| self.column(c).map(|(_, t)| t))
                        .collect::<CqlResult<Vec<_>>>()?;
                    let name = format!("({})", columns.join(","));
                    // Cassandra checks the arity when preparing, before typing the markers.
                    let terms: Vec<&Term> = match predicate {
                        Predicate::Compare(_, term) => vec![term],
                        Predicate::In(InValues::Terms(terms)) => terms.iter().collect(),
                        Predicate::In(InValues::Marker(_)) => Vec::new(),
                    };
                    for term in terms {
                        if let Term::Tuple(items) = term {
                            if items.len() != types.len() {
                                return Err(CqlError::invalid(format!(
                                    "Expected {} elements in value tuple, but got {}: {term}",
                                    types.len(),
                                    items.len()
                                )));
                            }
                        }
                    }
                    let tuple = CqlType::Tuple(types);
                    match predicate {
                        Predicate::Compare(_, term) => {
                            self.column_tuple(term, columns, &name, &tuple)
                        }
                        Predicate::In(InValues::Terms(terms)) => terms
                            .iter()
                            .for_each(|t| self.column_tuple(t, columns, &name, &tuple)),
                        Predicate::In(InValues::Marker(m)) => self.add(
                            m.index,
                            &format!("in{name}"),
                            CqlType::List {
                                element: Box::new(tuple),
                                frozen: false,
                            },
                            None,
                        ),
                    }
                }
                Relation::Element {
                    column, key, value, ..
                } => {
                    let (_, ty) = self.column(column)?;
                    if let CqlType::Map {
                        key: k, value: v, ..
                    } = &ty
                    {
                        self.term(key, &format!("key({column})"), k, None);
                        self.term(value, &format!("value({column})"), v, None);
                    }
                }
                Relation::IsNotNull { .. } | Relation::CustomIndex { .. } => {}
            }
        }
        Ok(())
    }

    /// A value of a multi-column relation: the items of a tuple literal are typed and
    /// named by their columns (Cassandra prepares them against each column), a marker
    /// standing for the whole tuple is named `(a,b)`.
    fn column_tuple(&mut self, term: &Term, columns: &[String], name: &str, tuple: &CqlType) {
        match (term, tuple) {
            (Term::Tuple(items), CqlType::Tuple(types)) => {
                for ((item, column), ty) in items.iter().zip(columns).zip(types) {
                    self.term(item, column, ty, None);
                }
            }
            _ => self.term(term, name, tuple, None),
        }
    }

    fn predicate(
        &mut self,
        predicate: &Predicate,
        column: &str,
        ty: &CqlType,
        index: usize,
    ) -> CqlResult<()> {
        let pk = self.pk_position(index);
        match predicate {
            Predicate::Compare(op, term) => {
                use crate::cql::ast::Operator;
                let element = match (op, ty) {
                    (
                        Operator::Contains,
                        CqlType::List { element, .. } | CqlType::Set { element, .. },
                    ) => element.as_ref().clone(),
                    (Operator::Contains, CqlType::Map { value, .. }) => value.as_ref().clone(),
                    (Operator::ContainsKey, CqlType::Map { key, .. }) => key.as_ref().clone(),
                    _ => ty.clone(),
                };
                let pk = if *op == Operator::Eq { pk } else { None };
                self.term(term, column, &element, pk);
            }
            Predicate::In(InValues::Terms(terms)) => {
                terms.iter().for_each(|t| self.term(t, column, ty, None))
            }
            Predicate::In(InValues::Marker(m)) => self.add(
                m.index,
                &format!("in({column})"),
                CqlType::List {
                    element: Box::new(ty.clone()),
                    frozen: false,
                },
                None,
            ),
        }
        Ok(())
    }

    /// Markers of an `IF` clause: the element key and the compared value.
    fn condition(&mut self, condition: Option<&UpdateCondition>) -> CqlResult<()> {
        let Some(UpdateCondition::Conditions(conditions)) = condition else {
            return Ok(());
        };
        for condition in conditions {
            let (index, ty) = self.column(&condition.column)?;
            let column = condition.column.as_str();
            let compared = match (&condition.selection, &ty) {
                (Some(ConditionSelection::Element(key)), CqlType::Map { value, .. }) => {
                    self.term(key, &format!("key({column})"), &element_key_type(&ty), None);
                    value.as_ref().clone()
                }
                (Some(ConditionSelection::Element(key)), CqlType::List { element, .. }) => {
                    self.term(key, &format!("idx({column})"), &element_key_type(&ty), None);
                    element.as_ref().clone()
                }
                (Some(ConditionSelection::Field(field)), CqlType::Udt { def, .. }) => def
                    .fields
                    .iter()
                    .find(|(n, _)| n == field.as_str())
                    .map_or(ty.clone(), |(_, t)| t.clone()),
                _ => ty.clone(),
            };
            self.predicate(&condition.predicate, column, &compared, index)?;
        }
        Ok(())
    }

    fn using(&mut self, using: &UsingClause) {
        if let Some(t) = &using.ttl {
            self.term(t, "[ttl]", &CqlType::Native(NativeType::Int), None);
        }
        if let Some(t) = &using.timestamp {
            self.term(t, "[timestamp]", &CqlType::Native(NativeType::Bigint), None);
        }
    }

    fn select(&mut self, s: &SelectStatement) -> CqlResult<()> {
        if let Selection::Selectors(items) = &s.selection {
            items.iter().for_each(|item| self.selector(&item.selector));
        }
        self.relations(&s.where_clause)?;
        if let Some(t) = &s.per_partition_limit {
            self.term(
                t,
                "[per_partition_limit]",
                &CqlType::Native(NativeType::Int),
                None,
            );
        }
        if let Some(t) = &s.limit {
            self.term(t, "[limit]", &CqlType::Native(NativeType::Int), None);
        }
        Ok(())
    }

    /// Markers in element and slice selectors (`m[?]`, `s[?..?]`) of a column.
    fn selector(&mut self, selector: &Selector) {
        if let Selector::Function { name, args } = selector {
            self.function_arguments(&name.name.to_ascii_lowercase(), args);
            return;
        }
        let (inner, keys): (&Selector, Vec<&Term>) = match selector {
            Selector::Element { selector, key } => (selector, vec![key]),
            Selector::Slice { selector, from, to } => {
                (selector, from.iter().chain(to.iter()).collect())
            }
            Selector::Field { selector, .. } => (selector, Vec::new()),
            _ => return,
        };
        if let Selector::Column(name) = inner {
            if let Ok((_, ty)) = self.column(name) {
                keys.into_iter().for_each(|key| {
                    self.term(key, &format!("key({name})"), &element_key_type(&ty), None)
                });
            }
        }
        self.selector(inner);
    }

    /// Markers given to a function in the selection (`mask_inner(v, ?, ?)`), typed by the
    /// function's parameters; `mask_replace`'s replacement by the masked column.
    fn function_arguments(&mut self, name: &str, args: &[Selector]) {
        let hints = crate::exec::expr::functions::parameter_hints(name, args.len());
        for (i, arg) in args.iter().enumerate() {
            let hint = match (name, i, args.first()) {
                ("mask_replace", 1, Some(Selector::Column(column))) => {
                    self.column(column).ok().map(|(_, ty)| ty)
                }
                _ => hints.get(i).cloned().flatten(),
            };
            match (arg, hint) {
                (Selector::Term(term), Some(ty)) => {
                    self.term(term, &format!("arg{i}(system.{name})"), &ty, None)
                }
                (other, _) => self.selector(other),
            }
        }
    }

    fn child(&mut self, child: &BatchChild) -> CqlResult<()> {
        match child {
            BatchChild::Insert(s) => {
                self.using(&s.using);
                if let InsertValues::Columns { columns, values } = &s.values {
                    for (column, value) in columns.iter().zip(values) {
                        let (index, ty) = self.column(column)?;
                        let pk = self.pk_position(index);
                        self.term(value, column, &ty, pk);
                    }
                } else if let InsertValues::Json { value, .. } = &s.values {
                    self.term(value, "[json]", &CqlType::Native(NativeType::Text), None);
                }
            }
            BatchChild::Update(s) => {
                self.using(&s.using);
                for assignment in &s.assignments {
                    match assignment {
                        Assignment::Subtract { column, value } => {
                            // `m = m - ?` binds the set of keys to remove.
                            let ty = match self.column(column)?.1 {
                                CqlType::Map { key, .. } => CqlType::Set {
                                    element: key,
                                    frozen: false,
                                },
                                ty => ty,
                            };
                            self.term(value, column, &ty, None);
                        }
                        Assignment::Set { column, value }
                        | Assignment::Add { column, value }
                        | Assignment::Prepend { column, value } => {
                            let (_, ty) = self.column(column)?;
                            self.term(value, column, &ty, None);
                        }
                        Assignment::SetElement { column, key, value } => {
                            let (_, ty) = self.column(column)?;
                            match &ty {
                                CqlType::Map {
                                    key: k, value: v, ..
                                } => {
                                    self.term(key, &format!("key({column})"), k, None);
                                    self.term(value, &format!("value({column})"), v, None);
                                }
                                CqlType::List { element, .. } => {
                                    self.term(
                                        key,
                                        &format!("idx({column})"),
                                        &CqlType::Native(NativeType::Int),
                                        None,
                                    );
                                    self.term(value, &format!("value({column})"), element, None);
                                }
                                _ => {}
                            }
                        }
                        Assignment::SetField {
                            column,
                            field,
                            value,
                        } => {
                            if let CqlType::Udt { def, .. } = self.column(column)?.1 {
                                if let Some((_, ty)) =
                                    def.fields.iter().find(|(n, _)| n == field.as_str())
                                {
                                    self.term(value, &format!("{column}.{field}"), ty, None);
                                }
                            }
                        }
                    }
                }
                self.relations(&s.where_clause)?;
                self.condition(s.condition.as_ref())?;
            }
            BatchChild::Delete(s) => {
                if let Some(t) = &s.timestamp {
                    self.term(t, "[timestamp]", &CqlType::Native(NativeType::Bigint), None);
                }
                for deletion in &s.columns {
                    if let Deletion::Element { column, key } = deletion {
                        let ty = self.column(column)?.1;
                        self.term(key, &format!("key({column})"), &element_key_type(&ty), None);
                    }
                }
                self.relations(&s.where_clause)?;
                self.condition(s.condition.as_ref())?;
            }
        }
        Ok(())
    }
}

/// The type of `c[key]`'s key: the map key, a list index, a set element.
fn element_key_type(ty: &CqlType) -> CqlType {
    match ty {
        CqlType::Map { key, .. } => key.as_ref().clone(),
        CqlType::Set { element, .. } => element.as_ref().clone(),
        _ => CqlType::Native(NativeType::Int),
    }
}

/// Receivers of every bind marker of `statement`, in marker order.
pub fn bind_specs(ctx: &Context<'_>, statement: &Statement) -> CqlResult<Vec<BindSpec>> {
    let count = statement.bind_marker_count();
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut specs: Vec<Option<BindSpec>> = Vec::new();
    match statement {
        Statement::Select(s) => {
            let table = ctx.resolve_table(&s.table)?;
            let mut c = Collector {
                table: &table,
                specs,
                misuse: None,
            };
            c.select(s)?;
            if let Some(error) = c.misuse {
                return Err(error);
            }
            specs = c.specs;
        }
        Statement::Insert(s) => specs = child_specs(ctx, &BatchChild::Insert(s.clone()), specs)?,
        Statement::Update(s) => specs = child_specs(ctx, &BatchChild::Update(s.clone()), specs)?,
        Statement::Delete(s) => specs = child_specs(ctx, &BatchChild::Delete(s.clone()), specs)?,
        Statement::Batch(b) => {
            for child in &b.statements {
                specs = child_specs(ctx, child, specs)?;
            }
        }
        _ => {
            return Err(CqlError::invalid(
                "Bind variables are not allowed in this statement",
            ))
        }
    }
    specs.resize(count, None);
    specs
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            s.ok_or_else(|| CqlError::invalid(format!("Cannot infer the type of bind marker {i}")))
        })
        .collect()
}

fn child_specs(
    ctx: &Context<'_>,
    child: &BatchChild,
    specs: Vec<Option<BindSpec>>,
) -> CqlResult<Vec<Option<BindSpec>>> {
    let name = match child {
        BatchChild::Insert(s) => &s.table,
        BatchChild::Update(s) => &s.table,
        BatchChild::Delete(s) => &s.table,
    };
    let table = ctx.resolve_table(name)?;
    let mut c = Collector {
        table: &table,
        specs,
        misuse: None,
    };
    c.child(child)?;
    match c.misuse {
        Some(error) => Err(error),
        None => Ok(c.specs),
    }
}

/// Positions (among the markers) of the partition key components, in key order, when
/// every component is bound by its own marker; empty otherwise (no token routing).
pub fn partition_key_indexes(table: &Table, specs: &[BindSpec]) -> Vec<u16> {
    let mut out = Vec::new();
    for column in table.partition_key_indexes() {
        match specs
            .iter()
            .position(|s| s.partition_key_column == Some(column))
        {
            Some(position) => out.push(position as u16),
            None => return Vec::new(),
        }
    }
    out
}
