//! Evaluates terms (literals, bind markers, collection literals, a few functions) into
//! wire-format values for a receiver of known type.
//!
//! Invariant: every value returned here has been validated against the receiver's type,
//! whether it came from a literal or from a driver's bound bytes.

use strata_protocol::Value;

use crate::cql::ast::{BindMarker, Literal, LiteralKind, Term};
use crate::error::{CqlError, CqlResult};
use crate::types::{self, CqlType};

/// A term evaluated for one receiver.
#[derive(Clone, Debug, PartialEq)]
pub enum Evaluated {
    Value(Vec<u8>),
    Null,
    /// A bound value the client left unset: the column is not touched.
    Unset,
}

impl Evaluated {
    pub fn into_option(self) -> Option<Vec<u8>> {
        match self {
            Evaluated::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// Values bound to a statement's markers, positional after resolving names.
#[derive(Clone, Debug, Default)]
pub struct BoundValues {
    pub values: Vec<Value>,
}

impl BoundValues {
    fn get(&self, marker: &BindMarker) -> CqlResult<&Value> {
        self.values.get(marker.index).ok_or_else(|| {
            CqlError::invalid(format!(
                "There were {} markers(?) in CQL but {} bound variables",
                marker.index + 1,
                self.values.len()
            ))
        })
    }
}

/// Where a value goes, for error messages (`for "col" of type int`).
pub struct Receiver<'a> {
    pub name: &'a str,
    pub ty: &'a CqlType,
}

pub fn evaluate(term: &Term, receiver: &Receiver<'_>, bound: &BoundValues) -> CqlResult<Evaluated> {
    match term {
        Term::Literal(lit) => literal(lit, receiver),
        Term::Bind(marker) => bound_value(bound.get(marker)?, receiver),
        Term::TypeHint { term, .. } => evaluate(term, receiver, bound),
        Term::List(items) | Term::Set(items) => collection(term, items, receiver, bound),
        Term::Map(pairs) => map(pairs, receiver, bound),
        Term::Tuple(items) => tuple(items, receiver, bound),
        Term::FunctionCall { name, args } => function(&name.name, args, receiver, bound),
        Term::Negate(inner) => {
            super::functions::term_arithmetic(None, inner, None, receiver, bound)
        }
        Term::Arithmetic { op, left, right } => {
            super::functions::term_arithmetic(Some(*op), left, Some(right), receiver, bound)
        }
        Term::Cast { term, ty } => super::functions::term_cast(term, *ty, receiver, bound),
        Term::Udt(fields) => udt(fields, receiver, bound),
    }
}

/// Evaluates to a value, rejecting null and unset (key columns, LIMIT, ...).
pub fn evaluate_required(
    term: &Term,
    receiver: &Receiver<'_>,
    bound: &BoundValues,
    what: &str,
) -> CqlResult<Vec<u8>> {
    match evaluate(term, receiver, bound)? {
        Evaluated::Value(v) => Ok(v),
        Evaluated::Null => Err(CqlError::invalid(format!("Invalid null value {what}"))),
        Evaluated::Unset => Err(CqlError::invalid(format!("Invalid unset value {what}"))),
    }
}

fn literal(lit: &Literal, receiver: &Receiver<'_>) -> CqlResult<Evaluated> {
    let value = types::literal_to_bytes(
        receiver.ty,
        to_type_kind(lit.kind),
        &lit.text,
        receiver.name,
    )?;
    Ok(value.map_or(Evaluated::Null, Evaluated::Value))
}

fn to_type_kind(kind: LiteralKind) -> types::LiteralKind {
    match kind {
        LiteralKind::String => types::LiteralKind::String,
        LiteralKind::Integer => types::LiteralKind::Integer,
        LiteralKind::Float => types::LiteralKind::Float,
        LiteralKind::Boolean => types::LiteralKind::Boolean,
        LiteralKind::Null => types::LiteralKind::Null,
        LiteralKind::Uuid => types::LiteralKind::Uuid,
        LiteralKind::Blob => types::LiteralKind::Hex,
        LiteralKind::Duration => types::LiteralKind::Duration,
        LiteralKind::NaN | LiteralKind::Infinity => types::LiteralKind::Float,
    }
}

fn bound_value(value: &Value, receiver: &Receiver<'_>) -> CqlResult<Evaluated> {
    match value {
        Value::Null => Ok(Evaluated::Null),
        Value::Unset => Ok(Evaluated::Unset),
        Value::Set(bytes) => {
            types::validate(receiver.ty, bytes)?;
            Ok(Evaluated::Value(types::canonical_bound_value(
                receiver.ty,
                bytes,
            )?))
        }
    }
}

fn element_receiver<'a>(receiver: &Receiver<'a>, ty: &'a CqlType) -> Receiver<'a> {
    Receiver {
        name: receiver.name,
        ty,
    }
}

fn required_element(
    term: &Term,
    receiver: &Receiver<'_>,
    bound: &BoundValues,
) -> CqlResult<Option<Vec<u8>>> {
    match evaluate(term, receiver, bound)? {
        Evaluated::Value(v) => Ok(Some(v)),
        _ => Err(CqlError::invalid(
            "null is not supported inside collections",
        )),
    }
}

fn collection(
    term: &Term,
    items: &[Term],
    receiver: &Receiver<'_>,
    bound: &BoundValues,
) -> CqlResult<Evaluated> {
    match (receiver.ty, term) {
        (CqlType::List { element, .. }, Term::List(_)) => {
            let values = items
                .iter()
                .map(|t| required_element(t, &element_receiver(receiver, element), bound));
            Ok(Evaluated::Value(types::serialize_list(
                &values.collect::<CqlResult<Vec<_>>>()?,
            )?))
        }
        (CqlType::Set { element, .. }, Term::Set(_)) => {
            let values = items
                .iter()
                .map(|t| required_element(t, &element_receiver(receiver, element), bound));
            Ok(Evaluated::Value(types::serialize_set(
                element,
                &values.collect::<CqlResult<Vec<_>>>()?,
            )?))
        }
        // `{}` parses as a set; it is also the empty map.
        (CqlType::Map { .. }, Term::Set(items)) if items.is_empty() => map(&[], receiver, bound),
        _ => Err(CqlError::invalid(format!(
            "Invalid {} literal for {} of type {}",
            literal_name(term),
            receiver.name,
            receiver.ty
        ))),
    }
}

fn literal_name(term: &Term) -> &'static str {
    match term {
        Term::List(_) => "list",
        Term::Set(_) => "set",
        Term::Map(_) => "map",
        Term::Tuple(_) => "tuple",
        _ => "value",
    }
}

fn map(
    pairs: &[(Term, Term)],
    receiver: &Receiver<'_>,
    bound: &BoundValues,
) -> CqlResult<Evaluated> {
    let CqlType::Map { key, value, .. } = receiver.ty else {
        return Err(CqlError::invalid(format!(
            "Invalid map literal for {} of type {}",
            receiver.name, receiver.ty
        )));
    };
    let entries = pairs
        .iter()
        .map(|(k, v)| {
            Ok((
                required_element(k, &element_receiver(receiver, key), bound)?,
                required_element(v, &element_receiver(receiver, value), bound)?,
            ))
        })
        .collect::<CqlResult<Vec<_>>>()?;
    Ok(Evaluated::Value(types::serialize_map(key, &entries)?))
}

/// `{field: term, ...}` for a user-defined type receiver; absent fields are null.
fn udt(
    fields: &[(String, Term)],
    receiver: &Receiver<'_>,
    bound: &BoundValues,
) -> CqlResult<Evaluated> {
    let CqlType::Udt { def, .. } = receiver.ty else {
        return Err(CqlError::invalid(format!(
            "Invalid user type literal for {} of type {}",
            receiver.name, receiver.ty
        )));
    };
    let values = fields
        .iter()
        .map(|(name, term)| {
            let (_, field_ty) = def.fields.iter().find(|(f, _)| f == name).ok_or_else(|| {
                CqlError::invalid(format!(
                    "Unknown field '{name}' in value of user defined type {}",
                    types::maybe_quote_identifier(&def.name)
                ))
            })?;
            Ok((
                name.clone(),
                evaluate(term, &element_receiver(receiver, field_ty), bound)?.into_option(),
            ))
        })
        .collect::<CqlResult<Vec<_>>>()?;
    Ok(Evaluated::Value(types::serialize_udt(def, &values)?))
}

fn tuple(items: &[Term], receiver: &Receiver<'_>, bound: &BoundValues) -> CqlResult<Evaluated> {
    let CqlType::Tuple(types_) = receiver.ty else {
        if let [single] = items {
            return evaluate(single, receiver, bound);
        }
        return Err(CqlError::invalid(format!(
            "Invalid tuple literal for {} of type {}",
            receiver.name, receiver.ty
        )));
    };
    if items.len() > types_.len() {
        return Err(CqlError::invalid(format!(
            "Invalid tuple literal for {}: too many elements. Type {} expects {} but got {}",
            receiver.name,
            receiver.ty,
            types_.len(),
            items.len()
        )));
    }
    let elements = items
        .iter()
        .zip(types_)
        .map(|(t, ty)| {
            evaluate(t, &element_receiver(receiver, ty), bound).map(Evaluated::into_option)
        })
        .collect::<CqlResult<Vec<_>>>()?;
    Ok(Evaluated::Value(types::serialize_tuple(
        receiver.ty,
        &elements,
        receiver.name,
    )?))
}

/// A native function called in a term (INSERT values, WHERE): resolved and applied by
/// `functions`, the one dispatch of native functions.
fn function(
    name: &str,
    args: &[Term],
    receiver: &Receiver<'_>,
    bound: &BoundValues,
) -> CqlResult<Evaluated> {
    super::functions::term_function(name, args, receiver, bound).unwrap_or_else(|| {
        Err(CqlError::invalid(format!(
            "Unknown function {name} called with {} arguments",
            args.len()
        )))
    })
}
