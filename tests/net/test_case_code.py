"""The generated firing functions of pure transitions: no model text reaches the compiler,
transitions of one shape share their code, and runs on them follow the firing rule
(the random comparisons with the general path are in ``test_case_game.py``)."""

from __future__ import annotations

import io
import keyword
import random
import re
import tokenize
from decimal import Decimal

import pytest

from petriflow.net import Marking, NetBuilder, RecordColor, TokenGame
from petriflow.net.case_code import _n, pure_source
from petriflow.net.colors import DecimalColor, IntColor, Record

CASE = RecordColor((("id", IntColor()), ("amount", DecimalColor())), name="case")
HOSTILE = "x'); __import__(\"os\").system(\"echo owned\") #"

# every name the generated text may use: its own locals, numbered slots, and len
_FIXED = {"make", "fire", "epos", "enabled", "values", "refresh", "x", "n", "at", "last",
          "len", "append", "pop"}
_SLOT = re.compile(r"(B|K|P|OK|N|T)\d+")


def check_generated_text(source: str) -> None:
    """The text holds no string literal, only integer numbers, and only its own names."""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        assert tok.type != tokenize.STRING, tok
        if tok.type == tokenize.NAME and not keyword.iskeyword(tok.string):
            assert tok.string in _FIXED or _SLOT.fullmatch(tok.string), tok.string
        if tok.type == tokenize.NUMBER:
            assert tok.string.isdigit()


def _hostile_net():
    """A fork and a guarded join whose places, transitions and variable carry code-like
    names (all legal ids)."""
    b = NetBuilder(HOSTILE)
    names = [f"{HOSTILE}{i}" for i in range(5)]
    for p in names:
        b.place(p, color=CASE)
    b.transition("fork" + HOSTILE)
    b.arc(names[0], "fork" + HOSTILE, inscription="system")
    for p in names[1:3]:
        b.arc("fork" + HOSTILE, p, inscription="system")
    b.transition("step" + HOSTILE)
    b.arc(names[2], "step" + HOSTILE, inscription="system")
    b.arc("step" + HOSTILE, names[3], inscription="system")
    b.transition("join" + HOSTILE, guard="system.amount > 1000")
    b.arc(names[1], "join" + HOSTILE, inscription="system")
    b.arc(names[3], "join" + HOSTILE, inscription="system")
    b.arc("join" + HOSTILE, names[4], inscription="system")
    return b.build(), names


def test_the_generated_text_holds_no_name_value_or_literal_of_the_model():
    net, names = _hostile_net()
    layout = net._case_layout
    assert layout is not None and layout.pure == list(range(len(layout.kind)))
    sources = pure_source(layout)
    assert sources
    for source in sources:
        assert "owned" not in source and "system" not in source and "import" not in source
        check_generated_text(source)
    game = TokenGame(net, Marking())
    for i, amount in enumerate((999, 1500)):
        game.put(names[0], [Record(id=i, amount=Decimal(amount))])
    result = game.run(100, random.Random(3))
    assert result.dead and result.fired == 2 * 2 + 1
    m = game.marking()
    assert [t["id"] for t in m[names[4]]] == [1]  # the guard held for 1500 only
    assert [t["id"] for t in m[names[1]]] == [0] and [t["id"] for t in m[names[3]]] == [0]


@pytest.mark.parametrize("value", ["1", 1.0, True, None])
def test_only_integers_are_written_into_the_text(value):
    with pytest.raises(TypeError):
        _n(value)


def test_transitions_of_one_shape_share_their_code():
    b = NetBuilder("chain")
    for i in range(51):
        b.place(f"p{i}", color=CASE)
    for i in range(50):
        b.transition(f"t{i}", guard="c.amount > 0" if i % 10 == 5 else None)
        b.arc(f"p{i}", f"t{i}", inscription="c")
        b.arc(f"t{i}", f"p{i + 1}", inscription="c")
    net = b.build()
    # a plain step, one before a guarded step, the guarded step, and the last one
    assert len(pure_source(net._case_layout)) <= 4
    game = TokenGame(net, Marking())
    for i in range(30):
        game.put("p0", [Record(id=i, amount=Decimal(i % 3))])
    assert game.run(10_000, random.Random(7)).dead
    m = game.marking()
    # amount 0 stops before t5 (the first guard); the others run to the end
    assert sorted(t["id"] for t in m["p5"]) == list(range(0, 30, 3))
    assert sorted(t["id"] for t in m["p50"]) == [i for i in range(30) if i % 3]


def test_two_games_of_one_net_do_not_share_their_state():
    net, names = _hostile_net()
    one, two = TokenGame(net, Marking()), TokenGame(net, Marking())
    one.put(names[0], [Record(id=1, amount=Decimal(2000))])
    assert one.run(10, random.Random(1)).fired == 3
    assert two.run(10, random.Random(1)).fired == 0
    assert two.marking() == Marking()
    assert [t["id"] for t in one.marking()[names[4]]] == [1]
