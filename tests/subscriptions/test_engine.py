"""The renewal engine against the in-process sandbox: each period charged once, in Seoul's calendar."""

import datetime

import pytest
from django.core.management import call_command

from billing.logging_filters import redact
from billing.models import Payment
from subscriptions import conf, engine, services, tasks
from subscriptions.models import Plan, Renewal, RenewalAttempt, Subscription
from tests.subscriptions.conftest import FAILING_CARD, seoul

pytestmark = pytest.mark.django_db
WEB = "web"


def subscribe(user, plan, key, now):
    return services.subscribe(owner=user, plan=plan, billing_key=key, source=WEB, now=now)


def test_subscribing_charges_the_first_period_at_once(user, plan, good_key, ledger):
    start = seoul(2027, 1, 31, 10, 0)

    subscription = subscribe(user, plan, good_key, start)

    assert subscription.status == Subscription.Status.ACTIVE
    assert (subscription.current_period_start, subscription.current_period_end) == (
        start,
        seoul(2027, 2, 28, 10),
    )
    renewal = subscription.renewals.get()
    assert (renewal.status, renewal.amount, renewal.attempts) == (Renewal.Status.PAID, 9900, 1)
    attempt = renewal.attempt_set.get()
    assert attempt.merchant_uid == f"sub{subscription.pk}_{subscription.uid}_20270131_1"
    assert attempt.payment.status == Payment.Status.PAID
    assert ledger.payment(attempt.merchant_uid).status == "paid"
    assert ledger.charges() == 1


def test_month_ends_clamp_and_come_back(user, plan, good_key, ledger):
    subscription = subscribe(user, plan, good_key, seoul(2027, 1, 31, 10))

    for now in (seoul(2027, 2, 28, 10), seoul(2027, 3, 31, 10), seoul(2027, 4, 30, 10)):
        services.renew_due(now=now)

    periods = [(r.period_start, r.status) for r in subscription.renewals.order_by("period_start")]
    assert periods == [
        (seoul(2027, 1, 31, 10), "paid"),
        (seoul(2027, 2, 28, 10), "paid"),
        (seoul(2027, 3, 31, 10), "paid"),
        (seoul(2027, 4, 30, 10), "paid"),
    ]
    subscription.refresh_from_db()
    assert subscription.current_period_end == seoul(2027, 5, 31, 10)
    assert ledger.charges() == 4


def test_a_leap_year_february_29_yearly_plan_renews_on_february_28(user, good_key, ledger):
    yearly = Plan.objects.create(code="yearly", name="Yearly", amount=99000, interval=Plan.Interval.YEAR)
    subscription = subscribe(user, yearly, good_key, seoul(2028, 2, 29, 9))

    services.renew_due(now=seoul(2029, 2, 28, 9))

    subscription.refresh_from_db()
    assert subscription.current_period_start == seoul(2029, 2, 28, 9)
    assert subscription.current_period_end == seoul(2030, 2, 28, 9)
    assert subscription.renewals.filter(status=Renewal.Status.PAID).count() == 2
    assert ledger.charges() == 2


def test_a_pass_run_twice_charges_each_period_once(user, plan, good_key, ledger):
    subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))

    first = services.renew_due(now=seoul(2027, 2, 10, 12))
    second = services.renew_due(now=seoul(2027, 2, 10, 12))

    assert [r.action for r in first.results] == ["paid"]
    assert second.results == [] and second.opened == []
    assert ledger.charges() == 2


def test_a_clock_moved_over_several_periods_charges_each_once(user, plan, good_key, ledger):
    subscription = subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))

    services.renew_due(now=seoul(2027, 4, 11, 0))

    assert subscription.renewals.filter(status=Renewal.Status.PAID).count() == 4
    assert ledger.charges() == 4


def test_a_price_change_applies_from_the_next_period(user, plan, good_key, ledger):
    subscription = subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))
    plan.amount = 12900
    plan.save()

    services.renew_due(now=seoul(2027, 2, 10, 12))

    amounts = list(subscription.renewals.order_by("period_start").values_list("amount", flat=True))
    assert amounts == [9900, 12900]
    assert Payment.objects.order_by("created_at").last().amount == 12900


def test_a_trial_charges_nothing_until_it_ends(user, good_key, ledger):
    trial = Plan.objects.create(code="trial", name="Trial plan", amount=5000, trial_days=14)
    subscription = subscribe(user, trial, good_key, seoul(2027, 1, 1, 9))

    assert subscription.status == Subscription.Status.TRIALING
    services.renew_due(now=seoul(2027, 1, 14, 9))
    assert ledger.charges() == 0 and not subscription.renewals.exists()

    services.renew_due(now=seoul(2027, 1, 15, 9))

    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.current_period_end == seoul(2027, 2, 15, 9)
    assert subscription.renewals.get().status == Renewal.Status.PAID
    assert ledger.charges() == 1


