//! Numbers of every CQL numeric type, with Cassandra's promotion rules and Java's
//! conversion and overflow behaviour: used by the arithmetic operators, CAST, `sum` and
//! `avg`.
//!
//! Integer types wrap on overflow (Java `int`/`long` arithmetic), `float` arithmetic is
//! done in single precision, `decimal` division rounds to 34 significant digits
//! (`MathContext.DECIMAL128`), and only division by zero fails.

use std::cmp::Ordering;

use num_bigint::BigInt;

use crate::cql::ast::ArithmeticOp;
use crate::types::NativeType;

/// A decoded number.
#[derive(Clone, Debug, PartialEq)]
pub enum Num {
    /// tinyint, smallint, int, bigint and counter.
    Int(i64),
    /// float and double.
    Float(f64),
    Decimal(Decimal),
    Varint(BigInt),
}

/// `unscaled × 10^-scale`, as Java's `BigDecimal`.
#[derive(Clone, Debug, PartialEq)]
pub struct Decimal {
    pub unscaled: BigInt,
    pub scale: i32,
}

/// Significant digits of `MathContext.DECIMAL128`.
const DECIMAL128_DIGITS: usize = 34;
/// Bound on decimal scale adjustments, so hostile scales cannot make us build huge powers.
const MAX_SCALE_SHIFT: i64 = 10_000;

pub fn is_numeric(ty: NativeType) -> bool {
    matches!(
        ty,
        NativeType::Tinyint
            | NativeType::Smallint
            | NativeType::Int
            | NativeType::Bigint
            | NativeType::Counter
            | NativeType::Float
            | NativeType::Double
            | NativeType::Decimal
            | NativeType::Varint
    )
}

fn is_floating(ty: NativeType) -> bool {
    matches!(
        ty,
        NativeType::Float | NativeType::Double | NativeType::Decimal
    )
}

/// Bytes of the type's values, `usize::MAX` for the unbounded ones (Cassandra's `size`).
fn size(ty: NativeType) -> usize {
    match ty {
        NativeType::Counter => 8,
        other => other.fixed_size().unwrap_or(usize::MAX),
    }
}

/// The result type of `left op right` (Cassandra's `OperationFcts.returnType`).
pub fn result_type(left: NativeType, right: NativeType) -> NativeType {
    let size = size(left).max(size(right));
    match (is_floating(left) || is_floating(right), size) {
        (true, 4) => NativeType::Float,
        (true, 8) => NativeType::Double,
        (true, _) => NativeType::Decimal,
        (false, 1) => NativeType::Tinyint,
        (false, 2) => NativeType::Smallint,
        (false, 4) => NativeType::Int,
        (false, 8) => NativeType::Bigint,
        (false, _) => NativeType::Varint,
    }
}

/// Decodes a value of a numeric type; `None` for an empty or malformed value.
pub fn decode(ty: NativeType, bytes: &[u8]) -> Option<Num> {
    let fixed = |n: usize| -> Option<i64> {
        (bytes.len() == n).then(|| {
            let mut out = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
                -1i64
            } else {
                0
            };
            for b in bytes {
                out = (out << 8) | i64::from(*b);
            }
            out
        })
    };
    match ty {
        NativeType::Tinyint => fixed(1).map(Num::Int),
        NativeType::Smallint => fixed(2).map(Num::Int),
        NativeType::Int => fixed(4).map(Num::Int),
        NativeType::Bigint | NativeType::Counter => fixed(8).map(Num::Int),
        NativeType::Float => Some(Num::Float(f64::from(f32::from_be_bytes(
            bytes.try_into().ok()?,
        )))),
        NativeType::Double => Some(Num::Float(f64::from_be_bytes(bytes.try_into().ok()?))),
        NativeType::Varint => {
            (!bytes.is_empty()).then(|| Num::Varint(BigInt::from_signed_bytes_be(bytes)))
        }
        NativeType::Decimal => {
            let scale = i32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
            let rest = bytes.get(4..).filter(|r| !r.is_empty())?;
            Some(Num::Decimal(Decimal {
                unscaled: BigInt::from_signed_bytes_be(rest),
                scale,
            }))
        }
        _ => None,
    }
}

impl Num {
    /// Java's `Number.longValue()`.
    fn to_long(&self) -> i64 {
        match self {
            Num::Int(v) => *v,
            Num::Float(f) => *f as i64,
            Num::Varint(b) => low_64_bits(b),
            Num::Decimal(d) => low_64_bits(&d.truncated()),
        }
    }

