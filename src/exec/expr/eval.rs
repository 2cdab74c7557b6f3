//! Evaluates terms (literals, bind markers, collection literals, a few functions) into
//! wire-format values for a receiver of known type.
//!
//! Invariant: every value returned here has been validated against the receiver's type,
//! whether it came from a literal or from a driver's bound bytes.

use strata_protocol::Value;

use super::timeuuid;
use crate::cql::ast::{BindMarker, Literal, LiteralKind, Term};
use crate::error::{CqlError, CqlResult};
use crate::types::{self, CqlType, NativeType};

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

/// The native functions usable as terms in writes and WHERE clauses.
fn function(
    name: &str,
    args: &[Term],
    receiver: &Receiver<'_>,
    bound: &BoundValues,
) -> CqlResult<Evaluated> {
    let native = |t| CqlType::Native(t);
    let value = match (name, args) {
        ("now", []) => timeuuid::now().to_vec(),
        ("uuid", []) => uuid::Uuid::new_v4().as_bytes().to_vec(),
        ("currenttimestamp", []) => crate::clock::now_millis().to_be_bytes().to_vec(),
        ("currentdate", []) => timeuuid::today().to_be_bytes().to_vec(),
        ("currenttime", []) => (crate::clock::now_micros().rem_euclid(86_400_000_000) * 1000)
            .to_be_bytes()
            .to_vec(),
        ("currenttimeuuid", []) => timeuuid::now().to_vec(),
        ("totimestamp", [arg]) | ("tounixtimestamp", [arg]) => {
            let ty = native(NativeType::Timeuuid);
            let v = required_element(
                arg,
                &Receiver {
                    name: receiver.name,
                    ty: &ty,
                },
                bound,
            )?
            .unwrap_or_default();
            // timestamp and bigint share the 8-byte big-endian millisecond form.
            timeuuid::unix_millis(&v)
                .ok_or_else(|| CqlError::invalid("Invalid timeuuid"))?
                .to_be_bytes()
                .to_vec()
        }
        ("mintimeuuid", [arg]) | ("maxtimeuuid", [arg]) => {
            let ty = native(NativeType::Timestamp);
            let v = required_element(
                arg,
                &Receiver {
                    name: receiver.name,
                    ty: &ty,
                },
                bound,
            )?
            .unwrap_or_default();
            let millis = i64::from_be_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| CqlError::invalid("invalid timestamp"))?,
            );
            timeuuid::bound(millis, name == "maxtimeuuid").to_vec()
        }
        _ => {
            if let Some(result) = super::functions::term_function(name, args, receiver, bound) {
                return result;
            }
            return Err(CqlError::invalid(format!(
                "Unknown function {name} called with {} arguments",
                args.len()
            )));
        }
    };
    types::validate(receiver.ty, &value).map_err(|_| {
        CqlError::invalid(format!(
            "Type error: cannot assign result of function system.{name} to {} of type {}",
            receiver.name, receiver.ty
        ))
    })?;
    Ok(Evaluated::Value(value))
}