def test_cancel_at_period_end_charges_nothing_more_and_resume_undoes_it(user, plan, good_key, ledger):
    subscription = subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))
    services.cancel(subscription=subscription, at_period_end=True, actor=user)
    services.resume(subscription=subscription, actor=user)
    services.renew_due(now=seoul(2027, 2, 10, 12))
    assert ledger.charges() == 2

    services.cancel(subscription=subscription, at_period_end=True, actor=user)
    services.renew_due(now=seoul(2027, 3, 10, 12))

    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ENDED
    assert subscription.ended_at == seoul(2027, 3, 10, 12)
    assert ledger.charges() == 2
    with pytest.raises(services.SubscriptionConflict):
        services.resume(subscription=subscription, actor=user)


def test_a_declined_first_charge_leaves_nothing_subscribed(user, plan, failing_key, ledger):
    with pytest.raises(services.FirstChargeFailed) as failure:
        subscribe(user, plan, failing_key, seoul(2027, 1, 10, 12))

    subscription = failure.value.subscription
    assert subscription.status == Subscription.Status.ENDED
    assert failure.value.payment.status == Payment.Status.FAILED
    assert subscription.renewals.get().status == Renewal.Status.FAILED
    services.renew_due(now=seoul(2027, 3, 1))
    assert ledger.charges() == 1


def test_dunning_retries_on_schedule_then_cancels(user, plan, good_key, register, ledger):
    subscription = subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))
    failing = register(user, "4000-0000-0000-9995")
    services.change_card(subscription=subscription, billing_key=failing, actor=user, source=WEB)

    due = seoul(2027, 2, 10, 12)
    services.renew_due(now=due)
    subscription.refresh_from_db()
    renewal = subscription.renewals.get(period_start=due)
    assert subscription.status == Subscription.Status.PAST_DUE
    assert (renewal.status, renewal.attempts, renewal.decline) == ("pending", 1, "soft")
    assert renewal.next_attempt_at == due + datetime.timedelta(days=1)

    services.renew_due(now=due + datetime.timedelta(hours=23))  # not yet
    assert ledger.charges() == 2
    for days, attempts in ((1, 2), (3, 3), (5, 4)):
        services.renew_due(now=due + datetime.timedelta(days=days))
        renewal.refresh_from_db()
        assert renewal.attempts == attempts

    subscription.refresh_from_db()
    assert renewal.status == Renewal.Status.FAILED
    assert subscription.status == Subscription.Status.CANCELLED
    assert ledger.charges() == 1 + 4
    merchant_uids = list(renewal.attempt_set.values_list("merchant_uid", flat=True))
    assert len(set(merchant_uids)) == 4
    assert all(ledger.payment(uid).status == "failed" for uid in merchant_uids)


def test_a_card_changed_during_dunning_is_charged_at_once(
    user, plan, failing_key, register, ledger, settings
):
    subscription = subscribe(user, plan, register(user), seoul(2027, 1, 10, 12))
    services.change_card(subscription=subscription, billing_key=failing_key, actor=user, source=WEB)
    services.renew_due(now=seoul(2027, 2, 10, 12))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAST_DUE

    new_card = register(user)
    services.change_card(
        subscription=subscription, billing_key=new_card, actor=user, source=WEB, now=seoul(2027, 2, 10, 18)
    )

    subscription.refresh_from_db()
    renewal = subscription.renewals.get(period_start=seoul(2027, 2, 10, 12))
    assert subscription.status == Subscription.Status.ACTIVE
    assert (renewal.status, renewal.attempts) == (Renewal.Status.PAID, 2)
    assert renewal.attempt_set.get(number=2).billing_key == new_card
    assert ledger.charges() == 3
    services.renew_due(now=seoul(2027, 2, 16))
    assert ledger.charges() == 3


