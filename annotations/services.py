"""Writes for ratings: submit (idempotent on the client-made id), revise (with history), drafts."""

import uuid
from contextlib import nullcontext
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.db.models.signals import post_save
from django.utils import timezone

from annotations import selectors
from annotations.models import FLAGS, Rating, RatingRevision, Score
from audit.campaigns.models import Assignment, Campaign
from audit.campaigns.presentation import DONT_KNOW, expert_guess_options
from audit.campaigns.selectors import EXPERT_VISIBLE

MAX_COMMENT = 5000
MAX_ACTIVE_SECONDS_PER_SUBMIT = 4 * 3600


def _validate(assignment: Assignment, scores: dict, flags, skipped: bool, skip_reason: str):
    criteria = selectors.campaign_criteria(assignment.campaign)
    errors = {}
    if skipped:
        if not skip_reason.strip():
            errors["skip_reason"] = "say why you skip this item"
    else:
        for criterion in criteria:
            value = scores.get(criterion.key)
            if value is None:
                errors[criterion.key] = f"give a score for {criterion.name}"
            elif (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not (criterion.scale_min <= value <= criterion.scale_max)
            ):
                errors[criterion.key] = (
                    f"{criterion.name}: a whole number from {criterion.scale_min} "
                    f"to {criterion.scale_max}"
                )
        unknown = set(scores) - {c.key for c in criteria}
        if unknown:
            errors["scores"] = f"unknown criteria: {', '.join(sorted(map(str, unknown)))}"
    bad_flags = set(flags) - set(FLAGS)
    if bad_flags:
        errors["flags"] = f"unknown flags: {', '.join(sorted(map(str, bad_flags)))}"
    if errors:
        raise ValidationError(errors)
    return criteria


def _check_guess(assignment: Assignment, guess: str) -> None:
    if not guess:
        return
    codes = {o["code"] for o in expert_guess_options(assignment.campaign.design)}
    if not codes:
        raise ValidationError({"method_guess": "this audit does not ask for a guess"})
    if guess != DONT_KNOW and guess not in codes:
        raise ValidationError({"method_guess": "choose one of the offered answers"})


class RatingsClosed(ValidationError):
    """The campaign is paused or closed: nothing was stored (the API answers 409)."""

    def __init__(self, campaign_status: str):
        super().__init__(f"the campaign is {campaign_status}; ratings are closed")
        self.campaign_status = campaign_status


def _check_can_rate(assignment: Assignment, expert) -> None:
    if assignment.expert_id != expert.pk:
        raise ValidationError("this item is not in your queue")
    if assignment.campaign.status != Campaign.Status.ACTIVE:
        raise RatingsClosed(assignment.campaign.status)


class RatingConflict(Exception):
    """Other submits of the same item (another tab) kept committing first; ``rating`` is the
    stored state the expert's input would overwrite."""

    def __init__(self, rating: Rating):
        super().__init__(f"rating {rating.pk} changed meanwhile (revision {rating.revision})")
        self.rating = rating


# Attempts of one submit that loses races to other submits of the same item before it answers 409.
SUBMIT_ATTEMPTS = 3


@dataclass(frozen=True)
class Submitted:
    """A stored (or recognised as already stored) rating and where the expert goes next."""

    rating: Rating
    duplicate: bool
    # The public id of the expert's first pending item in the campaign, None when none is left.
    upcoming: uuid.UUID | None


def rating_submit(*, assignment: Assignment, expert, **fields) -> Rating:
    """Store an expert's rating of ``assignment`` (see ``expert_rating_submit`` for the rules).
    A retried submit returns the stored rating unchanged, marked ``replayed = True``."""
    done = _submit(Assignment.objects.filter(pk=assignment.pk), expert, **fields)
    done.rating.replayed = done.duplicate
    return done.rating


