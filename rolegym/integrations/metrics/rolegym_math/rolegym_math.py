r"""``rolegym_math``: rolegym's math verifier as a Hugging Face ``evaluate`` metric.

    import evaluate
    from rolegym.integrations.evaluate import metric_path

    metric = evaluate.load(metric_path("math"))  # a local directory: nothing is downloaded
    metric.compute(predictions=["... \\boxed{1/2}"], references=["0.5"])
    # {"accuracy": 1.0, "parse_rate": 1.0}

Predictions are model outputs, graded as the rolegym environments grade them: the text after
any ``</think>``, then the last ``\boxed{}``; by default nothing else counts as an answer.
``fallbacks`` (a name or a list of names of :data:`rolegym.verifiers.extract.FALLBACKS`)
accepts unboxed forms too: ``"hashes"`` (GSM8K's ``#### 42``), ``"answer_line"``
(``Answer: 42``), ``"final_answer_sentence"``. References are the reference answers as text.

Result: ``accuracy``, the share graded correct by rolegym's
:class:`~rolegym.verifiers.MathVerifier` (exact rational tier, then math-verify in worker
processes under a deadline), and ``parse_rate``, the share whose answer was found and read
(status not ``no_answer``, ``unparsable`` or ``rejected``). ``per_item=True`` adds each
prediction's verdict status (``"correct"``, ``"incorrect"``, ``"no_answer"``, ...).
"""

from __future__ import annotations

from typing import Any

import datasets
import evaluate

from rolegym.tasks.base import Task
from rolegym.verifiers import MathVerifier

#: Verdict statuses of predictions whose answer was not found or could not be read.
_UNPARSED = frozenset({"no_answer", "unparsable", "rejected"})


class RolegymMath(evaluate.Metric):
    """Math answers graded by rolegym's verifier."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Math answers graded by rolegym's MathVerifier (boxed answers).",
            citation="",
            inputs_description=(
                "predictions: model outputs; references: reference answers; fallbacks: "
                "unboxed answer forms to accept; per_item: add each verdict's status."
            ),
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
            homepage="https://github.com/rolegym/rolegym",
            license="Apache-2.0",
        )

    def _compute(
        self,
        predictions: list[str],
        references: list[str],
        fallbacks: str | list[str] | tuple[str, ...] = (),
        per_item: bool = False,
    ) -> dict[str, Any]:
        names = (fallbacks,) if isinstance(fallbacks, str) else tuple(fallbacks)
        verifier = MathVerifier(fallbacks=names)  # an unknown name is a ValueError
        items = [
            (Task(id=f"item-{i}", prompt="", family="math", answer=str(ref)), str(pred))
            for i, (pred, ref) in enumerate(zip(predictions, references, strict=True))
        ]
        verdicts = verifier.verify_many(items) if items else []
        n = max(1, len(verdicts))
        out: dict[str, Any] = {
            "accuracy": sum(v.correct for v in verdicts) / n,
            "parse_rate": sum(v.status not in _UNPARSED for v in verdicts) / n,
        }
        if per_item:
            out["status"] = [v.status for v in verdicts]
        return out