    /// Java's `Number.intValue()`.
    fn to_int(&self) -> i32 {
        match self {
            Num::Float(f) => *f as i32,
            other => other.to_long() as i32,
        }
    }

    pub fn to_f64(&self) -> f64 {
        match self {
            Num::Int(v) => *v as f64,
            Num::Float(f) => *f,
            Num::Varint(b) => b.to_string().parse().unwrap_or(f64::NAN),
            Num::Decimal(d) => format!("{}e{}", d.unscaled, -i64::from(d.scale))
                .parse()
                .unwrap_or(f64::NAN),
        }
    }

    fn to_varint(&self) -> BigInt {
        match self {
            Num::Varint(b) => b.clone(),
            Num::Decimal(d) => d.truncated(),
            other => BigInt::from(other.to_long()),
        }
    }

    /// Java's `toBigDecimal`; NaN and infinities have no decimal form.
    fn to_decimal(&self) -> Result<Decimal, String> {
        match self {
            Num::Int(v) => Ok(Decimal { unscaled: BigInt::from(*v), scale: 0 }),
            Num::Varint(b) => Ok(Decimal { unscaled: b.clone(), scale: 0 }),
            Num::Decimal(d) => Ok(d.clone()),
            Num::Float(f) => Decimal::from_f64(*f).ok_or_else(|| format!("Character {} is neither a decimal digit number, decimal point, nor \"e\" notation exponential mark.", java_special(*f))),
        }
    }
}

fn java_special(f: f64) -> &'static str {
    if f.is_nan() {
        "N"
    } else {
        "I"
    }
}

fn low_64_bits(b: &BigInt) -> i64 {
    let bytes = b.to_signed_bytes_le();
    let mut out = [if b.sign() == num_bigint::Sign::Minus {
        0xFF
    } else {
        0
    }; 8];
    for (slot, byte) in out.iter_mut().zip(bytes.iter()) {
        *slot = *byte;
    }
    i64::from_le_bytes(out)
}

fn pow10(exponent: i64) -> BigInt {
    BigInt::from(10).pow(exponent.clamp(0, MAX_SCALE_SHIFT) as u32)
}

fn digits(value: &BigInt) -> usize {
    let text = value.magnitude().to_string();
    if text == "0" {
        1
    } else {
        text.len()
    }
}

impl Decimal {
    pub fn truncated(&self) -> BigInt {
        match self.scale.cmp(&0) {
            Ordering::Greater => &self.unscaled / pow10(i64::from(self.scale)),
            Ordering::Less => &self.unscaled * pow10(-i64::from(self.scale)),
            Ordering::Equal => self.unscaled.clone(),
        }
    }

    /// The decimal of a double's shortest representation (Java's `BigDecimal.valueOf`).
    fn from_f64(value: f64) -> Option<Decimal> {
        if !value.is_finite() {
            return None;
        }
        let text = format!("{value:e}");
        let (mantissa, exponent) = text.split_once('e')?;
        let exponent: i64 = exponent.parse().ok()?;
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let unscaled: BigInt = format!("{int_part}{frac_part}").parse().ok()?;
        let mut scale = frac_part.len() as i64 - exponent;
        let mut unscaled = unscaled;
        // Java prints at least one fractional digit for values it does not print in E notation.
        if scale < 1 && value.abs() < 1e7 {
            unscaled *= pow10(1 - scale);
            scale = 1;
        }
        Some(Decimal {
            unscaled,
            scale: i32::try_from(scale).ok()?,
        })
    }

    fn rescaled(&self, scale: i32) -> BigInt {
        &self.unscaled * pow10(i64::from(scale) - i64::from(self.scale))
    }

    fn aligned(a: &Decimal, b: &Decimal) -> (BigInt, BigInt, i32) {
        let scale = a.scale.max(b.scale);
        (a.rescaled(scale), b.rescaled(scale), scale)
    }

    fn add(a: &Decimal, b: &Decimal) -> Decimal {
        let (x, y, scale) = Decimal::aligned(a, b);
        Decimal {
            unscaled: x + y,
            scale,
        }
    }

    fn subtract(a: &Decimal, b: &Decimal) -> Decimal {
        let (x, y, scale) = Decimal::aligned(a, b);
        Decimal {
            unscaled: x - y,
            scale,
        }
    }

    fn multiply(a: &Decimal, b: &Decimal) -> Decimal {
        Decimal {
            unscaled: &a.unscaled * &b.unscaled,
            scale: a.scale.saturating_add(b.scale),
        }
    }