def expert_rating_submit(*, expert, campaign_id, assignment_id, **fields) -> Submitted:
    """The API's submit: the expert's assignment found by public ids under the permission
    filter of ``selectors.expert_assignments``, locked, checked and written in one transaction,
    and the next item read in the same query as the lock. Raises Assignment.DoesNotExist when
    it is not one of the expert's (the API answers 404, as for a read)."""
    done = _submit_first(expert, campaign_id, assignment_id, **fields)
    if done is not None:
        return done
    target = expert_assignments_by_id(expert, campaign_id, assignment_id)
    return _submit(target.annotate(upcoming=selectors.upcoming_public_id()), expert, **fields)


# --- the common submit in one statement -------------------------------------------------------
# An expert's first rating of a pending item, scored on every criterion, in an active campaign,
# without a method guess: what almost every submit is. It is written by hand (the ORM's Python
# cost more than the database's work): on PostgreSQL one statement locks the assignment under
# the permission filter, stores the rating, its scores and the assignment's new state and reads
# the next item; on SQLite the same steps in one transaction. Anything else (a revision, a
# retry, a skip, a guess, invalid scores, a closed campaign, someone else's item, a race lost
# to another tab) finds no row or fails there, leaves nothing stored, and takes the general
# path below, which gives every answer its exact shape.

# Launched campaigns' validation data, per process (criteria never change after launch):
# campaign public id -> (pk, ((criterion pk, key, lowest, highest), ...)).
_LAUNCHED: dict = {}
_LAUNCHED_MAX = 1000


def _launched_criteria(campaign_id) -> tuple | None:
    known = _LAUNCHED.get(campaign_id)
    if known is None:
        campaign = (
            Campaign.objects.filter(public_id=campaign_id, status__in=EXPERT_VISIBLE)
            .only("pk", "public_id", "status")
            .first()
        )
        if campaign is None:
            return None
        criteria = tuple(
            (c.pk, c.key, c.scale_min, c.scale_max) for c in selectors.campaign_criteria(campaign)
        )
        if len(_LAUNCHED) >= _LAUNCHED_MAX:
            _LAUNCHED.clear()
        known = _LAUNCHED[campaign_id] = (campaign.pk, criteria)
    return known


def _submit_first(expert, campaign_id, assignment_id, *, client_id, scores, flags=(),
                  comment="", active_seconds=0.0, skipped=False, skip_reason="",
                  method_guess="") -> Submitted | None:  # fmt: skip
    """The common submit (see above), or None when it is not one: nothing was stored then."""
    if skipped or method_guess or not expert.is_authenticated:
        return None
    known = _launched_criteria(campaign_id)
    if known is None:
        return None
    _, criteria = known
    if set(scores) != {key for _, key, _, _ in criteria} or set(flags) - set(FLAGS):
        return None
    values = []
    for pk, key, lowest, highest in criteria:
        value = scores[key]
        if not isinstance(value, int) or isinstance(value, bool) or not lowest <= value <= highest:
            return None
        values.append((pk, value))
    now = timezone.now()
    rating = Rating(
        client_id=client_id,
        flags=sorted(set(flags)),
        comment=comment[:MAX_COMMENT],
        skipped=False,
        skip_reason="",
        method_guess="",
        active_seconds=max(0.0, min(float(active_seconds), MAX_ACTIVE_SECONDS_PER_SUBMIT)),
        revision=1,
        submitted_at=now,
        updated_at=now,
    )
    prep = _prepare(rating, campaign_id, assignment_id, expert)
    try:
        if connection.vendor == "postgresql":
            row = _submit_first_postgresql(prep, values)
        else:
            row = _submit_first_in_steps(prep, values)
    except IntegrityError:
        return None  # rated before (a revision), a racing submit, or a client id used before
    if row is None:
        return None
    rating.pk, assignment_pk, upcoming = row
    # What saving through the ORM would announce (the analysis listens for new ratings), with
    # the assignment known so listeners need no query.
    rating.assignment = Assignment(pk=assignment_pk, campaign_id=known[0], expert_id=expert.pk)
    post_save.send(
        sender=Rating, instance=rating, created=True, update_fields=None, raw=False,
        using=connection.alias,
    )  # fmt: skip
    return Submitted(rating, False, _uuid(upcoming))


