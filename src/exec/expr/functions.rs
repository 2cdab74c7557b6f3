//! Native scalar functions (time, timeuuid, blob conversion, `toJson`, 5.0's math,
//! collection and masking functions), CAST and arithmetic on values: the one place
//! native functions are resolved (by name and argument types, with Cassandra's result
//! types and messages) and applied, for SELECT selectors (`read::selection`) and for
//! terms (`eval`).

use super::aggregate::{Accumulator, AggregateKind};
use super::masking::{self, Mask};
use super::math::{self, MathFn};
use super::{arith, collections};
use crate::cql::ast::{self, ArithmeticOp, LiteralKind, Term};
use crate::error::{CqlError, CqlResult};
use crate::types::{self, CqlType, NativeType};

/// The native scalar functions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    Now,
    Uuid,
    CurrentTimestamp,
    CurrentDate,
    CurrentTime,
    ToDate,
    ToTimestamp,
    ToUnixTimestamp,
    MinTimeuuid,
    MaxTimeuuid,
    AsBlob,
    BlobAs,
    ToJson,
    Cast,
    Arithmetic(ArithmeticOp),
    Negate,
    Math(MathFn),
    MapKeys,
    MapValues,
    CollectionCount,
    /// `collection_min`/`max`/`sum`/`avg`: the aggregate over the elements.
    CollectionAggregate(AggregateKind),
    Mask(Mask),
}

pub fn native(t: NativeType) -> CqlType {
    CqlType::Native(t)
}

pub fn native_of(ty: &CqlType) -> Option<NativeType> {
    match ty {
        CqlType::Native(t) => Some(*t),
        _ => None,
    }
}

/// The planner's native type of a parsed one.
pub fn ast_native(ty: ast::NativeTypeName) -> NativeType {
    NativeType::from_name(&ty.to_string()).unwrap_or(NativeType::Blob)
}

pub fn default_type(term: &Term) -> Option<CqlType> {
    let Term::Literal(lit) = term else {
        return None;
    };
    Some(native(match lit.kind {
        LiteralKind::String => NativeType::Text,
        LiteralKind::Integer => NativeType::Int,
        LiteralKind::Float | LiteralKind::NaN | LiteralKind::Infinity => NativeType::Double,
        LiteralKind::Boolean => NativeType::Boolean,
        LiteralKind::Uuid => NativeType::Uuid,
        LiteralKind::Blob => NativeType::Blob,
        LiteralKind::Duration => NativeType::Duration,
        LiteralKind::Null => return None,
    }))
}

pub fn arithmetic_type(op: ArithmeticOp, left: &CqlType, right: &CqlType) -> CqlResult<NativeType> {
    match (native_of(left), native_of(right)) {
        (Some(l), Some(r)) if arith::is_numeric(l) && arith::is_numeric(r) => {
            Ok(arith::result_type(l, r))
        }
        (Some(t @ (NativeType::Timestamp | NativeType::Date)), Some(NativeType::Duration))
            if matches!(op, ArithmeticOp::Add | ArithmeticOp::Subtract) =>
        {
            Ok(t)
        }
        _ => Err(CqlError::invalid(format!(
            "the '{left} {op} {right}' operation is not supported"
        ))),
    }
}

