//! `CqlType`: the type model, the type-string parser and the `system_schema` printer.

use std::fmt;

use strata_protocol::ColType;

use super::error::{invalid, TypeError};

/// Deepest type nesting accepted by the parser (and so by every recursive function over a parsed type).
pub const MAX_TYPE_DEPTH: usize = 32;
/// Largest accepted `vector<_, n>` dimension (Cassandra's own limit is far above anything sane; this bounds memory).
pub const MAX_VECTOR_DIMENSION: u32 = 1 << 16;

/// The native (non-parameterised) CQL types. `varchar` is an alias of `Text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NativeType {
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Date,
    Decimal,
    Double,
    Duration,
    Float,
    Inet,
    Int,
    Smallint,
    Text,
    Time,
    Timestamp,
    Timeuuid,
    Tinyint,
    Uuid,
    Varint,
}

const NATIVE_NAMES: &[(&str, NativeType)] = &[
    ("ascii", NativeType::Ascii),
    ("bigint", NativeType::Bigint),
    ("blob", NativeType::Blob),
    ("boolean", NativeType::Boolean),
    ("counter", NativeType::Counter),
    ("date", NativeType::Date),
    ("decimal", NativeType::Decimal),
    ("double", NativeType::Double),
    ("duration", NativeType::Duration),
    ("float", NativeType::Float),
    ("inet", NativeType::Inet),
    ("int", NativeType::Int),
    ("smallint", NativeType::Smallint),
    ("text", NativeType::Text),
    ("varchar", NativeType::Text),
    ("time", NativeType::Time),
    ("timestamp", NativeType::Timestamp),
    ("timeuuid", NativeType::Timeuuid),
    ("tinyint", NativeType::Tinyint),
    ("uuid", NativeType::Uuid),
    ("varint", NativeType::Varint),
];

impl NativeType {
    /// The CQL name (`text` for varchar), as `system_schema` prints it.
    pub fn name(self) -> &'static str {
        NATIVE_NAMES
            .iter()
            .find(|(_, t)| *t == self)
            .map(|(n, _)| *n)
            .unwrap_or("blob")
    }

    /// Looks a native type up by its CQL name, case-insensitively.
    pub fn from_name(name: &str) -> Option<NativeType> {
        NATIVE_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, t)| *t)
    }

    /// Cassandra's `AbstractType` class name, used inside Custom type strings (vectors).
    pub fn marshal_class(self) -> &'static str {
        match self {
            NativeType::Ascii => "AsciiType",
            NativeType::Bigint => "LongType",
            NativeType::Blob => "BytesType",
            NativeType::Boolean => "BooleanType",
            NativeType::Counter => "CounterColumnType",
            NativeType::Date => "SimpleDateType",
            NativeType::Decimal => "DecimalType",
            NativeType::Double => "DoubleType",
            NativeType::Duration => "DurationType",
            NativeType::Float => "FloatType",
            NativeType::Inet => "InetAddressType",
            NativeType::Int => "Int32Type",
            NativeType::Smallint => "ShortType",
            NativeType::Text => "UTF8Type",
            NativeType::Time => "TimeType",
            NativeType::Timestamp => "TimestampType",
            NativeType::Timeuuid => "TimeUUIDType",
            NativeType::Tinyint => "ByteType",
            NativeType::Uuid => "UUIDType",
            NativeType::Varint => "IntegerType",
        }
    }

    /// Byte length of every non-empty value of this type, for the fixed-size types.
    pub fn fixed_size(self) -> Option<usize> {
        match self {
            NativeType::Bigint
            | NativeType::Counter
            | NativeType::Double
            | NativeType::Time
            | NativeType::Timestamp => Some(8),
            NativeType::Int | NativeType::Float | NativeType::Date => Some(4),
            NativeType::Smallint => Some(2),
            NativeType::Tinyint | NativeType::Boolean => Some(1),
            NativeType::Uuid | NativeType::Timeuuid => Some(16),
            _ => None,
        }
    }
}

/// A user-defined type as stored in `system_schema.types`, fields in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UdtDef {
    pub keyspace: String,
    pub name: String,
    pub fields: Vec<(String, CqlType)>,
}