def _uuid(value):
    return Assignment._meta.get_field("public_id").to_python(value)


def _prepare(rating: Rating, campaign_id, assignment_id, expert) -> dict:
    """The statement's values, as the ORM would send them to this database."""

    def db(model, name, value):
        return model._meta.get_field(name).get_db_prep_value(value, connection)

    return {
        "assignment": db(Assignment, "public_id", assignment_id),
        "campaign": db(Campaign, "public_id", campaign_id),
        "expert": expert.pk,
        "client_id": db(Rating, "client_id", rating.client_id),
        "flags": db(Rating, "flags", rating.flags),
        "comment": rating.comment,
        "active_seconds": rating.active_seconds,
        "now": db(Rating, "updated_at", rating.updated_at),
        "empty": db(Assignment, "draft", {}),
    }


# The assignment under the permission filter of ``selectors.expert_assignments``, in an active
# campaign; and the public id of the expert's next pending item after it. One already rated
# fails the rating's insert (its assignment is unique) and so takes the general path: a NOT
# EXISTS here was planned, in a table without statistics yet (a new database), as a scan of
# every rating on each submit.
_TARGET = """
    SELECT t.id, t.campaign_id, t.expert_id FROM campaigns_assignment t
    JOIN campaigns_campaign c ON c.id = t.campaign_id
    WHERE t.public_id = %(assignment)s AND c.public_id = %(campaign)s
        AND t.expert_id = %(expert)s AND c.status = 'active'
        AND EXISTS (SELECT 1 FROM campaigns_membership e WHERE e.campaign_id = t.campaign_id
                    AND e.user_id = t.expert_id AND e.role = 'expert' AND e.active)
"""
_UPCOMING = """
    SELECT p.public_id FROM campaigns_assignment p
    WHERE p.campaign_id = target.campaign_id AND p.expert_id = target.expert_id
        AND p.status = 'pending' AND p.id <> target.id
    ORDER BY p.position LIMIT 1
"""
_RATING_COLUMNS = """assignment_id, client_id, flags, comment, skipped, skip_reason,
    method_guess, active_seconds, revision, submitted_at, updated_at"""
_RATING_VALUES = """%(client_id)s, %(flags)s, %(comment)s, FALSE, '', '', %(active_seconds)s, 1,
    %(now)s, %(now)s"""
_ASSIGNMENT_DONE = """status = 'submitted', active_seconds = active_seconds + %(active_seconds)s,
    submitted_at = %(now)s, draft = %(empty)s"""


def _score_values(values: list[tuple[int, int]], prep: dict) -> str:
    rows = []
    for n, (criterion, value) in enumerate(values):
        prep[f"c{n}"], prep[f"v{n}"] = criterion, value
        rows.append(f"(%(c{n})s, %(v{n})s)")
    return ", ".join(rows)


def _submit_first_postgresql(prep: dict, values) -> tuple | None:
    scores = _score_values(values, prep)
    sql = f"""
        WITH target AS ({_TARGET} FOR UPDATE OF t),
        rating AS (
            INSERT INTO annotations_rating ({_RATING_COLUMNS})
            SELECT target.id, {_RATING_VALUES} FROM target RETURNING id, assignment_id
        ),
        scores AS (
            INSERT INTO annotations_score (rating_id, criterion_id, value)
            SELECT rating.id, v.criterion_id, v.value
            FROM rating CROSS JOIN (VALUES {scores}) AS v (criterion_id, value)
        ),
        done AS (
            UPDATE campaigns_assignment SET {_ASSIGNMENT_DONE}
            FROM rating WHERE campaigns_assignment.id = rating.assignment_id
        )
        SELECT rating.id, rating.assignment_id, ({_UPCOMING})
        FROM rating JOIN target ON target.id = rating.assignment_id
    """  # noqa: S608 (fixed text; every value a parameter)
    # Inside a transaction (a caller's, or a test's) a failed statement needs its savepoint.
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with savepoint, selectors.hot_cursor() as cursor:
        cursor.execute(sql, prep)
        return cursor.fetchone()


