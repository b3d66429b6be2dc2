"""The contested cases of the reviewer UI tests, from the one shared builder.

The builder is ``tests/review/review_cases.py``; this module keeps ``from review_ui_cases
import ...`` working for the browser tests, which put only this folder on the path.
"""

from __future__ import annotations

import sys
from pathlib import Path

_SHARED = str(Path(__file__).resolve().parents[1] / "review")
if _SHARED not in sys.path:
    sys.path.insert(0, _SHARED)

from review_cases import STATEMENT, case_row, contested_case  # noqa: E402

__all__ = ["STATEMENT", "case_row", "contested_case"]
