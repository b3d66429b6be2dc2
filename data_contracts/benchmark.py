"""Time validation of a synthetic training snapshot: python -m data_contracts.benchmark [rows]."""

from __future__ import annotations

import sys
import time

from data_contracts.loader import load_contract, validate_batch
from data_contracts.synthetic import valid_frame


def main(rows: int = 100_000) -> None:
    contract = load_contract("training_snapshot")
    frame = valid_frame(contract, rows, seed=1)
    started = time.perf_counter()
    validate_batch(frame.head(10), contract)  # warm-up: imports and context
    warm = time.perf_counter() - started
    for run in range(3):
        started = time.perf_counter()
        result = validate_batch(frame, contract)
        took = time.perf_counter() - started
        print(
            f"run {run + 1}: {rows} rows, {result.evaluated} expectations, "
            f"success={result.success}, {took:.2f} s"
        )
    print(f"first call (import and context set-up included): {warm:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
