"""The label set of a build: the data's own names, merged across corpora through the alias table, then the user's
``--label-map`` merges and ``--labels`` subset. Every clip whose label the plan leaves out is named with the reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hf_ser.labels import CANONICAL_EMOTIONS, canonical_emotion, merged_labels

__all__ = ["LabelPlan", "LabelPlanError", "plan_labels"]


class LabelPlanError(ValueError):
    """A ``--labels`` list that names a label the data does not have; the message lists the ones it has."""


@dataclass(frozen=True)
class LabelPlan:
    names: list[str]  # the dataset's ClassLabel names, in id order
    to_label: dict[str, str | None]  # the data's name -> its class (None: left out by --labels)
    canonicalised: dict[str, str]  # names the alias table renamed so that two corpora's labels meet
    merges: dict[str, str]  # --label-map's renames (old -> new)
    absent: list[str]  # names of the data's own label order with no clip (not made classes)

    def reason(self, name: str) -> str:
        return f"label {name!r} is not in --labels ({', '.join(self.names)})"


def _canonical_order(names: Sequence[str]) -> list[str]:
    known = [n for n in CANONICAL_EMOTIONS if n in names]
    return known + sorted(n for n in names if n not in CANONICAL_EMOTIONS)


def plan_labels(per_corpus: Mapping[str, Sequence[str]], orders: Sequence[Sequence[str] | None] = (), *,
                label_map: Mapping[str, str] | None = None, keep: Sequence[str] | None = None) -> LabelPlan:  # fmt: skip
    """``per_corpus``: each input's label names as its clips carry them; ``orders``: the inputs' own label orders
    (a ClassLabel's names), where they have one.

    One input keeps its names and order (a ClassLabel's, else sorted). Inputs whose label sets differ meet through
    the alias table (``anger`` and ``angry`` are one class, ``angry``), in the canonical order; names the table does
    not know stay as they are. Then ``label_map`` merges, then ``keep`` (``--labels``) chooses classes, in its order.
    """
    sets = [list(dict.fromkeys(v)) for v in per_corpus.values()]
    present = list(dict.fromkeys(n for s in sets for n in s))
    canonicalised: dict[str, str] = {}
    if len({frozenset(s) for s in sets}) <= 1:
        order = next((list(o) for o in orders if o), None)
        names = [n for n in order if n in present] if order else sorted(present)
        names += sorted(n for n in present if n not in names)
        absent = [n for n in order if n not in present] if order else []
        to = {n: n for n in present}
    else:
        to = {n: canonical_emotion(n) or n for n in present}
        canonicalised = {a: b for a, b in to.items() if a != b}
        names, absent = _canonical_order(set(to.values())), []
    merged, mapping = merged_labels(names, label_map)
    merges = {a: b for a, b in mapping.items() if a != b}
    to = {n: mapping[c] for n, c in to.items()}
    if keep:
        keep = [str(k).strip() for k in keep if str(k).strip()]
        missing = [k for k in keep if k not in merged]
        if missing:
            raise LabelPlanError(f"--labels {','.join(keep)}: {', '.join(missing)} not among the data's labels "
                                 f"({', '.join(merged)})")  # fmt: skip
        if len(set(keep)) < 2:
            raise LabelPlanError(f"--labels {','.join(keep)}: a classifier needs two or more labels")
        to = {n: c if c in keep else None for n, c in to.items()}
        merged = list(dict.fromkeys(keep))
    return LabelPlan(merged, to, canonicalised, merges, absent)
