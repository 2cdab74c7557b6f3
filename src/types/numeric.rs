//! varint and decimal: Java `BigInteger`/`BigDecimal` text syntax, the wire form, printing and ordering.

use std::cmp::Ordering;

use num_bigint::{BigInt, Sign};

/// `new BigInteger(text)`: an optional `+`/`-` then decimal digits.
pub(crate) fn parse_varint(text: &str) -> Option<BigInt> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Minimal big-endian two's complement (`BigInteger.toByteArray`).
pub(crate) fn varint_bytes(value: &BigInt) -> Vec<u8> {
    value.to_signed_bytes_be()
}

pub(crate) fn varint_from_bytes(bytes: &[u8]) -> BigInt {
    BigInt::from_signed_bytes_be(bytes)
}

/// A decimal: `unscaled × 10^-scale`, exactly as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    pub unscaled: BigInt,
    pub scale: i32,
}

impl Decimal {
    /// `new BigDecimal(text)`: `[sign] (digits [. digits] | . digits) [(e|E) [sign] digits]`.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], Some(&text[i + 1..])),
            None => (text, None),
        };
        let (negative, unsigned) = match mantissa.as_bytes().first()? {
            b'-' => (true, &mantissa[1..]),
            b'+' => (false, &mantissa[1..]),
            _ => (false, mantissa),
        };
        let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part)
        {
            return None;
        }
        let exponent: i64 = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !all_digits(digits) {
                    return None;
                }
                e.parse::<i32>().ok()?.into()
            }
        };
        let scale = i32::try_from(i64::try_from(frac_part.len()).ok()? - exponent).ok()?;
        let mut unscaled: BigInt = format!("{int_part}{frac_part}").parse().ok()?;
        if negative {
            unscaled = -unscaled;
        }
        Some(Decimal { unscaled, scale })
    }

    /// `[int scale][varint unscaled]`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.scale.to_be_bytes().to_vec();
        out.extend_from_slice(&varint_bytes(&self.unscaled));
        out
    }

    /// None if fewer than the 4 scale bytes are present.
    pub fn from_bytes(bytes: &[u8]) -> Option<Decimal> {
        let (scale, unscaled) = bytes.split_first_chunk::<4>()?;
        Some(Decimal {
            unscaled: varint_from_bytes(unscaled),
            scale: i32::from_be_bytes(*scale),
        })
    }

    /// The number without its scale: sign, decimal exponent and significant digits (no trailing zeros), so
    /// that `1.0` and `1.00` normalise to the same thing.
    pub fn normalize(&self) -> NormalizedDecimal {
        let digits_text = self.unscaled.magnitude().to_string();
        let trimmed = digits_text.trim_end_matches('0');
        if trimmed.is_empty() {
            return NormalizedDecimal {
                sign: Sign::NoSign,
                exponent: 0,
                digits: Vec::new(),
            };
        }
        let digits: Vec<u8> = trimmed.bytes().map(|b| b - b'0').collect();
        // value = 0.d1d2... × 10^exponent; the stripped zeros do not change it.
        let exponent = digits_text.len() as i64 - i64::from(self.scale);
        NormalizedDecimal {
            sign: self.unscaled.sign(),
            exponent,
            digits,
        }
    }

    /// Java's `BigDecimal.toString()` (scientific notation when the scale is negative or the number is tiny).
    pub fn to_java_string(&self) -> String {
        let coefficient = self.unscaled.magnitude().to_string();
        let sign = if self.unscaled.sign() == Sign::Minus {
            "-"
        } else {
            ""
        };
        let scale = i64::from(self.scale);
        let adjusted = coefficient.len() as i64 - 1 - scale;
        if scale == 0 {
            return format!("{sign}{coefficient}");
        }
        if scale > 0 && adjusted >= -6 {
            let len = coefficient.len() as i64;
            return if len > scale {
                let point = (len - scale) as usize;
                format!("{sign}{}.{}", &coefficient[..point], &coefficient[point..])
            } else {
                format!(
                    "{sign}0.{}{coefficient}",
                    "0".repeat((scale - len) as usize)
                )
            };
        }
        let (head, tail) = coefficient.split_at(1);
        let fraction = if tail.is_empty() {
            String::new()
        } else {
            format!(".{tail}")
        };
        let exp_sign = if adjusted > 0 { "+" } else { "" };
        format!("{sign}{head}{fraction}E{exp_sign}{adjusted}")
    }

    /// Numeric comparison (`BigDecimal.compareTo`): `1.0 == 1.00`.
    pub fn numeric_cmp(&self, other: &Decimal) -> Ordering {
        if self.scale == other.scale {
            return self.unscaled.cmp(&other.unscaled);
        }
        self.normalize().cmp(&other.normalize())
    }
}

