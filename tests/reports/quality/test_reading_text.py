"""The alpha reading shown on the pages and in reports is rebuilt in the page's language from the
stored level and basis: in English it is word for word the sentence the statistics wrote, in
Chinese it has no English left."""

import re

import pytest
from django.utils import translation

from audit.reports.quality.presentation import reading_text
from audit.stats.reading import alpha_reading

CASES = [
    # value, lower bound, prob. below .800, prob. below .667: every level and basis
    (0.91, 0.85, None, None),  # reliable, lower bound
    (0.78, 0.70, None, None),  # tentative, lower bound
    (0.72, 0.60, None, None),  # inconclusive, lower bound
    (0.41, 0.30, None, None),  # unreliable, lower bound
    (0.85, None, 0.01, 0.0),  # reliable, probability
    (0.70, None, 0.40, 0.20),  # inconclusive, probability
    (0.90, None, None, None),  # reliable, point
    (0.5004, None, None, None),  # unreliable, point (rounded as shown)
]


def entry_and_reading(value, low, p800, p667):
    reading = alpha_reading(value, low, 50, n_values=150, prob_below_800=p800,
                            prob_below_667=p667).as_dict()  # fmt: skip
    entry = {"value": value, "ci_low": low, "prob_below_800": p800, "prob_below_667": p667}
    return entry, reading


@pytest.mark.parametrize("case", CASES)
def test_in_english_it_is_the_statistics_own_sentence(case):
    entry, reading = entry_and_reading(*case)
    with translation.override("en"):
        assert reading_text(entry, reading) == reading["text"]


@pytest.mark.parametrize("case", CASES)
def test_in_chinese_no_english_words_are_left(case):
    entry, reading = entry_and_reading(*case)
    with translation.override("zh-hans"):
        text = reading_text(entry, reading)
    assert text != reading["text"]
    # Only the coefficient's name and numbers may stay Latin.
    assert not re.findall(r"[A-Za-z]{3,}", text.replace("alpha", "")), text


def test_undefined_and_insufficient_keep_their_text():
    for value, n in ((float("nan"), 50), (0.9, 2)):
        reading = alpha_reading(value, None, n, n_values=3 * n).as_dict()
        entry = {"value": value, "ci_low": None}
        assert reading_text(entry, reading) == reading["text"]
