"""Renders the *.expected files: what cqlsh 6.2 prints for each *.cql against Cassandra 5.0.

The result sets and DESCRIBE texts below are Cassandra 5.0's answers, written out by hand (the
CREATE TABLE text follows TableMetadata/TableParams in 5.0: columns in primary-key order then
regular columns sorted by name, every default table option in Cassandra's order; values are
the objects the python driver decodes). They go through cqlsh's own printing code on a stub
shell, so spacing, alignment, value formatting and blank lines are exactly cqlsh's.
Run from this directory:  python3 render_expected.py
"""
import cmd
import codecs
import datetime
import io
import pathlib
import uuid
from collections import namedtuple
from decimal import Decimal
from types import SimpleNamespace

from cassandra.metadata import UserType
from cassandra.util import Date, Duration, SortedSet, Time
from cqlshlib.cqlshmain import Shell
from cqlshlib.formatting import (CqlType, DEFAULT_DATE_FORMAT, DEFAULT_NANOTIME_FORMAT,
                                 DEFAULT_TIMESTAMP_FORMAT)

out = io.StringIO()
# A Shell without a connection: only what the printing methods read is set (defaults of cqlsh).
sh = Shell.__new__(Shell)
sh.color = False
sh.tty = False
sh.query_out = out
sh.stdout = out
sh.expand_enabled = False
sh.decoding_errors = []
sh.display_timestamp_format = DEFAULT_TIMESTAMP_FORMAT
sh.display_date_format = DEFAULT_DATE_FORMAT
sh.display_nanotime_format = DEFAULT_NANOTIME_FORMAT
sh.display_timezone = None
sh.display_float_precision = 5
sh.display_double_precision = 5
sh.output_codec = codecs.lookup('utf-8')


def select(names, types, rows, ksmeta=None):
    """Shell.print_result for a one-page result in batch (non-tty) mode; `types` are the
    result's column types as cql_typename spells them, user types found in `ksmeta`."""
    sh.writeresult("")
    formatted_names = [sh.myformat_colname(n) for n in names]
    formatted_rows = [[sh.myformat_value(v, CqlType(t, ksmeta)) for v, t in zip(row, types)]
                      for row in rows]
    sh.print_formatted_result(formatted_names, formatted_rows or None, True, False)
    sh.writeresult("")
    sh.writeresult("(%d rows)" % len(rows))


def names_list(names):
    """Shell.describe_keyspaces, and describe_list while a keyspace is in use."""
    out.write('\n')
    cmd.Cmd.columnize(sh, names)
    out.write('\n')

def element(stmts):
    """Shell.describe_element."""
    for s in stmts:
        out.write('\n')
        out.write(s)
        out.write('\n')

OPTIONS = """additional_write_policy = '99p'
    AND allow_auto_snapshot = true
    AND bloom_filter_fp_chance = 0.01
    AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}
    AND cdc = false
    AND comment = ''
    AND compaction = {'class': 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', 'max_threshold': '32', 'min_threshold': '4'}
    AND compression = {'chunk_length_in_kb': '16', 'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}
    AND memtable = 'default'
    AND crc_check_chance = 1.0
    AND default_time_to_live = 0
    AND extensions = {}
    AND gc_grace_seconds = 864000
    AND incremental_backups = true
    AND max_index_interval = 2048
    AND memtable_flush_period_in_ms = 0
    AND min_index_interval = 128
    AND read_repair = 'BLOCKING'
    AND speculative_retry = '99p';"""
USERS = """CREATE TABLE cqlsh_ks.users (
    id int PRIMARY KEY,
    age int,
    email text,
    name text
) WITH """ + OPTIONS
EVENTS = """CREATE TABLE cqlsh_ks.events (
    tenant text,
    day int,
    seq int,
    kind text,
    payload blob,
    score double,
    PRIMARY KEY ((tenant, day), seq)
) WITH CLUSTERING ORDER BY (seq DESC)
    AND """ + OPTIONS
ITEMS_COPY = """CREATE TABLE cqlsh_snap.items_copy (
    id int PRIMARY KEY,
    name text,
    qty int
) WITH """ + OPTIONS
KS = "CREATE KEYSPACE cqlsh_ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '1'}  AND durable_writes = true;"


