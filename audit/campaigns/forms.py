"""Forms of the owner's pages. They parse and validate input; the services do the work."""

import json
import re

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from audit.campaigns import texts
from audit.campaigns.criteria import DEFAULT_CRITERIA, with_chinese
from audit.campaigns.defaults_zh import PUBMEDVISION_GUIDELINES_ZH, PUBMEDVISION_TITLE_ZH
from audit.campaigns.models import Campaign
from audit.campaigns.planning import ASSUMED_FIELDS
from audit.campaigns.presentation import PresentationRules
from audit.campaigns.services import PUBMEDVISION_GUIDELINES
from audit.datasets.models import Method
from audit.datasets.selectors import datasets_visible_to

User = get_user_model()

PUBMEDVISION_METHODS = ["native_caption", "llm_reformatted", "mllm_distill", "mllm_reformatted"]
STRATA_CHOICES = [("modality", _("Modality")), ("body_part", _("Body part"))]
KIND_CHOICES = [
    ("paired", _("Paired: the same source pairs seen through every method")),
    ("independent", _("Independent: each method sampled on its own")),
]
ALLOCATION_CHOICES = [
    ("proportional", _("Proportional to stratum size")),
    ("equal", _("Equal per stratum")),
]
_KEY = re.compile(r"^[-a-zA-Z0-9_]+$")
# The language of the form's second title and guidelines (the API takes any of texts.languages()).
ZH = "zh-hans"
MAX_CRITERIA = 20


def criteria_json(criteria) -> str:
    return json.dumps(list(criteria), indent=2, ensure_ascii=False)


def clean_criteria(value) -> list[dict]:
    """Check an owner's criteria (a list of objects) and return them normalised."""
    if not isinstance(value, list) or not value:
        raise ValidationError("Give a list of at least one criterion.")
    if len(value) > MAX_CRITERIA:
        raise ValidationError(f"At most {MAX_CRITERIA} criteria.")
    out, keys = [], set()
    for i, raw in enumerate(value, 1):
        if not isinstance(raw, dict):
            raise ValidationError(f"Criterion {i}: expected an object with key, name, ...")
        extra = set(raw) - {
            "key",
            "name",
            "question",
            "scale_min",
            "scale_max",
            "anchors",
            "translations",
        }
        if extra:
            raise ValidationError(f"Criterion {i}: unknown fields {', '.join(sorted(extra))}.")
        key, name = raw.get("key"), raw.get("name")
        if not isinstance(key, str) or not _KEY.match(key) or len(key) > 64:
            raise ValidationError(
                f"Criterion {i}: key must be letters, digits, '-' or '_' (at most 64)."
            )
        if key in keys:
            raise ValidationError(f"Criterion {i}: key {key!r} is used twice.")
        keys.add(key)
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise ValidationError(f"Criterion {key!r}: give a name (at most 100 characters).")
        question = raw.get("question", "")
        if not isinstance(question, str):
            raise ValidationError(f"Criterion {key!r}: the question must be text.")
        low, high = raw.get("scale_min", 1), raw.get("scale_max", 5)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
            raise ValidationError(f"Criterion {key!r}: scale_min and scale_max must be integers.")
        if not low < high <= low + 20:
            raise ValidationError(
                f"Criterion {key!r}: scale_min must be below scale_max (at most 21 points)."
            )
        anchors = raw.get("anchors", {})
        if not isinstance(anchors, dict):
            raise ValidationError(f"Criterion {key!r}: anchors must map scores to text.")
        clean_anchors = {}
        for score, text in anchors.items():
            point = texts.anchor_point(score, low, high, where=f"Criterion {key!r}")
            if not isinstance(text, str):
                raise ValidationError(f"Criterion {key!r}: anchor {score!r} must be text.")
            clean_anchors[str(point)] = text
        clean = {
            "key": key,
            "name": name.strip(),
            "question": question,
            "scale_min": low,
            "scale_max": high,
            "anchors": clean_anchors,
        }
        # Name, question and anchors in other languages; what is not given reads in English.
        translations = texts.clean_criterion_translations(
            raw.get("translations"), key=key, scale_min=low, scale_max=high
        )
        if translations:
            clean["translations"] = translations
        out.append(clean)
    return out


def criterion_spec(c) -> dict:
    """A stored criterion as the criteria JSON gives it (translations only when there are)."""
    spec = {
        "key": c.key,
        "name": c.name,
        "question": c.question,
        "scale_min": c.scale_min,
        "scale_max": c.scale_max,
        "anchors": c.anchors,
    }
    if c.translations:
        spec["translations"] = c.translations
    return spec


class ExpertsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        full = obj.get_full_name()
        return f"{obj.get_username()} ({full})" if full else obj.get_username()


def expert_choices():
    return User.objects.filter(is_active=True).order_by(User.USERNAME_FIELD)


class ExpertsMixin:
    """``experts`` (users) + ``specialties`` (one "username: specialty" a line)."""

    def clean_specialties(self) -> dict[str, str]:
        specialties = {}
        for n, line in enumerate(self.cleaned_data.get("specialties", "").splitlines(), 1):
            if not line.strip():
                continue
            username, sep, specialty = line.partition(":")
            if not sep or not username.strip():
                raise ValidationError(f"Line {n}: write it as 'username: specialty'.")
            specialties[username.strip()] = specialty.strip()[:120]
        return specialties

    def clean_experts_with_specialties(self) -> list[tuple]:
        experts = self.cleaned_data.get("experts") or []
        specialties = self.cleaned_data.get("specialties") or {}
        names = {u.get_username() for u in experts}
        stray = sorted(set(specialties) - names)
        if stray:
            self.add_error("specialties", f"Not among the chosen experts: {', '.join(stray)}.")
        return [(u, specialties.get(u.get_username(), "")) for u in experts]


def specialties_text(memberships) -> str:
    return "\n".join(f"{m.user.get_username()}: {m.specialty}" for m in memberships if m.specialty)