/// A CQL type. Collections and UDTs carry `frozen`; tuples and vectors are always frozen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CqlType {
    Native(NativeType),
    List {
        element: Box<CqlType>,
        frozen: bool,
    },
    Set {
        element: Box<CqlType>,
        frozen: bool,
    },
    Map {
        key: Box<CqlType>,
        value: Box<CqlType>,
        frozen: bool,
    },
    Tuple(Vec<CqlType>),
    Udt {
        def: Box<UdtDef>,
        frozen: bool,
    },
    Vector {
        element: Box<CqlType>,
        dimension: u32,
    },
    /// A custom type, by its Java class name (printed quoted: `'org.example.MyType'`).
    Custom(String),
}

/// Resolves a user-defined type name met while parsing a type string.
pub trait UdtResolver {
    /// `keyspace` is `Some` only when the type string names it (`ks.name`); `name` is already case-normalised.
    fn resolve_udt(&self, keyspace: Option<&str>, name: &str) -> Option<UdtDef>;
}

/// A resolver that knows no UDTs (every unknown name is an error).
pub struct NoUdts;

impl UdtResolver for NoUdts {
    fn resolve_udt(&self, _keyspace: Option<&str>, _name: &str) -> Option<UdtDef> {
        None
    }
}

impl<F> UdtResolver for F
where
    F: Fn(Option<&str>, &str) -> Option<UdtDef>,
{
    fn resolve_udt(&self, keyspace: Option<&str>, name: &str) -> Option<UdtDef> {
        self(keyspace, name)
    }
}

impl CqlType {
    /// Parses a CQL type string (`frozen<map<text, int>>`, `list<frozen<tuple<int, text>>>`, `ks.my_udt`,
    /// `vector<float, 3>`, `'org.example.Custom'`), checking Cassandra's nesting rules.
    pub fn parse(text: &str, udts: &dyn UdtResolver) -> Result<CqlType, TypeError> {
        let mut parser = TypeParser { text, pos: 0, udts };
        let raw = parser.parse_type(0)?;
        parser.skip_spaces();
        if parser.pos != text.len() {
            return Err(parser.syntax_error());
        }
        raw.into_type(false)
    }

    pub fn is_collection(&self) -> bool {
        matches!(
            self,
            CqlType::List { .. } | CqlType::Set { .. } | CqlType::Map { .. }
        )
    }

    /// True for a non-frozen collection or UDT: one stored cell per element/field.
    pub fn is_multi_cell(&self) -> bool {
        match self {
            CqlType::List { frozen, .. }
            | CqlType::Set { frozen, .. }
            | CqlType::Map { frozen, .. }
            | CqlType::Udt { frozen, .. } => !frozen,
            _ => false,
        }
    }

    pub fn is_counter(&self) -> bool {
        matches!(self, CqlType::Native(NativeType::Counter))
    }

    /// True if a duration appears anywhere in the type (durations cannot be ordered, so not in keys or sets).
    pub fn references_duration(&self) -> bool {
        match self {
            CqlType::Native(n) => *n == NativeType::Duration,
            CqlType::List { element, .. }
            | CqlType::Set { element, .. }
            | CqlType::Vector { element, .. } => element.references_duration(),
            CqlType::Map { key, value, .. } => {
                key.references_duration() || value.references_duration()
            }
            CqlType::Tuple(items) => items.iter().any(CqlType::references_duration),
            CqlType::Udt { def, .. } => def.fields.iter().any(|(_, t)| t.references_duration()),
            CqlType::Custom(_) => false,
        }
    }

    /// The same type with `frozen` set on it and on everything nested in it.
    pub fn frozen(&self) -> CqlType {
        match self {
            CqlType::Native(_) | CqlType::Custom(_) => self.clone(),
            CqlType::List { element, .. } => CqlType::List {
                element: Box::new(element.frozen()),
                frozen: true,
            },
            CqlType::Set { element, .. } => CqlType::Set {
                element: Box::new(element.frozen()),
                frozen: true,
            },
            CqlType::Map { key, value, .. } => CqlType::Map {
                key: Box::new(key.frozen()),
                value: Box::new(value.frozen()),
                frozen: true,
            },
            CqlType::Tuple(items) => CqlType::Tuple(items.iter().map(CqlType::frozen).collect()),
            CqlType::Udt { def, .. } => CqlType::Udt {
                def: Box::new(UdtDef {
                    keyspace: def.keyspace.clone(),
                    name: def.name.clone(),
                    fields: def
                        .fields
                        .iter()
                        .map(|(n, t)| (n.clone(), t.frozen()))
                        .collect(),
                }),
                frozen: true,
            },
            CqlType::Vector { element, dimension } => CqlType::Vector {
                element: Box::new(element.frozen()),
                dimension: *dimension,
            },
        }
    }

