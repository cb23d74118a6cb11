"""The writes for subscriptions: subscribe, cancel, resume, change card, and the renewal engine.

Exactly once, by the database:

- a period's ``Renewal`` row is unique per (subscription, period_start) and exists before i'mport is
  asked for anything;
- an engine process works on a renewal only after claiming it with one conditional UPDATE (a lease,
  ``claimed_until``, on the wall clock): of two workers, two passes or a redelivered task, one wins;
- each attempt is a ``RenewalAttempt`` row with a merchant_uid derived from subscription, period and
  attempt number, committed before billing charges it; an attempt whose outcome is not known (the
  process died, i'mport timed out) is resumed with the same merchant_uid, which billing settles by
  reading i'mport, never by charging again. A new attempt starts only after the last one is known to
  have failed.

``now`` is the engine's clock (``renew_due --now``); leases use the wall clock.
"""

import contextvars
import dataclasses
import datetime
import logging
import secrets

import requests
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import conf as billing_conf
from billing import services as billing_services
from billing.models import BillingKey, BillingKeyEvent, Payment
from billing.signals import send_on_commit

from . import calendar, conf, signals
from .models import Plan, Renewal, RenewalAttempt, Subscription

logger = logging.getLogger(__name__)

Source = BillingKeyEvent.Source

# The merchant_uid an engine step is charging in this thread. That step records the outcome itself
# (``_record_outcome``), so ``on_payment_status_changed`` stands aside for it instead of doing the same
# six queries inside billing's transaction first (a fifth of a renewal's CPU, measured).
_charging_here: contextvars.ContextVar[str] = contextvars.ContextVar("charging_here", default="")

# i'mport V1 gives a declined payment no code, only ``fail_reason``; these words in it mean that the
# card itself cannot be charged again (lost, stolen, suspended, closed, expired): retrying it is useless.
_HARD_DECLINE_WORDS = (
    "분실",
    "도난",
    "정지",
    "해지",
    "유효기간",
    "lost",
    "stolen",
    "suspended",
    "closed",
    "expired",
)