class CampaignForm(ExpertsMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, help_text=_("Seen by owners only."))
    expert_title = forms.CharField(
        max_length=200,
        initial="Quality audit",
        label=_("Title shown to experts"),
        help_text=_(
            "Experts see this instead of the name; it must not reveal methods or datasets."
        ),
    )
    guidelines = forms.CharField(
        label=_("Guidelines"),
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        help_text=_("Markdown, shown to experts. Raw HTML is shown as text."),
    )
    # The same two texts in Simplified Chinese, for experts whose page is in Chinese; left
    # empty, they read the English.
    expert_title_zh = forms.CharField(
        max_length=texts.CAMPAIGN_TEXTS["expert_title"],
        required=False,
        label=_("Title shown to experts, in Chinese"),
        help_text=_("Optional. Experts whose page is in Chinese see it; empty: the English title."),
    )
    guidelines_zh = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "lang": "zh-Hans"}),
        required=False,
        max_length=texts.CAMPAIGN_TEXTS["guidelines"],
        label=_("Guidelines in Chinese"),
        help_text=_("Optional, Markdown. Experts whose page is in Chinese see them; empty: the "
                    "English guidelines."),
    )  # fmt: skip
    datasets = forms.ModelMultipleChoiceField(
        label=_("Datasets"), queryset=None, widget=forms.CheckboxSelectMultiple
    )
    methods = forms.ModelMultipleChoiceField(
        queryset=Method.objects.all(),
        to_field_name="key",
        widget=forms.CheckboxSelectMultiple,
        label=_("Compared methods"),
    )
    kind = forms.ChoiceField(choices=KIND_CHOICES, initial="paired", label=_("Design"))
    n = forms.IntegerField(
        min_value=1,
        max_value=1_000_000,
        label=_("N"),
        help_text=_(
            "Paired: source pairs (each seen through every method). Independent: items per method."
        ),
    )
    strata = forms.MultipleChoiceField(
        label=_("Strata"),
        choices=STRATA_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Stratify the sample by these (none: a simple random sample)."),
    )
    allocation = forms.ChoiceField(
        label=_("Allocation"), choices=ALLOCATION_CHOICES, initial="proportional"
    )
    raters_per_item = forms.IntegerField(
        min_value=1, max_value=50, initial=3, label=_("Raters per item (k)")
    )
    seed = forms.IntegerField(
        label=_("Seed"),
        required=False,
        min_value=0,
        max_value=2**62,
        help_text=_("Leave empty for a random seed; the same seed draws the same sample."),
    )
    experts = ExpertsField(
        label=_("Experts"),
        queryset=None,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_(
            "At least k experts are needed to launch. Ctrl- or Cmd-click to choose several."
        ),
    )
    specialties = forms.CharField(
        label=_("Specialties"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "dr_lee: Radiology"}),
        help_text=_("Optional, one 'username: specialty' a line."),
    )
    deadline = forms.DateTimeField(
        label=_("Deadline"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    repeat_share = forms.FloatField(
        min_value=0,
        max_value=0.5,
        initial=0.0,
        label=_("Repeat share"),
        help_text=_(
            "Share of each expert's items shown twice, to measure self-consistency (0 to 0.5)."
        ),
    )
    strip_figure_labels = forms.BooleanField(
        required=False,
        label=_("Remove leading figure labels"),
        help_text=_('Answers starting "Figure 3." or "Fig. 2A:" are shown without the label.'),
    )
    standard_question = forms.CharField(
        required=False,
        max_length=500,
        label=_("One question for description items"),
        help_text='e.g. "Describe the image." shown for every caption and description item, '
        "whatever its method (leave empty to show each item's own question).",
    )
    hide_question = forms.BooleanField(required=False, label=_("Hide the question"))
    method_guess = forms.BooleanField(
        required=False,
        label=_("Ask experts to guess how each text was made"),
        help_text=_("Measures blinding (Bang's index per method) in the analysis."),
    )
    criteria = forms.CharField(
        label=_("Criteria"),
        widget=forms.Textarea(attrs={"rows": 16, "class": "code", "spellcheck": "false"}),
        help_text=_(
            "A JSON list of criteria: key, name, question, scale_min, scale_max and anchors "
            '(score -> meaning). Optional "translations": {"zh-hans": {"name": ..., '
            '"question": ..., "anchors": {"5": ...}}} for experts reading in Chinese; what is '
            "not given there reads in English."
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["datasets"].queryset = datasets_visible_to(user)
        self.fields["experts"].queryset = expert_choices()
        self.fields["criteria"].initial = criteria_json(DEFAULT_CRITERIA)

    def clean_criteria(self) -> list[dict]:
        try:
            value = json.loads(self.cleaned_data["criteria"])
        except json.JSONDecodeError as exc:
            raise ValidationError(f"Not valid JSON: {exc}") from None
        return clean_criteria(value)

    def clean(self):
        data = super().clean()
        data["experts"] = self.clean_experts_with_specialties()
        return data

    def service_kwargs(self) -> dict:
        """The arguments of campaign_create / campaign_update."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "expert_title": data["expert_title"],
            "guidelines": data["guidelines"],
            "translations": {
                ZH: {
                    "expert_title": data["expert_title_zh"],
                    "guidelines": data["guidelines_zh"],
                }
            },
            "datasets": list(data["datasets"]),
            "methods": [m.key for m in data["methods"]],
            "kind": data["kind"],
            "n": data["n"],
            "strata": list(data["strata"]),
            "allocation": data["allocation"],
            "raters_per_item": data["raters_per_item"],
            "seed": data["seed"],
            "experts": data["experts"],
            "deadline": data["deadline"],
            "repeat_share": data["repeat_share"],
            "criteria": data["criteria"],
            "presentation": {
                "strip_figure_labels": data["strip_figure_labels"],
                "standard_question": data["standard_question"].strip(),
                "hide_question": data["hide_question"],
            },
            "method_guess": data["method_guess"],
        }

    @staticmethod
    def pubmedvision_initial() -> dict:
        """The PubMedVision expert check: 90 source pairs x 4 methods = 360 items, 3 experts."""
        return {
            "name": "PubMedVision check",
            "expert_title": "Medical image-text quality audit",
            "guidelines": PUBMEDVISION_GUIDELINES,
            "expert_title_zh": PUBMEDVISION_TITLE_ZH,
            "guidelines_zh": PUBMEDVISION_GUIDELINES_ZH,
            "methods": list(Method.objects.filter(key__in=PUBMEDVISION_METHODS)),
            "kind": "paired",
            "n": 90,
            "allocation": "proportional",
            "raters_per_item": 3,
            "seed": 2024,
            "repeat_share": 0.0,
            "criteria": criteria_json(with_chinese(DEFAULT_CRITERIA)),
        }

    @staticmethod
    def initial_from(campaign: Campaign) -> dict:
        design = campaign.design
        memberships = [
            m
            for m in campaign.memberships.filter(role="expert", active=True).select_related("user")
        ]
        return {
            "name": campaign.name,
            "expert_title": campaign.expert_title,
            "guidelines": campaign.guidelines,
            "expert_title_zh": (campaign.translations.get(ZH) or {}).get("expert_title", ""),
            "guidelines_zh": (campaign.translations.get(ZH) or {}).get("guidelines", ""),
            "datasets": list(campaign.datasets.all()),
            "methods": list(Method.objects.filter(key__in=design.get("methods", []))),
            "kind": design.get("kind", "paired"),
            "n": design.get("n"),
            "strata": design.get("strata", []),
            "allocation": design.get("allocation", "proportional"),
            "raters_per_item": campaign.raters_per_item,
            "seed": campaign.seed,
            "experts": [m.user for m in memberships],
            "specialties": specialties_text(memberships),
            "deadline": campaign.deadline,
            "repeat_share": design.get("repeat_share", 0.0),
            **PresentationRules.from_design(design).as_design(),
            "method_guess": bool((design.get("method_guess") or {}).get("enabled")),
            "criteria": criteria_json(criterion_spec(c) for c in campaign.criteria.all()),
        }


class ExpertsForm(ExpertsMixin, forms.Form):
    experts = ExpertsField(
        label=_("Experts"),
        queryset=None,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text=_(
            "Ctrl- or Cmd-click to choose several. Removed experts keep what they submitted; "
            "their pending items move to others."
        ),
    )
    specialties = forms.CharField(
        label=_("Specialties"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "dr_lee: Radiology"}),
        help_text=_("Optional, one 'username: specialty' a line."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["experts"].queryset = expert_choices()

    def clean(self):
        data = super().clean()
        data["experts"] = self.clean_experts_with_specialties()
        return data


def parse_grid(value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(part) for part in re.split(r"[,\s]+", value.strip()) if part}))
    except ValueError:
        raise ValidationError("Give whole numbers separated by commas, e.g. 20, 40, 80.") from None
    if not sizes:
        raise ValidationError("Give at least one number of source pairs.")
    return sizes


class PlanForm(forms.Form):
    """The owner's inputs for sizing a campaign (audit.campaigns.planning). Read from GET: the
    page only computes, it changes nothing."""

    difference = forms.FloatField(
        initial=0.3,
        min_value=0.0,
        max_value=20.0,
        label=_("Expected difference"),
        help_text=_("Between two methods' mean scores, in scale points."),
    )
    raters = forms.IntegerField(initial=3, min_value=1, max_value=20, label=_("Raters per item"))
    experts = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=200,
        label=_("Experts in the pool"),
        help_text=_("Empty: every expert rates every item."),
    )
    grid = forms.CharField(
        initial="10, 20, 40, 80, 160", max_length=100, label=_("Source pairs to try")
    )
    target_power = forms.FloatField(
        initial=0.8, required=False, min_value=0.05, max_value=0.99, label=_("Target power")
    )
    target_halfwidth = forms.FloatField(
        required=False,
        min_value=0.001,
        max_value=20.0,
        label=_("Target half-width of the difference"),
        # Translators: the half-width of the difference's 95 percent interval.
        help_text=_("Of its interval (95%), in scale points."),
    )
    target_alpha_halfwidth = forms.FloatField(
        required=False,
        min_value=0.001,
        max_value=1.0,
        label=_("Target half-width of alpha"),
    )
    pilot = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label=_("Pilot campaign"),
        empty_label=_("None: use the values below"),
        help_text=_("Its scores of one criterion give the standard deviations and the mean."),
    )
    scale_max = forms.IntegerField(initial=5, min_value=2, max_value=100, label=_("Scale 1 to"))
    mean = forms.FloatField(initial=3.0, label=_("Mean score"))
    pair_sd = forms.FloatField(
        initial=0.5, min_value=0.0, max_value=50.0, label=_("Source-pair SD")
    )
    item_sd = forms.FloatField(initial=0.5, min_value=0.0, max_value=50.0, label=_("Item SD"))
    rater_sd = forms.FloatField(
        initial=0.3, min_value=0.0, max_value=50.0, label=_("Rater severity SD")
    )
    residual_sd = forms.FloatField(
        initial=0.7, min_value=0.0, max_value=50.0, label=_("Residual SD")
    )

    ASSUMED = ASSUMED_FIELDS

    def __init__(self, *args, pilots, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pilot"].queryset = pilots
        self.fields["pilot"].label_from_instance = lambda c: f"{c.campaign.name}: {c.name}"

    def clean_grid(self) -> tuple[int, ...]:
        return parse_grid(self.cleaned_data["grid"])

    def clean(self):
        data = super().clean()
        experts, raters = data.get("experts"), data.get("raters")
        if experts is not None and raters is not None and experts < raters:
            self.add_error("experts", "The pool must hold at least the raters of one item.")
        if not any(data.get(f) is not None for f in ("target_power", "target_halfwidth")) and (
            data.get("target_alpha_halfwidth") is None
        ):
            raise ValidationError("Give at least one target (power or a half-width).")
        return data
