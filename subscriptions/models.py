"""Plans, subscriptions and their renewals: our own records (i'mport has no subscription object).

A ``Renewal`` is one period of one subscription: its row exists (unique per subscription and period)
before i'mport is ever asked to charge it, and each ``RenewalAttempt`` carries the deterministic
``merchant_uid`` of one charge, so a period is charged at most once whatever runs twice.
Money is whole won.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Plan(models.Model):
    """What a customer can subscribe to. A price change applies from each subscription's next period."""

    class Interval(models.TextChoices):
        WEEK = "week", _("Week")
        MONTH = "month", _("Month")
        YEAR = "year", _("Year")

    code = models.SlugField(
        max_length=50, unique=True, help_text="Stable id used by the API, e.g. basic-monthly."
    )
    name = models.CharField(
        max_length=40, help_text="Shown to the customer and sent to i'mport as the order name."
    )
    amount = models.PositiveBigIntegerField(help_text="Price of one period, in won.")
    interval = models.CharField(
        max_length=8, choices=Interval.choices, default=Interval.MONTH, help_text="Unit of one period."
    )
    interval_count = models.PositiveSmallIntegerField(default=1, help_text="How many units make a period.")
    trial_days = models.PositiveSmallIntegerField(default=0, help_text="Free days before the first charge.")
    active = models.BooleanField(default=True, help_text="Offered to new subscribers.")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the plan was created.")
    updated_at = models.DateTimeField(auto_now=True, help_text="Last change to this row.")

    class Meta:
        ordering = ["amount", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="plan_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(interval_count__gt=0), name="plan_interval_count_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Subscription(models.Model):
    """A customer's subscription to a plan, charged to one of its billing keys each period."""

    class Status(models.TextChoices):
        TRIALING = "trialing", _("Trial")
        # A context of their own: billing's catalogue, consulted first, has "Active" for a card and
        # "Cancelled" for a refunded payment, both wrong words for a subscription.
        ACTIVE = "active", pgettext_lazy("subscription status", "Active")
        PAST_DUE = "past_due", _("Past due: a payment is being retried")
        CANCELLED = "cancelled", pgettext_lazy("subscription status", "Cancelled")
        ENDED = "ended", pgettext_lazy("subscription status", "Ended")

    LIVE = (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="subscriptions",
        help_text="The customer. Never changes.",
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="subscriptions", help_text="What is sold."
    )
    # Not unique by itself: with the id it makes merchant_uids that never repeat, even across databases
    # (a restored backup, a test run) sharing one i'mport account.
    uid = models.CharField(max_length=8, help_text="Random part of its merchant_uids, beside its id.")
    billing_key = models.ForeignKey(
        "billing.BillingKey",
        on_delete=models.PROTECT,
        related_name="subscriptions",
        help_text="The card each new attempt charges; the owner's own.",
    )
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.ACTIVE,
        help_text="Where the subscription stands.",
    )
    billing_anchor = models.DateTimeField(
        help_text="Periods are counted from here (Asia/Seoul calendar): the first paid period's start."
    )
    current_period_start = models.DateTimeField(help_text="Start of the current period (or trial).")
    current_period_end = models.DateTimeField(
        db_index=True, help_text="End of the current period: the next charge is due then."
    )
    cancel_at_period_end = models.BooleanField(
        default=False, help_text="Ends when the current period ends instead of renewing."
    )
    cancelled_at = models.DateTimeField(null=True, blank=True, help_text="When it was cancelled.")
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who cancelled it: the customer or a staff member.",
    )
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When it stopped.")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the customer subscribed.")
    updated_at = models.DateTimeField(auto_now=True, help_text="Last change to this row.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="subscription_owner_created"),
            models.Index(fields=["status", "current_period_end"], name="subscription_status_end"),
        ]
        constraints = [
            # A double click or a retried request never makes two live subscriptions to one plan.
            models.UniqueConstraint(
                fields=["owner", "plan"],
                condition=models.Q(status__in=["trialing", "active", "past_due"]),
                name="subscription_one_live_per_plan",
            ),
        ]
        permissions = [
            ("retry_renewal", "Can retry a renewal now"),
            ("cancel_subscription", "Can cancel subscriptions"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.owner_id}#{self.pk}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


class Renewal(models.Model):
    """One period of a subscription and its charge: written before i'mport is asked to charge it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending: to be charged")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed: retries exhausted")
        UNKNOWN = "unknown", _("Unknown: being checked with i'mport")
        VOID = "void", _("Void: not to be charged")

    class Decline(models.TextChoices):
        SOFT = "soft", _("Soft: may succeed on a retry")
        HARD = "hard", _("Hard: needs another card")

    OPEN = (Status.PENDING, Status.UNKNOWN)

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="renewals", help_text="Whose period."
    )
    period_start = models.DateTimeField(help_text="Start of the period charged.")
    period_end = models.DateTimeField(help_text="End of the period charged.")
    name = models.CharField(
        max_length=40, help_text="Order name sent to i'mport, fixed when the period opened."
    )
    amount = models.PositiveBigIntegerField(
        help_text="Price of this period in won, fixed when the period opened."
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, help_text="Where the charge stands."
    )
    initial = models.BooleanField(
        default=False, help_text="The first charge, taken when subscribing: a decline ends it, no dunning."
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Attempts started (each has its merchant_uid)."
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the engine next works on it (a charge, a retry or a check)."
    )
    dunning_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the first attempt failed: retries are counted from it."
    )
    decline = models.CharField(
        max_length=8, choices=Decline.choices, blank=True, help_text="Kind of the last decline."
    )
    last_error = models.CharField(max_length=500, blank=True, help_text="Why the last attempt failed.")
    claimed_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="An engine process is charging it until then (wall clock); a crashed one's claim lapses.",
    )
    claim_token = models.CharField(max_length=32, blank=True, help_text="Which process holds the claim.")
    queued_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Handed to the workers (a task is in the broker) until then: the sweep does not send it "
        "again meanwhile. Cleared when a worker claims it; a task lost with the broker is sent again after.",
    )
    paid_at = models.DateTimeField(null=True, blank=True, help_text="When it was paid.")
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the period opened.")
    updated_at = models.DateTimeField(auto_now=True, help_text="Last change to this row.")

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "period_start"], name="renewal_once_per_period"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="renewal_status_next_attempt"),
            # The sweep walks open renewals by id (keyset pagination): paid ones, the millions, never read.
            models.Index(
                fields=["id"],
                condition=models.Q(status__in=["pending", "unknown"]),
                name="renewal_open_by_id",
            ),
            # A run's counts (renew_due --status): the periods that started since the run began.
            models.Index(fields=["period_start", "status"], name="renewal_period_status"),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}@{self.period_start:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class RenewalAttempt(models.Model):
    """One charge of a renewal: recorded, with its merchant_uid, before i'mport is called."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Sent or about to be sent")
        PAID = "paid", _("Paid")
        DECLINED = "declined", _("Declined")
        NOT_SENT = "not_sent", _("Not sent (card unusable)")
        UNKNOWN = "unknown", _("Unknown: being checked with i'mport")

    renewal = models.ForeignKey(
        Renewal, on_delete=models.CASCADE, related_name="attempt_set", help_text="Charged."
    )
    number = models.PositiveSmallIntegerField(help_text="1 for the first attempt, then each retry.")
    merchant_uid = models.CharField(
        max_length=40,
        unique=True,
        help_text="Derived from subscription, period and attempt; reused on resume.",
    )
    billing_key = models.ForeignKey(
        "billing.BillingKey",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The card this attempt charges.",
    )
    payment = models.OneToOneField(
        "billing.Payment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewal_attempt",
        help_text="billing's record of the charge, once created.",
    )
    outcome = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.PENDING, help_text="How the attempt ended."
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text="When the attempt was recorded.")

    class Meta:
        ordering = ["renewal", "number"]
        constraints = [models.UniqueConstraint(fields=["renewal", "number"], name="attempt_once_per_number")]

    def __str__(self) -> str:
        return self.merchant_uid
