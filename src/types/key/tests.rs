//! Key encoding tests: worked examples, then properties checked against `compare_values` for generated types
//! and values (ascending, descending, and concatenated components).

use std::cmp::Ordering;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use super::*;
use crate::types::compare::compare_values;
use crate::types::cql_type::{NoUdts, UdtDef};
use crate::types::literal::{
    literal_to_bytes, serialize_list, serialize_map, serialize_set, serialize_vector, ConstantKind,
};
use crate::types::numeric::Decimal;

fn ty(text: &str) -> CqlType {
    CqlType::parse(text, &NoUdts).unwrap()
}

fn encode(t: &CqlType, value: &[u8], descending: bool) -> Vec<u8> {
    let mut out = Vec::new();
    encode_key_component(t, value, descending, &mut out).unwrap();
    out
}

#[test]
fn byte_strings_are_escaped_and_terminated() {
    let text = ty("blob");
    assert_eq!(encode(&text, &[], false), [0x00, 0x01]);
    assert_eq!(
        encode(&text, &[0x00, 0x05], false),
        [0x00, 0xFF, 0x05, 0x00, 0x01]
    );
    assert_eq!(encode(&text, &[0x00], true), [0xFF, 0x00, 0xFF, 0xFE]);
    assert_eq!(
        encode(&ty("int"), &[0, 0, 0, 1], false),
        [0x01, 0x80, 0, 0, 1]
    );
    assert_eq!(encode(&ty("int"), &[], false), [0x00]);
}

#[test]
fn durations_and_invalid_values_are_refused() {
    let mut out = vec![9];
    let duration = ty("duration");
    assert!(encode_key_component(&duration, &[0, 0, 0], false, &mut out).is_err());
    assert!(encode_key_component(
        &ty("frozen<list<duration>>"),
        &[0, 0, 0, 0],
        false,
        &mut out
    )
    .is_err());
    assert_eq!(
        encode_key_component(&ty("int"), &[1, 2], false, &mut out).map_err(|e| e.to_string()),
        Err("Expected 4 or 0 byte int (2)".to_string())
    );
    assert_eq!(out, [9], "nothing appended on error");
}

#[test]
fn canonical_forms_after_decoding() {
    let boolean = ty("boolean");
    assert_eq!(
        decode_key_component(
            &boolean,
            &mut encode(&boolean, &[7], false).as_slice(),
            false
        ),
        Ok(vec![1])
    );
    let float = ty("float");
    let odd_nan = [0xFF, 0xC0, 0x00, 0x01];
    let decoded = decode_key_component(
        &float,
        &mut encode(&float, &odd_nan, false).as_slice(),
        false,
    )
    .unwrap();
    assert_eq!(decoded, 0x7FC0_0000u32.to_be_bytes());
    let tuple = ty("tuple<int, int, int>");
    let short = crate::types::serialize_tuple(&tuple, &[Some(vec![0, 0, 0, 1])], "t").unwrap();
    let full =
        crate::types::serialize_tuple(&tuple, &[Some(vec![0, 0, 0, 1]), None, None], "t").unwrap();
    assert_eq!(
        decode_key_component(&tuple, &mut encode(&tuple, &short, false).as_slice(), false),
        Ok(full.clone())
    );
    assert_eq!(encode(&tuple, &short, false), encode(&tuple, &full, false));
}

#[test]
fn decimals_keep_their_scale() {
    let decimal = ty("decimal");
    let one = Decimal::parse("1.0").unwrap().to_bytes();
    let one_hundredth = Decimal::parse("1.00").unwrap().to_bytes();
    let (a, b) = (
        encode(&decimal, &one, false),
        encode(&decimal, &one_hundredth, false),
    );
    assert_ne!(a, b);
    assert_eq!(
        decode_key_component(&decimal, &mut a.as_slice(), false),
        Ok(one)
    );
    assert_eq!(
        decode_key_component(&decimal, &mut b.as_slice(), false),
        Ok(one_hundredth)
    );
    let big = Decimal::parse("-12300000000000000000000000E-3")
        .unwrap()
        .to_bytes();
    assert_eq!(
        decode_key_component(&decimal, &mut encode(&decimal, &big, true).as_slice(), true),
        Ok(big)
    );
}

