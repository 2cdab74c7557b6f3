"""The native CQL types with one sample each: the CQL literal, and the value as the python driver
reads it back. Shared by the round-trip tests and the metadata tests."""

import datetime
import ipaddress
import uuid
from decimal import Decimal

from cassandra.util import Date, Duration, Time

# 5 h 6 min 7 s 8 ms 9 us 10 ns, in nanoseconds.
_DURATION_NANOS = ((5 * 60 + 6) * 60 + 7) * 10**9 + 8 * 10**6 + 9 * 10**3 + 10


class TypeSample:
    def __init__(self, cql_type, literal, read_value, bind_value=None, formatted_read_value=None):
        self.cql_type = cql_type
        self.literal = literal  # as written in a CQL statement
        self.read_value = read_value  # what the driver returns on SELECT
        # what we hand to the driver when binding (prepared) or formatting (simple + params)
        self.bind_value = read_value if bind_value is None else bind_value
        # what comes back after the driver formatted bind_value into the CQL text itself
        self.formatted_read_value = (read_value if formatted_read_value is None
                                     else formatted_read_value)

    @property
    def column(self):
        return "c_" + self.cql_type

    def __repr__(self):
        return self.cql_type


SAMPLES = [
    TypeSample("ascii", "'plain ascii ~!'", "plain ascii ~!"),
    TypeSample("bigint", "-9223372036854775808", -9223372036854775808),
    TypeSample("blob", "0xcafebabe00ff", b"\xca\xfe\xba\xbe\x00\xff"),
    TypeSample("boolean", "true", True),
    TypeSample("date", "'2024-02-29'", Date(datetime.date(2024, 2, 29)),
               bind_value=datetime.date(2024, 2, 29)),
    # The driver formats Decimal parameters of simple statements through float.
    TypeSample("decimal", "-12345.678901234567890123", Decimal("-12345.678901234567890123"),
               formatted_read_value=Decimal(repr(float(Decimal("-12345.678901234567890123"))))),
    TypeSample("double", "3.141592653589793", 3.141592653589793),
    TypeSample("duration", "1y2mo3w4d5h6m7s8ms9us10ns", Duration(14, 25, _DURATION_NANOS)),
    TypeSample("float", "1.5", 1.5),
    TypeSample("inet", "'2001:db8::1'", "2001:db8::1",
               bind_value=ipaddress.ip_address("2001:db8::1")),
    TypeSample("int", "-2147483648", -2147483648),
    TypeSample("smallint", "-32768", -32768),
    TypeSample("text", "'héllo wörld ✓ ''quoted'''", "héllo wörld ✓ 'quoted'"),
    TypeSample("time", "'13:14:15.123456789'", Time("13:14:15.123456789")),
    TypeSample("timestamp", "'2024-02-29 12:34:56.789+0000'",
               datetime.datetime(2024, 2, 29, 12, 34, 56, 789000)),
    TypeSample("timeuuid", "50554d6e-29bb-11e5-b345-feff819cdc9f",
               uuid.UUID("50554d6e-29bb-11e5-b345-feff819cdc9f")),
    TypeSample("tinyint", "-128", -128),
    TypeSample("uuid", "123e4567-e89b-42d3-a456-426614174000",
               uuid.UUID("123e4567-e89b-42d3-a456-426614174000")),
    TypeSample("varint", "-123456789012345678901234567890", -123456789012345678901234567890),
]


def all_types_table_ddl(qualified_name):
    columns = ", ".join(f"{s.column} {s.cql_type}" for s in SAMPLES)
    return f"CREATE TABLE {qualified_name} (k int PRIMARY KEY, {columns})"
