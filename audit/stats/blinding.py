"""How well blinding held: Bang's blinding index from the raters' own guesses.

Bang H, Ni L, Davis CE. Assessment of blinding in clinical trials. Controlled Clinical Trials
2004;25(2):143-156. For one arm (here: the items of one construction method), with ``correct``,
``incorrect`` and ``dont_know`` guesses out of ``n``:

    BI = (correct - incorrect) / n,   Var(BI) = [p1(1-p1) + p2(1-p2) + 2 p1 p2] / n

with p1 = correct/n and p2 = incorrect/n. BI = 1: every guess right (blinding lost); 0: as many
right as wrong guesses (or all "don't know"): consistent with blinding; -1: every guess wrong
(opposite guessing). With k > 2 methods a rater who guesses at random among the k labels is right
1/k of the time, so random guessing gives BI = (2/k - 1) x (share of guesses made), below 0;
``chance_index`` gives that value so a reading can compare with it.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class BlindingIndex:
    index: float
    se: float
    lower: float
    upper: float
    correct: int
    incorrect: int
    dont_know: int

    @property
    def n(self) -> int:
        return self.correct + self.incorrect + self.dont_know


def bang_index(
    correct: int, incorrect: int, dont_know: int = 0, *, confidence: float = 0.95
) -> BlindingIndex:
    """Bang's index for one arm with its Wald interval (as in the paper and the R package BI)."""
    counts = np.array([correct, incorrect, dont_know])
    if np.any(counts < 0):
        raise ValueError("counts must be zero or more")
    n = int(counts.sum())
    if n == 0:
        nan = float("nan")
        return BlindingIndex(nan, nan, nan, nan, 0, 0, 0)
    p1, p2 = correct / n, incorrect / n
    index = p1 - p2
    se = float(np.sqrt((p1 * (1 - p1) + p2 * (1 - p2) + 2 * p1 * p2) / n))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return BlindingIndex(
        float(index), se, float(index - z * se), float(index + z * se),
        int(correct), int(incorrect), int(dont_know),
    )  # fmt: skip


def chance_index(n_methods: int, guess_share: float = 1.0) -> float:
    """Bang's index expected from raters who guess at random among ``n_methods`` labels on a
    share ``guess_share`` of the items (the rest "don't know")."""
    if n_methods < 2:
        raise ValueError("blinding needs at least two methods")
    return (2 / n_methods - 1) * guess_share


DONT_KNOW = None


def bang_by_method(
    truth: Sequence[object], guesses: Sequence[object], *, confidence: float = 0.95
) -> dict[object, BlindingIndex]:
    """Bang's index per true method from paired (true method, guess) lists; a guess of None is
    "don't know". Every method present in ``truth`` gets an entry."""
    if len(truth) != len(guesses):
        raise ValueError("truth and guesses differ in length")
    out = {}
    for method in dict.fromkeys(truth):
        mine = [g for t, g in zip(truth, guesses, strict=True) if t == method]
        dont_know = sum(g is DONT_KNOW for g in mine)
        correct = sum(g == method for g in mine)
        out[method] = bang_index(
            correct, len(mine) - dont_know - correct, dont_know, confidence=confidence
        )
    return out
