"""One entry point for every check: a compiled process or a P/T net, a list of properties,
a time budget per property. Cheap methods run first; the first conclusive answer wins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from petriflow.errors import ModelError, PetriflowError, Problem
from petriflow.model.compiled import CompiledProcess
from petriflow.net.structure import Net
from petriflow.verify.formulas import NamedFormula
from petriflow.verify.result import Result, Verdict

NET_PROPERTIES = ("deadlock", "bounded", "one-safe", "quasi-liveness", "soundness")
PROCESS_PROPERTIES = ("deadlock", "soundness", "bounded", "policies")
DEFAULT_TIMEOUT = 60.0


def check(target: CompiledProcess | Net, properties: Sequence[str] = ("all",), *,
          timeout: float = DEFAULT_TIMEOUT,
          formulas: Sequence[NamedFormula | tuple[str, str]] = ()) -> list[Result]:
    """Check ``properties`` of a compiled process or a net; one :class:`Result` each.

    For a process: ``deadlock``, ``soundness``, ``bounded``, ``policies``, ``all`` or a
    policy id. For a P/T net: ``deadlock``, ``bounded``, ``one-safe``,
    ``quasi-liveness``, ``soundness`` (workflow nets) or ``all``; ``formulas`` are
    reachability formulas (from an MCC property file), answered one by one.
    """
    if isinstance(target, CompiledProcess):
        from petriflow.verify.process import check_process

        known = {ob.policy.id for ob in target.obligations} | {"all", *PROCESS_PROPERTIES}
        unknown = [p for p in properties if p not in known]
        if unknown:
            from petriflow.errors import did_you_mean

            raise ModelError(Problem(f"unknown property '{unknown[0]}' for process "
                                     f"'{target.name}'", element=unknown[0],
                                     hint=did_you_mean(unknown[0], known)))
        return check_process(target, list(properties), timeout, guard=guarded)
    return _check_net(target, properties, timeout, formulas)


def _check_net(net: Net, properties: Sequence[str], timeout: float,
               formulas: Sequence[NamedFormula | tuple[str, str]]) -> list[Result]:
    from petriflow.verify import ptcheck
    from petriflow.verify.ptnet import PTNet

    unknown = [p for p in properties if p not in (*NET_PROPERTIES, "all")]
    if unknown:
        from petriflow.errors import did_you_mean

        raise ModelError(Problem(f"unknown property '{unknown[0]}' for a net",
                                 element=unknown[0], hint=did_you_mean(unknown[0],
                                                                       NET_PROPERTIES)))
    if not net.is_pt:
        return [Result(p, Verdict.UNKNOWN, "none", 0.0,
                       reason="colored nets are checked through their process model; this "
                       "net has colored places or guards") for p in properties]
    ptnet = PTNet(net)
    wanted = NET_PROPERTIES if "all" in properties else tuple(properties)
    checks = {
        "deadlock": ptcheck.check_deadlock,
        "bounded": ptcheck.check_bounded,
        "one-safe": ptcheck.check_one_safe,
        "quasi-liveness": ptcheck.check_quasi_liveness,
        "soundness": ptcheck.check_wf_soundness,
    }
    results = [guarded(p, lambda p=p: checks[p](net, ptnet, timeout)) for p in wanted]
    for f in formulas:
        if isinstance(f, tuple):
            results.append(Result(f[0], Verdict.UNKNOWN, "none", 0.0, reason=f[1],
                                  extra={"mcc": True}))
        else:
            results.append(guarded(f.id, lambda f=f: ptcheck.check_formula(net, ptnet, f,
                                                                            timeout)))
    return results


def guarded(name: str, run: Callable[[], Result]) -> Result:
    """Run one check; an unexpected failure inside a method becomes ``unknown`` with the
    reason (a method that breaks must never yield a verdict, nor a traceback to a user)."""
    try:
        return run()
    except PetriflowError:
        raise
    except Exception as exc:
        return Result(name, Verdict.UNKNOWN, "none", 0.0,
                      reason=f"internal error, please report it: {type(exc).__name__}: {exc}")


def exit_code(results: Sequence[Result]) -> int:
    """0 all proved; 1 some violated; 3 none violated but some unknown."""
    if any(r.verdict is Verdict.VIOLATED for r in results):
        return 1
    if any(r.verdict is Verdict.UNKNOWN for r in results):
        return 3
    return 0


__all__ = ["DEFAULT_TIMEOUT", "NET_PROPERTIES", "PROCESS_PROPERTIES", "check", "exit_code"]
