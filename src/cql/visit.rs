//! Walks a statement to find its bind markers.
//!
//! The planner needs every marker with its index to build PREPARE metadata; markers may hide in
//! selectors, relations, conditions, assignments, USING clauses and batch children.

use super::ast::*;

impl Statement {
    /// All bind markers of the statement, ordered by [`BindMarker::index`].
    pub fn bind_markers(&self) -> Vec<&BindMarker> {
        let mut markers = Vec::new();
        self.collect_markers(&mut |marker| markers.push(marker));
        markers.sort_by_key(|m| m.index);
        markers
    }

    /// The number of bind markers (= the number of values an EXECUTE must carry). Walks the
    /// tree without allocating.
    pub fn bind_marker_count(&self) -> usize {
        let mut count = 0;
        self.collect_markers(&mut |_| count += 1);
        count
    }
}

/// Calls `out` with each bind marker found in `self` (in any order).
trait CollectMarkers {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker));
}

impl<T: CollectMarkers> CollectMarkers for [T] {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        for item in self {
            item.collect_markers(out);
        }
    }
}

impl<T: CollectMarkers> CollectMarkers for Option<T> {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        if let Some(item) = self {
            item.collect_markers(out);
        }
    }
}

impl<T: CollectMarkers, U: CollectMarkers> CollectMarkers for (T, U) {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        self.0.collect_markers(out);
        self.1.collect_markers(out);
    }
}

/// Names and types carry no markers; this lets tuples like `(Ident, Term)` use the generic impls.
impl CollectMarkers for Ident {
    fn collect_markers<'a>(&'a self, _out: &mut dyn FnMut(&'a BindMarker)) {}
}

impl CollectMarkers for Statement {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        match self {
            Statement::Select(s) => s.collect_markers(out),
            Statement::Insert(s) => s.collect_markers(out),
            Statement::Update(s) => s.collect_markers(out),
            Statement::Delete(s) => s.collect_markers(out),
            Statement::Batch(b) => {
                b.using.collect_markers(out);
                b.statements.collect_markers(out);
            }
            Statement::CreateView(v) => {
                v.selection.collect_markers(out);
                v.where_clause.collect_markers(out);
            }
            Statement::CreateAggregate(a) => a.initial_condition.collect_markers(out),
            // Schema, DESCRIBE and Strata snapshot statements have no terms.
            _ => {}
        }
    }
}

impl CollectMarkers for BatchChild {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        match self {
            BatchChild::Insert(s) => s.collect_markers(out),
            BatchChild::Update(s) => s.collect_markers(out),
            BatchChild::Delete(s) => s.collect_markers(out),
        }
    }
}

impl CollectMarkers for SelectStatement {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        self.selection.collect_markers(out);
        self.where_clause.collect_markers(out);
        self.group_by.collect_markers(out);
        for ordering in &self.order_by {
            ordering.ann_of.collect_markers(out);
        }
        self.per_partition_limit.collect_markers(out);
        self.limit.collect_markers(out);
    }
}

impl CollectMarkers for InsertStatement {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        match &self.values {
            InsertValues::Columns { values, .. } => values.collect_markers(out),
            InsertValues::Json { value, .. } => value.collect_markers(out),
        }
        self.using.collect_markers(out);
    }
}

impl CollectMarkers for UpdateStatement {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        self.using.collect_markers(out);
        self.assignments.collect_markers(out);
        self.where_clause.collect_markers(out);
        self.condition.collect_markers(out);
    }
}

impl CollectMarkers for DeleteStatement {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        self.columns.collect_markers(out);
        self.timestamp.collect_markers(out);
        self.where_clause.collect_markers(out);
        self.condition.collect_markers(out);
    }
}

impl CollectMarkers for UsingClause {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        self.ttl.collect_markers(out);
        self.timestamp.collect_markers(out);
    }
}

