"""Reads for the expert's side: their queue, one assignment as the rating page needs it, their
own history. Everything here is scoped to the signed-in expert and is blinded: what leaves this
module for an expert carries public ids, the campaign's ``expert_title`` and the item's text and
images, never the method, the dataset, the item's id or file names, or other experts' ratings.
"""

import functools
import json
import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils.translation import gettext

from annotations.models import FLAGS, Rating, Score
from audit.campaigns.models import Assignment, Campaign, CampaignItem, Criterion
from audit.campaigns.presentation import PresentationRules, expert_guess_options, present
from audit.campaigns.selectors import EXPERT_VISIBLE, campaigns_for_expert, expert_campaign_or_404
from audit.campaigns.texts import active_language
from audit.core.markdown import render_markdown
from audit.core.reversing import url_for
from audit.datasets.models import Image, Item, SourcePairImage
from audit.datasets.selectors import image_url, image_urls, source_pair_images

# Campaigns an expert sees in their queue; a closed one drops out (its history stays reachable).
QUEUE_STATUSES = (Campaign.Status.ACTIVE, Campaign.Status.PAUSED)
THUMBNAIL_SIZE = 128
# Words of the answer shown on a History row (as the expert read it, presentation rules applied).
SNIPPET_WORDS = 18


# --- pace: time left from the expert's own median active time ---------------------------------
# The median is read from one query's conditional counts (how many finished items took less than
# each edge), in the query a page already makes, instead of fetching every item's time: the
# median of grouped data, interpolated within its class. Edges in seconds of active time.
PACE_EDGES = (5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 90, 105, 120, 150, 180, 240, 300, 420, 600,
              900, 1200, 1800)  # fmt: skip
# Below this many timed items the estimate says nothing (one slow first item is not a pace).
PACE_MIN_ITEMS = 3


def pace_counts(prefix: str = "", *, finished: Q | None = None) -> dict:
    """Aggregates for ``time_left``: ``pace_n`` (finished items with an active time) and
    ``pace_lt_<edge>`` (those under each edge). ``prefix`` reaches the assignments from another
    model ("assignments__"); ``finished`` restricts further (an expert's own rows)."""
    done = ~Q(**{f"{prefix}status": Assignment.Status.PENDING}) & Q(
        **{f"{prefix}active_seconds__gt": 0}
    )
    if finished is not None:
        done &= finished
    target = f"{prefix}pk" if prefix else "pk"
    out = {"pace_n": Count(target, filter=done)}
    for edge in PACE_EDGES:
        out[f"pace_lt_{edge}"] = Count(
            target, filter=done & Q(**{f"{prefix}active_seconds__lt": edge})
        )
    return out


def grouped_median(below: list[int], n: int, edges=PACE_EDGES) -> float | None:
    """The median of ``n`` positive values of which ``below[i]`` are under ``edges[i]``
    (cumulative counts), interpolated linearly within the class that holds it; the last edge
    when more than half lie beyond it; None for no values."""
    if n <= 0:
        return None
    half, lower, before = n / 2, 0.0, 0
    for edge, count in zip(edges, below, strict=True):
        if count >= half:
            return lower + (half - before) / (count - before) * (edge - lower)
        lower, before = float(edge), count
    return float(edges[-1])


