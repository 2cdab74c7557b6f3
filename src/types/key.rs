//! Order-preserving ("memcmp-able") key encoding of values, for the storage engine's keys.
//!
//! Layout of one ascending component (descending = every byte inverted):
//! - byte strings (text, ascii, blob, inet, custom): the bytes with 0x00 escaped as `00 FF`, then `00 01`;
//! - every other type starts with a marker: `00` for the empty value (which sorts first), else:
//!   - fixed-width numbers: `01` + big-endian bytes with the sign bit flipped (floats: Java's total order);
//!   - date, time: `01` + the bytes (already unsigned-ordered); uuid/timeuuid: `01` + their sort key;
//!   - varint: `01` negative / `02` zero / `03` positive, then the magnitude's byte length (prefix-free) and
//!     the magnitude, all inverted for negatives;
//!   - decimal: the same class byte, then the decimal exponent (8 bytes) and the significant digits two per
//!     byte ending in `00` (inverted for negatives), then the scale (4 bytes) so the exact value survives;
//!   - list/set/map: `01`, each element (each map key then value) behind a `01`, then `00`;
//!   - tuple/UDT: `01`, each field as `01` (null) or `02` + the field, trailing nulls dropped, then `00`;
//!   - vector: `01` + the elements.
//!
//! Every encoding is prefix-free, so concatenated components compare as tuples, and inverting all bytes
//! (descending) keeps that property.

use num_bigint::{BigInt, BigUint, Sign};

use super::codec::{
    pack_collection, pack_vector, split_collection, split_fields, split_map, split_vector,
    write_element, CollectionKind,
};
use super::compare::{
    float_from_sort_key, float_sort_key, strip_trailing_nulls, timeuuid_from_sort_key,
    timeuuid_sort_key, uuid_from_sort_key, uuid_sort_key,
};
use super::cql_type::{CqlType, NativeType, MAX_TYPE_DEPTH};
use super::error::{invalid, TypeError};
use super::numeric::{varint_bytes, varint_from_bytes, Decimal};
use super::validate::validate;

const EMPTY: u8 = 0x00;
const PRESENT: u8 = 0x01;
const NEGATIVE: u8 = 0x01;
const ZERO: u8 = 0x02;
const POSITIVE: u8 = 0x03;
const END: u8 = 0x00;
const ELEMENT: u8 = 0x01;
const NULL_FIELD: u8 = 0x01;
const VALUE_FIELD: u8 = 0x02;
/// Decoding rebuilds a decimal's trailing zeros; more than this many means corrupt input, not a value.
const MAX_DECIMAL_TRAILING_ZEROS: i64 = 1_000_000;

/// Appends the order-preserving encoding of `value` (a serialized value of `ty`) to `out`.
///
/// The value is validated first. `duration` (and anything containing one) cannot be ordered and is refused.
/// On error nothing is appended.
pub fn encode_key_component(
    ty: &CqlType,
    value: &[u8],
    descending: bool,
    out: &mut Vec<u8>,
) -> Result<(), TypeError> {
    if ty.references_duration() {
        return Err(invalid(format!(
            "Invalid key type {ty}: durations cannot be ordered"
        )));
    }
    validate(ty, value)?;
    let start = out.len();
    if let Err(e) = encode_asc(ty, value, out, 0) {
        out.truncate(start);
        return Err(e);
    }
    if descending {
        out.iter_mut().skip(start).for_each(|b| *b = !*b);
    }
    Ok(())
}

/// Reads one component written by [`encode_key_component`] from the front of `input`, advances `input` past
/// it, and returns the serialized value (in its canonical form, see the module docs of `types`).
pub fn decode_key_component(
    ty: &CqlType,
    input: &mut &[u8],
    descending: bool,
) -> Result<Vec<u8>, TypeError> {
    let mut reader = Reader {
        data: input,
        pos: 0,
        mask: if descending { 0xFF } else { 0x00 },
    };
    let mut out = Vec::new();
    decode_asc(ty, &mut reader, &mut out, 0)?;
    *input = input.get(reader.pos..).unwrap_or_default();
    Ok(out)
}

fn corrupt(what: &'static str) -> TypeError {
    TypeError::CorruptKey(what)
}

