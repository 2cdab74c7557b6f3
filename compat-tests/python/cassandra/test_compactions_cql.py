"""The `compaction` table option in CREATE and ALTER TABLE, after Cassandra's
db/compaction/CompactionsCQLTest (and the per-strategy option checks its tests rely on:
AbstractCompactionStrategy, SizeTiered/Leveled/TimeWindow options and UCS's Controller
`validateOptions`, CompactionParams.validate). Every refusal is a ConfigurationException with
Cassandra 5.0's message."""

import pytest
from cassandra.protocol import ConfigurationException

PACKAGE = "org.apache.cassandra.db.compaction."


def compaction_of(t):
    keyspace, table = t.table.split(".")
    return t.one("SELECT compaction FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?",
                 keyspace, table)[0]


def refused(t, message, options):
    """CREATE and ALTER TABLE both refuse `options` with `message`, leaving the table as it was."""
    t.create_table("CREATE TABLE %s (id text PRIMARY KEY)")
    before = compaction_of(t)
    t.error(ConfigurationException, message, f"ALTER TABLE %s WITH compaction = {options}")
    assert compaction_of(t) == before
    t.error(ConfigurationException, message,
            f"CREATE TABLE {t.keyspace}.never (id text PRIMARY KEY) WITH compaction = {options}")


def test_strategies_and_their_stored_options(t):
    t.create_table("CREATE TABLE %s (id text PRIMARY KEY) WITH compaction = "
                   "{'class':'SizeTieredCompactionStrategy', 'min_threshold':2}")
    assert compaction_of(t) == {"class": PACKAGE + "SizeTieredCompactionStrategy",
                                "min_threshold": "2", "max_threshold": "32"}
    t.create_table("CREATE TABLE %s (id text PRIMARY KEY) WITH compaction = "
                   "{'class':'LeveledCompactionStrategy', 'sstable_size_in_mb':1, 'fanout_size':5}")
    assert compaction_of(t) == {"class": PACKAGE + "LeveledCompactionStrategy", "sstable_size_in_mb": "1",
                                "fanout_size": "5", "min_threshold": "4", "max_threshold": "32"}
    t.create_table("CREATE TABLE %s (id text PRIMARY KEY) WITH compaction = "
                   "{'class':'TimeWindowCompactionStrategy', 'min_threshold':2, "
                   "'compaction_window_unit': 'HOURS', 'compaction_window_size': 6}")
    assert compaction_of(t) == {"class": PACKAGE + "TimeWindowCompactionStrategy", "min_threshold": "2",
                                "max_threshold": "32", "compaction_window_unit": "HOURS",
                                "compaction_window_size": "6"}
    # UCS takes no thresholds, so it gets none by default.
    t.create_table("CREATE TABLE %s (id text PRIMARY KEY) WITH compaction = "
                   "{'class':'UnifiedCompactionStrategy', 'scaling_parameters': 'T4, L10', "
                   "'target_sstable_size': '256MiB', 'base_shard_count': 2}")
    assert compaction_of(t) == {"class": PACKAGE + "UnifiedCompactionStrategy",
                                "scaling_parameters": "T4, L10", "target_sstable_size": "256MiB",
                                "base_shard_count": "2"}
    # A full class name, the shared options and `enabled` in any case.
    t.execute(f"ALTER TABLE %s WITH compaction = {{'class': '{PACKAGE}SizeTieredCompactionStrategy', "
              "'enabled': 'FALSE', 'tombstone_threshold': 0.3, 'unchecked_tombstone_compaction': 'true', "
              "'only_purge_repaired_tombstones': 'true', 'provide_overlapping_tombstones': 'row', "
              "'log_all': 'false', 'bucket_low': 0.4, 'bucket_high': 2, 'min_sstable_size': 10}")
    assert compaction_of(t)["enabled"] == "FALSE"


