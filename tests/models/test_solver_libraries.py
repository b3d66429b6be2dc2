"""optbinning's solvers load together, in either order, without an import error.

ortools (optbinning's constraint solver) carries its own build of the HiGHS library under
the same shared-object name as highspy's (cvxpy's LP solver, through ropwr); whichever
loads first serves both. The lock pins highspy to the HiGHS release ortools is built on,
so both find the symbols they were linked against.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

ORDERS = {
    "optbinning first": "import optbinning, cvxpy",
    "cvxpy first": "import cvxpy, optbinning",
}


@pytest.mark.parametrize("imports", ORDERS.values(), ids=ORDERS.keys())
def test_highs_loads_beside_ortools_in_either_order_and_says_nothing(imports):
    probe = (
        f"{imports}\n"
        "from ortools.sat.python import cp_model\n"
        "assert 'HIGHS' in cvxpy.installed_solvers(), cvxpy.installed_solvers()\n"
        "x = cvxpy.Variable(2)\n"
        "problem = cvxpy.Problem(cvxpy.Minimize(cvxpy.sum(x)), [x >= 1])\n"
        "problem.solve(solver='HIGHS')\n"
        "print(round(problem.value, 6))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2.0"
    assert done.stderr == ""
