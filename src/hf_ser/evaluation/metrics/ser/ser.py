"""The speech emotion recognition bundle as an `evaluate` metric: accuracy, F1, UAR, EER, confusion matrix."""

import datasets
import evaluate
import numpy as np

# the maths, beside this file: the module folder is self-contained, as a copy or a metric Space is
from .ser_functional import ser_metrics

_CITATION = """\
@inproceedings{hf_ser,
  title = {hf-ser: speech emotion recognition on the Hugging Face stack},
  year = {2026}
}
"""

_DESCRIPTION = """\
Every number the SER literature reports, from one set of logits or probabilities: accuracy, macro and weighted F1,
UAR (unweighted average recall), mean one-vs-rest EER (`eer`) and pooled EER (`eer_micro`) on probabilities,
per-class recall and EER, and the confusion matrix as counts and row-normalised percent.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[list[float]]` or `list[int]`): N x C logits or probabilities (softmax is applied to logits for
        the EERs), or N predicted class ids, as evaluate's accuracy and f1 take them (then every figure but the
        EERs, which need scores).
    references (`list[int]`): N class ids in [0, C).
    label_names (`list[str]`, optional): C names used as keys of the per-class results.
    Other keyword arguments (meant for other modules of an `evaluate.combine`, such as f1's `average`) are ignored.
Returns:
    accuracy, f1_macro, f1_weighted, uar (`float`, [0, 1], higher is better); eer, eer_micro (`float`, [0, 1], lower
    is better); recall_per_class, eer_per_class, support (`dict[str, float]`); confusion_matrix (counts) and
    confusion_matrix_percent (rows sum to 100) as `list[list]`; labels (`list[str]`).
Examples:
    >>> import hf_ser.metrics
    >>> ser = hf_ser.metrics.load("ser")
    >>> r = ser.compute(
    ...     predictions=[[2.0, 0.1, 0.1], [0.1, 2.0, 0.1], [0.1, 0.1, 2.0], [2.0, 0.1, 0.1]],
    ...     references=[0, 1, 2, 1],
    ...     label_names=["angry", "happy", "sad"],
    ... )
    >>> r["accuracy"], round(r["uar"], 4), r["confusion_matrix"]
    (0.75, 0.8333, [[1, 0, 0], [1, 1, 0], [0, 0, 1]])
    >>> r["recall_per_class"]
    {'angry': 1.0, 'happy': 0.5, 'sad': 1.0}
    >>> r = ser.compute(predictions=[0, 1, 2, 0], references=[0, 1, 2, 1])  # class ids: no EER
    >>> r["accuracy"], "eer" in r
    (0.75, False)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SER(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features(
                    {
                        "predictions": datasets.Sequence(datasets.Value("float64")),
                        "references": datasets.Value("int64"),
                    }
                ),
                datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
            ],
        )

    def _compute(self, predictions, references, label_names=None, **_other_modules_kwargs):
        scores = np.asarray(predictions, dtype=np.float64)
        references = np.asarray(references)
        if scores.ndim == 2:
            return ser_metrics(scores, references, label_names=label_names)
        ids = scores.astype(np.int64)
        classes = max(len(label_names or ()), int(ids.max(initial=-1)) + 1, int(references.max(initial=-1)) + 1)
        result = ser_metrics(np.eye(classes)[ids] * 10.0, references, label_names=label_names)
        return {k: v for k, v in result.items() if not k.startswith("eer")}