class SubscriptionConflict(Exception):
    """The request contradicts the subscription's state (cancelled, another card's owner, a duplicate)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class FirstChargeFailed(Exception):
    """Subscribing failed at the first charge. ``subscription`` is as recorded (``ended``, or ``past_due``
    while an unknown outcome is checked); ``payment`` the charge, when one was made; ``cause`` i'mport's
    error, ``None`` when the card company declined."""

    def __init__(
        self,
        subscription: Subscription,
        payment: Payment | None,
        cause: billing_services.IamportCallFailed | None,
    ):
        message = cause.message if cause else (payment.fail_reason if payment else "") or "declined"
        super().__init__(message)
        self.subscription = subscription
        self.payment = payment
        self.cause = cause

    @property
    def outcome_unknown(self) -> bool:
        return self.cause is not None and self.cause.outcome_unknown


@dataclasses.dataclass
class AttemptResult:
    """What one engine step did to a renewal."""

    renewal: Renewal
    action: str  # paid, declined, retry_scheduled, unknown, unavailable, void, dunning_exhausted
    merchant_uid: str = ""
    cause: billing_services.IamportCallFailed | None = None  # when i'mport refused or could not be reached


# --- customers' operations ------------------------------------------------------------------------


def subscribe(
    *,
    owner: AbstractBaseUser,
    plan: Plan,
    billing_key: BillingKey,
    source: str,
    actor: AbstractBaseUser | None = None,
    now: datetime.datetime | None = None,
) -> Subscription:
    """Subscribe ``owner`` to ``plan``, charged to ``billing_key`` (its own, active).

    Without a trial the first period is charged at once: a decline (or i'mport refusing or being
    unreachable) ends the subscription and raises ``FirstChargeFailed``, so nothing is left
    half-subscribed; an unknown outcome leaves it ``past_due`` until the engine has read i'mport.
    """
    now = now or timezone.now()
    if not plan.active:
        raise SubscriptionConflict(_("This plan is not offered any more."))
    if billing_key.owner_id != owner.pk or not billing_key.is_usable:
        raise SubscriptionConflict(_("This card cannot be charged; register it again or choose another."))
    try:
        with transaction.atomic():
            if plan.trial_days:
                anchor = calendar.add_days(now, plan.trial_days)
                subscription = Subscription.objects.create(  # type: ignore[misc]  # FK to the host's AUTH_USER_MODEL
                    owner=owner,
                    plan=plan,
                    billing_key=billing_key,
                    uid=_new_uid(),
                    status=Subscription.Status.TRIALING,
                    billing_anchor=anchor,
                    current_period_start=now,
                    current_period_end=anchor,
                )
                return subscription
            end = calendar.boundary(now, plan.interval, plan.interval_count, 1)
            subscription = Subscription.objects.create(  # type: ignore[misc]  # FK to the host's AUTH_USER_MODEL
                owner=owner,
                plan=plan,
                billing_key=billing_key,
                uid=_new_uid(),
                status=Subscription.Status.ACTIVE,
                billing_anchor=now,
                current_period_start=now,
                current_period_end=end,
            )
            renewal = Renewal.objects.create(
                subscription=subscription,
                period_start=now,
                period_end=end,
                amount=plan.amount,
                name=plan.name[:40],
                initial=True,
                next_attempt_at=now,
            )
    except IntegrityError:
        raise SubscriptionConflict(_("You already have a subscription to this plan.")) from None
    result = attempt_renewal(renewal_id=renewal.pk, now=now, actor=actor or owner, source=source)
    subscription.refresh_from_db()
    renewal.refresh_from_db()
    if renewal.status == Renewal.Status.PAID:
        return subscription
    attempt = renewal.attempt_set.select_related("payment").order_by("-number").first()
    payment = attempt.payment if attempt else None
    cause = result.cause if result else None
    if renewal.status == Renewal.Status.UNKNOWN or result is None:
        cause = billing_services.IamportCallFailed.still_being_checked(
            "The first charge is being checked with i'mport."
        )
    elif result.action == "unavailable":
        # Nothing was charged: do not leave a subscription that was never paid for.
        _end_unpaid(subscription, renewal, now)
        subscription.refresh_from_db()
    raise FirstChargeFailed(subscription, payment, cause)


def cancel(
    *,
    subscription: Subscription,
    at_period_end: bool,
    actor: AbstractBaseUser | None,
    now: datetime.datetime | None = None,
) -> Subscription:
    """Cancel at the end of the current period (nothing more is charged), or at once (open charges void)."""
    now = now or timezone.now()
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if not subscription.is_live:
            raise SubscriptionConflict(_("This subscription has already ended."))
        subscription.cancelled_at = now
        subscription.cancelled_by = actor if actor is not None and actor.is_authenticated else None  # type: ignore[assignment]  # FK to the host's AUTH_USER_MODEL
        if at_period_end:
            subscription.cancel_at_period_end = True
        else:
            subscription.status = Subscription.Status.CANCELLED
            subscription.ended_at = now
            # Charges not yet sent are void; one in flight or unknown is settled by the engine first.
            _unclaimed(
                Renewal.objects.filter(subscription=subscription, status=Renewal.Status.PENDING)
            ).update(status=Renewal.Status.VOID, next_attempt_at=None, updated_at=timezone.now())
        subscription.save()
    return subscription


def resume(*, subscription: Subscription, actor: AbstractBaseUser | None) -> Subscription:
    """Undo a cancel at period end, before the period ends."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if not subscription.is_live or not subscription.cancel_at_period_end:
            raise SubscriptionConflict(
                _("Only a subscription set to end at the end of its period can be resumed.")
            )
        subscription.cancel_at_period_end = False
        subscription.cancelled_at = None
        subscription.cancelled_by = None
        subscription.save()
    return subscription