#[test]
fn corrupt_keys_are_errors() {
    let cases: [(&str, &[u8]); 6] = [
        ("int", &[0x01, 0x80]),
        ("int", &[0x07]),
        ("text", &[0x61, 0x00, 0x05]),
        (
            "varint",
            &[0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        ),
        (
            "decimal",
            &[
                0x03, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0x00, 0x00, 0x00,
                0x00,
            ],
        ),
        (
            "frozen<list<int>>",
            &[0x01, 0x01, 0x01, 0x80, 0, 0, 1, 0x05],
        ),
    ];
    for (t, bytes) in cases {
        assert!(
            decode_key_component(&ty(t), &mut &bytes[..], false).is_err(),
            "{t} {bytes:?}"
        );
    }
}

// ---- generators ----

fn native_leaf() -> impl Strategy<Value = CqlType> {
    use NativeType as N;
    prop::sample::select(vec![
        N::Ascii,
        N::Bigint,
        N::Blob,
        N::Boolean,
        N::Counter,
        N::Date,
        N::Decimal,
        N::Double,
        N::Float,
        N::Inet,
        N::Int,
        N::Smallint,
        N::Text,
        N::Time,
        N::Timestamp,
        N::Timeuuid,
        N::Tinyint,
        N::Uuid,
        N::Varint,
    ])
    .prop_map(CqlType::Native)
}

fn key_type() -> impl Strategy<Value = CqlType> {
    native_leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| CqlType::List {
                element: Box::new(e),
                frozen: true
            }),
            inner.clone().prop_map(|e| CqlType::Set {
                element: Box::new(e),
                frozen: true
            }),
            (inner.clone(), inner.clone()).prop_map(|(k, v)| CqlType::Map {
                key: Box::new(k),
                value: Box::new(v),
                frozen: true
            }),
            prop::collection::vec(inner.clone(), 1..4).prop_map(CqlType::Tuple),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|fields| CqlType::Udt {
                def: Box::new(UdtDef {
                    keyspace: "ks".into(),
                    name: "u".into(),
                    fields: fields
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| (format!("f{i}"), t))
                        .collect(),
                }),
                frozen: true,
            }),
            (inner, 1u32..3).prop_map(|(e, dimension)| CqlType::Vector {
                element: Box::new(e),
                dimension
            }),
        ]
    })
}

fn interesting_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![0x00u8, 0x01, 0x7F, 0x80, 0xFE, 0xFF, b'a']),
        0..5,
    )
}

fn float_bits() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        prop::sample::select(vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE
        ]),
    ]
}

fn decimal_value() -> impl Strategy<Value = Vec<u8>> {
    (any::<i64>(), 0u32..4, -12i32..12).prop_map(|(unscaled, zeros, scale)| {
        let unscaled = num_bigint::BigInt::from(unscaled % 100_000)
            * num_bigint::BigInt::from(10u32).pow(zeros);
        Decimal { unscaled, scale }.to_bytes()
    })
}