fn encode_asc(
    ty: &CqlType,
    value: &[u8],
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), TypeError> {
    if depth > MAX_TYPE_DEPTH {
        return Err(corrupt("nesting too deep"));
    }
    if is_byte_string(ty) {
        encode_escaped(value, out);
        return Ok(());
    }
    if value.is_empty() {
        out.push(EMPTY);
        return Ok(());
    }
    match ty {
        CqlType::Native(native) => encode_native(*native, value, out),
        CqlType::List { element, .. } | CqlType::Set { element, .. } => {
            out.push(PRESENT);
            for e in split_collection(value, kind_of(ty))? {
                out.push(ELEMENT);
                encode_asc(element, e.unwrap_or_default(), out, depth + 1)?;
            }
            out.push(END);
            Ok(())
        }
        CqlType::Map {
            key,
            value: value_type,
            ..
        } => {
            out.push(PRESENT);
            for (k, v) in split_map(value)? {
                out.push(ELEMENT);
                encode_asc(key, k.unwrap_or_default(), out, depth + 1)?;
                encode_asc(value_type, v.unwrap_or_default(), out, depth + 1)?;
            }
            out.push(END);
            Ok(())
        }
        CqlType::Tuple(_) | CqlType::Udt { .. } => {
            let types = field_types(ty);
            let mut fields = split_fields(value, types.len())?;
            strip_trailing_nulls(&mut fields);
            out.push(PRESENT);
            for (field, field_type) in fields.iter().zip(types) {
                match field {
                    None => out.push(NULL_FIELD),
                    Some(bytes) => {
                        out.push(VALUE_FIELD);
                        encode_asc(field_type, bytes, out, depth + 1)?;
                    }
                }
            }
            out.push(END);
            Ok(())
        }
        CqlType::Vector { element, dimension } => {
            out.push(PRESENT);
            for e in split_vector(element, *dimension, value)? {
                encode_asc(element, e, out, depth + 1)?;
            }
            Ok(())
        }
        CqlType::Custom(_) => Err(corrupt("custom types are byte strings")),
    }
}

fn is_byte_string(ty: &CqlType) -> bool {
    matches!(
        ty,
        CqlType::Native(NativeType::Text | NativeType::Ascii | NativeType::Blob | NativeType::Inet)
            | CqlType::Custom(_)
    )
}

fn kind_of(ty: &CqlType) -> CollectionKind {
    match ty {
        CqlType::Set { .. } => CollectionKind::Set,
        CqlType::Map { .. } => CollectionKind::Map,
        _ => CollectionKind::List,
    }
}

fn field_types(ty: &CqlType) -> Vec<&CqlType> {
    match ty {
        CqlType::Tuple(items) => items.iter().collect(),
        CqlType::Udt { def, .. } => def.fields.iter().map(|(_, t)| t).collect(),
        _ => Vec::new(),
    }
}

