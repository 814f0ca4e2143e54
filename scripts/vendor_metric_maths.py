"""Copy hf_ser.evaluation.metrics.functional into each evaluate module folder as ser_functional.py.

The `eer` and `ser` modules import their maths from that file beside them (`from .ser_functional import ...`), so
a module folder copied on its own, or pushed as a metric Space, needs nothing but numpy, datasets and evaluate.
Run this after editing functional.py; tests/test_clients.py fails while a copy differs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

METRICS = Path(__file__).resolve().parents[1] / "src" / "hf_ser" / "evaluation" / "metrics"


def main() -> None:
    for name in ("eer", "ser"):
        shutil.copyfile(METRICS / "functional.py", METRICS / name / "ser_functional.py")
        print(f"wrote {METRICS / name / 'ser_functional.py'}")


if __name__ == "__main__":
    main()