def change_card(
    *,
    subscription: Subscription,
    billing_key: BillingKey,
    actor: AbstractBaseUser | None,
    source: str,
    now: datetime.datetime | None = None,
) -> Subscription:
    """Charge ``billing_key`` from now on. During dunning, the new card is tried at once."""
    now = now or timezone.now()
    if billing_key.owner_id != subscription.owner_id or not billing_key.is_usable:
        raise SubscriptionConflict(_("This card cannot be charged; register it again or choose another."))
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if not subscription.is_live:
            raise SubscriptionConflict(_("This subscription has already ended."))
        subscription.billing_key = billing_key
        subscription.save(update_fields=["billing_key", "updated_at"])
        in_dunning = list(
            Renewal.objects.filter(subscription=subscription, status=Renewal.Status.PENDING, attempts__gt=0)
        )
        for renewal in in_dunning:
            if renewal.next_attempt_at is None or renewal.next_attempt_at > now:
                renewal.next_attempt_at = now
                renewal.save(update_fields=["next_attempt_at", "updated_at"])
    for renewal in in_dunning:
        from . import tasks  # tasks import services: resolved at call time

        tasks.attempt_renewal.delay(renewal.pk, now.isoformat())
    subscription.refresh_from_db()
    return subscription


def retry_now(*, renewal: Renewal, actor: AbstractBaseUser | None, now: datetime.datetime | None = None):
    """Support staff: work on an open renewal at once (a retry, or a check of an unknown charge)."""
    now = now or timezone.now()
    if not renewal.is_open:
        raise SubscriptionConflict(
            _("This renewal is %(status)s; only open ones can be retried.") % {"status": renewal.status}
        )
    Renewal.objects.filter(pk=renewal.pk, status__in=Renewal.OPEN).update(next_attempt_at=now)
    return attempt_renewal(renewal_id=renewal.pk, now=now, actor=actor, source=Source.ADMIN)


# --- the engine -------------------------------------------------------------------------------------


def sandbox_in_use() -> bool:
    """The built-in sandbox, or a served one (its published credentials): never a real i'mport."""
    return billing_conf.sandbox_in_use()


def engine_now() -> datetime.datetime:
    """The engine's clock when none is given: ours; with the sandbox, the sandbox's controllable clock
    (``POST /__sandbox__/clock``), so that moving it moves renewals too. Ours if it cannot be read."""
    if not sandbox_in_use():
        return timezone.now()
    from billing.iamport import get_client

    client = get_client()
    try:
        answer = client.session.post(client.base_url + "/__sandbox__/clock", json={"advance": 0}, timeout=5)
        seconds = answer.json()["response"]["now"]
    except (requests.RequestException, ValueError, KeyError, TypeError):
        logger.warning("the sandbox's clock could not be read; using ours")
        return timezone.now()
    return max(timezone.now(), datetime.datetime.fromtimestamp(int(seconds), tz=datetime.UTC))


@dataclasses.dataclass
class PassReport:
    opened: list[Renewal] = dataclasses.field(default_factory=list)
    ended: list[Subscription] = dataclasses.field(default_factory=list)
    results: list[AttemptResult] = dataclasses.field(default_factory=list)


def renew_due(
    *,
    now: datetime.datetime,
    source: str = Source.COMMAND,
    max_rounds: int = 200,
) -> PassReport:
    """One full pass in this process: open the periods that have begun, then charge or retry every due
    renewal, one at a time (the workers' way, at scale, is ``engine.sweep``).

    Safe to run twice at once. It repeats until nothing is left to do, so a clock moved over several
    periods charges each once and walks the retries already due.
    """
    report = PassReport()
    seen: set[int] = set()
    for _round in range(max_rounds):
        progress = False
        for subscription_id in subscriptions_to_roll_over(now):
            outcome = roll_over(subscription_id=subscription_id, now=now)
            if isinstance(outcome, Renewal):
                report.opened.append(outcome)
                progress = True
            elif isinstance(outcome, Subscription):
                report.ended.append(outcome)
                progress = True
        for renewal_id in renewals_due(now, exclude=seen):
            seen.add(renewal_id)
            result = attempt_renewal(renewal_id=renewal_id, now=now, actor=None, source=source)
            if result is not None:
                report.results.append(result)
                progress = True
                if result.action == "retry_scheduled":
                    # A retry already due by ``now`` (a clock moved over several retry days) runs in this
                    # pass too; unknown or unreachable outcomes wait for the next pass.
                    seen.discard(renewal_id)
        if not progress:
            break
    return report


