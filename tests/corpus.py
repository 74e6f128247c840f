"""Where the third-party corpus lives, and how a test asks for it.

The corpus (``../shared/corpus`` next to the repository, or ``$PETRIFLOW_CORPUS``) is
data nobody on this project wrote. On a user's machine without it the tests that need
it skip with a clear reason; in CI (``PETRIFLOW_REQUIRE_CORPUS=1``) they fail instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    configured = os.environ.get("PETRIFLOW_CORPUS")
    return Path(configured) if configured else REPO.parent / "shared" / "corpus"


def require_corpus(*parts: str) -> Path:
    """The corpus folder ``parts``; skips (or fails in CI) when it is absent."""
    path = corpus_dir().joinpath(*parts)
    if not path.exists():
        message = (f"third-party corpus not found at {path}; set PETRIFLOW_CORPUS to the "
                   "folder that holds mcc/, ibm/ and bpmn-miwg/")
        if os.environ.get("PETRIFLOW_REQUIRE_CORPUS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path