def format_duration(seconds: float) -> str:
    """'under a minute', '7 min', '1 h 05 min': minutes up to an hour (by 5 past 20 min)."""
    minutes = seconds / 60
    if minutes < 1:
        return gettext("under a minute")
    if minutes >= 20:
        minutes = 5 * round(minutes / 5)
    minutes = round(minutes)
    if minutes < 60:
        return gettext("%(m)d min") % {"m": minutes}
    return gettext("%(h)d h %(m)02d min") % {"h": minutes // 60, "m": minutes % 60}


@dataclass(frozen=True)
class TimeLeft:
    """An estimate of the time the expert still needs: items left x their median active time."""

    seconds: float
    median: float
    left: int
    timed: int

    @property
    def label(self) -> str:
        if not self.left:
            return gettext("done")
        return gettext("about %(duration)s left") % {"duration": format_duration(self.seconds)}

    @property
    def explanation(self) -> str:
        return gettext(
            "%(left)d items left x your median active time of %(median)d s per item (from "
            "your %(timed)d finished items)"
        ) % {"left": self.left, "median": round(self.median), "timed": self.timed}


def time_left(counts: dict, *, left: int) -> TimeLeft | None:
    """The estimate from ``pace_counts`` aggregates (a dict or an annotated row's __dict__)."""
    n = counts.get("pace_n") or 0
    if n < PACE_MIN_ITEMS:
        return None
    median = grouped_median([counts[f"pace_lt_{e}"] for e in PACE_EDGES], n)
    return TimeLeft(seconds=left * median, median=median, left=left, timed=n)


def expert_campaign_with_counts_or_404(user, campaign_id) -> Campaign:
    """Like ``expert_campaign_or_404``, with the expert's ``done`` and ``left`` counts (for the
    pages that show them)."""
    campaign = campaigns_for_expert(user).filter(public_id=campaign_id).first()
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


def expert_queue(user, *, pace: bool = False) -> QuerySet[Campaign]:
    """The user's active and paused campaigns, each annotated with ``done`` and ``left``
    (and with ``pace``, the counts ``time_left`` reads; still one query)."""
    campaigns = campaigns_for_expert(user).filter(status__in=QUEUE_STATUSES)
    if pace and user.is_authenticated:
        campaigns = campaigns.annotate(
            **pace_counts("assignments__", finished=Q(assignments__expert=user))
        )
    return campaigns


def expert_assignments(user) -> QuerySet[Assignment]:
    """The user's assignments in launched campaigns they are an active expert of: the one
    permission filter of the expert's item reads and of submit (which applies it under the
    row lock)."""
    if not user.is_authenticated:
        return Assignment.objects.none()
    return Assignment.objects.filter(
        expert=user,
        campaign__memberships__user=user,
        campaign__memberships__role="expert",
        campaign__memberships__active=True,
    ).exclude(campaign__status=Campaign.Status.DRAFT)


def expert_assignment_or_404(user, *, campaign_id, assignment_id) -> Assignment:
    """One of the user's assignments, with its campaign and item, in one query. Another
    expert's assignment, another campaign's, or a campaign one is not in: all 404."""
    assignment = (
        expert_assignments(user)
        .filter(campaign__public_id=campaign_id, public_id=assignment_id)
        .select_related("campaign", "campaign_item__item")
        .first()
    )
    if assignment is None:
        raise Http404("No such item.")
    return assignment


def next_pending_for_page(user, *, campaign_id) -> Assignment | None:
    """The user's next pending assignment in a campaign they rate, with its campaign and item,
    ready for ``rating_page`` (and with the queue counts and images it would read): one query,
    written by hand (the hot path of every expert; see ``_next_item_sql``). None when nothing is
    left; 404 for a campaign one is not an active expert of (checked apart only when nothing is
    pending)."""
    if not user.is_authenticated:
        raise Http404("No such campaign.")
    sql, columns = _next_item_sql(connection.vendor)
    campaign_uuid = Campaign._meta.get_field("public_id").get_db_prep_value(campaign_id, connection)
    with hot_cursor() as cursor:
        cursor.execute(sql, [campaign_uuid, *EXPERT_VISIBLE, user.pk, user.pk])
        row = cursor.fetchone()
    if row is None:
        expert_campaign_or_404(user, campaign_id)
        return None
    return _next_item_from_row(row, columns)


def hot_cursor():
    """A cursor for the expert path's hand-written statements. On PostgreSQL it binds values
    on the server and has each statement prepared once per connection (persistent connections
    run them thousands of times: planning them each time cost the database more than running
    them, 1.4 ms against 0.5 for the next item's). Django leaves preparing off on its
    connections (for connection poolers in transaction mode, which this deployment does not
    put between Django and PostgreSQL); only these cursors use it, their statements counted
    and logged like any other."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = connection.connection
        if raw.prepare_threshold is None:  # Django's client-side cursors never prepare
            raw.prepare_threshold = 5
        return connection._prepare_cursor(_preparing_cursor_class()(raw))


@functools.cache
def _preparing_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=True, binary=None):
            return super().execute(query, params, prepare=prepare, binary=binary)

    return PreparingCursor


# The fields the next item's query reads per model: the assignment and campaign whole (the
# campaign's guidelines aside: the API does not send them; they load if read), the item's text
# only. Taken from the models, so a new field is read without editing the SQL.
def _next_item_fields() -> dict:
    def pick(model, names=None, leave=()):
        fields = model._meta.concrete_fields
        return [f for f in fields if (names is None or f.name in names) and f.name not in leave]

    return {
        Assignment: pick(Assignment),
        Campaign: pick(Campaign, leave=("guidelines",)),
        CampaignItem: pick(CampaignItem, ("id", "item", "source_pair")),
        Item: pick(Item, ("id", "question", "answer", "kind")),
    }


@functools.cache
def _next_item_sql(vendor: str) -> tuple[str, dict]:
    """The next item's query for a database vendor, built once per process: the expert's first
    pending assignment in the campaign (by public id, launched) under the permission filter of
    ``expert_assignments`` (an active expert membership), with its campaign, the item's text,
    the expert's queue counts (total, before it, done) and the item's images (public
    id, width, height, in order) as a JSON array. Parameters: campaign public id, the EXPERT_VISIBLE
    statuses, the user's pk twice. Also returns, per model, (attnames, converters per column)."""
    fields = _next_item_fields()
    aliases = {Assignment: "a", Campaign: "c", CampaignItem: "ci", Item: "i"}
    select = ", ".join(f'{aliases[model]}."{f.column}"' for model, fs in fields.items() for f in fs)
    if vendor == "postgresql":
        images = (
            "SELECT json_agg(json_build_array(img.public_id, img.width, img.height) "
            "ORDER BY l.position) FROM datasets_sourcepairimage l "
            "JOIN datasets_image img ON img.id = l.image_id "
            "WHERE l.source_pair_id = ci.source_pair_id"
        )
    else:
        images = (
            "SELECT json_group_array(json_array(o.public_id, o.width, o.height)) FROM ("
            "SELECT img.public_id, img.width, img.height FROM datasets_sourcepairimage l "
            "JOIN datasets_image img ON img.id = l.image_id "
            "WHERE l.source_pair_id = ci.source_pair_id ORDER BY l.position) o"
        )
    # The queue counts (total, before this item, done): total and done kept in a row by the
    # database (QueueCount); counting the queue cost more than the rest of the query (0.32 of
    # 0.37 ms for a queue of 1,600, growing with it). Before the first pending item come only
    # items not pending: all done but those at or after it (rated out of order from the
    # history; usually none), found through queue_idx: one range per status (with an IN
    # list, the planner scanned the whole queue).
    done_after = " + ".join(
        "(SELECT COUNT(*) FROM campaigns_assignment m WHERE m.expert_id = a.expert_id "  # noqa: S608
        f"AND m.campaign_id = a.campaign_id AND m.status = '{status}' "
        "AND m.position >= a.position)"
        for status in Assignment.Status
        if status != Assignment.Status.PENDING
    )
    counts = f"q.total, q.done - ({done_after}), q.done"
    # SQLite has no arrays.
    counts = f"ARRAY[{counts}]" if vendor == "postgresql" else f"json_array({counts})"
    visible = ", ".join(["%s"] * len(EXPERT_VISIBLE))
    # The campaign's pk as a subquery: the queue index then hands over the first pending item
    # in position order, however long the queue.
    sql = f"""
        SELECT {select}, (SELECT {counts} FROM campaigns_queuecount q
                          WHERE q.campaign_id = a.campaign_id AND q.expert_id = a.expert_id)
            AS counts, ({images}) AS images
        FROM campaigns_assignment a
        JOIN campaigns_campaign c ON c.id = a.campaign_id
        JOIN campaigns_campaignitem ci ON ci.id = a.campaign_item_id
        JOIN datasets_item i ON i.id = ci.item_id
        WHERE a.campaign_id = (SELECT k.id FROM campaigns_campaign k
                               WHERE k.public_id = %s AND k.status IN ({visible}))
            AND a.expert_id = %s AND a.status = 'pending'
            AND EXISTS (SELECT 1 FROM campaigns_membership e WHERE e.campaign_id = a.campaign_id
                        AND e.user_id = %s AND e.role = 'expert' AND e.active)
        ORDER BY a.position LIMIT 1
    """  # noqa: S608 (column names from the models and fixed text; every value a parameter)
    readers = {}
    for model, fs in fields.items():
        converters = []
        for f in fs:
            col = f.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
            converters.append((col, found))
        readers[model] = ([f.attname for f in fs], converters)
    return sql, readers


def _next_item_from_row(row, readers: dict) -> Assignment:
    """The row as model instances (what the query did not read is deferred: it loads if read),
    the assignment carrying ``page_extras`` (queue counts, images) for ``rating_page``."""
    at = 0
    loaded = {}
    for model, (names, converters) in readers.items():
        values = list(row[at : at + len(names)])
        at += len(names)
        for n, (col, found) in enumerate(converters):
            for convert in found:
                values[n] = convert(values[n], col, connection)
        loaded[model] = model.from_db(connection.alias, names, values)
    counts, images = row[at : at + 2]
    if isinstance(counts, str | bytes):
        counts = json.loads(counts)
    total, before, done = counts
    assignment, campaign_item = loaded[Assignment], loaded[CampaignItem]
    campaign_item._state.fields_cache["item"] = loaded[Item]
    assignment._state.fields_cache["campaign"] = loaded[Campaign]
    assignment._state.fields_cache["campaign_item"] = campaign_item
    if isinstance(images, str | bytes):
        images = json.loads(images)
    to_uuid = Image._meta.get_field("public_id").to_python
    assignment.page_extras = {
        "counts": {"total": total, "before": before, "done": done},
        "images": [(to_uuid(p), w, h) for p, w, h in images or ()],
    }
    return assignment


def upcoming_public_id() -> Subquery:
    """An annotation: the public id of the expert's first pending assignment other than this
    one (where they go after submitting it), or None."""
    return Subquery(
        Assignment.objects.filter(
            campaign=OuterRef("campaign"),
            expert=OuterRef("expert"),
            status=Assignment.Status.PENDING,
        )
        .exclude(pk=OuterRef("pk"))
        .order_by("position")
        .values("public_id")[:1]
    )


# A launched campaign's criteria never change (campaign_update refuses, the admin shows them
# read-only, scores protect them): read once per process, keyed by the campaign's random public
# id (never reused). Draft and launching campaigns are read each time. The cached rows carry
# every language's texts (``translations``): the language is chosen when they are shown.
_LAUNCHED_CRITERIA: dict = {}
_LAUNCHED_CRITERIA_MAX = 1000


def campaign_criteria(campaign: Campaign) -> list[Criterion]:
    """The campaign's criteria in order (shared, read-only instances for a launched campaign)."""
    if campaign.status not in EXPERT_VISIBLE:
        return list(campaign.criteria.all())
    criteria = _LAUNCHED_CRITERIA.get(campaign.public_id)
    if criteria is None:
        criteria = tuple(campaign.criteria.all())
        if len(_LAUNCHED_CRITERIA) >= _LAUNCHED_CRITERIA_MAX:
            _LAUNCHED_CRITERIA.clear()
        _LAUNCHED_CRITERIA[campaign.public_id] = criteria
    return list(criteria)


def next_pending(*, campaign: Campaign, expert) -> Assignment | None:
    return (
        Assignment.objects.filter(campaign=campaign, expert=expert, status="pending")
        .order_by("position")
        .only("public_id", "position")
        .first()
    )


def rating_page_url(campaign: Campaign, public_id) -> str:
    return url_for("annotations:rate", campaign_id=campaign.public_id, assignment_id=public_id)


def next_url(*, campaign: Campaign, expert) -> tuple[str, Assignment | None]:
    """Where the expert goes after a submit: their next pending item, or the done page."""
    upcoming = next_pending(campaign=campaign, expert=expert)
    return after_submit_url(campaign.public_id, upcoming.public_id if upcoming else None), upcoming


def after_submit_url(campaign_id, upcoming_id) -> str:
    """The rating page of the item with public id ``upcoming_id`` in the campaign with public id
    ``campaign_id``, or (``upcoming_id`` None) the campaign's done page."""
    if upcoming_id is None:
        return url_for("annotations:campaign", campaign_id=campaign_id)
    return url_for("annotations:rate", campaign_id=campaign_id, assignment_id=upcoming_id)


@dataclass
class RatingPage:
    """Everything the rating page (and the API's assignment payload) shows, already blinded."""

    campaign: Campaign
    assignment: Assignment
    position: int
    total: int
    done: int
    question: str
    answer: str
    images: list[dict]
    criteria: list[Criterion]
    previous_id: object = None
    following_id: object = None
    rating: dict | None = None
    draft: dict = field(default_factory=dict)
    # The "how was this made?" options when the campaign asks (code and neutral label only).
    guess_options: list[dict] = field(default_factory=list)
    # The estimate of the time left, from the expert's own pace (the page only).
    time_left: TimeLeft | None = None

    @property
    def can_submit(self) -> bool:
        return self.campaign.status == Campaign.Status.ACTIVE

    @property
    def question_html(self):
        return render_markdown(self.question)

    @property
    def answer_html(self):
        return render_markdown(self.answer)

    def criteria_data(self) -> list[dict]:
        """The criteria as the expert reads them: name, question and anchors in the page's
        language where the owner gave them, else in English, text by text (the cached criteria
        hold every language)."""
        out, language = [], active_language()
        for c in self.criteria:
            texts = c.localized(language)
            out.append({"key": c.key, "name": texts["name"], "question": texts["question"],
                        "scale": c.scale, "anchors": texts["anchors"]})  # fmt: skip
        return out

    def criteria_options(self) -> list[dict]:
        """Criteria with their scale as (value, anchor) options, for the template."""
        return [
            {**c, "options": [{"value": v, "anchor": c["anchors"][str(v)]} for v in c["scale"]]}
            for c in self.criteria_data()
        ]

    @property
    def title(self) -> str:
        return self.campaign.localized_title

    @property
    def guidelines(self) -> str:
        return self.campaign.localized_guidelines

    @property
    def guidelines_html(self):
        return render_markdown(self.guidelines)

    @property
    def submit_url(self) -> str:
        return url_for("expert-api:submit", campaign_id=self.campaign.public_id,
                       assignment_id=self.assignment.public_id)  # fmt: skip

    @property
    def draft_url(self) -> str:
        return url_for("expert-api:draft", campaign_id=self.campaign.public_id,
                       assignment_id=self.assignment.public_id)  # fmt: skip

    def config(self) -> dict:
        """What rate/main.js needs, rendered into the page with ``json_script``."""
        campaign_id = self.campaign.public_id
        assignment_id = self.assignment.public_id
        return {
            "campaign": str(campaign_id),
            "assignment": str(assignment_id),
            "submitUrl": self.submit_url,
            "draftUrl": self.draft_url,
            "canSubmit": self.can_submit,
            "images": [{"url": i["url"]} for i in self.images],
            "status": self.assignment.status,
            "criteria": [
                {"key": c.key, "name": c.localized_name, "scale": c.scale} for c in self.criteria
            ],
            "draft": self.draft,
            "rating": self.rating,
        }


def _rating_data(rating: Rating) -> dict:
    return {
        "scores": dict(Score.objects.filter(rating=rating).values_list("criterion__key", "value")),
        "flags": list(rating.flags),
        "comment": rating.comment,
        "skipped": rating.skipped,
        "skip_reason": rating.skip_reason,
        "method_guess": rating.method_guess,
        "revision": rating.revision,
        "updated_at": rating.updated_at.isoformat(),
        "saved_at": int(rating.updated_at.timestamp() * 1000),
    }


def rating_page(assignment: Assignment, *, neighbours: bool = True) -> RatingPage:
    """The rating page's content for ``assignment`` (from ``expert_assignment_or_404`` or
    ``next_pending_for_page``): a constant number of queries, whatever the campaign's size.
    ``neighbours``: also the previous and following items' ids and the time left (the page's;
    the API does not send them)."""
    campaign = assignment.campaign
    item = assignment.campaign_item.item
    # Read with the item when it came from ``next_pending_for_page`` (its hand-written query);
    # else a query of their own: as ORM subqueries of the item's query, the counts cost more to
    # compile than a round trip.
    extras = getattr(assignment, "page_extras", None) if not neighbours else None
    mine = None
    if extras is None:
        mine = Assignment.objects.filter(campaign=campaign, expert_id=assignment.expert_id)
    if extras is not None:
        counts = extras["counts"]
    else:
        counts = mine.aggregate(
            total=Count("pk"),
            before=Count("pk", filter=Q(position__lt=assignment.position)),
            done=Count("pk", filter=~Q(status=Assignment.Status.PENDING)),
            **(pace_counts() if neighbours else {}),
        )
    previous_id = following_id = None
    if neighbours:
        previous_id = (
            mine.filter(position__lt=assignment.position)
            .order_by("-position")
            .values_list("public_id", flat=True)
            .first()
        )
    if neighbours and assignment.status != Assignment.Status.PENDING:
        following_id = (
            mine.filter(position__gt=assignment.position)
            .order_by("position")
            .values_list("public_id", flat=True)
            .first()
        )
    if extras is not None:
        shown = [(Image(public_id=p), w, h) for p, w, h in extras["images"]]
    else:
        links = source_pair_images(assignment.campaign_item.source_pair_id)
        shown = [(lk.image, lk.image.width, lk.image.height) for lk in links if lk.image]
    images = []
    for n, (image, width, height) in enumerate(shown):
        url, thumb = image_urls(image, None, THUMBNAIL_SIZE)
        images.append({"url": url, "thumb": thumb, "width": width, "height": height, "index": n})
    # The text as the campaign's presentation rules show it (the stored item is unchanged).
    question, answer = present(question=item.question, answer=item.answer, kind=item.kind,
                               rules=PresentationRules.from_design(campaign.design))  # fmt: skip
    rating = None
    if assignment.status != Assignment.Status.PENDING:
        stored = Rating.objects.filter(assignment=assignment).first()
        rating = _rating_data(stored) if stored else None
    return RatingPage(
        campaign=campaign,
        assignment=assignment,
        position=counts["before"] + 1,
        total=counts["total"],
        done=counts["done"],
        question=question,
        answer=answer,
        images=images,
        criteria=campaign_criteria(campaign),
        previous_id=previous_id,
        following_id=following_id,
        rating=rating,
        draft=assignment.draft or {},
        guess_options=expert_guess_options(campaign.design),
        time_left=time_left(counts, left=counts["total"] - counts["done"]) if neighbours else None,
    )


def flag_choices() -> list[dict]:
    return [{"key": key, "label": label} for key, label in FLAGS.items()]


def history(*, campaign: Campaign, expert, previews: bool = False) -> list[dict]:
    """The expert's own finished assignments in queue order, with their scores: two queries
    (three with the queue positions). ``previews`` (the History page): also each row's first
    image as a thumbnail URL and the first words of the answer, both as the expert saw them on
    the rating page (the same opaque image URLs, the campaign's presentation rules), read in
    the same query."""
    rows = Assignment.objects.filter(campaign=campaign, expert=expert).exclude(
        status=Assignment.Status.PENDING
    )
    if previews:
        first_image = SourcePairImage.objects.filter(
            source_pair_id=OuterRef("campaign_item__source_pair_id"), image__isnull=False
        ).order_by("position")
        rows = rows.select_related("rating", "campaign_item__item").annotate(
            first_image=Subquery(first_image.values("image__public_id")[:1])
        )
        # The conversation repeats the answer and may be long; the provenance is not needed.
        rows = rows.defer("campaign_item__item__conversation", "campaign_item__item__provenance")
    else:
        rows = rows.select_related("rating")
    rows = list(rows.order_by("position"))
    rules = PresentationRules.from_design(campaign.design)
    positions = dict(_queue_positions(campaign=campaign, expert=expert, ids=[a.pk for a in rows]))
    scores: dict[int, dict[str, int]] = {}
    rating_ids = [a.rating.pk for a in rows if hasattr(a, "rating")]
    for rating_id, key, value in Score.objects.filter(rating_id__in=rating_ids).values_list(
        "rating_id", "criterion__key", "value"
    ):
        scores.setdefault(rating_id, {})[key] = value
    out = []
    for a in rows:
        rating = getattr(a, "rating", None)
        entry = {
            "assignment": a.public_id,
            "position": positions.get(a.pk),
            "status": a.status,
            "url": rating_page_url(campaign, a.public_id),
            "submitted_at": rating.updated_at if rating else a.submitted_at,
            "scores": scores.get(rating.pk, {}) if rating else {},
            "flags": list(rating.flags) if rating else [],
            "comment": rating.comment if rating else "",
            "skipped": rating.skipped if rating else a.status == "skipped",
            "skip_reason": rating.skip_reason if rating else "",
            "revision": rating.revision if rating else 0,
        }
        if previews:
            entry.update(_preview(a, rules))
        out.append(entry)
    return out


_MARKUP = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[*_`#>|~]+")


def _preview(assignment: Assignment, rules: PresentationRules) -> dict:
    """A History row's thumbnail URL (or "") and the first words of the answer, as shown."""
    item = assignment.campaign_item.item
    _, answer = present(question=item.question, answer=item.answer, kind=item.kind, rules=rules)
    words = _MARKUP.sub(lambda m: m.group(1) or " ", answer).split()
    snippet = " ".join(words[:SNIPPET_WORDS]) + (" …" if len(words) > SNIPPET_WORDS else "")
    public_id = assignment.first_image
    thumb = image_url(Image(public_id=public_id), size=THUMBNAIL_SIZE) if public_id else ""
    return {"thumb": thumb, "snippet": snippet}


def _queue_positions(*, campaign: Campaign, expert, ids: list[int]):
    """(assignment pk, 1-based position in the expert's queue) for ``ids``: one query."""
    wanted = set(ids)
    order = Assignment.objects.filter(campaign=campaign, expert=expert).order_by("position")
    for n, pk in enumerate(order.values_list("pk", flat=True), start=1):
        if pk in wanted:
            yield pk, n
