"""Markings and multisets are immutable values: they compare and hash by content."""

from __future__ import annotations

import collections

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petriflow.errors import ColorError
from petriflow.net import DOT, Marking, Multiset
from petriflow.net.colors import Record
from tests.strategies import markings, scaled, token_lists


def _grouped(pairs):
    per: dict[str, list] = collections.defaultdict(list)
    for place, token in pairs:
        per[place].append(token)
    return per


@settings(max_examples=scaled(100))
@given(token_lists(), st.randoms(use_true_random=False))
def test_markings_built_in_different_orders_are_equal_with_equal_hashes(pairs, rnd):
    shuffled = list(pairs)
    rnd.shuffle(shuffled)
    a = Marking(_grouped(pairs))
    b = Marking(_grouped(shuffled))
    # the same content, given as counts per token and with the places in another order
    counts = {p: dict(collections.Counter(ts)) for p, ts in _grouped(shuffled).items()}
    c = Marking(dict(reversed(list(counts.items()))))
    d = Marking({p: Multiset(ts) for p, ts in _grouped(pairs).items()})
    assert a == b == c == d
    assert hash(a) == hash(b) == hash(c) == hash(d)
    assert len({a, b, c, d}) == 1
    for place, tokens in _grouped(pairs).items():
        assert Multiset(tokens) == Multiset(list(reversed(tokens)))
        assert hash(Multiset(tokens)) == hash(Multiset(list(reversed(tokens))))
        assert a.count(place) == len(tokens) == a[place].size
    assert a.total == len(pairs)


@settings(max_examples=scaled(100))
@given(token_lists(), token_lists(max_size=3).filter(bool))
def test_more_tokens_make_a_different_marking(pairs, extra):
    a = Marking(_grouped(pairs))
    b = Marking(_grouped(pairs + extra))
    assert a != b
    assert a <= b and not b <= a
    assert b - a == Marking(_grouped(extra))


@settings(max_examples=scaled(100))
@given(markings(), markings())
def test_marking_algebra(m, n):
    assert m + n == n + m and hash(m + n) == hash(n + m)
    assert (m + n) - n == m
    assert m <= m + n
    assert m + Marking() == m
    assert m - m == Marking()
    assert (m + n).total == m.total + n.total
    if not m <= n and m.total:
        with pytest.raises(ValueError, match="cannot remove"):
            n - m


def test_empty_places_are_omitted():
    assert Marking({"p": 0, "q": []}) == Marking()
    assert Multiset({"a": 0}) == Multiset()
    assert "p" not in Marking({"p": 0})
    assert Marking()["p"] == Multiset() and Marking().count("p") == 0


def test_black_token_counts_and_token_lists_are_the_same_marking():
    assert Marking({"p": 2}) == Marking({"p": [DOT, DOT]}) == Marking.from_counts({"p": 2})
    assert Marking({"p": 2}).counts() == {"p": 2}
    assert repr(Marking({"p": 2})) == "Marking({p: 2})"


def test_records_with_fields_in_another_order_are_the_same_token():
    a = Marking({"p": [Record({"n": 1, "ok": True})]})
    b = Marking({"p": [Record({"ok": True, "n": 1})]})
    assert a == b and hash(a) == hash(b)


def test_negative_counts_are_refused():
    with pytest.raises(ColorError, match="negative"):
        Marking({"p": -1})
    with pytest.raises(ColorError, match="non-negative"):
        Multiset({"a": -1})
    with pytest.raises(ColorError, match="non-negative"):
        Multiset({"a": 1.5})


@pytest.mark.parametrize("text", ["abc", b"abc", ""])
def test_a_string_is_not_taken_for_a_collection_of_tokens(text):
    # It used to become one token per character: 'a', 'b', 'c'.
    with pytest.raises(ColorError, match=r"place 'p': .* is a string.*write \["):
        Marking({"p": text})


@pytest.mark.parametrize("value", [True, 1.5, None, DOT, Record(n=1)])
def test_a_single_value_is_not_taken_for_a_collection_of_tokens(value):
    with pytest.raises(ColorError, match="place 'p'"):
        Marking({"p": value})


def test_token_lists_tuples_generators_and_counts_still_make_markings():
    assert Marking({"p": ["abc"]})["p"] == Multiset(["abc"])
    assert Marking({"p": ("a", "a")})["p"] == Multiset({"a": 2})
    assert Marking({"p": (x for x in [1, 2])})["p"] == Multiset([1, 2])
    assert Marking({"p": {"a": 2}})["p"] == Multiset({"a": 2})
    assert Marking({"p": 3}).count("p") == 3


def test_markings_and_multisets_cannot_be_changed():
    m = Marking({"p": 1})
    ms = m["p"]
    with pytest.raises(TypeError):
        m["p"] = ms  # type: ignore[index]
    with pytest.raises(TypeError):
        ms[DOT] = 3  # type: ignore[index]
    assert not hasattr(m, "__dict__") and not hasattr(ms, "__dict__")


def test_markings_are_usable_as_dictionary_keys():
    seen = {Marking({"p": 1, "q": ["a"]}): "first"}
    assert seen[Marking({"q": ["a"], "p": [DOT]})] == "first"
