"""Score a result directory against a truth file (from `tinmatch synth` or any labelled set)."""

from tinmatch.evaluate.score import Evaluation, evaluate

__all__ = ["Evaluation", "evaluate"]