    fn remainder(a: &Decimal, b: &Decimal) -> Option<Decimal> {
        let (x, y, scale) = Decimal::aligned(a, b);
        (y != BigInt::from(0)).then(|| Decimal {
            unscaled: x % y,
            scale,
        })
    }

    /// `a / b` rounded half-even to 34 significant digits, then trailing zeros stripped
    /// down to the preferred scale `a.scale - b.scale` (Java's `divide(b, DECIMAL128)`).
    pub fn divide(a: &Decimal, b: &Decimal) -> Option<Decimal> {
        if b.unscaled == BigInt::from(0) {
            return None;
        }
        let preferred = i64::from(a.scale) - i64::from(b.scale);
        if a.unscaled == BigInt::from(0) {
            return Some(Decimal {
                unscaled: BigInt::from(0),
                scale: preferred.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
            });
        }
        // Extra digits so the quotient has at least 34 significant digits before rounding.
        let shift = (DECIMAL128_DIGITS as i64 + digits(&b.unscaled) as i64
            - digits(&a.unscaled) as i64
            + 1)
        .max(0);
        let mut quotient = round_half_even(&(&a.unscaled * pow10(shift)), &b.unscaled);
        let mut scale = preferred + shift;
        let excess = digits(&quotient).saturating_sub(DECIMAL128_DIGITS) as i64;
        if excess > 0 {
            quotient = round_half_even(&quotient, &pow10(excess));
            scale -= excess;
        }
        let ten = BigInt::from(10);
        while scale > preferred && &quotient % &ten == BigInt::from(0) {
            quotient /= &ten;
            scale -= 1;
        }
        Some(Decimal {
            unscaled: quotient,
            scale: i32::try_from(scale).ok()?,
        })
    }

    /// One step of Cassandra's running decimal average: `avg + (x - avg) / count`, the
    /// quotient rounded half-even at the difference's scale.
    pub fn average_step(&self, x: &Decimal, count: i64) -> Decimal {
        let difference = Decimal::subtract(x, self);
        let step = Decimal {
            unscaled: round_half_even(&difference.unscaled, &BigInt::from(count.max(1))),
            scale: difference.scale,
        };
        Decimal::add(self, &step)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.scale.to_be_bytes().to_vec();
        out.extend_from_slice(&self.unscaled.to_signed_bytes_be());
        out
    }
}

/// `n / d` rounded half-even (d != 0).
fn round_half_even(n: &BigInt, d: &BigInt) -> BigInt {
    let quotient = n / d;
    let remainder = n - &quotient * d;
    let zero = BigInt::from(0);
    if remainder == zero {
        return quotient;
    }
    let twice = (&remainder * 2i32).magnitude().clone();
    let away = match twice.cmp(d.magnitude()) {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => &quotient % 2i32 != zero,
    };
    if !away {
        return quotient;
    }
    let negative = (n.sign() == num_bigint::Sign::Minus) != (d.sign() == num_bigint::Sign::Minus);
    if negative {
        quotient - 1
    } else {
        quotient + 1
    }
}

/// Encodes `n` as a value of `ty`, converting like Java's `Number` accessors
/// (`intValue()`, `floatValue()`, ...) do.
pub fn encode(ty: NativeType, n: &Num) -> Result<Vec<u8>, String> {
    Ok(match ty {
        NativeType::Tinyint => vec![n.to_int() as u8],
        NativeType::Smallint => (n.to_int() as i16).to_be_bytes().to_vec(),
        NativeType::Int => n.to_int().to_be_bytes().to_vec(),
        NativeType::Bigint | NativeType::Counter => n.to_long().to_be_bytes().to_vec(),
        NativeType::Float => (n.to_f64() as f32).to_be_bytes().to_vec(),
        NativeType::Double => n.to_f64().to_be_bytes().to_vec(),
        NativeType::Varint => n.to_varint().to_signed_bytes_be(),
        NativeType::Decimal => n.to_decimal()?.to_bytes(),
        other => return Err(format!("{} is not a numeric type", other.name())),
    })
}

/// Casts between numeric types as Cassandra's CAST does: decimal from the double value,
/// varint from the long value.
pub fn cast(to: NativeType, n: &Num) -> Result<Vec<u8>, String> {
    match (to, n) {
        (NativeType::Decimal, Num::Decimal(_)) => encode(to, n),
        (NativeType::Decimal, other) => encode(to, &Num::Float(other.to_f64())),
        (NativeType::Varint, Num::Varint(_)) => encode(to, n),
        (NativeType::Varint, other) => encode(to, &Num::Int(other.to_long())),
        _ => encode(to, n),
    }
}

