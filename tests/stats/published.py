"""Published reliability datasets used by the statistics tests, with their sources.

Ratings are stored as the statistics take them: ``(raters, units)`` with ``nan`` for missing.
"""

import numpy as np

nan = np.nan

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability, section C ("nominal data,
# any number of observers, missing data"): observers A-D (rows) x 12 units (columns).
# Published alphas: nominal .743, ordinal .815, interval .849, ratio .797.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
)
KRIPPENDORFF_2011_ALPHA = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}

# Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., p. 120; shipped as
# ``cac.raw4raters`` in Gwet's R package irrCAC. Raters 1-4 (rows) x 12 units. Values published
# in the irrCAC README (github.com/kgwet/irrCAC, "Computing agreement coefficients from raw
# ratings"): percent agreement 0.8181818; AC1 0.77544 (pa 0.8181818, pe 0.1903212);
# Fleiss' kappa 0.76117 (pe 0.2387153); Krippendorff's alpha 0.74342.
GWET_RAW4RATERS = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, nan],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
)

# Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological
# Bulletin 76, 378-382: 6 psychiatrists classify 15 patients into 5 categories (subjects x
# category counts). Shipped as ``distrib.6raters`` in irrCAC, whose README publishes
# Fleiss' kappa 0.4139265 (pe 0.2340741), Gwet's AC1 0.4448007 (pe 0.1914815) and
# Krippendorff's alpha 0.4204384.
FLEISS_1971_COUNTS = np.array(
    [
        [0, 0, 0, 6, 0],
        [0, 3, 0, 0, 3],
        [0, 1, 4, 0, 1],
        [0, 0, 0, 0, 6],
        [0, 3, 0, 3, 0],
        [2, 0, 4, 0, 0],
        [0, 0, 4, 0, 2],
        [2, 0, 3, 1, 0],
        [2, 0, 0, 4, 0],
        [0, 0, 0, 0, 6],
        [1, 0, 0, 5, 0],
        [1, 1, 0, 4, 0],
        [0, 3, 3, 0, 0],
        [1, 0, 0, 5, 0],
        [0, 2, 0, 3, 1],
    ]
)

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories;
# kappa = 0.210 (P-bar = 0.378, P-bar_e = 0.213).
FLEISS_WIKIPEDIA_COUNTS = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)

# Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations. Psychological Bulletin 86,
# 420-428, Table 2: 6 targets (rows here) rated by 4 judges (columns). Table 4 gives
# ICC(1,1) = .17, ICC(2,1) = .29, ICC(3,1) = .71, ICC(1,4) = .44, ICC(2,4) = .62, ICC(3,4) = .91.
SHROUT_FLEISS_TARGETS_BY_JUDGES = np.array(
    [
        [9, 2, 5, 8],
        [6, 1, 3, 2],
        [8, 4, 6, 8],
        [7, 1, 2, 6],
        [10, 5, 6, 9],
        [6, 2, 4, 7],
    ],
    dtype=float,
)
SHROUT_FLEISS_ICC = {
    "ICC1": 0.17,
    "ICC2": 0.29,
    "ICC3": 0.71,
    "ICC1k": 0.44,
    "ICC2k": 0.62,
    "ICC3k": 0.91,
}

# Hayes, A. F. & Krippendorff, K. (2007). Answering the call for a standard reliability measure
# for coding data. Communication Methods and Measures 1, 77-89, Table 1: 40 units x 5 observers
# (ordinal, 0-3), published ordinal alpha .7598 (KALPHA output, 239 pairable pairs).
_HAYES_KRIPPENDORFF_2007 = """
1 1 2 . 2 | 1 1 0 1 . | 2 3 3 3 . | . 0 0 . 0 | 0 0 0 . 0 | 0 0 0 . 0 | 1 0 2 . 1 | 1 . 2 0 .
2 2 2 . 2 | 2 1 1 1 . | . 1 0 0 . | 0 0 0 0 . | 1 2 2 2 . | 3 3 2 2 3 | 1 1 1 . 1 | 1 1 1 . 1
2 1 2 . 2 | 1 2 3 3 . | 1 1 0 1 . | 0 0 0 . 0 | 0 0 1 1 . | 0 0 . 0 0 | 2 3 3 3 . | 0 0 0 0 .
1 2 . 2 2 | 0 1 1 1 . | 0 0 0 1 0 | 1 2 1 2 . | 1 1 2 2 . | 1 1 2 . 2 | 1 1 0 . 0 | 2 1 2 1 .
2 2 . 2 2 | 3 2 2 2 . | 2 2 2 . 2 | 2 2 3 . 2 | 2 2 2 . 2 | 2 2 . 1 2 | 2 2 2 2 . | 1 1 1 . 1
"""
HAYES_KRIPPENDORFF_2007 = np.array(
    [
        [nan if v == "." else float(v) for v in unit.split()]
        for line in _HAYES_KRIPPENDORFF_2007.strip().splitlines()
        for unit in line.split("|")
    ]
).T
HAYES_KRIPPENDORFF_2007_ORDINAL = 0.7598


def counts_to_ratings(counts: np.ndarray) -> np.ndarray:
    """Expand a subjects x categories count table into a raters x subjects matrix (values
    1..q). Every subject must have the same number of ratings."""
    return np.array([np.repeat(np.arange(1, counts.shape[1] + 1), row) for row in counts]).T
