"""Plain-language readings of agreement coefficients, and the support they need.

* :data:`MIN_PAIRABLE_UNITS`, :data:`MIN_PAIRABLE_VALUES` and :func:`support` -- whether a
  coefficient rests on enough data to be read at all, with the reason when it does not.
* :func:`alpha_reading` -- Krippendorff's guideline (>= .800 reliable, >= .667 tentative
  conclusions only, below unreliable) applied to the *interval*, not only the point, and to the
  value as displayed (rounded to 3 decimals), so that "0.800" never reads "tentative".
* :func:`required_pairable_values` -- Bloch & Kraemer's (1989) sample size, used in
  Krippendorff's (2019) table, to plan how many values a campaign needs.

Why the floors: Krippendorff's smallest tabulated requirement (``alpha_min = .667``, ``p = .10``,
two equally likely categories) is 37 pairable values; with fewer values no alpha, however
high, can show even tentative reliability, and a percentile bootstrap over fewer than ten units
has too few distinct resamples to be an interval (two raters agreeing on four items give alpha 1
with interval [1, 1]; one item rated twice gives 0 with [0, 0]). Below either floor the reading
is ``"insufficient"``, whatever the value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _sps

__all__ = [
    "DISPLAY_DIGITS",
    "MIN_PAIRABLE_UNITS",
    "MIN_PAIRABLE_VALUES",
    "RELIABLE",
    "TENTATIVE",
    "Reading",
    "Support",
    "alpha_reading",
    "required_pairable_values",
    "support",
]

RELIABLE = 0.800
TENTATIVE = 0.667
#: Fewest units with two or more ratings for a coefficient to be read.
MIN_PAIRABLE_UNITS = 10
#: Fewest pairable values (ratings in units with two or more ratings) to be read.
MIN_PAIRABLE_VALUES = 30
#: Coefficients are displayed with this many decimals; readings compare the displayed value.
DISPLAY_DIGITS = 3


@dataclass(frozen=True)
class Support:
    """Whether a coefficient has enough data behind it (``ok``), and if not, why (``reason``)."""

    ok: bool
    reason: str | None
    n_pairable_units: int | None
    n_pairable_values: int | None

    def __bool__(self) -> bool:
        return self.ok


def support(
    n_pairable_units: int | None = None,
    n_pairable_values: int | None = None,
    *,
    min_units: int = MIN_PAIRABLE_UNITS,
    min_values: int = MIN_PAIRABLE_VALUES,
) -> Support:
    """Whether a coefficient rests on enough pairable data to be read.

    Pass the counts of an :class:`~audit.stats._core.AgreementResult`: ``n_pairable_units`` is
    its ``n_pairable``, ``n_pairable_values`` its ``n_ratings``. A count left as ``None`` is not
    checked. ``reason`` says which floor is not met, in words fit for a page.
    """
    problems = []
    if n_pairable_units is not None and n_pairable_units < min_units:
        problems.append(f"{n_pairable_units} item(s) rated at least twice (need {min_units})")
    if n_pairable_values is not None and n_pairable_values < min_values:
        problems.append(f"{n_pairable_values} pairable rating(s) (need {min_values})")
    reason = None
    if problems:
        reason = "too little data to judge agreement: " + " and ".join(problems)
    return Support(not problems, reason, n_pairable_units, n_pairable_values)


@dataclass(frozen=True)
class Reading:
    """A coefficient in words.

    ``level`` is one of ``"reliable"``, ``"tentative"``, ``"inconclusive"`` (the point reaches
    .667 but the interval reaches below it), ``"unreliable"``, ``"insufficient"`` (too little
    data, see :func:`support`) and ``"undefined"`` (no value). ``basis`` says what decided it:
    ``"lower bound"``, ``"probability"``, ``"point"`` or ``""``; ``shown`` is the value as
    displayed (rounded to ``DISPLAY_DIGITS``), ``nan`` when undefined.
    """

    level: str
    text: str
    basis: str
    shown: float

    def as_dict(self) -> dict[str, object]:
        return {"level": self.level, "text": self.text, "basis": self.basis}


def _shown(value: float | None, digits: int) -> float:
    if value is None or not np.isfinite(value):
        return float("nan")
    return round(float(value), digits)


def alpha_reading(
    value: float | None,
    lower: float | None = None,
    n_pairable: int | None = None,
    *,
    n_values: int | None = None,
    prob_below_667: float | None = None,
    prob_below_800: float | None = None,
    reason: str | None = None,
    confidence: float = 0.95,
    digits: int = DISPLAY_DIGITS,
) -> Reading:
    """Krippendorff's guideline in words, read from the interval and the displayed values.

    Rules, in order:

    1. no finite ``value``: ``"undefined"`` (with ``reason``);
    2. ``n_pairable`` (units with two or more ratings) or ``n_values`` (pairable values) below
       the floors of :func:`support`: ``"insufficient"``;
    3. with ``lower`` (the lower bound of the ``confidence`` interval), rounded to ``digits``:
       ``>= .800`` reliable, ``>= .667`` tentative; otherwise unreliable when the displayed
       value is below .667 and inconclusive when it is not;
    4. else with the bootstrap probabilities ``prob_below_800``/``prob_below_667`` (Krippendorff's
       ``q``): reliable when ``q(.800) <= (1 - confidence) / 2``, tentative when
       ``q(.667) <= (1 - confidence) / 2`` (the same one-sided level as the interval's bound);
       otherwise as in 3;
    5. else the displayed point value against .800 and .667 (``basis="point"``).

    Values are compared as displayed (``round(value, digits)``), so 0.7996 shown as "0.800"
    reads as reliable.
    """
    shown = _shown(value, digits)
    if not np.isfinite(shown):
        text = f"Not computable: {reason or 'too few ratings'}."
        return Reading("undefined", text, "", shown)
    enough = support(n_pairable, n_values)
    if not enough.ok:
        text = f"Not enough data to judge: {enough.reason.split(': ', 1)[1]}."
        return Reading("insufficient", text, "", shown)
    low = _shown(lower, digits)
    tail = (1.0 - confidence) / 2.0
    pct = f"{confidence:.0%}"
    if np.isfinite(low):
        basis = "lower bound"
        reliable, tentative = low >= RELIABLE, low >= TENTATIVE
        why = f"the {pct} interval starts at {low:.{digits}f}"
    elif prob_below_800 is not None and prob_below_667 is not None:
        basis = "probability"
        reliable = float(prob_below_800) <= tail
        tentative = float(prob_below_667) <= tail
        why = (
            f"the chance that alpha is below .800 is {float(prob_below_800):.0%}, "
            f"below .667 {float(prob_below_667):.0%}"
        )
    else:
        basis = "point"
        reliable, tentative = shown >= RELIABLE, shown >= TENTATIVE
        why = f"alpha is {shown:.{digits}f} (no interval)"
    if reliable:
        return Reading(
            "reliable",
            f"Reliable: {why}, at or above .800; conclusions may be drawn from these scores.",
            basis,
            shown,
        )
    if tentative:
        return Reading(
            "tentative",
            f"Tentative: {why}, at or above .667 but below .800; draw tentative conclusions only.",
            basis,
            shown,
        )
    if shown >= TENTATIVE:
        return Reading(
            "inconclusive",
            f"Inconclusive: alpha is {shown:.{digits}f} but {why}, below .667; more ratings "
            "are needed before conclusions are drawn.",
            basis,
            shown,
        )
    return Reading(
        "unreliable",
        f"Unreliable: alpha is {shown:.{digits}f}, below .667; the experts do not agree well "
        "enough for conclusions to be drawn from these scores.",
        basis,
        shown,
    )


def required_pairable_values(
    alpha_min: float = RELIABLE, significance: float = 0.05, p_category: float = 0.2
) -> int:
    """Pairable values needed to show ``alpha > alpha_min`` at ``significance`` (two coders).

    Bloch & Kraemer (1989, eq. 3.7), as tabulated by Krippendorff (2019, *Content Analysis*,
    4th ed., ch. 12):
    ``N = 2 z^2 [ (1 + a)(3 - a) / (4 (1 - a) p (1 - p)) - a ]`` with ``z`` the one-sided
    normal quantile of ``significance`` and ``p`` the probability of the least frequent
    category (``1 / V`` for ``V`` equally used categories). E.g. ``alpha_min = .800``,
    ``p = .05``, four equal categories: 139.
    """
    if not 0 < alpha_min < 1:
        raise ValueError(f"alpha_min must be in (0, 1); got {alpha_min!r}")
    if not 0 < significance < 1:
        raise ValueError(f"significance must be in (0, 1); got {significance!r}")
    if not 0 < p_category < 1:
        raise ValueError(f"p_category must be in (0, 1); got {p_category!r}")
    z = float(_sps.norm.isf(significance))
    a = alpha_min
    core = (1 + a) * (3 - a) / (4 * (1 - a) * p_category * (1 - p_category)) - a
    return int(np.ceil(2 * z * z * core))
