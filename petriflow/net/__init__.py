"""The colored Petri net kernel: pure, with no I/O, no clock, no solver and no database.

Build a net with :class:`NetBuilder`, fire it with :func:`fire` (checked, returns a
:class:`Step`) or run it long with :class:`TokenGame`; read and write PNML with
:func:`read_pnml` and :func:`write_pnml`.
"""

from petriflow.net.builder import NetBuilder
from petriflow.net.colors import (
    BLACK,
    DOT,
    BoolColor,
    ColorSet,
    DecimalColor,
    EnumColor,
    IntColor,
    Record,
    RecordColor,
    StrColor,
    TupleColor,
)
from petriflow.net.evaluate import compile_expr, evaluate
from petriflow.net.expr import Expr, parse
from petriflow.net.firing import Binding, Step, bindings, enabled_transitions, fire, is_enabled
from petriflow.net.game import RunResult, TokenGame
from petriflow.net.marking import Marking, Multiset
from petriflow.net.pnml import read_pnml, write_pnml
from petriflow.net.structure import Arc, ArcKind, Net, Place, Transition

__all__ = [
    "BLACK",
    "DOT",
    "Arc",
    "ArcKind",
    "Binding",
    "BoolColor",
    "ColorSet",
    "DecimalColor",
    "EnumColor",
    "Expr",
    "IntColor",
    "Marking",
    "Multiset",
    "Net",
    "NetBuilder",
    "Place",
    "Record",
    "RecordColor",
    "RunResult",
    "Step",
    "StrColor",
    "TokenGame",
    "Transition",
    "TupleColor",
    "bindings",
    "compile_expr",
    "enabled_transitions",
    "evaluate",
    "fire",
    "is_enabled",
    "parse",
    "read_pnml",
    "write_pnml",
]
