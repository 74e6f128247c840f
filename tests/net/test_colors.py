"""Color sets validate and refuse values; their JSON forms round-trip."""

from __future__ import annotations

import decimal
import json
import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petriflow.errors import ColorError, PetriflowError
from petriflow.net.colorjson import (
    color_from_json,
    color_to_json,
    token_from_json,
    token_to_json,
)
from petriflow.net.colors import (
    BLACK,
    DOT,
    BoolColor,
    DecimalColor,
    EnumColor,
    IntColor,
    Record,
    RecordColor,
    StrColor,
    TupleColor,
)
from tests.strategies import LEVEL, PAIR, REC, color_sets, scaled, values_of

D = decimal.Decimal


def exact(v):
    """A value with its type, recursively (so that True and 1 differ)."""
    if isinstance(v, tuple):
        return ("tuple", tuple(exact(x) for x in v))
    if isinstance(v, Record):
        return ("record", tuple(sorted((k, exact(x)) for k, x in v.items())))
    return (type(v).__name__, repr(v))


# -- properties -------------------------------------------------------------------------


@settings(max_examples=scaled(100))
@given(st.data())
def test_values_validate_to_themselves_and_round_trip_through_json(data):
    color = data.draw(color_sets())
    value = data.draw(values_of(color))
    assert color.contains(value)
    assert exact(color.validate(value)) == exact(value)
    text = json.dumps(token_to_json(color, value))
    assert exact(token_from_json(color, json.loads(text))) == exact(value)


@settings(max_examples=scaled(100))
@given(color_sets())
def test_color_sets_round_trip_through_json(color):
    back = color_from_json(json.loads(json.dumps(color_to_json(color))))
    assert back == color
    assert str(back) == str(color)


@settings(max_examples=scaled(100))
@given(color_sets())
def test_members_of_finite_color_sets_are_values(color):
    if not color.finite:
        return  # enumerating is refused: see the examples below
    sizes = {IntColor: lambda c: max(0, c.high - c.low + 1), BoolColor: lambda c: 2,
             EnumColor: lambda c: len(c.values)}
    expected = _size(color, sizes)
    assert color.size == expected
    if expected > 2000:
        return
    members = list(color.members())
    assert len(members) == expected
    assert all(color.contains(m) for m in members)


def _size(color, sizes):
    if isinstance(color, TupleColor):
        return math.prod(_size(c, sizes) for c in color.items)
    if isinstance(color, RecordColor):
        return math.prod(_size(c, sizes) for _, c in color.fields)
    return sizes[type(color)](color)


# -- examples: what each color set refuses -----------------------------------------------


@pytest.mark.parametrize(
    ("color", "value", "why"),
    [
        (IntColor(), True, "an integer is expected"),
        (IntColor(), False, "an integer is expected"),
        (IntColor(), 1.0, "an integer is expected"),
        (IntColor(), D(1), "an integer is expected"),
        (IntColor(), "1", "an integer is expected"),
        (IntColor(0, 3), 4, "out of bounds"),
        (IntColor(0, 3), -1, "out of bounds"),
        (BoolColor(), 1, "true or false"),
        (BoolColor(), "true", "true or false"),
        (StrColor(), 1, "a string is expected"),
        (StrColor(3), "abcd", "longer than 3"),
        (DecimalColor(), 1.5, "a decimal"),
        (DecimalColor(), True, "a decimal"),
        (DecimalColor(), "1.5.2", "not a decimal number"),
        (DecimalColor(), "NaN", "not a finite number"),
        (DecimalColor(), D("Infinity"), "not a finite number"),
        (DecimalColor(D(0), D(10)), D("10.01"), "out of bounds"),
        (LEVEL, "urgent", "expected one of low, mid, high"),
        (LEVEL, 1, "expected one of"),
        (TupleColor((IntColor(), BoolColor())), [1, True], "a tuple of 2 items"),
        (TupleColor((IntColor(), BoolColor())), (1,), "a tuple of 2 items"),
        (TupleColor((IntColor(), BoolColor())), (1, 1), "true or false"),
        (REC, {"n": 1}, "missing field(s) ok"),
        (REC, {"n": 1, "ok": True, "x": 0}, "unknown field(s) x"),
        (REC, {"n": 9, "ok": True}, "out of bounds"),
        (REC, (1, True), "a record is expected"),
        (BLACK, 1, ""),
        (BLACK, None, ""),
    ],
)
def test_color_sets_refuse_what_is_not_theirs(color, value, why):
    assert not color.contains(value)
    with pytest.raises(ColorError, match="is not a value of color set") as info:
        color.validate(value)
    assert why in str(info.value)
    assert isinstance(info.value, TypeError) and isinstance(info.value, PetriflowError)
    if not isinstance(color, TupleColor | RecordColor) or why.startswith(("a ", "missing",
                                                                          "unknown")):
        # (an item or field that does not fit reports its own color set)
        assert info.value.color == str(color)


def test_color_errors_carry_the_color_set_and_the_value():
    with pytest.raises(ColorError) as info:
        IntColor(0, 3).validate(7)
    assert (info.value.color, info.value.value) == ("int[0..3]", 7)


