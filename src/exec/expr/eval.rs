//! Evaluates terms (literals, bind markers, collection and UDT literals, native function
//! calls, arithmetic, fromJson) into
//! wire-format values for a receiver of known type.
//!
//! Invariant: every value returned here has been validated against the receiver's type,
//! whether it came from a literal or from a driver's bound bytes.

use strata_protocol::Value;

use super::arith;
use super::functions::{
    apply_scalar, arithmetic_value, default_type, is_known_scalar, native, native_of,
    parameter_hints, resolve_scalar, Scalar,
};
use super::json;
use crate::cql::ast::{ArithmeticOp, BindMarker, Literal, LiteralKind, Term};
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
        Term::Negate(inner) => term_arithmetic(None, inner, None, receiver, bound),
        Term::Arithmetic { op, left, right } => {
            term_arithmetic(Some(*op), left, Some(right), receiver, bound)
        }
        Term::Udt(fields) => udt(fields, receiver, bound),
    }
}

/// Evaluates to a value, rejecting null and unset (key columns, LIMIT, ...).
pub fn evaluate_required(
    term: &Term,
    receiver: &Receiver<'_>,
    bound: &BoundValues,
    what: impl std::fmt::Display,
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

fn to_type_kind(kind: LiteralKind) -> types::ConstantKind {
    match kind {
        LiteralKind::String => types::ConstantKind::String,
        LiteralKind::Integer => types::ConstantKind::Integer,
        LiteralKind::Float => types::ConstantKind::Float,
        LiteralKind::Boolean => types::ConstantKind::Boolean,
        LiteralKind::Null => types::ConstantKind::Null,
        LiteralKind::Uuid => types::ConstantKind::Uuid,
        LiteralKind::Blob => types::ConstantKind::Hex,
        LiteralKind::Duration => types::ConstantKind::Duration,
        LiteralKind::NaN | LiteralKind::Infinity => types::ConstantKind::Float,
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

/// A native function called in a term (INSERT values, WHERE) for a receiver of a known
/// type: `fromJson`, else resolved and applied by `functions`, the one dispatch of
/// native functions.
fn function(
    name: &str,
    args: &[Term],
    receiver: &Receiver<'_>,
    bound: &BoundValues,
) -> CqlResult<Evaluated> {
    if name == "fromjson" {
        return from_json(args, receiver, bound);
    }
    if name == "tojson" {
        return Err(to_json_misuse());
    }
    if !is_known_scalar(name) {
        return Err(CqlError::invalid(format!(
            "Unknown function {name} called with {} arguments",
            args.len()
        )));
    }
    // In a term, `toTimestamp(x)` and `toUnixTimestamp(x)` take a timeuuid (`now()`, `?`).
    let hints = match (name, args.len()) {
        ("totimestamp" | "tounixtimestamp", 1) => vec![Some(native(NativeType::Timeuuid))],
        _ => parameter_hints(name, args.len()),
    };
    let mut types = Vec::with_capacity(args.len());
    let mut values = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        let ty = hints
            .get(i)
            .cloned()
            .flatten()
            .or_else(|| default_type(arg))
            .ok_or_else(|| {
                CqlError::invalid(format!(
                    "Cannot infer type of argument {arg} in call to function system.{name}"
                ))
            })?;
        let value = match evaluate(
            arg,
            &Receiver {
                name: receiver.name,
                ty: &ty,
            },
            bound,
        )? {
            Evaluated::Unset => {
                return Err(CqlError::invalid(format!(
                    "Invalid unset value for argument in call to function {name}"
                )))
            }
            evaluated => evaluated.into_option(),
        };
        types.push(ty);
        values.push(value);
    }
    let type_refs: Vec<&CqlType> = types.iter().collect();
    let shown: Vec<String> = args.iter().map(Term::to_string).collect();
    let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
    let (func, ret) = resolve_scalar(name, &type_refs, &shown)?;
    let value = apply_scalar(func, &type_refs, &values, &ret)?;
    if ret != *receiver.ty
        && !(ret == native(NativeType::Text) && *receiver.ty == native(NativeType::Ascii))
    {
        if let Some(v) = &value {
            types::validate(receiver.ty, v).map_err(|_| {
                CqlError::invalid(format!("Type error: cannot assign result of function system.{name} (type {ret}) to {} (type {})", receiver.name, receiver.ty))
            })?;
        }
    }
    Ok(value.map_or(Evaluated::Null, Evaluated::Value))
}

/// `left op right` (or `-inner`) as a term for a receiver: constants take the receiver's
/// type, and the result must fit it.
fn term_arithmetic(
    op: Option<ArithmeticOp>,
    left: &Term,
    right: Option<&Term>,
    receiver: &Receiver<'_>,
    bound: &BoundValues,
) -> CqlResult<Evaluated> {
    let ty = native_of(receiver.ty)
        .filter(|t| arith::is_numeric(*t) || matches!(t, NativeType::Timestamp | NativeType::Date))
        .ok_or_else(|| {
            CqlError::invalid(format!(
                "Invalid arithmetic operation for {} of type {}",
                receiver.name, receiver.ty
            ))
        })?;
    let operand_ty = |term: &Term, first: bool| -> NativeType {
        match (ty, term) {
            (NativeType::Timestamp | NativeType::Date, _) if !first => NativeType::Duration,
            (NativeType::Counter, _) => NativeType::Bigint,
            _ => ty,
        }
    };
    let value = |term: &Term, first: bool| -> CqlResult<(NativeType, Option<Vec<u8>>)> {
        let t = operand_ty(term, first);
        Ok((
            t,
            evaluate(
                term,
                &Receiver {
                    name: receiver.name,
                    ty: &native(t),
                },
                bound,
            )?
            .into_option(),
        ))
    };
    let (lt, l) = value(left, true)?;
    let result = match (op, right) {
        (Some(op), Some(right)) => {
            let (rt, r) = value(right, false)?;
            match (l, r) {
                (Some(l), Some(r)) => arithmetic_value(op, lt, &l, rt, &r, lt)?,
                _ => None,
            }
        }
        _ => match l {
            Some(l) => apply_scalar(Scalar::Negate, &[&native(lt)], &[Some(l)], &native(lt))?,
            None => None,
        },
    };
    Ok(result.map_or(Evaluated::Null, Evaluated::Value))
}

/// The JSON text of an INSERT JSON value (a string literal or a bind marker).
pub fn json_text(term: &Term, bound: &BoundValues, what: &str) -> CqlResult<Vec<u8>> {
    let text = CqlType::Native(NativeType::Text);
    evaluate_required(
        term,
        &Receiver {
            name: what,
            ty: &text,
        },
        bound,
        format_args!("for {what}"),
    )
}

/// Cassandra's refusal of `toJson` in a term (INSERT values, WHERE, conditions).
pub fn to_json_misuse() -> CqlError {
    CqlError::invalid("toJson() may only be used within the selection clause")
}

/// `fromJson(text)` as a term for a receiver of known type.
fn from_json(args: &[Term], receiver: &Receiver<'_>, bound: &BoundValues) -> CqlResult<Evaluated> {
    let [arg] = args else {
        return Err(CqlError::invalid(format!("Invalid number of arguments in call to function system.fromjson: 1 required but {} provided", args.len())));
    };
    let text_type = CqlType::Native(NativeType::Text);
    let argument = Receiver {
        name: "fromjson",
        ty: &text_type,
    };
    // A null argument gives null (Cassandra's FromJsonFct); unset is refused as for any
    // function argument.
    let text = match evaluate(arg, &argument, bound)? {
        Evaluated::Value(text) => text,
        Evaluated::Null => return Ok(Evaluated::Null),
        Evaluated::Unset => {
            return Err(CqlError::invalid(
                "Invalid unset value for argument in call to function fromjson",
            ))
        }
    };
    // Text that is no JSON, or no value of the receiver's type, fails the function's
    // execution (FunctionExecutionException), not the request's validation.
    let failure = |message: String| CqlError::FunctionFailure {
        keyspace: "system".into(),
        function: "fromjson".into(),
        arg_types: vec!["text".into()],
        message,
    };
    let json = json::parse_json(&text).map_err(|e| {
        failure(format!(
            "Could not decode JSON string '{}': {e}",
            String::from_utf8_lossy(&text)
        ))
    })?;
    let value = types::from_json(receiver.ty, &json).map_err(|e| failure(e.to_string()))?;
    Ok(value.map_or(Evaluated::Null, Evaluated::Value))
}