def subscriptions_to_roll_over(now: datetime.datetime) -> list[int]:
    return list(
        Subscription.objects.filter(
            status__in=(Subscription.Status.TRIALING, Subscription.Status.ACTIVE), current_period_end__lte=now
        )
        .order_by("current_period_end", "id")
        .values_list("id", flat=True)[:1000]
    )


def renewals_due(now: datetime.datetime, *, exclude: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """Open renewals due by ``now`` that no process holds. Rows another transaction has locked are
    skipped (PostgreSQL); the claim in ``attempt_renewal`` is what makes a renewal one process's."""
    due = _unclaimed(Renewal.objects.filter(status__in=Renewal.OPEN, next_attempt_at__lte=now)).order_by(
        "next_attempt_at", "id"
    )
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            ids = list(due.select_for_update(skip_locked=True).values_list("id", flat=True)[:1000])
    else:
        ids = list(due.values_list("id", flat=True)[:1000])
    return [pk for pk in ids if pk not in exclude]


def roll_over(*, subscription_id: int, now: datetime.datetime) -> Renewal | Subscription | None:
    """Close the subscription's period that has ended: open the next one (a renewal to charge), or end
    it when it was cancelled at period end. ``None`` when another process did it first."""
    live = (Subscription.Status.TRIALING, Subscription.Status.ACTIVE)
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update(**_skip_locked())
            .select_related("plan")
            .filter(pk=subscription_id, status__in=live, current_period_end__lte=now)
            .first()
        )
        if subscription is None:
            return None
        if subscription.cancel_at_period_end:
            subscription.status = Subscription.Status.ENDED
            subscription.ended_at = subscription.current_period_end
            subscription.save(update_fields=["status", "ended_at", "updated_at"])
            return subscription
        plan = subscription.plan
        start = subscription.current_period_end
        end = calendar.period_end_after(
            subscription.billing_anchor, plan.interval, plan.interval_count, start
        )
        # The conditional UPDATE is the claim where rows cannot be locked (SQLite): one process wins.
        won = Subscription.objects.filter(
            pk=subscription.pk, status__in=live, current_period_end=start
        ).update(
            status=Subscription.Status.ACTIVE,
            current_period_start=start,
            current_period_end=end,
            updated_at=timezone.now(),
        )
        if not won:
            return None
        return Renewal.objects.create(
            subscription=subscription,
            period_start=start,
            period_end=end,
            amount=plan.amount,  # the price now: a running period keeps what it was sold at
            name=plan.name[:40],
            next_attempt_at=start,
        )


def attempt_renewal(
    *,
    renewal_id: int,
    now: datetime.datetime,
    actor: AbstractBaseUser | None = None,
    source: str = Source.COMMAND,
) -> AttemptResult | None:
    """Claim one due renewal and take one step: resume its unsettled attempt, or start the next one.

    Returns ``None`` when the renewal is not due or another process holds it.
    """
    token = secrets.token_hex(16)
    wall = timezone.now()
    claimed = _unclaimed(
        Renewal.objects.filter(pk=renewal_id, status__in=Renewal.OPEN, next_attempt_at__lte=now), wall
    ).update(
        claimed_until=wall + datetime.timedelta(seconds=conf.setting("SUBSCRIPTION_CLAIM_SECONDS")),
        claim_token=token,
        queued_until=None,  # out of the broker: the next sweep may send it again when it is due again
    )
    if not claimed:
        return None
    step = _prepare_attempt(renewal_id, token, now)
    if isinstance(step, AttemptResult):
        return step
    attempt = step
    renewal = attempt.renewal
    error: Exception | None = None
    charging = _charging_here.set(attempt.merchant_uid)
    try:
        billing_services.charge_billing_key(
            billing_key=attempt.billing_key,
            amount=renewal.amount,
            name=renewal.name,
            actor=actor,
            source=source,
            merchant_uid=attempt.merchant_uid,
        )
    except billing_services.PaymentConflict as conflict:
        error = conflict
    except billing_services.PaymentError as failure:
        error = failure
    finally:
        _charging_here.reset(charging)
    return _record_outcome(attempt, token, error, now)


