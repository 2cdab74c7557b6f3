//! Native scalar functions (time, timeuuid, blob conversion, `toJson`), CAST and
//! arithmetic on values: the one place native functions are resolved (by name and
//! argument types, with Cassandra's result types and messages) and applied, for SELECT
//! selectors (`read::selection`) and for terms (`eval`).

use super::arith;
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
        ("dateof" | "unixtimestampof", 1) => one(NativeType::Timeuuid),
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

/// Resolves a native scalar function by name and argument types.
pub fn resolve_scalar(name: &str, types: &[&CqlType]) -> CqlResult<(Scalar, NativeType)> {
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
    Ok(resolved)
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

/// Applies a scalar function; a null argument gives null, except for `toJson`.
pub fn apply_scalar(
    func: Scalar,
    types: &[&CqlType],
    values: &[Option<Vec<u8>>],
    ret: NativeType,
) -> CqlResult<Option<Vec<u8>>> {
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
    if values.iter().any(Option::is_none) {
        return Ok(None);
    }
    let arg = |i: usize| values.get(i).and_then(|v| v.as_deref()).unwrap_or_default();
    let out = match func {
        Scalar::Now => crate::clock::now_timeuuid().to_vec(),
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
        Scalar::ToJson => return Ok(None),
    };
    Ok(Some(out))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn cast_value(from: NativeType, to: NativeType, value: &[u8]) -> CqlResult<Vec<u8>> {
    if matches!(to, NativeType::Text | NativeType::Ascii) {
        let text = match from {
            NativeType::Text | NativeType::Ascii => String::from_utf8_lossy(value).into_owned(),
            NativeType::Timestamp | NativeType::Date | NativeType::Time | NativeType::Inet => {
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
            resolve_scalar("blobasint", &[&blob]).ok(),
            Some((Scalar::BlobAs, NativeType::Int))
        );
        let int = native(NativeType::Int);
        assert_eq!(
            resolve_scalar("intasblob", &[&int]).ok(),
            Some((Scalar::AsBlob, NativeType::Blob))
        );
        assert!(resolve_scalar("textasblob", &[&int]).is_err());
        assert!(resolve_scalar("nosuchfunction", &[]).is_err());
    }
}