def _submit_first_in_steps(prep: dict, values) -> tuple | None:
    """The same on a database without data-modifying CTEs (SQLite: it serialises writers)."""
    scores = _score_values(values, prep)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT target.id, ({_UPCOMING}) FROM ({_TARGET}) AS target",  # noqa: S608
            prep,
        )
        row = cursor.fetchone()
        if row is None:
            return None
        prep["target"] = row[0]
        cursor.execute(
            f"INSERT INTO annotations_rating ({_RATING_COLUMNS}) "  # noqa: S608
            f"VALUES (%(target)s, {_RATING_VALUES})",
            prep,
        )
        prep["rating"] = cursor.lastrowid
        cursor.execute(
            "INSERT INTO annotations_score (rating_id, criterion_id, value) "  # noqa: S608
            f"SELECT %(rating)s, v.column1, v.column2 FROM (VALUES {scores}) AS v",
            prep,
        )
        cursor.execute(
            f"UPDATE campaigns_assignment SET {_ASSIGNMENT_DONE} WHERE id = %(target)s",  # noqa: S608
            prep,
        )
        return prep["rating"], row[0], row[1]


def expert_assignments_by_id(expert, campaign_id, assignment_id) -> QuerySet[Assignment]:
    return selectors.expert_assignments(expert).filter(
        campaign__public_id=campaign_id, public_id=assignment_id
    )


def _submit(
    target: QuerySet[Assignment],
    expert,
    *,
    client_id: uuid.UUID,
    scores: dict[str, int],
    flags: list[str] = (),
    comment: str = "",
    active_seconds: float = 0.0,
    skipped: bool = False,
    skip_reason: str = "",
    method_guess: str = "",
) -> Submitted:
    """Store an expert's rating of the one assignment in ``target``. A retried submit (same
    ``client_id``) returns the stored rating unchanged, as a duplicate; a submit for an
    already-rated assignment is a revision. Concurrent submits of one item (two tabs) are
    serialised by the assignment's row lock: each is stored as if it came after the other; one
    that keeps losing raises RatingConflict (nothing of it stored)."""
    flags = sorted(set(flags))
    comment = comment[:MAX_COMMENT]
    active_seconds = max(0.0, min(float(active_seconds), MAX_ACTIVE_SECONDS_PER_SUBMIT))
    for _attempt in range(SUBMIT_ATTEMPTS):
        try:
            return _submit_once(target, expert, client_id, scores, flags, comment,
                                active_seconds, skipped, skip_reason, method_guess)  # fmt: skip
        except IntegrityError:
            # The client id is taken: by this item's rating from a racing retry (the first one
            # won: return it), or by another item's (an error; nothing was stored).
            rating = Rating.objects.filter(client_id=client_id).first()
            if rating is not None:
                if not target.filter(pk=rating.assignment_id).exists():
                    raise ValidationError(
                        {"client_id": "this submission id was already used for another item"}
                    ) from None
                upcoming = selectors.next_pending(
                    campaign=rating.assignment.campaign, expert=expert
                )
                return Submitted(rating, True, upcoming.public_id if upcoming else None)
            # Another submit of this item committed while this one waited for the lock (the
            # join read the rating from before it): try again, now as a revision of it.
    raise RatingConflict(Rating.objects.get(assignment__in=target.values("pk")))