def _prepare_attempt(renewal_id: int, token: str, now: datetime.datetime) -> RenewalAttempt | AttemptResult:
    """Under the claim: the attempt to send (the unsettled last one, or a new one committed now)."""
    with transaction.atomic():
        renewal = Renewal.objects.select_related("subscription__billing_key").get(pk=renewal_id)
        subscription = renewal.subscription
        last = None
        if renewal.attempts:  # counted in the transaction that creates each attempt: 0 means none
            last = (
                RenewalAttempt.objects.select_related("billing_key", "payment")
                .filter(renewal=renewal)
                .order_by("-number")
                .first()
            )
        if last is not None and last.outcome in (
            RenewalAttempt.Outcome.PENDING,
            RenewalAttempt.Outcome.UNKNOWN,
        ):
            last.renewal = renewal
            return last  # settle it first: same merchant_uid, billing reads i'mport before anything
        if not subscription.is_live:
            renewal.status = Renewal.Status.VOID
            renewal.next_attempt_at = None
            _release(renewal, token)
            renewal.save()
            return AttemptResult(renewal, "void")
        if (
            last is not None
            and renewal.decline == Renewal.Decline.HARD
            and last.billing_key_id == subscription.billing_key_id
        ):
            # A hard decline is not retried on the same card; its last chance was a card change.
            _exhaust(subscription, renewal, now, token)
            return AttemptResult(renewal, "dunning_exhausted")
        number = renewal.attempts + 1
        attempt = RenewalAttempt.objects.create(
            renewal=renewal,
            number=number,
            merchant_uid=merchant_uid_for(subscription, renewal, number),
            billing_key=subscription.billing_key,
        )
        renewal.attempts = number
        renewal.save(update_fields=["attempts", "updated_at"])
    attempt.renewal = renewal
    return attempt


def merchant_uid_for(subscription: Subscription, renewal: Renewal, number: int) -> str:
    """``sub<id>_<uid>_<YYYYMMDD of the period in Seoul>_<attempt>``: at most 40 characters.

    Underscores, not dashes: with dashes, a uid of hex digits only (one in 43) made the id, uid and day a
    run of 13 to 19 digits and dashes, which the logs' card-number filter removes as a card number.
    """
    day = renewal.period_start.astimezone(calendar.SEOUL).strftime("%Y%m%d")
    return f"sub{subscription.pk}_{subscription.uid}_{day}_{number}"


def _record_outcome(
    attempt: RenewalAttempt, token: str, error: Exception | None, now: datetime.datetime
) -> AttemptResult:
    """Under the claim: move the renewal from what billing recorded of ``attempt`` (read again here)."""
    with transaction.atomic():
        # The subscription's row first, then the renewal's: the order every writer of both locks them in.
        subscription = Subscription.objects.select_for_update().get(pk=attempt.renewal.subscription_id)
        renewal = Renewal.objects.select_for_update().get(pk=attempt.renewal_id)
        payment = Payment.objects.filter(merchant_uid=attempt.merchant_uid).first()
        rows = [(row, _values(row)) for row in (attempt, renewal, subscription)]
        if payment is not None and attempt.payment_id is None:
            attempt.payment = payment
        result = _apply(subscription, renewal, attempt, payment, error, now)
        _release(renewal, token)
        for row, before in rows:
            _save_changed(row, before)
    result.merchant_uid = attempt.merchant_uid
    return result


def _values(row) -> dict:
    return {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}


def _save_changed(row, before: dict) -> None:
    """Write only the fields that changed since ``before`` (a smaller UPDATE; none when nothing did)."""
    changed = [name for name, value in _values(row).items() if before[name] != value]
    if not changed:
        return
    if any(field.name == "updated_at" for field in row._meta.concrete_fields):
        changed.append("updated_at")
    row.save(update_fields=changed)


def _refused(error: Exception | None) -> bool:
    return isinstance(error, billing_services.IamportCallFailed) and error.refused