fn encode_escaped(value: &[u8], out: &mut Vec<u8>) {
    for &b in value {
        out.push(b);
        if b == 0x00 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

fn encode_native(native: NativeType, value: &[u8], out: &mut Vec<u8>) -> Result<(), TypeError> {
    use NativeType as N;
    match native {
        N::Varint => {
            encode_varint(&varint_from_bytes(value), out);
            return Ok(());
        }
        N::Decimal => {
            encode_decimal(
                &Decimal::from_bytes(value).ok_or(corrupt("decimal width"))?,
                out,
            );
            return Ok(());
        }
        _ => out.push(PRESENT),
    }
    match native {
        N::Int | N::Bigint | N::Counter | N::Smallint | N::Tinyint | N::Timestamp => {
            let (sign, rest) = value.split_first().ok_or(corrupt("integer width"))?;
            out.push(sign ^ 0x80);
            out.extend_from_slice(rest);
        }
        N::Boolean => out.push(u8::from(value.first().is_some_and(|b| *b != 0))),
        N::Float | N::Double => {
            let key = float_sort_key(value).ok_or(corrupt("float width"))?;
            let bytes = key.to_be_bytes();
            let low = bytes.get(8usize.saturating_sub(value.len())..);
            out.extend_from_slice(low.ok_or(corrupt("float width"))?);
        }
        N::Date | N::Time => out.extend_from_slice(value),
        N::Uuid => out.extend_from_slice(&uuid_sort_key(value).ok_or(corrupt("uuid width"))?),
        N::Timeuuid => {
            out.extend_from_slice(&timeuuid_sort_key(value).ok_or(corrupt("uuid width"))?)
        }
        N::Varint | N::Decimal | N::Duration | N::Text | N::Ascii | N::Blob | N::Inet => {
            return Err(corrupt("not a marker type"))
        }
    }
    Ok(())
}

/// A length whose encoding orders like the number and is prefix-free: one byte below 0xF8, else
/// `0xF8 + (n - 1)` followed by the n big-endian bytes of the length.
fn write_length(len: usize, out: &mut Vec<u8>) {
    if len < 0xF8 {
        out.push(len as u8);
        return;
    }
    let be = (len as u64).to_be_bytes();
    let significant: Vec<u8> = be.into_iter().skip_while(|b| *b == 0).collect();
    out.push(0xF7 + significant.len() as u8);
    out.extend_from_slice(&significant);
}

/// Appends `bytes`, inverted when `negative` (so a larger magnitude sorts first).
fn push_signed(out: &mut Vec<u8>, bytes: &[u8], negative: bool) {
    let mask = if negative { 0xFF } else { 0x00 };
    out.extend(bytes.iter().map(|b| b ^ mask));
}

fn encode_varint(value: &BigInt, out: &mut Vec<u8>) {
    let (class, negative) = match value.sign() {
        Sign::Minus => (NEGATIVE, true),
        Sign::NoSign => (ZERO, false),
        Sign::Plus => (POSITIVE, false),
    };
    out.push(class);
    if class == ZERO {
        return;
    }
    let magnitude = value.magnitude().to_bytes_be();
    let mut body = Vec::with_capacity(magnitude.len() + 9);
    write_length(magnitude.len(), &mut body);
    body.extend_from_slice(&magnitude);
    push_signed(out, &body, negative);
}

fn encode_decimal(value: &Decimal, out: &mut Vec<u8>) {
    let normalized = value.normalize();
    let (class, negative) = match normalized.sign {
        Sign::Minus => (NEGATIVE, true),
        Sign::NoSign => (ZERO, false),
        Sign::Plus => (POSITIVE, false),
    };
    out.push(class);
    if class != ZERO {
        let mut body = ((normalized.exponent as u64) ^ (1 << 63))
            .to_be_bytes()
            .to_vec();
        for pair in normalized.digits.chunks(2) {
            let (high, low) = match pair {
                [high, low] => (*high, *low),
                [high] => (*high, 0),
                _ => (0, 0),
            };
            body.push(high * 10 + low + 1);
        }
        body.push(END);
        push_signed(out, &body, negative);
    }
    out.extend_from_slice(&((value.scale as u32) ^ (1 << 31)).to_be_bytes());
}

/// Reads key bytes, undoing the descending inversion on the fly.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    mask: u8,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, TypeError> {
        let b = *self.data.get(self.pos).ok_or(corrupt("truncated"))?;
        self.pos += 1;
        Ok(b ^ self.mask)
    }

    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, TypeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or(corrupt("truncated"))?;
        let out = self
            .data
            .get(self.pos..end)
            .ok_or(corrupt("truncated"))?
            .iter()
            .map(|b| b ^ self.mask)
            .collect();
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], TypeError> {
        let bytes = self.bytes(N)?;
        bytes.try_into().map_err(|_| corrupt("truncated"))
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
}