/// A valid, canonical serialized value of `t` (never empty for composites, sometimes empty for natives that
/// allow it).
fn value_of(t: &CqlType) -> BoxedStrategy<Vec<u8>> {
    use NativeType as N;
    match t {
        CqlType::Native(n) => match n {
            N::Int => any::<i32>().prop_map(|v| v.to_be_bytes().to_vec()).boxed(),
            N::Bigint | N::Counter | N::Timestamp => prop_oneof![any::<i64>(), -3i64..3]
                .prop_map(|v| v.to_be_bytes().to_vec())
                .boxed(),
            N::Smallint => any::<i16>().prop_map(|v| v.to_be_bytes().to_vec()).boxed(),
            N::Tinyint => any::<i8>().prop_map(|v| v.to_be_bytes().to_vec()).boxed(),
            N::Boolean => any::<bool>().prop_map(|b| vec![u8::from(b)]).boxed(),
            N::Float => float_bits()
                .prop_map(|v| {
                    let f = v as f32;
                    if f.is_nan() { f32::NAN } else { f }.to_be_bytes().to_vec()
                })
                .boxed(),
            N::Double => float_bits()
                .prop_map(|v| if v.is_nan() { f64::NAN } else { v }.to_be_bytes().to_vec())
                .boxed(),
            N::Decimal => decimal_value().boxed(),
            N::Varint => prop_oneof![
                any::<i64>().prop_map(num_bigint::BigInt::from),
                prop::collection::vec(any::<u8>(), 1..20)
                    .prop_map(|b| num_bigint::BigInt::from_signed_bytes_be(&b)),
            ]
            .prop_map(|v| v.to_signed_bytes_be())
            .boxed(),
            N::Text => "[ab\u{0}\u{ff}é]{0,5}".prop_map(String::into_bytes).boxed(),
            N::Ascii => "[ab\u{0}\u{7f}]{0,5}".prop_map(String::into_bytes).boxed(),
            N::Blob => interesting_bytes().boxed(),
            N::Inet => prop_oneof![
                prop::collection::vec(any::<u8>(), 4..=4),
                prop::collection::vec(prop::sample::select(vec![0u8, 1, 0xFF]), 16..=16),
            ]
            .boxed(),
            N::Uuid => prop::collection::vec(any::<u8>(), 16..=16).boxed(),
            N::Timeuuid => prop::collection::vec(any::<u8>(), 16..=16)
                .prop_map(|mut b| {
                    b[6] = (b[6] & 0x0F) | 0x10;
                    b
                })
                .boxed(),
            N::Date => any::<u32>().prop_map(|v| v.to_be_bytes().to_vec()).boxed(),
            N::Time => (0i64..86_400_000_000_000)
                .prop_map(|v| v.to_be_bytes().to_vec())
                .boxed(),
            N::Duration => Just(vec![0, 0, 0]).boxed(),
        },
        CqlType::List { element, .. } => prop::collection::vec(value_of(element), 0..3)
            .prop_map(|items| {
                serialize_list(&items.into_iter().map(Some).collect::<Vec<_>>()).unwrap()
            })
            .boxed(),
        CqlType::Set { element, .. } => {
            let element = (**element).clone();
            prop::collection::vec(value_of(&element), 0..3)
                .prop_map(move |items| {
                    serialize_set(&element, &items.into_iter().map(Some).collect::<Vec<_>>())
                        .unwrap()
                })
                .boxed()
        }
        CqlType::Map { key, value, .. } => {
            let key_type = (**key).clone();
            prop::collection::vec((value_of(key), value_of(value)), 0..3)
                .prop_map(move |entries| {
                    let entries: Vec<_> = entries
                        .into_iter()
                        .map(|(k, v)| (Some(k), Some(v)))
                        .collect();
                    serialize_map(&key_type, &entries).unwrap()
                })
                .boxed()
        }
        CqlType::Tuple(_) | CqlType::Udt { .. } => {
            let fields: Vec<BoxedStrategy<Option<Vec<u8>>>> = field_types(t)
                .into_iter()
                .map(|f| prop::option::of(value_of(f)).boxed())
                .collect();
            fields
                .prop_map(|fields| {
                    let mut out = Vec::new();
                    fields
                        .iter()
                        .for_each(|f| crate::types::codec::write_element(&mut out, f.as_deref()));
                    out
                })
                .boxed()
        }
        CqlType::Vector { element, dimension } => {
            let t = t.clone();
            prop::collection::vec(value_of(element), *dimension as usize)
                .prop_map(move |items| {
                    serialize_vector(&t, &items.into_iter().map(Some).collect::<Vec<_>>(), "v")
                        .unwrap()
                })
                .boxed()
        }
        CqlType::Custom(_) => interesting_bytes().boxed(),
    }
}

/// A value of `t` that may also be the empty value where the type validates it.
fn maybe_empty_value_of(t: &CqlType) -> BoxedStrategy<Vec<u8>> {
    let empty_ok = crate::types::validate(t, &[]).is_ok();
    if empty_ok {
        prop_oneof![1 => Just(Vec::new()), 6 => value_of(t)].boxed()
    } else {
        value_of(t).boxed()
    }
}

fn type_and_values(n: usize) -> impl Strategy<Value = (CqlType, Vec<Vec<u8>>)> {
    key_type().prop_flat_map(move |t| {
        let values = prop::collection::vec(maybe_empty_value_of(&t), n);
        (Just(t), values)
    })
}

fn contains_decimal(t: &CqlType) -> bool {
    t.to_string().contains("decimal")
}

