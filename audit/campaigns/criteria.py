"""The default criteria: the four of the PubMedVision expert check, scale 1-5, anchored."""

from audit.campaigns.defaults_zh import DEFAULT_CRITERIA_ZH

DEFAULT_CRITERIA = [
    {
        "key": "accuracy",
        "name": "Accuracy",
        "question": "Does the text accurately reflect the medical features and information "
        "in the image?",
        "anchors": {
            "5": "Complete accuracy: every statement matches the image.",
            "4": "Mostly accurate: minor imprecision that does not change the meaning.",
            "3": "Partly accurate: some statements are wrong or unsupported.",
            "2": "Mostly inaccurate: the main statements do not match the image.",
            "1": "Complete inaccuracy.",
        },
    },
    {
        "key": "relevance",
        "name": "Relevance",
        "question": "Is the content tightly tied to the image's key medical features, avoiding "
        "irrelevant details?",
        "anchors": {
            "5": "Entirely about the image's key medical features.",
            "4": "Mostly relevant, a few unneeded details.",
            "3": "Relevant and irrelevant content in similar measure.",
            "2": "Mostly irrelevant to the image's key features.",
            "1": "Unrelated to the image.",
        },
    },
    {
        "key": "completeness",
        "name": "Completeness",
        "question": "Does it include all the key medical features and information?",
        "anchors": {
            "5": "All key features and information included.",
            "4": "A minor feature missing.",
            "3": "Several key features missing.",
            "2": "Most key features missing.",
            "1": "Significant omissions.",
        },
    },
    {
        "key": "usefulness",
        "name": "Usefulness",
        "question": "How much does it help medical decision-making, diagnosis and treatment "
        "planning?",
        "anchors": {
            "5": "In-depth: directly useful for diagnosis or treatment planning.",
            "4": "Useful, with some depth.",
            "3": "Somewhat useful.",
            "2": "Of little use.",
            "1": "Superficial.",
        },
    },
]


def with_chinese(criteria) -> list[dict]:
    """Copies of ``criteria`` carrying the Chinese texts of those in DEFAULT_CRITERIA_ZH."""
    out = []
    for c in criteria:
        c = dict(c)
        if c.get("key") in DEFAULT_CRITERIA_ZH:
            c["translations"] = {"zh-hans": DEFAULT_CRITERIA_ZH[c["key"]]}
        out.append(c)
    return out
