"""A campaign's texts in the expert's language (issue 15).

The owner writes the campaign's texts (the title experts see, the guidelines, each criterion's
name, question and anchors) in English, the primary language, and may give them in the
project's other languages too, kept as ``translations`` on the campaign and on each criterion:

    Campaign.translations  {"zh-hans": {"expert_title": "...", "guidelines": "..."}}
    Criterion.translations {"zh-hans": {"name": "...", "question": "...", "anchors": {"5": "..."}}}

Experts read them in their page's active language; a text not given there (a partial
translation) is read in English, text by text and anchor by anchor. Exports, analysis and the
stored ratings keep the English texts: a score means the same whatever language it was given in.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation

CAMPAIGN_TEXTS = {"expert_title": 200, "guidelines": 50_000}  # text -> longest
CRITERION_TEXTS = {"name": 100, "question": 5_000}
ANCHOR_LONGEST = 1_000


def primary_language() -> str:
    return settings.LANGUAGE_CODE.lower()


def languages() -> tuple[str, ...]:
    """The languages a campaign's texts may be given in besides English ("zh-hans")."""
    return tuple(
        code.lower() for code, _ in settings.LANGUAGES if code.lower() != primary_language()
    )


def _language(code) -> str:
    """``code`` as the project writes it ("zh_Hans", "ZH-HANS": "zh-hans"), else an error."""
    normal = str(code).strip().lower().replace("_", "-")
    if normal not in languages():
        raise ValidationError(
            f"translations: {code!r} is not one of the languages ({', '.join(languages())})."
        )
    return normal


def _text(value, *, where: str, longest: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{where} must be text.")
    if len(value) > longest:
        raise ValidationError(f"{where} is longer than {longest} characters.")
    return value.strip()


def _languages_of(value, *, where: str) -> dict:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError(
            f'{where}: translations must map a language to texts ({{"zh-hans": {{...}}}}).'
        )
    out = {}
    for code, texts in value.items():
        language = _language(code)
        if language in out:
            raise ValidationError(f"{where}: language {language!r} is given twice.")
        if texts in (None, ""):
            texts = {}
        if not isinstance(texts, dict):
            raise ValidationError(f"{where}: translations[{code!r}] must be an object of texts.")
        out[language] = texts
    return out


def clean_campaign_translations(value) -> dict:
    """The campaign's translations checked and normalised: known languages and texts only;
    empty texts and languages left empty are dropped (they read in English)."""
    out = {}
    for language, texts in _languages_of(value, where="Campaign").items():
        unknown = set(texts) - set(CAMPAIGN_TEXTS)
        if unknown:
            raise ValidationError(
                f"Campaign translations ({language}): unknown texts {', '.join(sorted(unknown))} "
                f"(give {', '.join(CAMPAIGN_TEXTS)})."
            )
        clean = {}
        for name, longest in CAMPAIGN_TEXTS.items():
            text = _text(texts.get(name), where=f"The {language} {name}", longest=longest)
            if text:
                clean[name] = text
        if clean:
            out[language] = clean
    return out


def clean_criterion_translations(value, *, key: str, scale_min: int, scale_max: int) -> dict:
    """One criterion's translations checked and normalised; anchors' keys must be points of its
    scale (as for the English anchors)."""
    where = f"Criterion {key!r}"
    out = {}
    for language, texts in _languages_of(value, where=where).items():
        unknown = set(texts) - {*CRITERION_TEXTS, "anchors"}
        if unknown:
            raise ValidationError(
                f"{where} ({language}): unknown texts {', '.join(sorted(unknown))} "
                "(give name, question, anchors)."
            )
        clean: dict = {}
        for name, longest in CRITERION_TEXTS.items():
            text = _text(texts.get(name), where=f"{where}: the {language} {name}", longest=longest)
            if text:
                clean[name] = text
        anchors = texts.get("anchors") or {}
        if not isinstance(anchors, dict):
            raise ValidationError(f"{where} ({language}): anchors must map scores to text.")
        clean_anchors = {}
        for score, text in anchors.items():
            point = anchor_point(score, scale_min, scale_max, where=f"{where} ({language})")
            text = _text(
                text, where=f"{where} ({language}): anchor {score!r}", longest=ANCHOR_LONGEST
            )
            if text:
                clean_anchors[str(point)] = text
        if clean_anchors:
            clean["anchors"] = clean_anchors
        if clean:
            out[language] = clean
    return out


def anchor_point(score, low: int, high: int, *, where: str) -> int:
    """An anchor's key as a point of the scale ``low``..``high`` (the English anchors' and every
    translation's), or ValidationError naming ``where``."""
    try:
        point = int(score)
    except (TypeError, ValueError):
        point = None
    if point is None or not low <= point <= high:
        raise ValidationError(f"{where}: anchor {score!r} is not a score from {low} to {high}.")
    return point


# --- reading: the active language, else English, text by text ---------------------------------


def active_language() -> str:
    return (translation.get_language() or primary_language()).lower()


def in_language(translations: dict | None, language: str | None = None) -> dict:
    """The texts given in ``language`` (the active one by default): {} for English or none."""
    language = (language or active_language()).lower()
    if not translations or language == primary_language():
        return {}
    return translations.get(language) or {}


def text(translations: dict | None, name: str, english: str, language: str | None = None) -> str:
    """The text ``name`` in ``language`` when given there, else ``english``."""
    return in_language(translations, language).get(name) or english


def anchors(
    translations: dict | None, english: dict, scale: list[int], language: str | None = None
) -> dict[str, str]:
    """Every scale point's anchor in ``language`` when given there, else in English, else ""."""
    given = in_language(translations, language).get("anchors") or {}
    english = english or {}
    return {str(v): given.get(str(v)) or english.get(str(v), "") for v in scale}