fn config() -> ProptestConfig {
    // Case count: proptest's default (256) unless PROPTEST_CASES says otherwise.
    ProptestConfig {
        // Failing seeds are kept beside this file and re-run first.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "src/types/key/proptest-regressions.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decode_inverts_encode((t, values) in type_and_values(1), descending in any::<bool>()) {
        let value = &values[0];
        let encoded = encode(&t, value, descending);
        let mut input = encoded.as_slice();
        let decoded = decode_key_component(&t, &mut input, descending);
        prop_assert_eq!(decoded.as_ref(), Ok(value), "type {}", t);
        prop_assert!(input.is_empty());
    }

    #[test]
    fn key_order_matches_compare_values((t, values) in type_and_values(2)) {
        let (a, b) = (&values[0], &values[1]);
        let expected = compare_values(&t, a, b);
        let (ea, eb) = (encode(&t, a, false), encode(&t, b, false));
        let (da, db) = (encode(&t, a, true), encode(&t, b, true));
        if expected == Ordering::Equal && ea != eb {
            prop_assert!(contains_decimal(&t), "equal values with different keys for {}", t);
        } else {
            prop_assert_eq!(ea.cmp(&eb), expected, "ascending, type {}", t);
            prop_assert_eq!(da.cmp(&db), expected.reverse(), "descending, type {}", t);
        }
        prop_assert_eq!(ea.cmp(&eb).reverse(), da.cmp(&db));
    }

    #[test]
    fn concatenated_components_order_as_tuples(
        (t1, v1) in type_and_values(2),
        (t2, v2) in type_and_values(2),
        desc1 in any::<bool>(),
        desc2 in any::<bool>(),
    ) {
        let key = |i: usize| {
            let mut out = Vec::new();
            encode_key_component(&t1, &v1[i], desc1, &mut out).unwrap();
            encode_key_component(&t2, &v2[i], desc2, &mut out).unwrap();
            out
        };
        let directed = |o: Ordering, desc: bool| if desc { o.reverse() } else { o };
        let (k0, k1) = (key(0), key(1));
        let first = directed(compare_values(&t1, &v1[0], &v1[1]), desc1);
        let second = directed(compare_values(&t2, &v2[0], &v2[1]), desc2);
        if !(contains_decimal(&t1) || contains_decimal(&t2)) {
            prop_assert_eq!(k0.cmp(&k1), first.then(second));
        }
        let mut input = k0.as_slice();
        prop_assert_eq!(decode_key_component(&t1, &mut input, desc1), Ok(v1[0].clone()));
        prop_assert_eq!(decode_key_component(&t2, &mut input, desc2), Ok(v2[0].clone()));
        prop_assert!(input.is_empty());
    }

    #[test]
    fn garbage_never_panics(t in key_type(), bytes in prop::collection::vec(any::<u8>(), 0..40), descending in any::<bool>()) {
        let _ = decode_key_component(&t, &mut bytes.as_slice(), descending);
        let _ = crate::types::validate(&t, &bytes);
        let _ = compare_values(&t, &bytes, &bytes[bytes.len() / 2..]);
        let _ = crate::types::format_value(&t, &bytes);
        let _ = crate::types::to_json(&t, &bytes);
        let mut out = Vec::new();
        let _ = encode_key_component(&t, &bytes, descending, &mut out);
    }

    #[test]
    fn printed_natives_parse_back((t, value) in native_leaf().prop_flat_map(|t| (Just(t.clone()), value_of(&t)))) {
        let text = crate::types::format_value(&t, &value);
        let kind = match t {
            CqlType::Native(NativeType::Text | NativeType::Ascii | NativeType::Inet | NativeType::Timestamp | NativeType::Date | NativeType::Time) => ConstantKind::String,
            CqlType::Native(NativeType::Blob) => ConstantKind::Hex,
            CqlType::Native(NativeType::Boolean) => ConstantKind::Boolean,
            CqlType::Native(NativeType::Uuid | NativeType::Timeuuid) => ConstantKind::Uuid,
            CqlType::Native(NativeType::Float | NativeType::Double | NativeType::Decimal) if text.contains(['.', 'E', 'N', 'I']) => ConstantKind::Float,
            _ => ConstantKind::Integer,
        };
        let unquoted = text.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')).map(|s| s.replace("''", "'"));
        let literal = unquoted.unwrap_or_else(|| text.clone());
        let back = literal_to_bytes(&t, kind, &literal, "c").unwrap().unwrap();
        prop_assert_eq!(compare_values(&t, &back, &value), Ordering::Equal, "type {} text {}", t, text);
    }
}
