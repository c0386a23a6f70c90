"""A model judge measured against the experts, per criterion: Krippendorff's alpha with the judge
added as one more rater and without it, the judge's bias (mean of judge minus the experts' mean
per item) with a t interval, its Pearson and Spearman correlation with the experts' mean, and the
methods ranked by the judge beside the ranking by the experts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _sps

from .agreement import krippendorff_alpha


@dataclass(frozen=True)
class JudgeAgreement:
    n_items: int  # items with a judge score and at least one expert score
    alpha_without: float
    alpha_with: float
    bias: float
    bias_low: float
    bias_high: float
    pearson: float
    spearman: float
    ranking_experts: list[str] = field(default_factory=list)
    ranking_judge: list[str] = field(default_factory=list)
    method_means: dict[str, dict[str, float]] = field(default_factory=dict)
    reason: str | None = None


def judge_vs_experts(
    experts: ArrayLike,
    judge: ArrayLike,
    *,
    methods: Sequence[str] | None = None,
    categories: ArrayLike | None = None,
    confidence: float = 0.95,
) -> JudgeAgreement:
    """``experts``: (raters, items) scores, nan where missing; ``judge``: one score per item,
    nan where the judge gave none; ``methods``: each item's method (for the rankings)."""
    x = np.asarray(experts, dtype=float)
    j = np.asarray(judge, dtype=float)
    if x.ndim != 2 or j.shape != (x.shape[1],):
        raise ValueError("experts must be (raters, items) and judge one score per item")
    expert_mean = np.full(j.shape, np.nan)
    rated = np.isfinite(x).any(axis=0)
    expert_mean[rated] = np.nanmean(x[:, rated], axis=0)
    both = rated & np.isfinite(j)
    n = int(both.sum())
    nan = float("nan")
    if n < 3:
        reason = "fewer than three items with judge and expert scores"
        return JudgeAgreement(n, nan, nan, nan, nan, nan, nan, nan, reason=reason)
    alpha_without = krippendorff_alpha(x[:, both], "ordinal", categories).value
    alpha_with = krippendorff_alpha(np.vstack([x[:, both], j[both]]), "ordinal", categories).value
    diff = j[both] - expert_mean[both]
    bias = float(diff.mean())
    se = float(diff.std(ddof=1) / np.sqrt(n))
    half = float(_sps.t.ppf(0.5 + confidence / 2, n - 1) * se) if se > 0 else 0.0
    constant = np.ptp(j[both]) == 0 or np.ptp(expert_mean[both]) == 0
    pearson = nan if constant else float(_sps.pearsonr(j[both], expert_mean[both])[0])
    spearman = nan if constant else float(_sps.spearmanr(j[both], expert_mean[both])[0])
    means: dict[str, dict[str, float]] = {}
    rank_e: list[str] = []
    rank_j: list[str] = []
    if methods is not None:
        m = np.asarray(methods, dtype=object)
        for key in sorted(set(m[both].tolist())):
            sel = both & (m == key)
            means[key] = {"experts": float(expert_mean[sel].mean()),
                          "judge": float(j[sel].mean()), "n": int(sel.sum())}  # fmt: skip
        rank_e = sorted(means, key=lambda k: (-means[k]["experts"], k))
        rank_j = sorted(means, key=lambda k: (-means[k]["judge"], k))
    return JudgeAgreement(
        n_items=n, alpha_without=float(alpha_without), alpha_with=float(alpha_with), bias=bias,
        bias_low=bias - half, bias_high=bias + half, pearson=pearson, spearman=spearman,
        ranking_experts=rank_e, ranking_judge=rank_j, method_means=means,
    )  # fmt: skip
