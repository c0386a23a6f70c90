"""Blinding strength: how well the construction method can be told from the text an expert sees.

A classifier (TF-IDF of words and word pairs + logistic regression, scikit-learn) learns to
predict the method from the presented question and answer; its cross-validated accuracy against
chance says how guessable the methods are, and its heaviest features show the giveaways
("Figure", "Teacher", a fixed question). Folds keep a source pair's items together, so the
classifier cannot recognise an item's content from its sibling seen in training.

Pure: texts and labels in, numbers out; the campaign services feed it the sampled items.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.utils.translation import gettext_noop

# Above this many items a stratified sample is used (bounded time for big campaigns).
MAX_ITEMS = 10_000
FOLDS = 5
MIN_ITEMS_PER_METHOD = 4


@dataclass(frozen=True)
class Giveaway:
    method: str
    feature: str
    weight: float


@dataclass(frozen=True)
class BlindingStrength:
    accuracy: float | None  # cross-validated share of items whose method was guessed right
    chance: float | None  # the share a guess of the commonest method gets
    n_items: int
    n_methods: int
    folds: int = 0
    giveaways: tuple[Giveaway, ...] = ()
    per_method: dict[str, float] = field(default_factory=dict)  # recall per method
    reason: str = ""  # why nothing was computed

    @property
    def lift(self) -> float | None:
        """Accuracy over chance, scaled so 0 = chance and 1 = every method recognised."""
        if self.accuracy is None or self.chance is None or self.chance >= 1:
            return None
        return max(0.0, (self.accuracy - self.chance) / (1 - self.chance))

    @property
    def reading(self) -> str:
        lift = self.lift
        if lift is None:
            return self.reason or gettext_noop("not computed")
        if lift < 0.1:
            return gettext_noop("Methods cannot be told apart from the text (near chance).")
        if lift < 0.4:
            return gettext_noop("Methods are partly recognisable from the text.")
        return gettext_noop("Methods are easy to recognise from the text: blinding is weak.")

    def as_dict(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "chance": self.chance,
            "lift": self.lift,
            "n_items": self.n_items,
            "n_methods": self.n_methods,
            "folds": self.folds,
            "per_method": self.per_method,
            "giveaways": [g.__dict__ for g in self.giveaways],
            "reading": self.reading,
        }


def _subsample(n: int, labels: np.ndarray, limit: int, rng) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    keep = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        share = max(1, round(limit * len(members) / n))
        keep.append(rng.choice(members, size=min(share, len(members)), replace=False))
    return np.sort(np.concatenate(keep))


def blinding_strength(
    texts: Sequence[str],
    methods: Sequence[str],
    groups: Sequence[object] | None = None,
    *,
    seed: int = 0,
    max_items: int = MAX_ITEMS,
    top_features: int = 3,
) -> BlindingStrength:
    """Cross-validated accuracy of predicting ``methods`` from ``texts`` (folds grouped by
    ``groups``, e.g. source pairs), with the strongest giveaway features per method."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    if len(texts) != len(methods) or (groups is not None and len(groups) != len(texts)):
        raise ValueError("texts, methods and groups differ in length")
    labels = np.asarray([str(m) for m in methods])
    counts = Counter(labels.tolist())
    base = {"n_items": len(labels), "n_methods": len(counts)}
    if len(counts) < 2:
        return BlindingStrength(None, None, reason="needs items of at least two methods", **base)
    if min(counts.values()) < MIN_ITEMS_PER_METHOD:
        return BlindingStrength(
            None, None, reason=f"needs at least {MIN_ITEMS_PER_METHOD} items per method", **base
        )
    rng = np.random.default_rng(seed)
    keep = _subsample(len(labels), labels, max_items, rng)
    x_text = [texts[i] for i in keep]
    y = labels[keep]
    group_ids = None if groups is None else np.asarray([str(groups[i]) for i in keep])
    folds = min(FOLDS, min(Counter(y.tolist()).values()))
    if group_ids is not None:
        folds = min(folds, len(set(group_ids.tolist())))
        splitter = GroupKFold(n_splits=folds)
        splits = splitter.split(x_text, y, group_ids)
    else:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = splitter.split(x_text, y)

    def model():
        return (
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=50_000),
            LogisticRegression(max_iter=1000, C=4.0),
        )

    predicted = np.empty(len(y), dtype=object)
    for train, test in splits:
        vectorizer, classifier = model()
        features = vectorizer.fit_transform([x_text[i] for i in train])
        if features.shape[1] == 0 or len(set(y[train])) < 2:
            predicted[test] = Counter(y[train].tolist()).most_common(1)[0][0]
            continue
        classifier.fit(features, y[train])
        predicted[test] = classifier.predict(vectorizer.transform([x_text[i] for i in test]))
    accuracy = float(np.mean(predicted == y))
    chance = max(Counter(y.tolist()).values()) / len(y)
    per_method = {m: float(np.mean(predicted[y == m] == m)) for m in sorted(set(y.tolist()))}

    vectorizer, classifier = model()
    features = vectorizer.fit_transform(x_text)
    giveaways: list[Giveaway] = []
    if features.shape[1]:
        classifier.fit(features, y)
        names = vectorizer.get_feature_names_out()
        coefs = classifier.coef_
        classes = list(classifier.classes_)
        if len(classes) == 2:  # one row: positive weights point to classes[1]
            coefs = np.vstack([-coefs[0], coefs[0]])
        for row, method in zip(coefs, classes, strict=True):
            for j in np.argsort(row)[::-1][:top_features]:
                if row[j] > 0:
                    giveaways.append(Giveaway(str(method), str(names[j]), round(float(row[j]), 3)))
    return BlindingStrength(
        accuracy, chance, folds=folds, giveaways=tuple(giveaways), per_method=per_method, **base
    )
