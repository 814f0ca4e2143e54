"""Copy the SER maths from the `ser` evaluate module's folder into the `eer` module's folder.

Both modules import their maths from ser_functional.py beside them (`from .ser_functional import ...`), so a
module folder copied on its own, or pushed as a metric Space, needs nothing but numpy, datasets and evaluate.
`ser/ser_functional.py` is the one that is edited (hf_ser.evaluation.metrics.functional re-exports it); run this
after editing it: tests/test_clients.py fails while the copy differs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

METRICS = Path(__file__).resolve().parents[1] / "src" / "hf_ser" / "evaluation" / "metrics"


def main() -> None:
    shutil.copyfile(METRICS / "ser" / "ser_functional.py", METRICS / "eer" / "ser_functional.py")
    print(f"wrote {METRICS / 'eer' / 'ser_functional.py'}")


if __name__ == "__main__":
    main()