    /// The native-protocol type option. Vectors travel as a Custom type.
    pub fn to_wire(&self) -> ColType {
        match self {
            CqlType::Native(n) => native_wire(*n),
            CqlType::List { element, .. } => ColType::List(Box::new(element.to_wire())),
            CqlType::Set { element, .. } => ColType::Set(Box::new(element.to_wire())),
            CqlType::Map { key, value, .. } => {
                ColType::Map(Box::new(key.to_wire()), Box::new(value.to_wire()))
            }
            CqlType::Tuple(items) => ColType::Tuple(items.iter().map(CqlType::to_wire).collect()),
            CqlType::Udt { def, .. } => ColType::Udt {
                keyspace: def.keyspace.clone(),
                name: def.name.clone(),
                fields: def
                    .fields
                    .iter()
                    .map(|(n, t)| (n.clone(), t.to_wire()))
                    .collect(),
            },
            CqlType::Vector { .. } => ColType::Custom(self.marshal_class()),
            CqlType::Custom(class) => ColType::Custom(class.clone()),
        }
    }

    /// Cassandra's fully-qualified `AbstractType` string for this type (what a Custom option carries).
    pub fn marshal_class(&self) -> String {
        const PKG: &str = "org.apache.cassandra.db.marshal.";
        let wrap_frozen = |frozen: bool, inner: String| {
            if frozen {
                format!("{PKG}FrozenType({inner})")
            } else {
                inner
            }
        };
        match self {
            CqlType::Native(n) => format!("{PKG}{}", n.marshal_class()),
            CqlType::List { element, frozen } => wrap_frozen(
                *frozen,
                format!("{PKG}ListType({})", element.marshal_class()),
            ),
            CqlType::Set { element, frozen } => wrap_frozen(
                *frozen,
                format!("{PKG}SetType({})", element.marshal_class()),
            ),
            CqlType::Map { key, value, frozen } => wrap_frozen(
                *frozen,
                format!(
                    "{PKG}MapType({},{})",
                    key.marshal_class(),
                    value.marshal_class()
                ),
            ),
            CqlType::Tuple(items) => {
                let inner: Vec<String> = items.iter().map(CqlType::marshal_class).collect();
                format!("{PKG}TupleType({})", inner.join(","))
            }
            CqlType::Udt { def, frozen } => {
                let fields: Vec<String> = def
                    .fields
                    .iter()
                    .map(|(n, t)| format!("{}:{}", hex_lower(n.as_bytes()), t.marshal_class()))
                    .collect();
                let inner = format!(
                    "{PKG}UserType({},{},{})",
                    def.keyspace,
                    hex_lower(def.name.as_bytes()),
                    fields.join(",")
                );
                wrap_frozen(*frozen, inner)
            }
            CqlType::Vector { element, dimension } => {
                format!("{PKG}VectorType({},{dimension})", element.marshal_class())
            }
            CqlType::Custom(class) => class.clone(),
        }
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn native_wire(n: NativeType) -> ColType {
    match n {
        NativeType::Ascii => ColType::Ascii,
        NativeType::Bigint => ColType::Bigint,
        NativeType::Blob => ColType::Blob,
        NativeType::Boolean => ColType::Boolean,
        NativeType::Counter => ColType::Counter,
        NativeType::Date => ColType::Date,
        NativeType::Decimal => ColType::Decimal,
        NativeType::Double => ColType::Double,
        NativeType::Duration => ColType::Duration,
        NativeType::Float => ColType::Float,
        NativeType::Inet => ColType::Inet,
        NativeType::Int => ColType::Int,
        NativeType::Smallint => ColType::Smallint,
        NativeType::Text => ColType::Varchar,
        NativeType::Time => ColType::Time,
        NativeType::Timestamp => ColType::Timestamp,
        NativeType::Timeuuid => ColType::Timeuuid,
        NativeType::Tinyint => ColType::Tinyint,
        NativeType::Uuid => ColType::Uuid,
        NativeType::Varint => ColType::Varint,
    }
}

impl fmt::Display for CqlType {
    /// Prints exactly the `system_schema.columns.type` form: `map<text, int>`, `frozen<set<uuid>>`,
    /// `frozen<tuple<int, text>>`, `frozen<"MyUdt">`, `vector<float, 3>`, `'org.example.Custom'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let open_frozen = |f: &mut fmt::Formatter<'_>, frozen: bool| {
            if frozen {
                f.write_str("frozen<")
            } else {
                Ok(())
            }
        };
        let close_frozen = |f: &mut fmt::Formatter<'_>, frozen: bool| {
            if frozen {
                f.write_str(">")
            } else {
                Ok(())
            }
        };
        match self {
            CqlType::Native(n) => f.write_str(n.name()),
            CqlType::List { element, frozen } => {
                open_frozen(f, *frozen)?;
                write!(f, "list<{element}>")?;
                close_frozen(f, *frozen)
            }
            CqlType::Set { element, frozen } => {
                open_frozen(f, *frozen)?;
                write!(f, "set<{element}>")?;
                close_frozen(f, *frozen)
            }
            CqlType::Map { key, value, frozen } => {
                open_frozen(f, *frozen)?;
                write!(f, "map<{key}, {value}>")?;
                close_frozen(f, *frozen)
            }
            CqlType::Tuple(items) => {
                f.write_str("frozen<tuple<")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(">>")
            }
            CqlType::Udt { def, frozen } => {
                open_frozen(f, *frozen)?;
                f.write_str(&maybe_quote_identifier(&def.name))?;
                close_frozen(f, *frozen)
            }
            CqlType::Vector { element, dimension } => write!(f, "vector<{element}, {dimension}>"),
            CqlType::Custom(class) => write!(f, "'{}'", class.replace('\'', "''")),
        }
    }
}

