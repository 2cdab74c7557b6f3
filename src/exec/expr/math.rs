//! Cassandra 5.0's math functions `abs`, `exp`, `log`, `log10` and `round` on every numeric
//! type (`MathFcts` over `NumberType`): the result keeps the argument's type, computed as
//! Java does it: `byte`/`short`/`int`/`long` results are `(T) Math.f(value)` (saturating
//! double-to-int narrowing, NaN to 0, then wrapping to the width), `float` goes through
//! `double`, `round` is `Math.round` (half up), `varint` goes through `decimal` and
//! truncates, and `decimal` is computed to `max(32, precision(x))` significant digits,
//! rounded half-even (`BigDecimalMath` with `DecimalType.MIN_SIGNIFICANT_DIGITS`), with
//! `round` rounding half-up to scale 0.

use std::cmp::Ordering;

use num_bigint::{BigInt, Sign};

use super::arith::{wrap, Decimal, Num};
use crate::types::NativeType;

/// The five math functions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MathFn {
    Abs,
    Exp,
    Log,
    Log10,
    Round,
}

impl MathFn {
    pub fn from_name(name: &str) -> Option<MathFn> {
        Some(match name {
            "abs" => MathFn::Abs,
            "exp" => MathFn::Exp,
            "log" => MathFn::Log,
            "log10" => MathFn::Log10,
            "round" => MathFn::Round,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            MathFn::Abs => "abs",
            MathFn::Exp => "exp",
            MathFn::Log => "log",
            MathFn::Log10 => "log10",
            MathFn::Round => "round",
        }
    }
}

/// `DecimalType.MIN_SIGNIFICANT_DIGITS`: the least precision of decimal exp/log results.
const MIN_DIGITS: usize = 32;
/// Upper bound on the precision, so a hostile 100,000-digit decimal cannot make us loop.
const MAX_DIGITS: usize = 1_000;
/// Past this magnitude `exp` would need an exponent beyond what a decimal's scale holds.
const MAX_EXP_ARGUMENT: f64 = 1e9;

/// Applies `f` to `n`, a value of `ty`; the error is Java's exception message.
pub fn apply(f: MathFn, ty: NativeType, n: &Num) -> Result<Num, String> {
    match (ty, n) {
        (NativeType::Float | NativeType::Double, Num::Float(x)) => {
            Ok(Num::Float(floating(f, ty, *x)))
        }
        (NativeType::Varint, Num::Varint(v)) => varint(f, v).map(Num::Varint),
        (NativeType::Decimal, Num::Decimal(d)) => decimal(f, d).map(Num::Decimal),
        (_, Num::Int(v)) => Ok(Num::Int(integer(f, ty, *v))),
        _ => Err(format!(
            "{} is not a number of type {}",
            f.name(),
            ty.name()
        )),
    }
}

/// Java's `(T) double` for an integer type: `(byte)`/`(short)` narrow through `int`.
fn narrow(ty: NativeType, x: f64) -> i64 {
    match ty {
        NativeType::Bigint | NativeType::Counter => x as i64,
        _ => wrap(ty, i64::from(x as i32)),
    }
}

fn integer(f: MathFn, ty: NativeType, v: i64) -> i64 {
    let x = v as f64;
    match f {
        MathFn::Abs => wrap(ty, v.wrapping_abs()),
        MathFn::Exp => narrow(ty, x.exp()),
        MathFn::Log => narrow(ty, x.ln()),
        MathFn::Log10 => narrow(ty, x.log10()),
        MathFn::Round => v,
    }
}

/// Java's `Math.round`: the closest integer, ties toward positive infinity.
fn java_round(x: f64) -> f64 {
    let floor = x.floor();
    if x - floor >= 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

fn floating(f: MathFn, ty: NativeType, x: f64) -> f64 {
    let single = ty == NativeType::Float;
    let value = match f {
        MathFn::Abs => x.abs(),
        MathFn::Exp => x.exp(),
        MathFn::Log => x.ln(),
        MathFn::Log10 => x.log10(),
        // Math.round(float) is an int, Math.round(double) a long (both saturate, NaN is 0).
        MathFn::Round if single => f64::from(java_round(x) as i32),
        MathFn::Round => java_round(x) as i64 as f64,
    };
    if single {
        f64::from(value as f32)
    } else {
        value
    }
}

fn varint(f: MathFn, v: &BigInt) -> Result<BigInt, String> {
    let as_decimal = Decimal {
        unscaled: v.clone(),
        scale: 0,
    };
    Ok(match f {
        MathFn::Abs => BigInt::from_biguint(Sign::Plus, v.magnitude().clone()),
        MathFn::Round => v.clone(),
        MathFn::Exp | MathFn::Log | MathFn::Log10 => decimal(f, &as_decimal)?.truncated(),
    })
}

fn decimal(f: MathFn, d: &Decimal) -> Result<Decimal, String> {
    let precision = digits(&d.unscaled).clamp(MIN_DIGITS, MAX_DIGITS);
    match f {
        MathFn::Abs => Ok(Decimal {
            unscaled: BigInt::from_biguint(Sign::Plus, d.unscaled.magnitude().clone()),
            scale: d.scale,
        }),
        MathFn::Round => Ok(round_half_up_to_integer(d)),
        MathFn::Exp => exp(d, precision),
        MathFn::Log | MathFn::Log10 => {
            if d.unscaled.sign() != Sign::Plus {
                return Err(if f == MathFn::Log {
                    "Natural log of number zero or less".into()
                } else {
                    "Log10 of number zero or less".into()
                });
            }
            Ok(ln(d, precision, f == MathFn::Log10))
        }
    }
}

fn digits(v: &BigInt) -> usize {
    let text = v.magnitude().to_string();
    if text == "0" {
        1
    } else {
        text.len()
    }
}

fn pow10(n: usize) -> BigInt {
    BigInt::from(10).pow(n as u32)
}

/// `n / d` rounded half-even (d > 0).
fn div_half_even(n: &BigInt, d: &BigInt) -> BigInt {
    let (q, r): (BigInt, BigInt) = (n / d, n % d);
    let twice: BigInt = BigInt::from_biguint(Sign::Plus, r.magnitude().clone()) * 2;
    let away = match twice.cmp(d) {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => &q % 2 != BigInt::from(0),
    };
    match (away, n.sign() == Sign::Minus) {
        (false, _) => q,
        (true, true) => q - 1,
        (true, false) => q + 1,
    }
}

/// `setScale(0, HALF_UP)`: ties away from zero.
fn round_half_up_to_integer(d: &Decimal) -> Decimal {
    if d.scale <= 0 {
        return d.clone();
    }
    let divisor = pow10(d.scale as usize);
    let (q, r) = (&d.unscaled / &divisor, &d.unscaled % &divisor);
    let twice: BigInt = BigInt::from_biguint(Sign::Plus, r.magnitude().clone()) * 2;
    let rounded = match (twice >= divisor, d.unscaled.sign() == Sign::Minus) {
        (false, _) => q,
        (true, true) => q - 1,
        (true, false) => q + 1,
    };
    Decimal {
        unscaled: rounded,
        scale: 0,
    }
}

/// A decimal rounded half-even to `precision` significant digits, trailing zeros stripped.
fn rounded(unscaled: BigInt, scale: i64, precision: usize) -> Result<Decimal, String> {
    let excess = digits(&unscaled).saturating_sub(precision);
    let (mut unscaled, mut scale) = if excess > 0 {
        (
            div_half_even(&unscaled, &pow10(excess)),
            scale - excess as i64,
        )
    } else {
        (unscaled, scale)
    };
    let ten = BigInt::from(10);
    let zero = BigInt::from(0);
    while unscaled != zero && &unscaled % &ten == zero {
        unscaled /= &ten;
        scale -= 1;
    }
    if unscaled == zero {
        scale = 0;
    }
    Ok(Decimal {
        unscaled,
        scale: i32::try_from(scale).map_err(|_| "Overflow".to_string())?,
    })
}

/// A working number `mantissa × 10^exponent` kept to a bounded number of digits.
struct Float {
    mantissa: BigInt,
    exponent: i64,
}

impl Float {
    fn truncated(self, keep: usize) -> Float {
        let excess = digits(&self.mantissa).saturating_sub(keep);
        if excess == 0 {
            return self;
        }
        Float {
            mantissa: self.mantissa / pow10(excess),
            exponent: self.exponent + excess as i64,
        }
    }

    fn square(&self, keep: usize) -> Float {
        Float {
            mantissa: &self.mantissa * &self.mantissa,
            exponent: self.exponent * 2,
        }
        .truncated(keep)
    }
}

/// `x` as a fixed-point integer `x × 10^scale` (truncated).
fn fixed(d: &Decimal, scale: usize) -> BigInt {
    let shift = scale as i64 - i64::from(d.scale);
    match shift.cmp(&0) {
        Ordering::Less => &d.unscaled / pow10(shift.unsigned_abs() as usize),
        _ => &d.unscaled * pow10(shift as usize),
    }
}

/// `e^x` to `precision` digits: `x / 2^m` below 1/2 by a Taylor series in fixed point,
/// then squared `m` times with floating mantissas.
fn exp(x: &Decimal, precision: usize) -> Result<Decimal, String> {
    let magnitude = Num::Decimal(x.clone()).to_f64().abs();
    if magnitude > MAX_EXP_ARGUMENT {
        return Err("Overflow".into());
    }
    let halvings = if magnitude < 0.5 {
        0
    } else {
        (magnitude.log2().ceil() as usize) + 1
    };
    // Each squaring doubles the relative error: keep guard digits for it.
    let work = precision + 10 + halvings;
    let one = pow10(work);
    let reduced = fixed(x, work) / (BigInt::from(1) << halvings);
    let (mut sum, mut term) = (one.clone(), one.clone());
    let mut k = 1u32;
    while term != BigInt::from(0) {
        term = &term * &reduced / &one / k;
        sum += &term;
        k += 1;
    }
    let mut value = Float {
        mantissa: sum,
        exponent: -(work as i64),
    };
    for _ in 0..halvings {
        value = value.square(work);
    }
    rounded(value.mantissa, -value.exponent, precision)
}

/// `ln(y)` for a fixed-point `y` (scale `work`) near 1: `2 atanh((y-1)/(y+1))`.
fn ln_near_one(y: &BigInt, one: &BigInt) -> BigInt {
    let z = (y - one) * one / (y + one);
    let z2 = &z * &z / one;
    let (mut sum, mut power) = (BigInt::from(0), z);
    let mut k = 1u32;
    while power != BigInt::from(0) {
        sum += &power / k;
        power = &power * &z2 / one;
        k += 2;
    }
    sum * 2
}

/// `ln(x)` (or `log10(x)`) of a positive decimal to `precision` digits: `x = y × 10^n`
/// with `y` in [0.316, 3.16), `ln x = ln y + n ln 10`.
fn ln(x: &Decimal, precision: usize, base10: bool) -> Decimal {
    let mantissa_digits = digits(&x.unscaled);
    // Enough fixed-point digits for the result's leading zeros when x is close to 1.
    let work = 2 * precision + mantissa_digits + 10;
    let one = pow10(work);
    // x = unscaled × 10^-scale = (unscaled / 10^(d-1)) × 10^(d-1-scale).
    let mut n = mantissa_digits as i64 - 1 - i64::from(x.scale);
    let mut y = &x.unscaled * &one / pow10(mantissa_digits - 1);
    if y > &one * 316 / 100 {
        y /= 10;
        n += 1;
    }
    let two = ln_near_one(&(&one * 2), &one);
    let ln10 = &two * 3 + ln_near_one(&(&one * 5 / 4), &one);
    let mut result = ln_near_one(&y, &one) + &ln10 * n;
    if base10 {
        result = div_half_even(&(result * &one), &ln10);
    }
    rounded(result, work as i64, precision).unwrap_or(Decimal {
        unscaled: BigInt::from(0),
        scale: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        Decimal {
            unscaled: format!("{int}{frac}").parse().expect("digits"),
            scale: frac.len() as i32,
        }
    }

    fn show(d: &Decimal) -> String {
        format!("{}e-{}", d.unscaled, d.scale)
    }

    #[test]
    fn decimal_results_have_32_significant_digits() {
        let e = exp(&dec("1"), 32).expect("exp");
        assert_eq!(show(&e), "27182818284590452353602874713527e-31");
        assert_eq!(
            show(&ln(&dec("5"), 32, false)),
            "16094379124341003746007593332262e-31"
        );
        assert_eq!(
            show(&ln(&dec("5"), 32, true)),
            "69897000433601880478626110527551e-32"
        );
        assert_eq!(show(&ln(&dec("100"), 32, true)), "2e-0");
        assert_eq!(show(&exp(&dec("0"), 32).expect("exp")), "1e-0");
        // Negative arguments and values far from 1 keep their precision.
        let small = exp(&dec("-20"), 32).expect("exp");
        assert_eq!(show(&small), "20611536224385578279659403801558e-40");
        assert_eq!(
            show(&ln(&dec("0.001"), 32, false)),
            "-69077552789821370520539743640531e-31"
        );
    }

    #[test]
    fn integers_narrow_like_java() {
        // (byte) Math.exp(5) = (byte) 148 = -108, as MathFctsTest computes it.
        assert_eq!(integer(MathFn::Exp, NativeType::Tinyint, 5), -108);
        assert_eq!(integer(MathFn::Exp, NativeType::Smallint, 5), 148);
        // (byte) Math.exp(6) = (byte) 403 = -109.
        assert_eq!(integer(MathFn::Exp, NativeType::Tinyint, 6), -109);
        assert_eq!(integer(MathFn::Log, NativeType::Int, -1), 0);
        assert_eq!(integer(MathFn::Abs, NativeType::Tinyint, -128), -128);
        assert_eq!(integer(MathFn::Abs, NativeType::Bigint, i64::MIN), i64::MIN);
        assert_eq!(integer(MathFn::Exp, NativeType::Bigint, 100), i64::MAX);
    }

    #[test]
    fn rounding_follows_java() {
        assert_eq!(floating(MathFn::Round, NativeType::Double, -1.5), -1.0);
        assert_eq!(floating(MathFn::Round, NativeType::Double, 2.5), 3.0);
        assert_eq!(floating(MathFn::Round, NativeType::Double, f64::NAN), 0.0);
        assert_eq!(show(&round_half_up_to_integer(&dec("-1.5"))), "-2e-0");
        assert_eq!(show(&round_half_up_to_integer(&dec("5.5"))), "6e-0");
        assert_eq!(
            varint(MathFn::Log, &BigInt::from(0)),
            Err("Natural log of number zero or less".into())
        );
        assert_eq!(varint(MathFn::Exp, &BigInt::from(5)), Ok(BigInt::from(148)));
    }
}