def _apply(subscription, renewal, attempt, payment, error, now) -> AttemptResult:
    """Move the renewal forward from what billing recorded of its attempt (forward only)."""
    Status = Payment.Status
    if renewal.status == Renewal.Status.PAID:  # a webhook got there first
        attempt.outcome = RenewalAttempt.Outcome.PAID
        return AttemptResult(renewal, "paid")
    if payment is not None and payment.status == Status.PAID:
        _mark_paid(subscription, renewal, attempt, payment, now)
        return AttemptResult(renewal, "paid")
    if payment is not None and payment.status == Status.FAILED and payment.imp_uid:
        attempt.outcome = RenewalAttempt.Outcome.DECLINED
        kind = _decline_kind(payment.fail_reason)
        changed = attempt.billing_key_id != subscription.billing_key_id
        return _after_failure(subscription, renewal, kind, payment.fail_reason, now, card_changed=changed)
    if isinstance(error, billing_services.PaymentConflict) and payment is None:
        attempt.outcome = RenewalAttempt.Outcome.NOT_SENT
        return _after_failure(subscription, renewal, Renewal.Decline.HARD, error.message, now)
    if payment is not None and payment.status == Status.FAILED and _refused(error):
        # i'mport refused the request itself (an unknown or deleted billing key ...): nothing charged.
        attempt.outcome = RenewalAttempt.Outcome.NOT_SENT
        result = _after_failure(subscription, renewal, Renewal.Decline.HARD, error.message, now)
        result.cause = error
        return result
    if payment is not None and payment.status == Status.FAILED:
        # i'mport was unreachable: nothing happened. The same attempt is sent again later.
        renewal.status = Renewal.Status.PENDING
        renewal.next_attempt_at = now + datetime.timedelta(
            minutes=conf.setting("SUBSCRIPTION_UNAVAILABLE_RETRY_MINUTES")
        )
        renewal.last_error = (payment.fail_reason or "i'mport unavailable")[:500]
        return AttemptResult(
            renewal,
            "unavailable",
            cause=error if isinstance(error, billing_services.IamportCallFailed) else None,
        )
    # Sent and not settled (a timeout, a crash, a PaymentConflict while another request held it):
    # checked by reading i'mport on the next pass, never charged again meanwhile.
    attempt.outcome = RenewalAttempt.Outcome.UNKNOWN
    renewal.status = Renewal.Status.UNKNOWN
    renewal.next_attempt_at = now
    if renewal.initial:
        _mark_past_due(subscription)
    return AttemptResult(renewal, "unknown")


def _mark_paid(subscription, renewal, attempt, payment, now) -> None:
    if renewal.status != Renewal.Status.PAID:
        send_on_commit(signals.subscription_renewed, renewal)
    attempt.outcome = RenewalAttempt.Outcome.PAID
    renewal.status = Renewal.Status.PAID
    renewal.paid_at = payment.paid_at or now
    renewal.next_attempt_at = None
    renewal.decline = ""
    renewal.last_error = ""
    if (
        subscription.status == Subscription.Status.PAST_DUE
        and renewal.period_start == subscription.current_period_start
    ):
        subscription.status = Subscription.Status.ACTIVE


def _after_failure(
    subscription, renewal, kind: str, reason: str, now, *, card_changed=False
) -> AttemptResult:
    renewal.decline = kind
    renewal.last_error = (reason or "declined")[:500]
    renewal.next_attempt_at = None
    if renewal.initial:
        renewal.status = Renewal.Status.FAILED
        subscription.status = Subscription.Status.ENDED
        subscription.ended_at = now
        return AttemptResult(renewal, "declined")
    if renewal.dunning_started_at is None:
        renewal.dunning_started_at = now
    days = conf.setting("SUBSCRIPTION_RETRY_DAYS")
    failures = renewal.attempts
    if failures > len(days) or not days:
        _exhaust(subscription, renewal, now)
        return AttemptResult(renewal, "dunning_exhausted")
    # A hard decline waits for a card change until the last retry day; a soft one is retried on schedule.
    offset = days[-1] if kind == Renewal.Decline.HARD else days[failures - 1]
    renewal.status = Renewal.Status.PENDING
    renewal.next_attempt_at = max(calendar.add_days(renewal.dunning_started_at, offset), now)
    if card_changed:
        renewal.next_attempt_at = now  # the customer changed the card while this attempt was in flight
    if subscription.is_live:
        _mark_past_due(subscription)
    return AttemptResult(renewal, "retry_scheduled")