fn decode_asc(
    ty: &CqlType,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), TypeError> {
    if depth > MAX_TYPE_DEPTH {
        return Err(corrupt("nesting too deep"));
    }
    if is_byte_string(ty) {
        return decode_escaped(r, out);
    }
    // varint and decimal fold the empty marker into their class byte.
    match ty {
        CqlType::Native(NativeType::Varint) => return decode_varint(r, out),
        CqlType::Native(NativeType::Decimal) => return decode_decimal(r, out),
        _ => {}
    }
    match r.byte()? {
        EMPTY => return Ok(()),
        PRESENT => {}
        _ => return Err(corrupt("bad marker")),
    }
    match ty {
        CqlType::Native(native) => decode_native(*native, r, out),
        CqlType::List { element, .. } | CqlType::Set { element, .. } => {
            let elements = decode_elements(r, |r, out| decode_asc(element, r, out, depth + 1))?;
            out.extend(pack_collection(
                elements.len(),
                elements.iter().map(|e| Some(e.as_slice())),
            ));
            Ok(())
        }
        CqlType::Map { key, value, .. } => {
            let entries = decode_elements(r, |r, out| {
                let mut k = Vec::new();
                decode_asc(key, r, &mut k, depth + 1)?;
                let mut v = Vec::new();
                decode_asc(value, r, &mut v, depth + 1)?;
                write_element(out, Some(&k));
                write_element(out, Some(&v));
                Ok(())
            })?;
            out.extend_from_slice(
                &i32::try_from(entries.len())
                    .unwrap_or(i32::MAX)
                    .to_be_bytes(),
            );
            entries.iter().for_each(|e| out.extend_from_slice(e));
            Ok(())
        }
        CqlType::Tuple(_) | CqlType::Udt { .. } => {
            let types = field_types(ty);
            let mut written = 0;
            loop {
                let marker = r.byte()?;
                if marker == END {
                    break;
                }
                let field_type = types.get(written).ok_or(corrupt("too many fields"))?;
                match marker {
                    NULL_FIELD => write_element(out, None),
                    VALUE_FIELD => {
                        let mut field = Vec::new();
                        decode_asc(field_type, r, &mut field, depth + 1)?;
                        write_element(out, Some(&field));
                    }
                    _ => return Err(corrupt("bad field marker")),
                }
                written += 1;
            }
            // Trailing nulls were dropped by the encoder; restore the declared arity.
            (written..types.len()).for_each(|_| write_element(out, None));
            Ok(())
        }
        CqlType::Vector { element, dimension } => {
            let mut elements = Vec::new();
            for _ in 0..*dimension {
                if r.remaining() == 0 {
                    return Err(corrupt("truncated vector"));
                }
                let mut e = Vec::new();
                decode_asc(element, r, &mut e, depth + 1)?;
                elements.push(e);
            }
            out.extend(pack_vector(element, &elements));
            Ok(())
        }
        CqlType::Custom(_) => Err(corrupt("custom types are byte strings")),
    }
}