/// Cassandra's reserved keywords: identifiers that must be double-quoted to be used as names.
const RESERVED_KEYWORDS: &[&str] = &[
    "add",
    "allow",
    "alter",
    "and",
    "apply",
    "asc",
    "authorize",
    "batch",
    "begin",
    "by",
    "columnfamily",
    "create",
    "default",
    "delete",
    "desc",
    "describe",
    "drop",
    "entries",
    "execute",
    "from",
    "full",
    "grant",
    "if",
    "in",
    "index",
    "infinity",
    "insert",
    "into",
    "is",
    "keyspace",
    "limit",
    "materialized",
    "mbean",
    "mbeans",
    "modify",
    "nan",
    "norecursive",
    "not",
    "null",
    "of",
    "on",
    "or",
    "order",
    "primary",
    "rename",
    "replace",
    "revoke",
    "schema",
    "select",
    "set",
    "table",
    "to",
    "token",
    "truncate",
    "unlogged",
    "unset",
    "update",
    "use",
    "using",
    "view",
    "where",
    "with",
];

/// Quotes an identifier the way Cassandra's `ColumnIdentifier.maybeQuote` does: bare if it is a lower-case
/// unquoted identifier and not a reserved keyword, else double-quoted with `"` doubled.
pub fn maybe_quote_identifier(name: &str) -> String {
    let mut chars = name.chars();
    let plain = matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && !RESERVED_KEYWORDS.contains(&name) {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A parsed but not yet checked type: keeps what the text said so nesting rules can be checked with the
/// text's own spelling in error messages.
enum RawType {
    Native(NativeType),
    Frozen(Box<RawType>),
    List(Box<RawType>),
    Set(Box<RawType>),
    Map(Box<RawType>, Box<RawType>),
    Tuple(Vec<RawType>),
    Udt(UdtDef),
    Vector(Box<RawType>, u32),
    Custom(String),
}

impl RawType {
    fn is_collection(&self) -> bool {
        matches!(
            self,
            RawType::List(_) | RawType::Set(_) | RawType::Map(_, _)
        )
    }

    /// Checks Cassandra's nesting rules and builds the type. Inside `frozen<...>` nested collections and UDTs
    /// are frozen implicitly, so they need not say so.
    fn into_type(self, in_frozen: bool) -> Result<CqlType, TypeError> {
        match self {
            RawType::Native(n) => Ok(CqlType::Native(n)),
            RawType::Custom(class) => Ok(CqlType::Custom(class)),
            RawType::Frozen(inner) => {
                if !(inner.is_collection() || matches!(*inner, RawType::Tuple(_) | RawType::Udt(_)))
                {
                    return Err(invalid(
                        "frozen<> is only allowed on collections, tuples, and user-defined types",
                    ));
                }
                Ok(inner.into_type(true)?.frozen())
            }
            RawType::List(element) => {
                let shown = format!("list<{}>", element);
                let element = element.into_collection_element(&shown, in_frozen)?;
                Ok(CqlType::List {
                    element: Box::new(element),
                    frozen: false,
                })
            }
            RawType::Set(element) => {
                let shown = format!("set<{}>", element);
                let element = element.into_collection_element(&shown, in_frozen)?;
                if element.references_duration() {
                    return Err(invalid(format!(
                        "Durations are not allowed inside sets: {shown}"
                    )));
                }
                Ok(CqlType::Set {
                    element: Box::new(element),
                    frozen: false,
                })
            }
            RawType::Map(key, value) => {
                let shown = format!("map<{}, {}>", key, value);
                let key = key.into_collection_element(&shown, in_frozen)?;
                let value = value.into_collection_element(&shown, in_frozen)?;
                if key.references_duration() {
                    return Err(invalid(format!(
                        "Durations are not allowed as map keys: {shown}"
                    )));
                }
                Ok(CqlType::Map {
                    key: Box::new(key),
                    value: Box::new(value),
                    frozen: false,
                })
            }
            RawType::Tuple(items) => {
                let items: Result<Vec<CqlType>, TypeError> = items
                    .into_iter()
                    .map(|t| t.into_type(true).map(|t| t.frozen()))
                    .collect();
                Ok(CqlType::Tuple(items?))
            }
            RawType::Udt(def) => Ok(CqlType::Udt {
                def: Box::new(def),
                frozen: false,
            }),
            RawType::Vector(element, dimension) => {
                if dimension == 0 {
                    return Err(invalid(
                        "vectors may only have positive dimensions; given 0",
                    ));
                }
                let element = element.into_type(true)?.frozen();
                if element.is_counter() {
                    return Err(invalid("vectors may not contain counters"));
                }
                Ok(CqlType::Vector {
                    element: Box::new(element),
                    dimension,
                })
            }
        }
    }

    /// An element of a non-frozen collection: nested collections and UDTs must be frozen, no counters.
    fn into_collection_element(self, shown: &str, in_frozen: bool) -> Result<CqlType, TypeError> {
        if self.is_collection() && !in_frozen {
            return Err(invalid(format!(
                "Non-frozen collections are not allowed inside collections: {shown}"
            )));
        }
        if matches!(self, RawType::Udt(_)) && !in_frozen {
            return Err(invalid(format!(
                "Non-frozen UDTs are not allowed inside collections: {shown}"
            )));
        }
        if matches!(self, RawType::Native(NativeType::Counter)) {
            return Err(invalid(format!(
                "Counters are not allowed inside collections: {shown}"
            )));
        }
        self.into_type(in_frozen)
    }
}

impl fmt::Display for RawType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawType::Native(n) => f.write_str(n.name()),
            RawType::Frozen(inner) => write!(f, "frozen<{inner}>"),
            RawType::List(e) => write!(f, "list<{e}>"),
            RawType::Set(e) => write!(f, "set<{e}>"),
            RawType::Map(k, v) => write!(f, "map<{k}, {v}>"),
            RawType::Tuple(items) => {
                f.write_str("tuple<")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(">")
            }
            RawType::Udt(def) => {
                write!(f, "{}.{}", def.keyspace, maybe_quote_identifier(&def.name))
            }
            RawType::Vector(e, d) => write!(f, "vector<{e}, {d}>"),
            RawType::Custom(c) => write!(f, "'{c}'"),
        }
    }
}

