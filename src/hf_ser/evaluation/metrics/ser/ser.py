"""The speech emotion recognition bundle as an `evaluate` metric: accuracy, F1, UAR, EER, confusion matrix."""

import datasets
import evaluate
import numpy as np

from hf_ser.evaluation.metrics.functional import ser_metrics

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
    predictions (`list[list[float]]`): N x C logits or probabilities (softmax is applied to logits for the EERs).
    references (`list[int]`): N class ids in [0, C).
    label_names (`list[str]`, optional): C names used as keys of the per-class results.
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
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SER(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("float64")), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, label_names=None):
        return ser_metrics(np.asarray(predictions, dtype=np.float64), np.asarray(references), label_names=label_names)