/// Java's narrowing of a `long` to the integer type's width.
pub fn wrap(ty: NativeType, v: i64) -> i64 {
    match ty {
        NativeType::Tinyint => i64::from(v as i8),
        NativeType::Smallint => i64::from(v as i16),
        NativeType::Int => i64::from(v as i32),
        _ => v,
    }
}

/// `left op right` computed in `result` (see [`result_type`]); the error is Java's
/// exception message (`/ by zero`).
pub fn apply(op: ArithmeticOp, result: NativeType, left: &Num, right: &Num) -> Result<Num, String> {
    match result {
        NativeType::Float => {
            let (l, r) = (left.to_f64() as f32, right.to_f64() as f32);
            Ok(Num::Float(f64::from(float_op(op, l, r))))
        }
        NativeType::Double => Ok(Num::Float(float_op(op, left.to_f64(), right.to_f64()))),
        NativeType::Decimal => {
            decimal_op(op, &left.to_decimal()?, &right.to_decimal()?).map(Num::Decimal)
        }
        NativeType::Varint => varint_op(op, &left.to_varint(), &right.to_varint()).map(Num::Varint),
        _ => integer_op(op, result, left.to_long(), right.to_long()).map(Num::Int),
    }
}

fn float_op<
    F: std::ops::Add<Output = F>
        + std::ops::Sub<Output = F>
        + std::ops::Mul<Output = F>
        + std::ops::Div<Output = F>
        + std::ops::Rem<Output = F>,
>(
    op: ArithmeticOp,
    l: F,
    r: F,
) -> F {
    match op {
        ArithmeticOp::Add => l + r,
        ArithmeticOp::Subtract => l - r,
        ArithmeticOp::Multiply => l * r,
        ArithmeticOp::Divide => l / r,
        ArithmeticOp::Modulo => l % r,
    }
}

fn integer_op(op: ArithmeticOp, ty: NativeType, l: i64, r: i64) -> Result<i64, String> {
    let (l, r) = (wrap(ty, l), wrap(ty, r));
    let value = match op {
        ArithmeticOp::Add => l.wrapping_add(r),
        ArithmeticOp::Subtract => l.wrapping_sub(r),
        ArithmeticOp::Multiply => l.wrapping_mul(r),
        ArithmeticOp::Divide | ArithmeticOp::Modulo if r == 0 => return Err("/ by zero".into()),
        ArithmeticOp::Divide => l.wrapping_div(r),
        ArithmeticOp::Modulo => l.wrapping_rem(r),
    };
    Ok(wrap(ty, value))
}

fn varint_op(op: ArithmeticOp, l: &BigInt, r: &BigInt) -> Result<BigInt, String> {
    let zero = BigInt::from(0);
    match op {
        ArithmeticOp::Add => Ok(l + r),
        ArithmeticOp::Subtract => Ok(l - r),
        ArithmeticOp::Multiply => Ok(l * r),
        ArithmeticOp::Divide | ArithmeticOp::Modulo if *r == zero => {
            Err("BigInteger divide by zero".into())
        }
        ArithmeticOp::Divide => Ok(l / r),
        ArithmeticOp::Modulo => Ok(l % r),
    }
}

fn decimal_op(op: ArithmeticOp, l: &Decimal, r: &Decimal) -> Result<Decimal, String> {
    match op {
        ArithmeticOp::Add => Ok(Decimal::add(l, r)),
        ArithmeticOp::Subtract => Ok(Decimal::subtract(l, r)),
        ArithmeticOp::Multiply => Ok(Decimal::multiply(l, r)),
        ArithmeticOp::Divide => Decimal::divide(l, r).ok_or_else(|| "Division by zero".into()),
        ArithmeticOp::Modulo => Decimal::remainder(l, r).ok_or_else(|| "Division by zero".into()),
    }
}