def test_unknown_options_are_refused_per_strategy(t):
    refused(t, "Properties specified [abc] are not understood by SizeTieredCompactionStrategy",
            "{ 'class' : 'SizeTieredCompactionStrategy', 'abc' : -54.54 }")
    refused(t, "Properties specified [dog] are not understood by TimeWindowCompactionStrategy",
            "{ 'class' : 'TimeWindowCompactionStrategy', 'dog' : 3 }")
    refused(t, "Properties specified [compaction_window_size] are not understood by LeveledCompactionStrategy",
            "{ 'class' : 'LeveledCompactionStrategy', 'compaction_window_size' : 4 }")
    # CompactionsCQLTest.testBadLocalCompactionStrategyOptions: an LCS option is not for STCS.
    refused(t, "Properties specified [sstable_size_in_mb] are not understood by SizeTieredCompactionStrategy",
            "{'class': 'SizeTieredCompactionStrategy', 'sstable_size_in_mb': 1234}")
    refused(t, "Properties specified [min_threshold] are not understood by UnifiedCompactionStrategy",
            "{'class': 'UnifiedCompactionStrategy', 'min_threshold': 4}")
    refused(t, "Properties specified [a, b] are not understood by SizeTieredCompactionStrategy",
            "{'class': 'SizeTieredCompactionStrategy', 'b': 1, 'a': 2}")


def test_threshold_values(t):
    refused(t, "Min compaction threshold cannot be less than 2 (got 1)",
            "{'class': 'SizeTieredCompactionStrategy', 'min_threshold': 1}")
    refused(t, "Disabling compaction by setting compaction thresholds to 0 has been removed, set the "
               "compaction option 'enabled' to false instead.",
            "{'class': 'SizeTieredCompactionStrategy', 'max_threshold': 0}")
    refused(t, "Min compaction threshold (got 8) cannot be greater than max compaction threshold (got 6)",
            "{'class': 'LeveledCompactionStrategy', 'min_threshold': 8, 'max_threshold': 6}")
    refused(t, "Invalid value abc for 'min_threshold' compaction sub-option - must be an integer",
            "{'class': 'TimeWindowCompactionStrategy', 'min_threshold': 'abc'}")
    refused(t, "Invalid value -1 for 'max_threshold' compaction sub-option - must be an integer",
            "{'class': 'SizeTieredCompactionStrategy', 'max_threshold': -1}")


def test_shared_option_values(t):
    # CompactionsCQLTest.testBadProvidesTombstoneOption (through CQL).
    refused(t, "Invalid value ILLEGALVALUE for 'provide_overlapping_tombstones' compaction sub-option - "
               "must be one of the following [NONE, ROW, CELL].",
            "{'class': 'SizeTieredCompactionStrategy', 'provide_overlapping_tombstones': 'IllegalValue'}")
    refused(t, "tombstone_threshold must be greater than 0, but was -0.500000",
            "{'class': 'LeveledCompactionStrategy', 'tombstone_threshold': -0.5}")
    refused(t, "abc is not a parsable int (base10) for tombstone_threshold",
            "{'class': 'SizeTieredCompactionStrategy', 'tombstone_threshold': 'abc'}")
    refused(t, "tombstone_compaction_interval must be greater than 0, but was -1",
            "{'class': 'UnifiedCompactionStrategy', 'tombstone_compaction_interval': -1}")
    refused(t, "'unchecked_tombstone_compaction' should be either 'true' or 'false', not 'maybe'",
            "{'class': 'SizeTieredCompactionStrategy', 'unchecked_tombstone_compaction': 'maybe'}")
    refused(t, "'log_all' should either be 'true' or 'false', not 1",
            "{'class': 'SizeTieredCompactionStrategy', 'log_all': 1}")
    refused(t, "enabled should either be 'true' or 'false', not no",
            "{'class': 'TimeWindowCompactionStrategy', 'enabled': 'no'}")