def test_a_crash_after_the_charge_is_resolved_by_reading_iamport(
    user, plan, good_key, ledger, crash_after_next_charge, settings
):
    from tests.subscriptions.conftest import Crash

    settings.SUBSCRIPTION_CLAIM_SECONDS = 0  # the crashed process's claim has lapsed
    with pytest.raises(Crash):
        subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))
    attempt = RenewalAttempt.objects.get()
    assert Payment.objects.get(merchant_uid=attempt.merchant_uid).status == Payment.Status.READY
    assert ledger.payment(attempt.merchant_uid).status == "paid"

    report = services.renew_due(now=seoul(2027, 1, 10, 12, 5))

    assert [r.action for r in report.results] == ["paid"]
    attempt.refresh_from_db()
    assert attempt.renewal.status == Renewal.Status.PAID and attempt.renewal.attempts == 1
    assert attempt.payment.status == Payment.Status.PAID
    assert ledger.charges() == 1


def test_a_crash_before_the_charge_left_waits_out_the_grace_then_sends_the_same_attempt(
    user, plan, good_key, ledger, crash_before_next_charge, settings
):
    """The engine suite's SIGKILL between our commit and i'mport's receipt, held at one moment: i'mport's
    404 is not proof within the grace (the charge may be on its way), so the renewal stays ``unknown`` and
    nothing is sent; once the grace is over the same attempt (same merchant_uid) is sent, and paid once."""
    from tests.subscriptions.conftest import Crash

    settings.SUBSCRIPTION_CLAIM_SECONDS = 0  # the crashed process's claim has lapsed
    settings.SUBSCRIPTION_UNAVAILABLE_RETRY_MINUTES = 0
    with pytest.raises(Crash):
        subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))
    attempt = RenewalAttempt.objects.get()
    assert Payment.objects.get(merchant_uid=attempt.merchant_uid).status == Payment.Status.READY
    assert ledger.charges() == 0

    report = services.renew_due(now=seoul(2027, 1, 10, 12, 5))  # within the grace
    assert [r.action for r in report.results] == ["unknown"]
    assert ledger.charges() == 0

    settings.BILLING = {**settings.BILLING, "UNKNOWN_GRACE_SECONDS": 0}
    actions = []
    for minute in (6, 7):  # past the grace: failed as never received, then sent again
        actions += [r.action for r in services.renew_due(now=seoul(2027, 1, 10, 12, minute)).results]

    assert actions == ["unavailable", "paid"]
    attempt.refresh_from_db()
    assert attempt.renewal.status == Renewal.Status.PAID and attempt.renewal.attempts == 1
    assert attempt.payment.status == Payment.Status.PAID
    assert [p["merchant_uid"] for p in ledger.payments_of(good_key.customer_uid)] == [attempt.merchant_uid]


def test_a_renewal_held_by_another_process_is_left_alone(user, plan, good_key, ledger):
    subscription = subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))
    services.roll_over(subscription_id=subscription.pk, now=seoul(2027, 2, 10, 12))
    renewal = subscription.renewals.get(period_start=seoul(2027, 2, 10, 12))
    Renewal.objects.filter(pk=renewal.pk).update(
        claimed_until=datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1), claim_token="other"
    )

    assert services.renew_due(now=seoul(2027, 2, 10, 12)).results == []
    assert ledger.charges() == 1


def test_the_command_prints_what_it_did_and_dry_run_charges_nothing(user, plan, good_key, ledger, capsys):
    subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))

    call_command("renew_due", "--now", "2027-02-10T12:00:00+09:00", "--dry-run")
    dry = capsys.readouterr().out
    assert "would open" in dry and "nothing was charged" in dry
    assert ledger.charges() == 1

    call_command("renew_due", "--now", "2027-02-10T12:00:00+09:00")
    out = capsys.readouterr().out
    assert "opened 2027-02-10..2027-03-10 for 9900 won" in out and ": paid sub" in out
    assert ledger.charges() == 2

    call_command("renew_due", "--status", "--now", "2027-02-10T12:00:00+09:00")
    assert "due=0" in capsys.readouterr().out and ledger.charges() == 2


def test_now_in_the_future_is_refused_in_production(settings, db):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    settings.BILLING = {**settings.BILLING, "SANDBOX": False}
    settings.BILLING = {**settings.BILLING, "API_KEY": "live_key"}

    with pytest.raises(CommandError, match="future"):
        call_command("renew_due", "--now", "2099-01-01T00:00:00+09:00")


def test_the_sandbox_clock_drives_the_engine(user, plan, good_key, ledger, capsys):
    subscription = services.subscribe(owner=user, plan=plan, billing_key=good_key, source=WEB)
    call_command("renew_due")
    assert ledger.charges() == 1

    ledger.advance_clock(days=32)
    call_command("renew_due")

    assert "1 opened" in capsys.readouterr().out
    assert subscription.renewals.filter(status=Renewal.Status.PAID).count() == 2
    assert ledger.charges() == 2