struct TypeParser<'a> {
    text: &'a str,
    pos: usize,
    udts: &'a dyn UdtResolver,
}

impl<'a> TypeParser<'a> {
    fn syntax_error(&self) -> TypeError {
        TypeError::Syntax(format!("Invalid CQL type: {}", self.text))
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_spaces();
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), TypeError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.syntax_error())
        }
    }

    /// An identifier: unquoted ones are lower-cased, `"quoted"` ones keep their case (with `""` as a quote).
    fn identifier(&mut self) -> Result<(String, bool), TypeError> {
        self.skip_spaces();
        let rest = self.rest();
        if let Some(body) = rest.strip_prefix('"') {
            let mut name = String::new();
            let mut chars = body.char_indices();
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if body.get(i + 1..).is_some_and(|r| r.starts_with('"')) {
                        name.push('"');
                        chars.next();
                        continue;
                    }
                    self.pos += i + 2;
                    return Ok((name, true));
                }
                name.push(c);
            }
            return Err(self.syntax_error());
        }
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 || !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(self.syntax_error());
        }
        self.pos += len;
        Ok((rest[..len].to_ascii_lowercase(), false))
    }

    fn parse_type(&mut self, depth: usize) -> Result<RawType, TypeError> {
        if depth > MAX_TYPE_DEPTH {
            return Err(self.syntax_error());
        }
        self.skip_spaces();
        if self.rest().starts_with('\'') {
            return self.custom_class();
        }
        let (name, quoted) = self.identifier()?;
        if !quoted {
            if let Some(raw) = self.parameterised(&name, depth)? {
                return Ok(raw);
            }
            if let Some(native) = NativeType::from_name(&name) {
                return Ok(RawType::Native(native));
            }
        }
        self.user_type(name)
    }

    /// `frozen<..>`, `list<..>`, `set<..>`, `map<..>`, `tuple<..>`, `vector<.., n>`; None for other names.
    fn parameterised(&mut self, name: &str, depth: usize) -> Result<Option<RawType>, TypeError> {
        let save = self.pos;
        if !matches!(name, "frozen" | "list" | "set" | "map" | "tuple" | "vector") || !self.eat('<')
        {
            self.pos = save;
            return Ok(None);
        }
        let first = self.parse_type(depth + 1)?;
        let raw = match name {
            "frozen" => RawType::Frozen(Box::new(first)),
            "list" => RawType::List(Box::new(first)),
            "set" => RawType::Set(Box::new(first)),
            "map" => {
                self.expect(',')?;
                RawType::Map(Box::new(first), Box::new(self.parse_type(depth + 1)?))
            }
            "tuple" => {
                let mut items = vec![first];
                while self.eat(',') {
                    items.push(self.parse_type(depth + 1)?);
                }
                RawType::Tuple(items)
            }
            _ => {
                self.expect(',')?;
                RawType::Vector(Box::new(first), self.dimension()?)
            }
        };
        self.expect('>')?;
        Ok(Some(raw))
    }

    fn dimension(&mut self) -> Result<u32, TypeError> {
        self.skip_spaces();
        let rest = self.rest();
        let len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let value: u32 = rest[..len].parse().map_err(|_| self.syntax_error())?;
        if value > MAX_VECTOR_DIMENSION {
            return Err(invalid(format!(
                "vector dimension {value} is larger than the supported {MAX_VECTOR_DIMENSION}"
            )));
        }
        self.pos += len;
        Ok(value)
    }

    fn custom_class(&mut self) -> Result<RawType, TypeError> {
        let body = &self.rest()[1..];
        let mut class = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if body.get(i + 1..).is_some_and(|r| r.starts_with('\'')) {
                    class.push('\'');
                    chars.next();
                    continue;
                }
                self.pos += i + 2;
                return Ok(RawType::Custom(class));
            }
            class.push(c);
        }
        Err(self.syntax_error())
    }

    fn user_type(&mut self, first: String) -> Result<RawType, TypeError> {
        let save = self.pos;
        let (keyspace, name) = if self.eat('.') {
            (Some(first), self.identifier()?.0)
        } else {
            self.pos = save;
            (None, first)
        };
        match self.udts.resolve_udt(keyspace.as_deref(), &name) {
            Some(def) => Ok(RawType::Udt(def)),
            None => Err(invalid(match keyspace {
                Some(ks) => format!("Unknown type {ks}.{}", maybe_quote_identifier(&name)),
                None => format!("Unknown type {}", maybe_quote_identifier(&name)),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> UdtDef {
        UdtDef {
            keyspace: "ks".into(),
            name: "address".into(),
            fields: vec![
                ("street".into(), CqlType::Native(NativeType::Text)),
                ("zip".into(), CqlType::Native(NativeType::Int)),
            ],
        }
    }

    fn resolver(keyspace: Option<&str>, name: &str) -> Option<UdtDef> {
        let ks_ok = keyspace.is_none_or(|k| k == "ks");
        match name {
            "address" if ks_ok => Some(address()),
            "Quoted Name" if ks_ok => Some(UdtDef {
                name: "Quoted Name".into(),
                ..address()
            }),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<CqlType, TypeError> {
        CqlType::parse(text, &resolver)
    }

    #[test]
    fn type_strings_round_trip_in_system_schema_form() {
        let cases = [
            ("int", "int"),
            ("VARCHAR", "text"),
            ("text", "text"),
            ("map<text,int>", "map<text, int>"),
            ("frozen<map<text, int>>", "frozen<map<text, int>>"),
            ("frozen < set < uuid > >", "frozen<set<uuid>>"),
            (
                "list<frozen<tuple<int, text>>>",
                "list<frozen<tuple<int, text>>>",
            ),
            ("tuple<int, text>", "frozen<tuple<int, text>>"),
            (
                "tuple<int, list<int>>",
                "frozen<tuple<int, frozen<list<int>>>>",
            ),
            (
                "frozen<map<text, list<int>>>",
                "frozen<map<text, frozen<list<int>>>>",
            ),
            ("address", "address"),
            ("frozen<address>", "frozen<address>"),
            ("ks.address", "address"),
            ("set<frozen<address>>", "set<frozen<address>>"),
            ("frozen<\"Quoted Name\">", "frozen<\"Quoted Name\">"),
            ("vector<float, 3>", "vector<float, 3>"),
            (
                "'org.apache.cassandra.db.marshal.DynamicCompositeType'",
                "'org.apache.cassandra.db.marshal.DynamicCompositeType'",
            ),
            ("duration", "duration"),
            ("list<duration>", "list<duration>"),
        ];
        for (input, printed) in cases {
            let ty = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(ty.to_string(), printed, "printing {input}");
            assert_eq!(parse(printed).as_ref(), Ok(&ty), "re-parsing {printed}");
        }
    }

    #[test]
    fn nesting_rules_give_cassandras_messages() {
        let cases = [
            (
                "list<list<int>>",
                "Non-frozen collections are not allowed inside collections: list<list<int>>",
            ),
            (
                "map<text, set<int>>",
                "Non-frozen collections are not allowed inside collections: map<text, set<int>>",
            ),
            (
                "list<counter>",
                "Counters are not allowed inside collections: list<counter>",
            ),
            (
                "set<duration>",
                "Durations are not allowed inside sets: set<duration>",
            ),
            (
                "map<duration, int>",
                "Durations are not allowed as map keys: map<duration, int>",
            ),
            (
                "frozen<int>",
                "frozen<> is only allowed on collections, tuples, and user-defined types",
            ),
            (
                "list<address>",
                "Non-frozen UDTs are not allowed inside collections: list<ks.address>",
            ),
            ("nope", "Unknown type nope"),
            ("other.address", "Unknown type other.address"),
        ];
        for (input, message) in cases {
            assert_eq!(
                parse(input).map_err(|e| e.to_string()),
                Err(message.to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn malformed_type_strings_are_syntax_errors() {
        for input in [
            "",
            "list<int",
            "map<int>",
            "list<>",
            "int int",
            "vector<float>",
            "'unterminated",
            "\"x",
            "1abc",
        ] {
            assert!(
                matches!(parse(input), Err(TypeError::Syntax(_))),
                "{input}: {:?}",
                parse(input)
            );
        }
        let deep = format!("{}int{}", "frozen<list<".repeat(40), ">>".repeat(40));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn flags_and_wire_ids() {
        let list = parse("list<int>").unwrap();
        assert!(list.is_collection() && list.is_multi_cell());
        assert!(!parse("frozen<list<int>>").unwrap().is_multi_cell());
        assert!(parse("address").unwrap().is_multi_cell());
        assert!(!parse("tuple<int>").unwrap().is_multi_cell());
        assert!(parse("counter").unwrap().is_counter());
        assert_eq!(parse("varchar").unwrap().to_wire(), ColType::Varchar);
        assert!(matches!(
            parse("map<int, text>").unwrap().to_wire(),
            ColType::Map(..)
        ));
        assert!(matches!(
            parse("address").unwrap().to_wire(),
            ColType::Udt { .. }
        ));
        assert_eq!(
            parse("vector<float, 3>").unwrap().to_wire(),
            ColType::Custom(
                "org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType,3)".into()
            )
        );
    }

    #[test]
    fn identifiers_are_quoted_like_cassandra() {
        assert_eq!(maybe_quote_identifier("abc_1"), "abc_1");
        assert_eq!(maybe_quote_identifier("Abc"), "\"Abc\"");
        assert_eq!(maybe_quote_identifier("select"), "\"select\"");
        assert_eq!(maybe_quote_identifier("a\"b"), "\"a\"\"b\"");
        assert_eq!(maybe_quote_identifier("1a"), "\"1a\"");
    }
}