/// A decimal reduced to `sign × 0.digits × 10^exponent`; its `Ord` is numeric order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NormalizedDecimal {
    pub sign: Sign,
    pub exponent: i64,
    /// Each 0..=9, the first non-zero, the last non-zero; empty for zero.
    pub digits: Vec<u8>,
}

impl Ord for NormalizedDecimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let magnitude = || {
            self.exponent
                .cmp(&other.exponent)
                .then_with(|| self.digits.cmp(&other.digits))
        };
        match (self.sign, other.sign) {
            (a, b) if a != b => a.cmp(&b),
            (Sign::Plus, _) => magnitude(),
            (Sign::Minus, _) => magnitude().reverse(),
            _ => Ordering::Equal,
        }
    }
}

impl PartialOrd for NormalizedDecimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::parse(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn decimal_parse_and_java_printing() {
        let cases = [
            ("1.5", "15", 1, "1.5"),
            ("-0.001", "-1", 3, "-0.001"),
            ("1e3", "1", -3, "1E+3"),
            ("1.23E-10", "123", 12, "1.23E-10"),
            ("100", "100", 0, "100"),
            (".5", "5", 1, "0.5"),
            ("+7.", "7", 0, "7"),
            ("0.0000001", "1", 7, "1E-7"),
            ("0.000001", "1", 6, "0.000001"),
            ("0.00", "0", 2, "0.00"),
        ];
        for (text, unscaled, scale, printed) in cases {
            let d = dec(text);
            assert_eq!(d.unscaled.to_string(), unscaled, "{text}");
            assert_eq!(d.scale, scale, "{text}");
            assert_eq!(d.to_java_string(), printed, "{text}");
            assert_eq!(Decimal::from_bytes(&d.to_bytes()), Some(d));
        }
        for bad in [
            "",
            ".",
            "1.2.3",
            "abc",
            "1e",
            "1e+",
            "NaN",
            "--1",
            "1e99999999999",
        ] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn decimal_compares_numerically() {
        assert_eq!(dec("1.0").numeric_cmp(&dec("1.00")), Ordering::Equal);
        assert_eq!(dec("1.01").numeric_cmp(&dec("1.1")), Ordering::Less);
        assert_eq!(dec("-1.01").numeric_cmp(&dec("-1.1")), Ordering::Greater);
        assert_eq!(dec("0").numeric_cmp(&dec("-0.0001")), Ordering::Greater);
        assert_eq!(dec("1e3").numeric_cmp(&dec("999.99")), Ordering::Greater);
        assert_eq!(dec("0.00").numeric_cmp(&dec("0")), Ordering::Equal);
    }

    #[test]
    fn varints_are_minimal_twos_complement() {
        for (text, bytes) in [
            ("0", vec![0u8]),
            ("127", vec![0x7F]),
            ("128", vec![0, 0x80]),
            ("-129", vec![0xFF, 0x7F]),
        ] {
            let v = parse_varint(text).unwrap_or_default();
            assert_eq!(varint_bytes(&v), bytes, "{text}");
            assert_eq!(varint_from_bytes(&bytes), v);
        }
        assert_eq!(parse_varint("1.5"), None);
        assert_eq!(parse_varint("+"), None);
    }
}