def render_basic():
    sh.current_keyspace = 'cqlsh_ks'
    select(['id', 'age', 'email', 'name'], ['int', 'int', 'text', 'text'], [(1, 37, 'ada@example.com', 'Ada')])
    select(['name', 'years'], ['text', 'int'], [('Grace', 85)])
    select(['tenant', 'day', 'seq', 'kind', 'payload', 'score'], ['text', 'int', 'int', 'text', 'blob', 'double'],
           [('acme', 1, 3, 'logout', None, None), ('acme', 1, 2, 'click', b'\x00\xff\x10', -1.25), ('acme', 1, 1, 'login', b'\xca\xfe', 2.5)])
    select(['seq', 'kind'], ['int', 'text'], [(2, 'click'), (3, 'logout')])
    select(['count'], ['bigint'], [(2,)])
    select(['id', 'age', 'email', 'name'], ['int', 'int', 'text', 'text'], [(3, 85, None, 'Grace')])
    select(['id', 'age', 'email', 'name'], ['int', 'int', 'text', 'text'], [])
    names_list(['cqlsh_ks', 'system', 'system_auth', 'system_distributed', 'system_schema', 'system_traces', 'system_views', 'system_virtual_schema'])
    names_list(['events', 'users'])
    element([USERS])
    element([KS, EVENTS, USERS])
    names_list(['users'])


def render_types():
    sh.current_keyspace = None
    select(['k', 'a', 'bi', 'bl', 'bo'], ['int', 'ascii', 'bigint', 'blob', 'boolean'],
           [(1, 'plain ascii', -9223372036854775808, b'\xca\xfe\x00', True)])
    select(['d', 'de', 'dou', 'du', 'f'], ['date', 'decimal', 'double', 'duration', 'float'],
           [(Date(datetime.date(2024, 2, 29)), Decimal('-12345.678901234567890123'),
             3.141592653589793, Duration(14, 25, 18367008009010), 1.5)])
    select(['i', 'sm', 'te', 'ti'], ['inet', 'smallint', 'text', 'time'],
           [('2001:db8::1', -32768, "héllo wörld ✓ 'quoted'", Time('13:14:15.123456789'))])
    select(['ts', 'tiny', 'vi'], ['timestamp', 'tinyint', 'varint'],
           [(datetime.datetime(2024, 2, 29, 12, 34, 56, 789000), -128,
             -123456789012345678901234567890)])
    select(['tu', 'u'], ['timeuuid', 'uuid'],
           [(uuid.UUID('50554d6e-29bb-11e5-b345-feff819cdc9f'),
             uuid.UUID('123e4567-e89b-42d3-a456-426614174000'))])
    select(['li', 'se', 'ma'], ['list<int>', 'set<text>', 'map<text, int>'],
           [([3, 1, 3], SortedSet(['a', 'b']), {'x': 1, 'y': 2})])


def table(name, columns, clustering=None):
    """Cassandra 5.0's CREATE TABLE text: `columns` already in its order (key columns, then
    static then regular columns by name)."""
    with_clause = ("CLUSTERING ORDER BY (%s)\n    AND " % clustering) if clustering else ""
    body = ",\n".join("    " + c for c in columns)
    return "CREATE TABLE cqlsh_dm.%s (\n%s\n) WITH %s%s" % (name, body, with_clause, OPTIONS)


def user_type(name, fields):
    """Cassandra 5.0's CREATE TYPE text (UserType.toCqlString)."""
    body = ",\n".join("    %s %s" % f for f in fields)
    return "CREATE TYPE cqlsh_dm.%s (\n%s\n);" % (name, body)


# The user types as the driver's metadata holds them (system_schema.types.field_types).
DM_FIELDS = {
    'phone': [('label', 'text'), ('digits', 'text')],
    'address': [('street', 'text'), ('zip', 'int'), ('phones', 'frozen<list<frozen<phone>>>'),
                ('location', 'frozen<tuple<double, double>>')],
    'tagged': [('name', 'text'), ('tags', 'set<text>'), ('"mixedCase"', 'int')],
}
DM_KS = SimpleNamespace(user_types={
    name: UserType('cqlsh_dm', name, [f.strip('"') for f, _ in fields], [t for _, t in fields])
    for name, fields in DM_FIELDS.items()})
Phone = namedtuple('phone', ['label', 'digits'])
Address = namedtuple('address', ['street', 'zip', 'phones', 'location'])
Tagged = namedtuple('tagged', ['name', 'tags', 'mixedCase'])