/// Types of parameters that constants should take (for `blobAsInt(0x...)`,
/// `minTimeuuid('2013-...')`).
pub fn parameter_hints(name: &str, count: usize) -> Vec<Option<CqlType>> {
    let one = |t: NativeType| vec![Some(native(t))];
    match (name, count) {
        ("mintimeuuid" | "maxtimeuuid", 1) => one(NativeType::Timestamp),
        // The JSON text; the result takes the receiver's type (Cassandra's FromJsonFct).
        ("fromjson", 1) => one(NativeType::Text),
        ("dateof" | "unixtimestampof", 1) => one(NativeType::Timeuuid),
        ("mask_inner" | "mask_outer", 3 | 4) => vec![
            None,
            Some(native(NativeType::Int)),
            Some(native(NativeType::Int)),
            Some(native(NativeType::Text)),
        ],
        ("mask_hash", 2) => vec![None, Some(native(NativeType::Text))],
        (n, 1) if n.starts_with("blobas") => one(NativeType::Blob),
        (n, 1) => n
            .strip_suffix("asblob")
            .and_then(blob_type)
            .map(one)
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn blob_type(name: &str) -> Option<NativeType> {
    NativeType::from_name(name).filter(|t| !matches!(t, NativeType::Counter))
}

fn signature_error(name: &str, types: &[&CqlType]) -> CqlError {
    let args: Vec<String> = types.iter().map(|t| t.to_string()).collect();
    CqlError::invalid(format!(
        "Invalid call to function system.{name}: no signature accepts ({})",
        args.join(", ")
    ))
}

/// Resolves a native scalar function by name and argument types (`shown` are the
/// arguments as written, for messages), giving the function and its result type.
pub fn resolve_scalar(
    name: &str,
    types: &[&CqlType],
    shown: &[&str],
) -> CqlResult<(Scalar, CqlType)> {
    if let Some(resolved) = resolve_generic(name, types, shown)? {
        return Ok(resolved);
    }
    let natives: Option<Vec<NativeType>> = types.iter().map(|t| native_of(t)).collect();
    let natives = natives.unwrap_or_default();
    use NativeType as N;
    let resolved = match (name, natives.as_slice()) {
        ("now" | "currenttimeuuid", []) => (Scalar::Now, N::Timeuuid),
        ("uuid", []) => (Scalar::Uuid, N::Uuid),
        ("currenttimestamp", []) => (Scalar::CurrentTimestamp, N::Timestamp),
        ("currentdate", []) => (Scalar::CurrentDate, N::Date),
        ("currenttime", []) => (Scalar::CurrentTime, N::Time),
        ("todate", [N::Timeuuid | N::Timestamp | N::Date]) => (Scalar::ToDate, N::Date),
        ("totimestamp" | "dateof", [N::Timeuuid | N::Date | N::Timestamp]) => {
            (Scalar::ToTimestamp, N::Timestamp)
        }
        ("tounixtimestamp" | "unixtimestampof", [N::Timeuuid | N::Date | N::Timestamp]) => {
            (Scalar::ToUnixTimestamp, N::Bigint)
        }
        ("mintimeuuid", [N::Timestamp]) => (Scalar::MinTimeuuid, N::Timeuuid),
        ("maxtimeuuid", [N::Timestamp]) => (Scalar::MaxTimeuuid, N::Timeuuid),
        ("tojson", [_]) | ("tojson", []) if types.len() == 1 => (Scalar::ToJson, N::Text),
        (n, [N::Blob]) if n.starts_with("blobas") && blob_type(&n[6..]).is_some() => {
            (Scalar::BlobAs, blob_type(&n[6..]).unwrap_or(N::Blob))
        }
        (n, [t])
            if n.ends_with("asblob")
                && blob_type(&n[..n.len() - 6])
                    == Some(if *t == N::Counter { N::Bigint } else { *t }) =>
        {
            (Scalar::AsBlob, N::Blob)
        }
        _ if is_known_scalar(name) => return Err(signature_error(name, types)),
        _ => return Err(CqlError::invalid(format!("Unknown function '{name}'"))),
    };
    Ok((resolved.0, native(resolved.1)))
}

/// Cassandra 5.0's functions whose signature follows their argument's type: the math
/// functions (one per numeric type), the collection functions and the masking functions
/// (`FunctionFactory`, with `FunctionParameter`'s messages). `None` for other names.
fn resolve_generic(
    name: &str,
    types: &[&CqlType],
    shown: &[&str],
) -> CqlResult<Option<(Scalar, CqlType)>> {
    let argument = |i: usize, requirement: &str| {
        let ty = types.get(i).map_or_else(String::new, |t| t.to_string());
        let arg = shown.get(i).copied().unwrap_or_default();
        CqlError::invalid(format!(
            "Function system.{name} requires {requirement}, but found argument {arg} of type {ty}"
        ))
    };
    let arity = |parameters: &str| {
        CqlError::invalid(format!(
            "Invalid number of arguments for function system.{name}({parameters})"
        ))
    };
    if let Some(f) = MathFn::from_name(name) {
        return match types {
            [CqlType::Native(t)] if arith::is_numeric(*t) => Ok(Some((Scalar::Math(f), native(*t)))),
            [_] => Err(math_signature_error(name)),
            _ => Err(CqlError::invalid(format!(
                "Invalid number of arguments in call to function system.{name}: 1 required but {} provided",
                types.len()
            ))),
        };
    }
    let collection_parameter = match name {
        "map_keys" | "map_values" => Some("map"),
        "collection_count" => Some("collection"),
        // Cassandra's setOrList() prints itself as numeric_set_or_list too.
        "collection_min" | "collection_max" | "collection_sum" | "collection_avg" => {
            Some("numeric_set_or_list")
        }
        _ => None,
    };
    if let Some(parameter) = collection_parameter {
        let [ty] = types else {
            return Err(arity(parameter));
        };
        let element = match ty {
            CqlType::List { element, .. } | CqlType::Set { element, .. } => Some(element.as_ref()),
            _ => None,
        };
        let resolved = match (name, ty, element) {
            ("map_keys", CqlType::Map { key, .. }, _) => (
                Scalar::MapKeys,
                CqlType::Set {
                    element: Box::new(key.frozen()),
                    frozen: true,
                },
            ),
            ("map_values", CqlType::Map { value, .. }, _) => (
                Scalar::MapValues,
                CqlType::List {
                    element: Box::new(value.frozen()),
                    frozen: true,
                },
            ),
            ("map_keys" | "map_values", ..) => return Err(argument(0, "a map argument")),
            ("collection_count", t, _) if t.is_collection() => {
                (Scalar::CollectionCount, native(NativeType::Int))
            }
            ("collection_count", ..) => return Err(argument(0, "a collection argument")),
            ("collection_min" | "collection_max", _, Some(e)) => {
                let kind = if name == "collection_min" {
                    AggregateKind::Min
                } else {
                    AggregateKind::Max
                };
                (Scalar::CollectionAggregate(kind), e.clone())
            }
            ("collection_min" | "collection_max", ..) => {
                return Err(argument(0, "a set or list argument"))
            }
            (_, _, Some(e)) if native_of(e).is_some_and(arith::is_numeric) => {
                let kind = if name == "collection_sum" {
                    AggregateKind::Sum
                } else {
                    AggregateKind::Avg
                };
                (Scalar::CollectionAggregate(kind), e.clone())
            }
            _ => return Err(argument(0, "a numeric set/list argument")),
        };
        return Ok(Some(resolved));
    }
    let Some(mask) = Mask::from_name(name) else {
        return Ok(None);
    };
    let is_text = |i: usize| {
        types
            .get(i)
            .is_some_and(|t| matches!(native_of(t), Some(NativeType::Text | NativeType::Ascii)))
    };
    let first = types.first().map(|t| (*t).clone());
    let resolved = match (mask, types.len(), first) {
        (Mask::Null | Mask::Default, 1, Some(ty)) => (Scalar::Mask(mask), ty),
        (Mask::Null | Mask::Default, ..) => return Err(arity("any")),
        (Mask::Replace, 2, _) => (
            Scalar::Mask(mask),
            types
                .get(1)
                .map(|t| (*t).clone())
                .unwrap_or_else(|| native(NativeType::Blob)),
        ),
        (Mask::Replace, ..) => return Err(arity("any, same")),
        (Mask::Inner | Mask::Outer, 3 | 4, Some(ty)) => {
            if !is_text(0) {
                return Err(argument(0, "an argument of type [text|varchar|ascii]"));
            }
            for i in [1, 2] {
                if types.get(i).and_then(|t| native_of(t)) != Some(NativeType::Int) {
                    return Err(argument(i, "an argument of type int"));
                }
            }
            if types.len() == 4 && !is_text(3) {
                return Err(argument(3, "an argument of type text"));
            }
            (Scalar::Mask(mask), ty)
        }
        (Mask::Inner | Mask::Outer, ..) => {
            return Err(arity("[text|varchar|ascii], int, int, [text]"))
        }
        (Mask::Hash, 1 | 2, _) => {
            if types.len() == 2 && !is_text(1) {
                return Err(argument(1, "an argument of type text"));
            }
            (Scalar::Mask(mask), native(NativeType::Blob))
        }
        (Mask::Hash, ..) => return Err(arity("any, [text]")),
    };
    Ok(Some(resolved))
}

/// FunctionResolver's message when no overload of a math function takes the argument.
fn math_signature_error(name: &str) -> CqlError {
    const TYPES: [&str; 9] = [
        "tinyint", "smallint", "int", "float", "bigint", "double", "varint", "decimal", "counter",
    ];
    let signatures: Vec<String> = TYPES
        .iter()
        .map(|t| format!("system.{name} : ({t}) -> {t}"))
        .collect();
    CqlError::invalid(format!(
        "Invalid call to function {name}, none of its type signatures match (known type signatures: {})",
        signatures.join(", ")
    ))
}

pub fn is_known_scalar(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "now",
        "currenttimeuuid",
        "uuid",
        "currenttimestamp",
        "currentdate",
        "currenttime",
        "todate",
        "totimestamp",
        "dateof",
        "tounixtimestamp",
        "unixtimestampof",
        "mintimeuuid",
        "maxtimeuuid",
        "tojson",
        "abs",
        "exp",
        "log",
        "log10",
        "round",
        "map_keys",
        "map_values",
        "collection_count",
        "collection_min",
        "collection_max",
        "collection_sum",
        "collection_avg",
        "mask_null",
        "mask_default",
        "mask_replace",
        "mask_inner",
        "mask_outer",
        "mask_hash",
    ];
    NAMES.contains(&name)
        || name
            .strip_prefix("blobas")
            .is_some_and(|t| blob_type(t).is_some())
        || name
            .strip_suffix("asblob")
            .is_some_and(|t| blob_type(t).is_some())
}

/// CAST's conversion table (Cassandra's `CastFcts`).
pub fn cast_allowed(from: NativeType, to: NativeType) -> bool {
    use NativeType as N;
    let textual = matches!(to, N::Text | N::Ascii);
    match from {
        f if arith::is_numeric(f) => arith::is_numeric(to) && to != N::Counter || textual,
        N::Ascii => to == N::Text,
        N::Inet | N::Boolean | N::Time | N::Uuid => textual,
        N::Timeuuid => textual || matches!(to, N::Date | N::Timestamp),
        N::Timestamp => textual || to == N::Date,
        N::Date => textual || to == N::Timestamp,
        _ => false,
    }
}

pub fn invalid_value(what: &str) -> CqlError {
    CqlError::invalid(format!("Invalid {what} value"))
}

fn millis_of(ty: NativeType, value: &[u8]) -> CqlResult<i64> {
    match ty {
        NativeType::Timeuuid => {
            types::timeuuid_unix_millis(value).ok_or_else(|| invalid_value("timeuuid"))
        }
        NativeType::Timestamp => Ok(i64::from_be_bytes(
            value.try_into().map_err(|_| invalid_value("timestamp"))?,
        )),
        NativeType::Date => {
            let days = u32::from_be_bytes(value.try_into().map_err(|_| invalid_value("date"))?);
            Ok(types::date_to_timestamp(days))
        }
        _ => Err(invalid_value(ty.name())),
    }
}

/// Applies a scalar function; a null argument gives null, except for `toJson` and the
/// masking functions.
pub fn apply_scalar(
    func: Scalar,
    types: &[&CqlType],
    values: &[Option<Vec<u8>>],
    ret_type: &CqlType,
) -> CqlResult<Option<Vec<u8>>> {
    let ret = native_of(ret_type).unwrap_or(NativeType::Blob);
    let arg_type = |i: usize| {
        types
            .get(i)
            .and_then(|t| native_of(t))
            .unwrap_or(NativeType::Blob)
    };
    if func == Scalar::ToJson {
        let (Some(ty), Some(value)) = (types.first(), values.first()) else {
            return Ok(None);
        };
        let text = value
            .as_deref()
            .map_or_else(|| "null".to_string(), |v| types::to_json(ty, v));
        return Ok(Some(text.into_bytes()));
    }
    if let Scalar::Mask(mask) = func {
        return apply_mask(mask, types, values, ret_type);
    }
    if values.iter().any(Option::is_none) {
        return Ok(None);
    }
    let arg = |i: usize| values.get(i).and_then(|v| v.as_deref()).unwrap_or_default();
    let out = match func {
        Scalar::Math(f) => {
            let ty = arg_type(0);
            // An empty numeric value is a null number to Java.
            let Some(n) = arith::decode(ty, arg(0)) else {
                return Ok(None);
            };
            let result = math::apply(f, ty, &n).map_err(CqlError::invalid)?;
            arith::encode(ty, &result).map_err(CqlError::invalid)?
        }
        Scalar::MapKeys | Scalar::MapValues => {
            let items = collections::elements(arg(0))?;
            let skip = usize::from(func == Scalar::MapValues);
            let picked: Vec<&[u8]> = items
                .iter()
                .skip(skip)
                .step_by(2)
                .map(Vec::as_slice)
                .collect();
            collections::serialize(&picked)
        }
        Scalar::CollectionCount => {
            let items = collections::elements(arg(0))?.len();
            let count = match types.first() {
                Some(CqlType::Map { .. }) => items / 2,
                _ => items,
            };
            (count as i32).to_be_bytes().to_vec()
        }
        Scalar::CollectionAggregate(kind) => {
            let mut accumulator = Accumulator::new(kind);
            for item in collections::elements(arg(0))? {
                accumulator.add(kind, Some(ret_type), Some(item))?;
            }
            return accumulator.finish(Some(ret_type));
        }
        Scalar::Now => crate::types::now_timeuuid().to_vec(),
        Scalar::Uuid => uuid::Uuid::new_v4().as_bytes().to_vec(),
        Scalar::CurrentTimestamp => crate::clock::now_millis().to_be_bytes().to_vec(),
        Scalar::CurrentDate => date_of(crate::clock::now_millis())?,
        Scalar::CurrentTime => (crate::clock::now_micros().rem_euclid(86_400_000_000) * 1000)
            .to_be_bytes()
            .to_vec(),
        Scalar::ToDate => date_of(millis_of(arg_type(0), arg(0))?)?,
        Scalar::ToTimestamp | Scalar::ToUnixTimestamp => {
            millis_of(arg_type(0), arg(0))?.to_be_bytes().to_vec()
        }
        Scalar::MinTimeuuid => {
            types::min_timeuuid(millis_of(NativeType::Timestamp, arg(0))?).to_vec()
        }
        Scalar::MaxTimeuuid => {
            types::max_timeuuid(millis_of(NativeType::Timestamp, arg(0))?).to_vec()
        }
        Scalar::AsBlob => arg(0).to_vec(),
        Scalar::BlobAs => {
            types::validate(&native(ret), arg(0)).map_err(|_| {
                CqlError::invalid(format!(
                    "In call to function system.blobas{}, value 0x{} is not a valid binary representation for type {}",
                    ret.name(),
                    hex(arg(0)),
                    ret.name()
                ))
            })?;
            arg(0).to_vec()
        }
        Scalar::Cast => cast_value(arg_type(0), ret, arg(0))?,
        Scalar::Arithmetic(op) => {
            return arithmetic_value(op, arg_type(0), arg(0), arg_type(1), arg(1), ret)
        }
        Scalar::Negate => {
            let n = arith::decode(arg_type(0), arg(0))
                .ok_or_else(|| invalid_value(arg_type(0).name()))?;
            arith::encode(ret, &arith::negate(ret, &n)).map_err(CqlError::invalid)?
        }
        Scalar::ToJson | Scalar::Mask(_) => return Ok(None),
    };
    Ok(Some(out))
}

/// The masking functions, which decide themselves what a null argument means.
fn apply_mask(
    mask: Mask,
    types: &[&CqlType],
    values: &[Option<Vec<u8>>],
    ret: &CqlType,
) -> CqlResult<Option<Vec<u8>>> {
    let value = |i: usize| values.get(i).and_then(|v| v.as_deref());
    let int = |i: usize| {
        value(i)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map_or(0, i32::from_be_bytes)
    };
    Ok(match mask {
        Mask::Null => None,
        Mask::Default => Some(masking::masked_value(types.first().copied().unwrap_or(ret))),
        Mask::Replace => value(1).map(<[u8]>::to_vec),
        Mask::Inner | Mask::Outer => {
            let name = if mask == Mask::Inner {
                "mask_inner"
            } else {
                "mask_outer"
            };
            let padding = masking::padding(name, value(3))?;
            value(0).map(|v| {
                masking::partial(
                    &String::from_utf8_lossy(v),
                    int(1),
                    int(2),
                    padding,
                    mask == Mask::Inner,
                )
                .into_bytes()
            })
        }
        Mask::Hash => match value(0) {
            Some(v) => Some(masking::hash(v, value(1))?),
            None => None,
        },
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn cast_value(from: NativeType, to: NativeType, value: &[u8]) -> CqlResult<Vec<u8>> {
    if matches!(to, NativeType::Text | NativeType::Ascii) {
        let text = match from {
            NativeType::Text | NativeType::Ascii => String::from_utf8_lossy(value).into_owned(),
            // TimestampType.toString: ISO 8601 in UTC, `2015-05-21T11:03:02.000Z`.
            NativeType::Timestamp => {
                let millis = millis_of(NativeType::Timestamp, value)?;
                types::format_timestamp_json(millis).replacen(' ', "T", 1)
            }
            NativeType::Date | NativeType::Time | NativeType::Inet => {
                types::format_value(&native(from), value)
                    .trim_matches('\'')
                    .to_string()
            }
            _ => types::format_value(&native(from), value),
        };
        return Ok(text.into_bytes());
    }
    if arith::is_numeric(from) {
        let n = arith::decode(from, value).ok_or_else(|| invalid_value(from.name()))?;
        return arith::cast(to, &n).map_err(CqlError::invalid);
    }
    let millis = millis_of(from, value)?;
    Ok(match to {
        NativeType::Date => date_of(millis)?,
        _ => millis.to_be_bytes().to_vec(),
    })
}

fn date_of(millis: i64) -> CqlResult<Vec<u8>> {
    let date = types::timestamp_to_date(millis).ok_or_else(|| {
        CqlError::invalid(format!(
            "Timestamp {millis} is out of the range of the date type"
        ))
    })?;
    Ok(date.to_be_bytes().to_vec())
}

pub fn arithmetic_value(
    op: ArithmeticOp,
    lt: NativeType,
    l: &[u8],
    rt: NativeType,
    r: &[u8],
    ret: NativeType,
) -> CqlResult<Option<Vec<u8>>> {
    if l.is_empty() || r.is_empty() {
        return Ok(None);
    }
    let failure = |message: String| {
        CqlError::invalid(format!(
            "the operation '{} {op} {}' failed: {message}",
            lt.name(),
            rt.name()
        ))
    };
    if matches!(lt, NativeType::Timestamp | NativeType::Date) {
        return temporal_arithmetic(op, lt, l, r).map(Some).map_err(failure);
    }
    let left = arith::decode(lt, l).ok_or_else(|| invalid_value(lt.name()))?;
    let right = arith::decode(rt, r).ok_or_else(|| invalid_value(rt.name()))?;
    let result = arith::apply(op, ret, &left, &right).map_err(failure)?;
    arith::encode(ret, &result)
        .map(Some)
        .map_err(CqlError::invalid)
}

/// `timestamp ± duration` and `date ± duration`: months by calendar, then days and
/// nanoseconds (a date keeps only whole days).
fn temporal_arithmetic(
    op: ArithmeticOp,
    ty: NativeType,
    value: &[u8],
    duration: &[u8],
) -> Result<Vec<u8>, String> {
    let d = types::Duration::decode(duration).map_err(|e| e.to_string())?;
    let sign: i64 = if op == ArithmeticOp::Subtract { -1 } else { 1 };
    let millis = millis_of(ty, value).map_err(|e| e.to_string())?;
    let shifted = add_months(millis, sign * i64::from(d.months))
        + sign * (i64::from(d.days) * 86_400_000 + d.nanos / 1_000_000);
    Ok(match ty {
        NativeType::Date => date_of(shifted).map_err(|e| e.to_string())?,
        _ => shifted.to_be_bytes().to_vec(),
    })
}

/// Adds calendar months to a Unix-millisecond instant (UTC), clamping the day of month
/// like `java.time` does.
fn add_months(millis: i64, months: i64) -> i64 {
    if months == 0 {
        return millis;
    }
    let day_ms = 86_400_000;
    let (days, in_day) = (millis.div_euclid(day_ms), millis.rem_euclid(day_ms));
    let (y, m, d) = types::civil_from_days(days);
    let total = y * 12 + (m as i64 - 1) + months;
    let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    let nd = d.min(days_in_month(ny, nm));
    types::days_from_civil(ny, nm, nd) * day_ms + in_day
}

fn days_in_month(y: i64, m: u32) -> u32 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_months_clamp_the_day() {
        let jan31 = types::days_from_civil(2024, 1, 31) * 86_400_000;
        assert_eq!(
            types::civil_from_days(add_months(jan31, 1).div_euclid(86_400_000)),
            (2024, 2, 29)
        );
        assert_eq!(
            types::civil_from_days(add_months(jan31, -2).div_euclid(86_400_000)),
            (2023, 11, 30)
        );
    }

    #[test]
    fn cast_table_matches_cassandra() {
        assert!(cast_allowed(NativeType::Int, NativeType::Double));
        assert!(cast_allowed(NativeType::Timestamp, NativeType::Date));
        assert!(cast_allowed(NativeType::Uuid, NativeType::Text));
        assert!(!cast_allowed(NativeType::Text, NativeType::Int));
        assert!(!cast_allowed(NativeType::Int, NativeType::Counter));
        assert!(!cast_allowed(NativeType::Blob, NativeType::Text));
    }

    #[test]
    fn functions_resolve_by_argument_type() {
        let blob = native(NativeType::Blob);
        assert_eq!(
            resolve_scalar("blobasint", &[&blob], &["b"]).ok(),
            Some((Scalar::BlobAs, native(NativeType::Int)))
        );
        let int = native(NativeType::Int);
        assert_eq!(
            resolve_scalar("intasblob", &[&int], &["i"]).ok(),
            Some((Scalar::AsBlob, native(NativeType::Blob)))
        );
        assert!(resolve_scalar("textasblob", &[&int], &["i"]).is_err());
        assert!(resolve_scalar("nosuchfunction", &[], &[]).is_err());
    }

    fn parse(text: &str) -> CqlType {
        CqlType::parse(text, &types::NoUdts).expect("type")
    }

    fn message(result: CqlResult<(Scalar, CqlType)>) -> String {
        match result {
            Err(e) => e.to_string(),
            Ok(resolved) => format!("resolved {resolved:?}"),
        }
    }

    #[test]
    fn generic_functions_take_their_result_type_from_the_argument() {
        let map = parse("map<int, text>");
        assert_eq!(
            resolve_scalar("map_keys", &[&map], &["m"]).ok(),
            Some((Scalar::MapKeys, parse("frozen<set<int>>")))
        );
        assert_eq!(
            resolve_scalar("map_values", &[&map], &["m"]).ok(),
            Some((Scalar::MapValues, parse("frozen<list<text>>")))
        );
        let list = parse("list<decimal>");
        assert_eq!(
            resolve_scalar("collection_avg", &[&list], &["l"]).ok(),
            Some((
                Scalar::CollectionAggregate(AggregateKind::Avg),
                parse("decimal")
            ))
        );
        let tinyint = native(NativeType::Tinyint);
        assert_eq!(
            resolve_scalar("abs", &[&tinyint], &["t"]).ok(),
            Some((Scalar::Math(MathFn::Abs), tinyint.clone()))
        );
        assert_eq!(
            resolve_scalar("mask_hash", &[&tinyint], &["t"]).ok(),
            Some((Scalar::Mask(Mask::Hash), native(NativeType::Blob)))
        );
    }

    #[test]
    fn generic_functions_refuse_with_cassandras_messages() {
        let text_list = parse("frozen<list<text>>");
        assert_eq!(
            message(resolve_scalar("collection_sum", &[&text_list], &["fl"])),
            "Function system.collection_sum requires a numeric set/list argument, but found argument fl of type frozen<list<text>>"
        );
        let int = native(NativeType::Int);
        assert_eq!(
            message(resolve_scalar("map_keys", &[&int], &["n"])),
            "Function system.map_keys requires a map argument, but found argument n of type int"
        );
        assert_eq!(
            message(resolve_scalar("mask_inner", &[&int, &int, &int], &["n", "1", "2"])),
            "Function system.mask_inner requires an argument of type [text|varchar|ascii], but found argument n of type int"
        );
        assert_eq!(
            message(resolve_scalar("collection_count", &[], &[])),
            "Invalid number of arguments for function system.collection_count(collection)"
        );
        let text = native(NativeType::Text);
        assert!(message(resolve_scalar("abs", &[&text], &["v"]))
            .starts_with("Invalid call to function abs, none of its type signatures match"));
    }

    #[test]
    fn collection_functions_aggregate_the_elements() {
        let list = parse("list<int>");
        let items: Vec<Vec<u8>> = [3i32, 1, 2]
            .iter()
            .map(|v| v.to_be_bytes().to_vec())
            .collect();
        let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
        let value = Some(collections::serialize(&refs));
        let int = native(NativeType::Int);
        let apply = |func| apply_scalar(func, &[&list], std::slice::from_ref(&value), &int);
        assert_eq!(
            apply(Scalar::CollectionAggregate(AggregateKind::Max)).ok(),
            Some(Some(3i32.to_be_bytes().to_vec()))
        );
        assert_eq!(
            apply(Scalar::CollectionAggregate(AggregateKind::Sum)).ok(),
            Some(Some(6i32.to_be_bytes().to_vec()))
        );
        assert_eq!(
            apply(Scalar::CollectionCount).ok(),
            Some(Some(3i32.to_be_bytes().to_vec()))
        );
    }
}
