"""Equal error rate (EER) as an `evaluate` metric: binary, one-vs-rest multi-class and pooled (micro)."""

import datasets
import evaluate
import numpy as np

# the maths, vendored beside this file (a copy of ../ser/ser_functional.py, kept identical by
# scripts/vendor_metric_maths.py and a test): the module folder is self-contained, as a copy or a metric Space is
from .ser_functional import binary_eer, eer_micro, eer_per_class

_CITATION = """\
@inproceedings{hf_ser,
  title = {hf-ser: speech emotion recognition on the Hugging Face stack},
  year = {2026},
  note = {EER as the crossing of FAR and FRR, linearly interpolated between thresholds}
}
"""

_DESCRIPTION = """\
Equal error rate: the error rate at the threshold where the false-acceptance rate (negatives scored at or above
the threshold) equals the false-rejection rate (positives scored below it), found by linear interpolation between
the two thresholds that bracket the crossing. Tied scores form one step of the threshold sweep. For N x C class
scores, `eer` is the mean of the one-vs-rest EERs of the classes that have positives and negatives, and
`eer_micro` pools all N x C (sample, class) scores into one binary problem. Lower is better; 0 is perfect, 0.5 is
chance.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[float]` or `list[list[float]]`): N scores (binary: higher means positive) or N x C
        class scores (probabilities, or logits when only the one-vs-rest `eer` is needed). `prediction_scores`, the
        name of earlier versions (and of evaluate's roc_auc), is the same input.
    references (`list[int]`): N labels: 0/1 for binary scores, class ids in [0, C) for class scores.
    Other keyword arguments (meant for other modules of an `evaluate.combine`) are ignored.
Returns:
    eer (`float`): binary EER, or the mean one-vs-rest EER over classes. Range [0, 1], lower is better.
    eer_micro (`float`): only for class scores: EER of the pooled (sample, class) scores.
    eer_per_class (`list[float]`): only for class scores: each class's one-vs-rest EER, NaN where undefined.
    threshold (`float`): only for binary scores: the interpolated threshold at the EER.
Examples:
    >>> import hf_ser.metrics
    >>> eer = hf_ser.metrics.load("eer")
    >>> eer.compute(predictions=[0.1, 0.4, 0.35, 0.8], references=[0, 0, 1, 1])["eer"]
    0.5
    >>> eer.compute(predictions=[0.1, 0.2, 0.7, 0.9], references=[0, 0, 1, 1])["eer"]
    0.0
    >>> result = eer.compute(
    ...     predictions=[[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]],
    ...     references=[0, 1, 2, 1],
    ... )
    >>> round(result["eer"], 4), round(result["eer_micro"], 4)
    (0.0, 0.0)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EER(evaluate.Metric):
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
                datasets.Features({"predictions": datasets.Value("float64"), "references": datasets.Value("int64")}),
            ],
            reference_urls=["https://en.wikipedia.org/wiki/Biometrics#Performance"],
        )

    # `predictions` is the input's name, so that evaluate.combine (which passes every input to every module) can
    # pair this module with `ser` and others; the earlier name still works
    def compute(self, *, predictions=None, references=None, prediction_scores=None, **kwargs):
        """The EER of the scores (``predictions``, or ``prediction_scores``) against ``references``."""
        return super().compute(predictions=_either(predictions, prediction_scores), references=references, **kwargs)

    def add_batch(self, *, predictions=None, references=None, prediction_scores=None, **kwargs):
        """Add a batch of scores (``predictions``, or ``prediction_scores``) and ``references``."""
        return super().add_batch(predictions=_either(predictions, prediction_scores), references=references, **kwargs)

    def _compute(self, predictions, references, **_other_modules_kwargs):
        scores = np.asarray(predictions, dtype=np.float64)
        if scores.ndim == 1:
            refs = np.asarray(references)
            if not np.isin(refs, (0, 1)).all():
                raise ValueError("binary scores need 0/1 references; pass N x C scores for class ids")
            eer, threshold = binary_eer(scores, refs, return_threshold=True)
            return {"eer": eer, "threshold": threshold}
        per_class = eer_per_class(scores, references)
        if np.isnan(per_class).all():
            raise ValueError("no class has both positive and negative samples: EER is undefined")
        return {
            "eer": float(np.nanmean(per_class)),
            "eer_micro": eer_micro(scores, references),
            "eer_per_class": per_class.tolist(),
        }


def _either(predictions, prediction_scores):
    if predictions is not None and prediction_scores is not None:
        raise ValueError("pass the scores once: predictions= (or its earlier name prediction_scores=), not both")
    return predictions if predictions is not None else prediction_scores