/// `-n` in its own type (Java negation wraps: `-(-128)` is `-128` for tinyint).
pub fn negate(ty: NativeType, n: &Num) -> Num {
    match n {
        Num::Int(v) => Num::Int(wrap(ty, v.wrapping_neg())),
        Num::Float(f) => Num::Float(-f),
        Num::Varint(b) => Num::Varint(-b),
        Num::Decimal(d) => Num::Decimal(Decimal {
            unscaled: -&d.unscaled,
            scale: d.scale,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(unscaled: i64, scale: i32) -> Decimal {
        Decimal {
            unscaled: BigInt::from(unscaled),
            scale,
        }
    }

    #[test]
    fn promotion_follows_cassandra() {
        assert_eq!(
            result_type(NativeType::Int, NativeType::Tinyint),
            NativeType::Int
        );
        assert_eq!(
            result_type(NativeType::Int, NativeType::Float),
            NativeType::Float
        );
        assert_eq!(
            result_type(NativeType::Bigint, NativeType::Float),
            NativeType::Double
        );
        assert_eq!(
            result_type(NativeType::Varint, NativeType::Double),
            NativeType::Decimal
        );
        assert_eq!(
            result_type(NativeType::Int, NativeType::Varint),
            NativeType::Varint
        );
        assert_eq!(
            result_type(NativeType::Counter, NativeType::Int),
            NativeType::Bigint
        );
    }

    #[test]
    fn integers_wrap_and_division_by_zero_fails() {
        let max = Num::Int(i64::from(i32::MAX));
        assert_eq!(
            apply(ArithmeticOp::Add, NativeType::Int, &max, &Num::Int(1)),
            Ok(Num::Int(i64::from(i32::MIN)))
        );
        assert_eq!(
            apply(
                ArithmeticOp::Divide,
                NativeType::Int,
                &Num::Int(7),
                &Num::Int(-2)
            ),
            Ok(Num::Int(-3))
        );
        assert_eq!(
            apply(
                ArithmeticOp::Modulo,
                NativeType::Int,
                &Num::Int(-7),
                &Num::Int(2)
            ),
            Ok(Num::Int(-1))
        );
        assert_eq!(
            apply(
                ArithmeticOp::Divide,
                NativeType::Int,
                &Num::Int(1),
                &Num::Int(0)
            ),
            Err("/ by zero".into())
        );
        assert_eq!(negate(NativeType::Tinyint, &Num::Int(-128)), Num::Int(-128));
    }

    #[test]
    fn decimal_division_rounds_to_34_digits_and_strips_zeros() {
        let third = Decimal::divide(&dec(1, 0), &dec(3, 0)).expect("divides");
        assert_eq!(third.scale, 34);
        assert_eq!(
            third.unscaled.to_string(),
            "3333333333333333333333333333333333"
        );
        let half = Decimal::divide(&dec(1, 0), &dec(2, 0)).expect("divides");
        assert_eq!(half, dec(5, 1));
        assert_eq!(Decimal::divide(&dec(10, 0), &dec(5, 0)), Some(dec(2, 0)));
        assert_eq!(Decimal::divide(&dec(1, 0), &dec(0, 0)), None);
        // avg(1.1, 2.2) is 1.1 + (2.2 - 1.1) / 2 = 1.1 + 0.6 at scale 1, as Cassandra computes it.
        assert_eq!(dec(11, 1).average_step(&dec(22, 1), 2), dec(17, 1));
        let two_thirds = Decimal::divide(&dec(2, 0), &dec(3, 0)).expect("divides");
        assert!(two_thirds.unscaled.to_string().ends_with('7'));
    }

    #[test]
    fn decimal_round_trips_and_mixes_with_doubles() {
        let d = dec(-12345, 2);
        assert_eq!(
            decode(NativeType::Decimal, &d.to_bytes()),
            Some(Num::Decimal(d.clone()))
        );
        assert_eq!(Num::Decimal(d).to_f64(), -123.45);
        assert_eq!(Decimal::from_f64(1.5), Some(dec(15, 1)));
        assert_eq!(Decimal::from_f64(100.0), Some(dec(1000, 1)));
        assert_eq!(Decimal::from_f64(f64::NAN), None);
    }

    #[test]
    fn casts_convert_like_java_number_accessors() {
        assert_eq!(
            cast(NativeType::Int, &Num::Float(3.9)),
            Ok(3i32.to_be_bytes().to_vec())
        );
        assert_eq!(cast(NativeType::Tinyint, &Num::Int(300)), Ok(vec![44]));
        assert_eq!(cast(NativeType::Varint, &Num::Float(2.5)), Ok(vec![2]));
        assert_eq!(
            decode(
                NativeType::Int,
                &cast(NativeType::Int, &Num::Varint(BigInt::from(1u64 << 33) + 5)).expect("cast")
            ),
            Some(Num::Int(5))
        );
        assert_eq!(
            decode(NativeType::Smallint, &[0xFF, 0xFE]),
            Some(Num::Int(-2))
        );
        assert_eq!(decode(NativeType::Int, &[]), None);
    }
}