def _submit_once(target, expert, client_id, scores, flags, comment, active_seconds, skipped,
                 skip_reason, method_guess="") -> Submitted:  # fmt: skip
    with transaction.atomic():
        # The assignment locked, with its campaign and its rating if any, in one query (which
        # also applies the caller's permission filter and may read the next item).
        assignment = (
            target.select_for_update(of=("self",)).select_related("campaign", "rating").get()
        )
        upcoming = getattr(assignment, "upcoming", None)
        stored = getattr(assignment, "rating", None)
        if (
            stored is not None
            and stored.client_id == client_id
            and (assignment.expert_id == expert.pk)
        ):
            # A retried submit (or the same one that won the lock): stored once, and
            # acknowledged even if the campaign was paused since.
            return Submitted(stored, True, upcoming)
        _check_can_rate(assignment, expert)
        criteria = _validate(assignment, scores, flags, skipped, skip_reason)
        _check_guess(assignment, method_guess)
        if stored is not None:
            stored.method_guess = method_guess
            rating = _revise(assignment.rating, expert, client_id, criteria, scores, flags,
                             comment, active_seconds, skipped, skip_reason)  # fmt: skip
            return Submitted(rating, False, upcoming)
        rating = Rating.objects.create(
            assignment=assignment,
            client_id=client_id,
            flags=flags,
            comment=comment,
            skipped=skipped,
            skip_reason=skip_reason[:500] if skipped else "",
            active_seconds=active_seconds,
            method_guess=method_guess,
        )
        if not skipped:
            Score.objects.bulk_create(
                Score(rating=rating, criterion=c, value=scores[c.key]) for c in criteria
            )
        assignment.status = Assignment.Status.SKIPPED if skipped else Assignment.Status.SUBMITTED
        assignment.active_seconds += active_seconds
        assignment.submitted_at = timezone.now()
        assignment.draft = {}
        assignment.save(update_fields=["status", "active_seconds", "submitted_at", "draft"])
        return Submitted(rating, False, upcoming)


def _revise(rating, expert, client_id, criteria, scores, flags, comment, active_seconds,
            skipped, skip_reason) -> Rating:  # fmt: skip
    old_scores = dict(rating.scores.values_list("criterion__key", "value"))
    old_skipped = rating.skipped
    RatingRevision.objects.create(
        rating=rating,
        revision=rating.revision,
        scores=old_scores,
        flags=rating.flags,
        comment=rating.comment,
        skipped=rating.skipped,
        changed_by=expert,
    )
    rating.scores.all().delete()
    if not skipped:
        Score.objects.bulk_create(
            Score(rating=rating, criterion=c, value=scores[c.key]) for c in criteria
        )
    rating.client_id = client_id
    rating.flags, rating.comment = flags, comment
    rating.skipped, rating.skip_reason = skipped, (skip_reason[:500] if skipped else "")
    rating.active_seconds += active_seconds
    rating.revision += 1
    rating.save()
    assignment = rating.assignment
    assignment.status = Assignment.Status.SKIPPED if skipped else Assignment.Status.SUBMITTED
    assignment.active_seconds += active_seconds
    assignment.save(update_fields=["status", "active_seconds"])
    from audit.core.services import audit_event_record  # the audit trail (issue 7)

    new_scores = {} if skipped else {c.key: scores[c.key] for c in criteria}
    audit_event_record(
        actor=expert,
        verb="rating.revised",
        target=rating,
        campaign=assignment.campaign,
        data={"revision": rating.revision, "old_scores": old_scores, "new_scores": new_scores,
              "old_skipped": bool(old_skipped), "skipped": skipped},
    )  # fmt: skip
    return rating


def draft_save(*, assignment: Assignment, expert, draft: dict) -> None:
    """Keep the expert's unfinished input so a reload or a lost connection restores it."""
    if assignment.expert_id != expert.pk:
        raise ValidationError("this item is not in your queue")
    if len(str(draft)) > 20_000:
        raise ValidationError("draft too large")
    now = timezone.now()
    Assignment.objects.filter(pk=assignment.pk, status=Assignment.Status.PENDING).update(
        draft=draft, draft_updated_at=now
    )
    if assignment.first_shown_at is None:
        Assignment.objects.filter(pk=assignment.pk, first_shown_at__isnull=True).update(
            first_shown_at=now
        )