@pytest.mark.parametrize(
    ("color", "value", "expected"),
    [
        (DecimalColor(), 2, D(2)),
        (DecimalColor(), "1.50", D("1.50")),
        (DecimalColor(), D("-0.5"), D("-0.5")),
        (IntColor(0, 3), 3, 3),
        (TupleColor((DecimalColor(), LEVEL)), (1, "low"), (D(1), "low")),
        (REC, {"ok": True, "n": 2}, Record(n=2, ok=True)),
    ],
)
def test_validation_normalises(color, value, expected):
    assert exact(color.validate(value)) == exact(expected)


def test_validated_records_are_records_with_the_color_order_of_fields():
    r = REC.validate({"ok": False, "n": 1})
    assert type(r) is Record
    assert list(r) == ["n", "ok"]


def test_records_are_immutable_hashable_values():
    a = Record({"n": 1, "ok": True})
    b = Record({"ok": True, "n": 1})
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    for mutate in (lambda: a.__setitem__("n", 2), lambda: a.update(n=2),
                   lambda: a.pop("n"), lambda: a.clear(), lambda: a.setdefault("z", 1),
                   lambda: a.__delitem__("n")):
        with pytest.raises(TypeError, match="immutable"):
            mutate()
    assert a == {"n": 1, "ok": True}
    c = a.replace(n=2)
    assert c == Record(n=2, ok=True) and a["n"] == 1
    assert pickle.loads(pickle.dumps(a)) == a


def test_the_black_token_is_a_singleton():
    assert BLACK.validate(DOT) is DOT
    assert list(BLACK.members()) == [DOT]
    assert pickle.loads(pickle.dumps(DOT)) is DOT
    assert type(DOT)() is DOT


def test_finite_and_infinite_color_sets():
    assert IntColor(1, 3).finite and list(IntColor(1, 3).members()) == [1, 2, 3]
    assert not IntColor(1).finite and not IntColor().finite
    assert not StrColor().finite and not DecimalColor().finite
    assert list(PAIR.members()) == [(i, b) for i in range(3) for b in (False, True)]
    assert len(list(REC.members())) == 8
    for color in (StrColor(), DecimalColor()):
        with pytest.raises(ColorError, match="infinite"):
            list(color.members())


def test_sizes_of_color_sets():
    assert (BLACK.size, BoolColor().size, IntColor(1, 3).size, IntColor(3, 1).size) == (1, 2, 3, 0)
    assert (PAIR.size, REC.size) == (6, 8)
    for color in (IntColor(), IntColor(0), StrColor(), DecimalColor(),
                  TupleColor((BoolColor(), IntColor())), RecordColor((("s", StrColor()),))):
        assert color.size is None


def test_members_of_a_product_with_a_huge_component_are_enumerated_lazily():
    # itertools.product would first list all 10^11 + 1 integers.
    huge = IntColor(0, 10**11)
    assert next(TupleColor((huge, BoolColor())).members()) == (0, False)
    assert next(RecordColor((("n", huge), ("ok", BoolColor()))).members()) == Record(n=0, ok=False)
    assert TupleColor((huge, huge)).size == (10**11 + 1) ** 2


@pytest.mark.parametrize("color", [IntColor(), IntColor(0), IntColor(None, 5)])
def test_enumerating_an_unbounded_int_color_is_a_color_error(color):
    with pytest.raises(ColorError, match="infinite"):
        list(color.members())


# -- examples: JSON forms refuse tampering ---------------------------------------------


@pytest.mark.parametrize(
    ("color", "data"),
    [
        (IntColor(), True),
        (IntColor(), "1"),
        (BoolColor(), 0),
        (DecimalColor(), 1.5),
        (DecimalColor(), None),
        (LEVEL, "urgent"),
        (BLACK, 1),
        (PAIR, [1]),
        (PAIR, {"0": 1}),
        (REC, {"n": 1}),
        (REC, {"n": 1, "ok": True, "__class__": "os.system"}),
        (REC, [1, True]),
    ],
)
def test_tokens_that_do_not_fit_their_color_set_are_refused(color, data):
    with pytest.raises(ColorError):
        token_from_json(color, data)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "int",
        {"kind": "float"},
        {"kind": "int", "low": "0"},
        {"kind": "int", "low": True},
        {"kind": "enum", "values": "abc"},
        {"kind": "enum", "values": [1, 2]},
        {"kind": "tuple", "items": {"kind": "int"}},
        {"kind": "record", "fields": [["a"]]},
        {"kind": "record", "fields": [[1, {"kind": "int"}]]},
        {"kind": "decimal", "low": "abc"},
    ],
)
def test_malformed_color_sets_are_refused(data):
    with pytest.raises(ColorError):
        color_from_json(data)


@pytest.mark.parametrize("bound", ["low", "high"])
@pytest.mark.parametrize("text", ["NaN", "sNaN", "-NaN", "Infinity", "-Infinity"])
def test_non_finite_decimal_bounds_are_refused(bound, text):
    # A NaN bound would make every later validate() raise decimal.InvalidOperation.
    with pytest.raises(ColorError, match=f"the {bound} bound .* finite"):
        color_from_json({"kind": "decimal", bound: text})
    with pytest.raises(ColorError, match=f"the {bound} bound .* finite"):
        DecimalColor(**{bound: D(text)})


def test_deeply_nested_color_sets_are_refused():
    data: dict = {"kind": "int"}
    for _ in range(40):
        data = {"kind": "tuple", "items": [data]}
    with pytest.raises(ColorError, match="nested too deeply"):
        color_from_json(data)
