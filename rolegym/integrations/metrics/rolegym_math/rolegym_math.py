r"""``rolegym_math``: rolegym's math verifier as a Hugging Face ``evaluate`` metric.

    import evaluate
    from rolegym.integrations.evaluate import metric_path

    metric = evaluate.load(metric_path("math"))  # a local directory: nothing is downloaded
    metric.compute(predictions=["... \\boxed{1/2}"], references=["0.5"])
    # {"accuracy": 1.0, "answered": 1.0}

Predictions are model outputs; by default only a ``\boxed{}`` answer counts, as the rolegym
environments ask (``fallbacks=["hashes"]`` accepts GSM8K's ``#### 42``, and the other names of
:data:`rolegym.verifiers.extract.FALLBACKS` other unboxed forms). References are the
reference answers as text. ``accuracy`` is the share graded correct by rolegym's
:class:`~rolegym.verifiers.MathVerifier` (exact rational tier, then math-verify in worker
processes with a deadline), ``answered`` the share with an answer to grade; ``per_item=True``
adds each prediction's verdict status.
"""

from __future__ import annotations

from typing import Any

import datasets
import evaluate

from rolegym.tasks.base import Task
from rolegym.verifiers import MathVerifier


class RolegymMath(evaluate.Metric):
    """Math answers graded by rolegym's verifier."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Math answers graded by rolegym's MathVerifier (boxed answers).",
            citation="",
            inputs_description="predictions: model outputs; references: reference answers.",
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
        fallbacks: tuple[str, ...] = (),
        per_item: bool = False,
    ) -> dict[str, Any]:
        verifier = MathVerifier(fallbacks=tuple(fallbacks))
        items = [
            (Task(id=f"item-{i}", prompt="", family="math", answer=str(ref)), str(pred))
            for i, (pred, ref) in enumerate(zip(predictions, references, strict=True))
        ]
        verdicts = verifier.verify_many(items) if items else []
        n = max(1, len(verdicts))
        out: dict[str, Any] = {
            "accuracy": sum(v.correct for v in verdicts) / n,
            "answered": sum(v.status != "no_answer" for v in verdicts) / n,
        }
        if per_item:
            out["status"] = [v.status for v in verdicts]
        return out