def test_size_tiered_and_leveled_option_values(t):
    refused(t, "bucket_high value (0.4) is less than or equal to the bucket_low value (0.5)",
            "{'class': 'SizeTieredCompactionStrategy', 'bucket_high': 0.4}")
    refused(t, "x is not a parsable float for bucket_low",
            "{'class': 'SizeTieredCompactionStrategy', 'bucket_low': 'x'}")
    refused(t, "min_sstable_size must be non negative: -1",
            "{'class': 'LeveledCompactionStrategy', 'min_sstable_size': -1}")
    refused(t, "sstable_size_in_mb must be larger than 0, but was -5",
            "{ 'class' : 'LeveledCompactionStrategy', 'sstable_size_in_mb' : -5 }")
    refused(t, "big is not a parsable int (base10) for sstable_size_in_mb",
            "{'class': 'LeveledCompactionStrategy', 'sstable_size_in_mb': 'big'}")
    refused(t, "fanout_size must be larger than 0, but was 0",
            "{'class': 'LeveledCompactionStrategy', 'fanout_size': 0}")


def test_time_window_option_values(t):
    refused(t, "WEEKS is not valid for compaction_window_unit",
            "{'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'WEEKS'}")
    refused(t, "hours is not valid for compaction_window_unit",
            "{'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'hours'}")
    refused(t, "MINUTES is not valid for timestamp_resolution",
            "{'class': 'TimeWindowCompactionStrategy', 'timestamp_resolution': 'MINUTES'}")
    refused(t, "0 must be greater than 1 for compaction_window_size",
            "{'class': 'TimeWindowCompactionStrategy', 'compaction_window_size': 0}")
    refused(t, "expired_sstable_check_frequency_seconds must not be negative, but was -1",
            "{'class': 'TimeWindowCompactionStrategy', 'expired_sstable_check_frequency_seconds': -1}")
    refused(t, "unsafe_aggressive_sstable_expiration is requested but not allowed, restart cassandra with "
               "-Dcassandra.allow_unsafe_aggressive_sstable_expiration=true to allow it",
            "{'class': 'TimeWindowCompactionStrategy', 'unsafe_aggressive_sstable_expiration': 'true'}")


def test_unified_option_values(t):
    refused(t, "Scaling parameter X2 must match N|L[0-9]+|T[0-9]+|[+-]?[0-9]+",
            "{'class': 'UnifiedCompactionStrategy', 'scaling_parameters': 'T4, X2'}")
    refused(t, "Fan factor cannot be lower than 2 in L1",
            "{'class': 'UnifiedCompactionStrategy', 'scaling_parameters': 'L1'}")
    refused(t, "Invalid configuration, base_shard_count should be positive: 0",
            "{'class': 'UnifiedCompactionStrategy', 'base_shard_count': 0}")
    refused(t, "target_sstable_size 1KiB is not acceptable, size must be at least 1.000MiB",
            "{'class': 'UnifiedCompactionStrategy', 'target_sstable_size': '1KiB'}")
    refused(t, "Invalid overlap inclusion method ALL. The valid options are [NONE, SINGLE, TRANSITIVE].",
            "{'class': 'UnifiedCompactionStrategy', 'overlap_inclusion_method': 'ALL'}")
    refused(t, "sstable_growth 2 must be between 0 and 1",
            "{'class': 'UnifiedCompactionStrategy', 'sstable_growth': 2}")
    refused(t, "Invalid configuration, expired_sstable_check_frequency_seconds should be positive: 0",
            "{'class': 'UnifiedCompactionStrategy', 'expired_sstable_check_frequency_seconds': 0}")


def test_missing_or_unknown_class(t):
    refused(t, "Missing sub-option 'class' for the 'compaction' option", "{'min_threshold': 4}")
    refused(t, "Unable to find compaction strategy class 'org.apache.cassandra.db.compaction.NoSuch'",
            "{'class': 'NoSuch'}")
