"""5.0's masking functions mask_null, mask_default, mask_replace, mask_inner, mask_outer and
mask_hash, after Cassandra's cql3/functions/masking/*MaskingFunctionTest."""

import hashlib

import pytest

PARTIAL_CASES = [
    # value, begin, end, inner, outer (PartialMaskingFunctionTest.testMasking)
    ("", 0, 0, "", ""), ("", 9, 9, "", ""),
    ("a", 0, 0, "*", "a"), ("a", 1, 1, "a", "*"), ("a", 10, 10, "a", "*"),
    ("abcde", 0, 0, "*****", "abcde"), ("abcde", 0, 1, "****e", "abcd*"), ("abcde", 0, 2, "***de", "abc**"),
    ("abcde", 0, 3, "**cde", "ab***"), ("abcde", 0, 4, "*bcde", "a****"), ("abcde", 0, 5, "abcde", "*****"),
    ("abcde", 0, 6, "abcde", "*****"), ("abcde", 1, 0, "a****", "*bcde"), ("abcde", 2, 0, "ab***", "**cde"),
    ("abcde", 3, 0, "abc**", "***de"), ("abcde", 4, 0, "abcd*", "****e"), ("abcde", 5, 0, "abcde", "*****"),
    ("abcde", 6, 0, "abcde", "*****"), ("abcde", 1, 1, "a***e", "*bcd*"), ("abcde", 2, 2, "ab*de", "**c**"),
    ("abcde", 3, 3, "abcde", "*****"), ("abcde", 4, 4, "abcde", "*****"),
    ("á#íòü", 0, 0, "*****", "á#íòü"), ("á#íòü", 1, 1, "á***ü", "*#íò*"), ("á#íòü", 5, 5, "á#íòü", "*****"),
]


def test_partial_masking(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, v text)")
    for i, (value, begin, end, inner, outer) in enumerate(PARTIAL_CASES):
        t.execute("INSERT INTO %s (k, v) VALUES (?, ?)", i, value)
        assert t.one("SELECT mask_inner(v, ?, ?), mask_outer(v, ?, ?) FROM %s WHERE k = ?",
                     begin, end, begin, end, i) == (inner, outer), (value, begin, end)


def test_partial_masking_options(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, v text, a ascii, n int)")
    t.execute("INSERT INTO %s (k, v, a, n) VALUES (0, 'abcdef', 'abcdef', 1)")
    assert t.one("SELECT mask_inner(v, 1, 2, '#'), mask_outer(v, 1, 2, '#') FROM %s") == ("a###ef", "#bcd##")
    assert t.one("SELECT mask_inner(v, 1, 2, 'é'), mask_outer(a, 1, 2) FROM %s") == ("aéééef", "*bcd**")
    assert t.one("SELECT mask_inner(v, 1, 2, null), mask_inner(v, null, 2), mask_inner(v, 1, null) FROM %s") == (
        "a***ef", "****ef", "a*****")
    assert t.one("SELECT system.mask_outer(v, null, 2), system.mask_outer(v, 1, null) FROM %s") == (
        "abcd**", "*bcdef")
    with pytest.raises(Exception) as error:
        t.execute("SELECT mask_inner(v, 1, 2, 'too_long') FROM %s")
    assert "should be single-character" in str(error.value)
    t.invalid("Function system.mask_inner requires an argument of type [text|varchar|ascii], but found argument "
              "n of type int", "SELECT mask_inner(n, 1, 2) FROM %s")
    result = t.session.execute(f"SELECT mask_inner(v, 1, 2) FROM {t.table}")
    assert result.column_names == ["system.mask_inner(v, 1, 2)"]


def test_null_masking(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, v text, i int, l list<int>)")
    t.execute("INSERT INTO %s (k, v, i, l) VALUES (0, 'abc', 7, [1])")
    assert t.one("SELECT mask_null(v), mask_null(i), mask_null(l), mask_null(k) FROM %s") == (
        None, None, None, None)


def test_default_masking(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, t text, a ascii, i int, bi bigint, b boolean, "
                   "d double, bl blob, l list<int>, s set<text>, m map<int, text>, fl frozen<list<int>>)")
    t.execute("INSERT INTO %s (k, t, a, i, bi, b, d, bl, l, s, m, fl) VALUES "
              "(0, 'abc', 'abc', 7, 8, true, 1.5, 0x01, [1], {'a'}, {1: 'a'}, [2])")
    assert t.one("SELECT mask_default(t), mask_default(a), mask_default(i), mask_default(bi), mask_default(b), "
                 "mask_default(d), mask_default(bl), mask_default(fl) FROM %s") == (
        "****", "****", 0, 0, False, 0.0, b"", [])


def test_replace_masking(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, t text, i int)")
    t.execute("INSERT INTO %s (k, t, i) VALUES (0, 'abc', 7)")
    assert t.one("SELECT mask_replace(t, 'redacted'), mask_replace(i, 42) FROM %s") == ("redacted", 42)
    t.execute("INSERT INTO %s (k) VALUES (1)")
    assert t.one("SELECT mask_replace(t, 'redacted') FROM %s WHERE k = 1") == ("redacted",)


def test_hash_masking(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, t text, i int)")
    t.execute("INSERT INTO %s (k, t, i) VALUES (0, 'abc', 7)")
    digest = hashlib.sha256(b"abc").digest()
    assert t.one("SELECT mask_hash(t), mask_hash(i), mask_hash(t, 'SHA-512') FROM %s") == (
        digest, hashlib.sha256(b"\0\0\0\x07").digest(), hashlib.sha512(b"abc").digest())
    t.execute("INSERT INTO %s (k) VALUES (1)")
    assert t.one("SELECT mask_hash(t) FROM %s WHERE k = 1") == (None,)