def render_datamodel():
    sh.current_keyspace = None
    home1 = Address('Main St', 10115, [Phone('home', '555-0100')], (52.52, 13.405))
    work1 = Address("Office 'Park'", 20095, None, None)
    home2 = Address(None, 12345, None, None)
    select(['id', 'home', 'work'], ['int', 'frozen<address>', 'frozen<address>'],
           [(1, home1, work1), (2, home2, None)], DM_KS)
    select(['id', 'contacts', 'nicknames', 'emails'],
           ['int', 'map<text, frozen<phone>>', 'list<text>', 'set<text>'],
           [(1, {'fax': Phone('fax', None), 'mobile': Phone('cell', '555-0199')},
             ['Al', 'Bert', 'Al'], SortedSet(['a@example.com', 'b@example.com'])),
            (2, {'desk': Phone('desk', '1')}, ['Zed'], None)], DM_KS)
    select(['id', 'point', 'labels'],
           ['int', 'frozen<tuple<int, text, double>>', 'frozen<tagged>'],
           [(1, (7, 'seven', 7.5), Tagged('vip', SortedSet(['a', 'z']), 3)),
            (2, (8, 'eight', -0.25), None)], DM_KS)
    select(['home.zip', 'labels.tags'], ['int', 'set<text>'], [(10115, SortedSet(['a', 'z']))],
           DM_KS)
    select(['k', 'buckets', 'deep', 'empty_frozen', 'grid', 'pairs'],
           ['int', 'map<text, frozen<set<int>>>', 'frozen<map<int, frozen<list<frozen<set<text>>>>>>',
            'frozen<list<int>>', 'list<frozen<list<int>>>', 'set<frozen<tuple<int, text>>>'],
           [(1, {'a': SortedSet(), 'b': SortedSet([1, 2])},
             {7: [SortedSet(['x', 'y']), SortedSet()]}, [], [[1, 2], [], [3]],
             SortedSet([(1, 'a'), (2, 'b')]))], DM_KS)
    # Partitions come in token order: 'ops' before 'core', '/about' before '/'.
    select(['team', 'member', 'budget', 'motto', 'role'], ['text', 'int', 'int', 'text', 'text'],
           [('ops', 1, None, 'keep it up', 'lead'), ('ops', 2, None, 'keep it up', 'oncall'),
            ('core', None, 100, 'ship it', None)])
    select(['team', 'motto'], ['text', 'text'], [('ops', 'keep it up'), ('core', 'ship it')])
    select(['page', 'day', 'clicks', 'views'], ['text', 'int', 'counter', 'counter'],
           [('/about', 2, None, -3), ('/', 1, -2, 6)])
    for name, fields in DM_FIELDS.items():
        element([user_type(name, fields)])
    element([table('people', ['id int PRIMARY KEY', 'contacts map<text, frozen<phone>>',
                              'emails set<text>', 'home address', 'labels frozen<tagged>',
                              'nicknames list<text>', 'point frozen<tuple<int, text, double>>',
                              'work frozen<address>'])])
    element([table('nested', ['k int PRIMARY KEY', 'buckets map<text, frozen<set<int>>>',
                              'deep frozen<map<int, frozen<list<frozen<set<text>>>>>>',
                              'empty_frozen frozen<list<int>>', 'grid list<frozen<list<int>>>',
                              'pairs set<frozen<tuple<int, text>>>'])])
    element([table('teams', ['team text', 'member int', 'budget int static', 'motto text static',
                             'role text', 'PRIMARY KEY (team, member)'], 'member ASC')])
    element([table('hits', ['page text', 'day int', 'clicks counter', 'views counter',
                            'PRIMARY KEY (page, day)'], 'day ASC')])
    element(["CREATE KEYSPACE cqlsh_dm_order WITH replication = {'class': 'SimpleStrategy', "
             "'replication_factor': '1'}  AND durable_writes = true;",
             'CREATE TYPE cqlsh_dm_order."Caps" (\n    v int\n);',
             'CREATE TYPE cqlsh_dm_order.b_inner (\n    v int\n);',
             'CREATE TYPE cqlsh_dm_order.a_outer (\n    part frozen<b_inner>,\n'
             '    parts list<frozen<b_inner>>\n);'])
    names_list(['a_outer', 'b_inner', '"Caps"'])


def render_snapshots():
    """Strata's extensions (Cassandra 5.0 has none of them): the rows strata must return,
    printed as cqlsh prints any result set."""
    sh.current_keyspace = None
    items = (['id', 'name', 'qty'], ['int', 'text', 'int'])
    at_snapshot = [(1, 'apple', 10), (2, 'pear', 20)]
    select(*items, [(1, 'apple', 11), (3, 'plum', 30)])
    select(*items, at_snapshot)
    select(['name', 'qty'], ['text', 'int'], [('pear', 20)])
    select(*items, at_snapshot + [(4, 'fig', 40)])
    select(*items, [(1, 'apple', 11), (3, 'plum', 30)])
    element([ITEMS_COPY])
    select(*items, at_snapshot)
    select(['id', 'qty'], ['int', 'int'], [(1, 0), (2, 20)])
    select(['id', 'qty'], ['int', 'int'], [(1, 10), (2, 20)])
    select(['id', 'qty'], ['int', 'int'], [(1, 10), (2, 20)])
    select(*items, at_snapshot + [(4, 'fig', 40)])


def main():
    here = pathlib.Path(__file__).resolve().parent
    for name, render in [('basic', render_basic), ('types', render_types), ('snapshots', render_snapshots),
                         ('datamodel', render_datamodel)]:
        out.seek(0)
        out.truncate()
        render()
        (here / f'{name}.expected').write_text(out.getvalue(), encoding='utf-8')


if __name__ == '__main__':
    main()