def test_the_beat_sweep_hands_due_renewals_to_tasks_that_run_in_process(user, plan, good_key, ledger):
    from subscriptions import tasks

    subscription = subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))

    enqueued = tasks.sweep.delay(seoul(2027, 2, 10, 12).isoformat()).get()

    assert enqueued == 1
    assert subscription.renewals.filter(status=Renewal.Status.PAID).count() == 2
    assert tasks.attempt_renewal.delay(subscription.renewals.first().pk).get() is None  # paid: nothing to do
    assert ledger.charges() == 2


def test_a_clock_moved_past_every_retry_day_walks_the_whole_dunning_path_once(
    user, plan, good_key, register, ledger
):
    subscription = subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))
    services.change_card(
        subscription=subscription, billing_key=register(user, FAILING_CARD), actor=user, source=WEB
    )

    services.renew_due(now=seoul(2027, 2, 10, 12))  # the first attempt fails
    services.renew_due(now=seoul(2027, 2, 20, 12))  # every retry day has passed

    renewal = subscription.renewals.get(period_start=seoul(2027, 2, 10, 12))
    subscription.refresh_from_db()
    assert (renewal.status, renewal.attempts) == (Renewal.Status.FAILED, 4)
    assert subscription.status == Subscription.Status.CANCELLED
    assert ledger.charges() == 1 + 4
    services.renew_due(now=seoul(2027, 3, 20, 12))
    assert ledger.charges() == 1 + 4


def test_a_card_changed_while_a_declined_attempt_was_in_flight_is_tried_in_the_same_pass(
    user, plan, good_key, register, ledger, after_next_charge
):
    subscription = subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))
    services.change_card(
        subscription=subscription, billing_key=register(user, FAILING_CARD), actor=user, source=WEB
    )
    new_card = register(user)
    after_next_charge(
        lambda: services.change_card(subscription=subscription, billing_key=new_card, actor=user, source=WEB)
    )

    services.renew_due(now=seoul(2027, 2, 10, 12))

    renewal = subscription.renewals.get(period_start=seoul(2027, 2, 10, 12))
    assert (renewal.status, renewal.attempts) == (Renewal.Status.PAID, 2)
    assert renewal.attempt_set.get(number=2).billing_key == new_card
    assert ledger.charges() == 3


def test_a_renewals_log_line_keeps_its_merchant_uid_whatever_digits_its_uid_has(
    user, plan, good_key, ledger, caplog
):
    """A uid of hex digits only (one subscription in 43) once made the id, uid and day one run of digits
    and dashes that the logs' card-number filter removed: support could not find the charge."""
    subscription = subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))
    Subscription.objects.filter(pk=subscription.pk).update(uid="00000129")
    services.roll_over(subscription_id=subscription.pk, now=seoul(2027, 2, 10, 12))
    renewal = subscription.renewals.get(period_start=seoul(2027, 2, 10, 12))

    with caplog.at_level("INFO", logger="subscriptions.tasks"):
        tasks.attempt_renewal.run(renewal.pk, seoul(2027, 2, 10, 12).isoformat())

    merchant_uid = renewal.attempt_set.get().merchant_uid
    assert merchant_uid == f"sub{subscription.pk}_00000129_20270210_1"
    line = next(r.getMessage() for r in caplog.records if f"renewal {renewal.pk} " in r.getMessage())
    assert merchant_uid in redact(line)


def test_a_host_that_sets_no_subscription_setting_runs_on_the_defaults(
    user, plan, good_key, failing_key, ledger, settings
):
    """A merchant's project that installs the app sets none of the SUBSCRIPTION_* names: the engine, the
    sweep and dunning run on the documented defaults (a failed renewal is retried a day later)."""
    for name in conf.DEFAULTS:
        if hasattr(settings, name):
            delattr(settings, name)
    subscription = subscribe(user, plan, good_key, seoul(2027, 1, 10, 12))
    Subscription.objects.filter(pk=subscription.pk).update(billing_key=failing_key)

    report = engine.sweep(now=seoul(2027, 2, 10, 12), send=lambda ids, now: None)
    renewal = subscription.renewals.get(period_start=seoul(2027, 2, 10, 12))
    result = services.attempt_renewal(renewal_id=renewal.pk, now=seoul(2027, 2, 10, 12))

    assert report.opened == 1
    assert result is not None and result.action == "retry_scheduled"
    renewal.refresh_from_db()
    assert renewal.next_attempt_at == seoul(2027, 2, 11, 12)  # SUBSCRIPTION_RETRY_DAYS[0] = 1 day
