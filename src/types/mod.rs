//! The CQL type system and value codecs, matching Apache Cassandra 5.0.
//!
//! Values are always handled in their native-protocol serialized form (`&[u8]`, big-endian, collections as
//! `[int n]` + `[int len][bytes]` elements); `None` stands for a null. The pieces:
//! - [`CqlType`]: parse a type string (`frozen<map<text, int>>`), print it back in `system_schema` form.
//! - [`literal_to_bytes`] and the `serialize_*` functions: CQL literals to values, with Cassandra's messages.
//! - [`validate`]: check a value bound by a driver.
//! - [`compare_values`]: Cassandra's comparator order for a type.
//! - [`encode_key_component`] / [`decode_key_component`]: order-preserving key bytes for the storage engine.
//! - [`format_value`], [`to_json`], [`from_json`]: values as CQL literals and JSON.
//! - [`min_timeuuid`], [`timeuuid_unix_millis`], [`timestamp_to_date`]...: helpers for CQL's time functions.
//!
//! Invariants (each has tests; the ordering ones have property tests):
//! - For every type but `duration`: `memcmp(encode(a), encode(b))` agrees with `compare_values(a, b)` whenever
//!   the latter is not `Equal`; equal values encode identically except decimals that differ only in scale
//!   (`1.0` vs `1.00`), which are ordered by scale so their exact bytes survive.
//! - Encodings are prefix-free, so concatenated components order as tuples; descending = every byte inverted.
//! - `decode(encode(v)) == v` for valid values, up to canonical forms: minimal varints, NaN as Java's
//!   canonical NaN, `true` as 0x01, tuples/UDTs padded with trailing nulls to their declared arity.
//! - No function here panics on any input bytes; lengths read from input are checked before allocating and
//!   nesting is bounded by [`MAX_TYPE_DEPTH`].

mod bound;
mod codec;
mod compare;
mod cql_type;
mod duration;
mod error;
mod format;
mod json;
mod key;
mod literal;
mod numeric;
mod partition_key;
mod temporal;
mod timeuuid;
mod validate;

pub use bound::canonical_bound_value;
pub(crate) use codec::split_fields;
pub use compare::compare_values;
pub use cql_type::{
    maybe_quote_identifier, CqlType, NativeType, NoUdts, UdtDef, UdtResolver, MAX_TYPE_DEPTH,
    MAX_VECTOR_DIMENSION,
};
pub use duration::Duration;
pub use error::TypeError;
pub(crate) use format::java_float_string;
pub use format::{format_value, to_json};
pub use json::from_json;
pub use key::{decode_key_component, encode_key_component};
pub use literal::{
    literal_to_bytes, serialize_list, serialize_map, serialize_set, serialize_tuple, serialize_udt,
    serialize_vector, ConstantKind, CqlValue,
};
pub(crate) use literal::{parse_java_float, parse_java_integer};
pub use partition_key::{serialize_partition_key, split_partition_key};
pub(crate) use temporal::{civil_from_days, days_from_civil};
pub use temporal::{
    format_date, format_time, format_timestamp, format_timestamp_json, parse_date, parse_time,
    parse_timestamp,
};
pub use timeuuid::{
    date_to_timestamp, make_timeuuid, max_timeuuid, min_timeuuid, now_timeuuid, timestamp_to_date,
    timeuuid_ticks, timeuuid_unix_millis,
};
pub use validate::validate;