impl CollectMarkers for Assignment {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        match self {
            Assignment::Set { value, .. }
            | Assignment::Add { value, .. }
            | Assignment::Subtract { value, .. }
            | Assignment::Prepend { value, .. }
            | Assignment::SetField { value, .. } => value.collect_markers(out),
            Assignment::SetElement { key, value, .. } => {
                key.collect_markers(out);
                value.collect_markers(out);
            }
        }
    }
}

impl CollectMarkers for UpdateCondition {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        if let UpdateCondition::Conditions(conditions) = self {
            conditions.collect_markers(out);
        }
    }
}

impl CollectMarkers for Condition {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        if let Some(ConditionSelection::Element(key)) = &self.selection {
            key.collect_markers(out);
        }
        self.predicate.collect_markers(out);
    }
}

impl CollectMarkers for Deletion {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        if let Deletion::Element { key, .. } = self {
            key.collect_markers(out);
        }
    }
}

impl CollectMarkers for Relation {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        match self {
            Relation::Column { predicate, .. } | Relation::MultiColumn { predicate, .. } => {
                predicate.collect_markers(out)
            }
            Relation::IsNotNull { .. } => {}
            Relation::Element { key, value, .. } => {
                key.collect_markers(out);
                value.collect_markers(out);
            }
            Relation::Token { value, .. } => value.collect_markers(out),
            Relation::CustomIndex { expression, .. } => expression.collect_markers(out),
        }
    }
}

impl CollectMarkers for Predicate {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        match self {
            Predicate::Compare(_, term) => term.collect_markers(out),
            Predicate::In(InValues::Terms(terms)) => terms.collect_markers(out),
            Predicate::In(InValues::Marker(marker)) => out(marker),
        }
    }
}

impl CollectMarkers for Selection {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        if let Selection::Selectors(items) = self {
            for item in items {
                item.selector.collect_markers(out);
            }
        }
    }
}

impl CollectMarkers for Selector {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        match self {
            Selector::Column(_) | Selector::CountRows => {}
            Selector::Term(term) => term.collect_markers(out),
            Selector::WriteTimeOrTtl { selector, .. }
            | Selector::Cast { selector, .. }
            | Selector::Field { selector, .. }
            | Selector::TypeHint { selector, .. }
            | Selector::Negate(selector) => selector.collect_markers(out),
            Selector::Function { args, .. } => args.collect_markers(out),
            Selector::Element { selector, key } => {
                selector.collect_markers(out);
                key.collect_markers(out);
            }
            Selector::Slice { selector, from, to } => {
                selector.collect_markers(out);
                from.collect_markers(out);
                to.collect_markers(out);
            }
            Selector::List(items) | Selector::Set(items) | Selector::Tuple(items) => {
                items.collect_markers(out)
            }
            Selector::Map(entries) => entries.collect_markers(out),
            Selector::Arithmetic { left, right, .. } => {
                left.collect_markers(out);
                right.collect_markers(out);
            }
        }
    }
}

impl CollectMarkers for Term {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        match self {
            Term::Literal(_) => {}
            Term::Bind(marker) => out(marker),
            Term::List(items) | Term::Set(items) | Term::Tuple(items) => items.collect_markers(out),
            Term::FunctionCall { args, .. } => args.collect_markers(out),
            Term::Map(entries) => entries.collect_markers(out),
            Term::Udt(fields) => fields.collect_markers(out),
            Term::TypeHint { term, .. } | Term::Negate(term) => term.collect_markers(out),
            Term::Arithmetic { left, right, .. } => {
                left.collect_markers(out);
                right.collect_markers(out);
            }
        }
    }
}

impl<T: CollectMarkers + ?Sized> CollectMarkers for Box<T> {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        (**self).collect_markers(out);
    }
}

impl<T: CollectMarkers> CollectMarkers for Vec<T> {
    fn collect_markers<'a>(&'a self, out: &mut dyn FnMut(&'a BindMarker)) {
        self.as_slice().collect_markers(out);
    }
}