/// Reads `ELEMENT`-prefixed items until `END`, each decoded into its own buffer.
fn decode_elements(
    r: &mut Reader<'_>,
    mut decode_one: impl FnMut(&mut Reader<'_>, &mut Vec<u8>) -> Result<(), TypeError>,
) -> Result<Vec<Vec<u8>>, TypeError> {
    let mut items = Vec::new();
    loop {
        match r.byte()? {
            END => return Ok(items),
            ELEMENT => {
                let mut item = Vec::new();
                decode_one(r, &mut item)?;
                items.push(item);
            }
            _ => return Err(corrupt("bad element marker")),
        }
    }
}

fn decode_escaped(r: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<(), TypeError> {
    loop {
        let b = r.byte()?;
        if b != 0x00 {
            out.push(b);
            continue;
        }
        match r.byte()? {
            0xFF => out.push(0x00),
            0x01 => return Ok(()),
            _ => return Err(corrupt("bad escape")),
        }
    }
}

fn decode_native(
    native: NativeType,
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
) -> Result<(), TypeError> {
    use NativeType as N;
    match native {
        N::Int | N::Bigint | N::Counter | N::Smallint | N::Tinyint | N::Timestamp => {
            let width = native.fixed_size().ok_or(corrupt("width"))?;
            let mut bytes = r.bytes(width)?;
            if let Some(sign) = bytes.first_mut() {
                *sign ^= 0x80;
            }
            out.extend(bytes);
        }
        N::Boolean => out.push(r.byte()?),
        N::Float | N::Double => {
            let width = native.fixed_size().ok_or(corrupt("width"))?;
            // A float key is the low `width` bytes of a u64 (`encode_native`).
            let key = r
                .bytes(width)?
                .into_iter()
                .fold(0u64, |key, b| (key << 8) | u64::from(b));
            let bits = float_from_sort_key(key, width).to_be_bytes();
            let low = bits.get(8usize.saturating_sub(width)..);
            out.extend_from_slice(low.ok_or(corrupt("width"))?);
        }
        N::Date => out.extend(r.bytes(4)?),
        N::Time => out.extend(r.bytes(8)?),
        N::Uuid => out.extend_from_slice(&uuid_from_sort_key(r.array()?)),
        N::Timeuuid => out.extend_from_slice(&timeuuid_from_sort_key(r.array()?)),
        N::Varint | N::Decimal | N::Duration | N::Text | N::Ascii | N::Blob | N::Inet => {
            return Err(corrupt("not a marker type"))
        }
    }
    Ok(())
}

/// Reads the class byte of a varint/decimal: None for the empty value, else whether it is negative/zero.
fn read_class(r: &mut Reader<'_>) -> Result<Option<(bool, bool)>, TypeError> {
    match r.byte()? {
        EMPTY => Ok(None),
        NEGATIVE => Ok(Some((true, false))),
        ZERO => Ok(Some((false, true))),
        POSITIVE => Ok(Some((false, false))),
        _ => Err(corrupt("bad number class")),
    }
}

/// Reads one byte of a sign-dependent section (inverted for negatives).
fn signed_byte(r: &mut Reader<'_>, negative: bool) -> Result<u8, TypeError> {
    Ok(r.byte()? ^ if negative { 0xFF } else { 0x00 })
}

fn read_length(r: &mut Reader<'_>, negative: bool) -> Result<usize, TypeError> {
    let first = signed_byte(r, negative)?;
    if first < 0xF8 {
        return Ok(usize::from(first));
    }
    let mut len: u64 = 0;
    for _ in 0..=(first - 0xF8) {
        len = (len << 8) | u64::from(signed_byte(r, negative)?);
    }
    usize::try_from(len).map_err(|_| corrupt("length"))
}

fn decode_varint(r: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<(), TypeError> {
    let Some((negative, zero)) = read_class(r)? else {
        return Ok(());
    };
    if zero {
        out.push(0);
        return Ok(());
    }
    let len = read_length(r, negative)?;
    if len > r.remaining() {
        return Err(corrupt("varint length"));
    }
    let magnitude: Vec<u8> = r
        .bytes(len)?
        .into_iter()
        .map(|b| if negative { !b } else { b })
        .collect();
    let sign = if negative { Sign::Minus } else { Sign::Plus };
    out.extend(varint_bytes(&BigInt::from_biguint(
        sign,
        BigUint::from_bytes_be(&magnitude),
    )));
    Ok(())
}

fn decode_decimal(r: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<(), TypeError> {
    let Some((negative, zero)) = read_class(r)? else {
        return Ok(());
    };
    let mut unscaled = BigInt::from(0);
    let mut digit_count_and_exponent = None;
    if !zero {
        let mut exponent = [0u8; 8];
        for b in &mut exponent {
            *b = signed_byte(r, negative)?;
        }
        let exponent = (u64::from_be_bytes(exponent) ^ (1 << 63)) as i64;
        let mut digits = String::new();
        loop {
            let b = signed_byte(r, negative)?;
            if b == END {
                break;
            }
            let pair = b
                .checked_sub(1)
                .filter(|p| *p < 100)
                .ok_or(corrupt("decimal digit"))?;
            digits.push(char::from(b'0' + pair / 10));
            digits.push(char::from(b'0' + pair % 10));
        }
        let digits = digits.trim_end_matches('0');
        unscaled = digits.parse().map_err(|_| corrupt("decimal digits"))?;
        if negative {
            unscaled = -unscaled;
        }
        digit_count_and_exponent = Some((digits.len() as i64, exponent));
    }
    let scale = (u32::from_be_bytes(r.array()?) ^ (1 << 31)) as i32;
    if let Some((count, exponent)) = digit_count_and_exponent {
        // exponent = digits + trailing zeros - scale, so the zeros stripped by the encoder come back here.
        let trailing_zeros = exponent - count + i64::from(scale);
        if !(0..=MAX_DECIMAL_TRAILING_ZEROS).contains(&trailing_zeros) {
            return Err(corrupt("decimal exponent"));
        }
        unscaled *= BigInt::from(10u32).pow(trailing_zeros as u32);
    }
    out.extend(Decimal { unscaled, scale }.to_bytes());
    Ok(())
}

#[cfg(test)]
mod tests;