def _mark_past_due(subscription: Subscription) -> None:
    if subscription.status != Subscription.Status.PAST_DUE:
        send_on_commit(signals.subscription_past_due, subscription)
    subscription.status = Subscription.Status.PAST_DUE


def _exhaust(subscription, renewal, now, token: str | None = None) -> None:
    renewal.status = Renewal.Status.FAILED
    renewal.next_attempt_at = None
    if token is not None:
        _release(renewal, token)
        renewal.save()
    if subscription.is_live and conf.setting("SUBSCRIPTION_CANCEL_AFTER_DUNNING"):
        subscription.status = Subscription.Status.CANCELLED
        subscription.cancelled_at = now
        subscription.ended_at = now
        if token is not None:
            subscription.save(update_fields=["status", "cancelled_at", "ended_at", "updated_at"])


def _end_unpaid(subscription: Subscription, renewal: Renewal, now) -> None:
    with transaction.atomic():
        RenewalAttempt.objects.filter(renewal=renewal, outcome=RenewalAttempt.Outcome.PENDING).update(
            outcome=RenewalAttempt.Outcome.NOT_SENT
        )
        Renewal.objects.filter(pk=renewal.pk, status=Renewal.Status.PENDING).update(
            status=Renewal.Status.FAILED, next_attempt_at=None, updated_at=timezone.now()
        )
        Subscription.objects.filter(pk=subscription.pk, status__in=Subscription.LIVE).update(
            status=Subscription.Status.ENDED, ended_at=now, updated_at=timezone.now()
        )


def _decline_kind(reason: str) -> str:
    lowered = (reason or "").lower()
    return (
        Renewal.Decline.HARD if any(word in lowered for word in _HARD_DECLINE_WORDS) else Renewal.Decline.SOFT
    )


def _release(renewal: Renewal, token: str) -> None:
    if renewal.claim_token == token:
        renewal.claimed_until = None
        renewal.claim_token = ""


def _unclaimed(queryset, wall: datetime.datetime | None = None):
    wall = wall or timezone.now()
    return queryset.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=wall))


def _skip_locked() -> dict:
    """SKIP LOCKED of the subscription's row only (not the plan joined to it), where the database has it."""
    if connection.features.has_select_for_update_skip_locked:
        return {"skip_locked": True, "of": ("self",)}
    return {}


def _new_uid() -> str:
    return secrets.token_hex(4)


# --- billing tells us a payment's status changed (webhook, reconcile, a charge's answer) ---------------


def on_payment_status_changed(sender, payment: Payment, previous_status: str, **kwargs) -> None:
    """A renewal whose payment i'mport says is paid is paid here, whoever learns it first.

    Only ``paid`` moves a renewal from here: a failure is acted on by the engine, which keeps the
    dunning calendar; it reads the same payment on its next step.
    """
    if payment.status != Payment.Status.PAID or payment.merchant_uid == _charging_here.get():
        return
    attempt = RenewalAttempt.objects.filter(merchant_uid=payment.merchant_uid).first()
    if attempt is None:
        return
    with transaction.atomic():
        renewal = Renewal.objects.get(pk=attempt.renewal_id)
        subscription = Subscription.objects.select_for_update().get(pk=renewal.subscription_id)
        renewal = Renewal.objects.select_for_update().get(pk=attempt.renewal_id)
        if renewal.status == Renewal.Status.PAID:
            return
        attempt.payment = payment
        _mark_paid(subscription, renewal, attempt, payment, timezone.now())
        # A paid renewal can never be claimed again: a claim left by a process that died is cleared.
        renewal.claimed_until, renewal.claim_token = None, ""
        attempt.save()
        renewal.save()
        subscription.save()
