"""What the API says about plans, subscriptions and renewals, and the small inputs of each operation."""

from rest_framework import serializers

from subscriptions.models import Plan, Renewal, RenewalAttempt, Subscription


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["code", "name", "amount", "interval", "interval_count", "trial_days"]
        read_only_fields = fields


class SubscriptionSerializer(serializers.ModelSerializer):
    """A subscription. Times are ISO 8601 with their offset (Asia/Seoul)."""

    plan = serializers.CharField(source="plan.code", read_only=True, help_text="The plan's code.")
    plan_name = serializers.CharField(source="plan.name", read_only=True)
    customer_uid = serializers.CharField(
        source="billing_key.customer_uid", read_only=True, help_text="The card it charges."
    )
    next_charge_at = serializers.SerializerMethodField(help_text="When the next charge is due; null if none.")
    next_charge_amount = serializers.SerializerMethodField(help_text="What it will be, in won; null if none.")

    class Meta:
        model = Subscription
        fields = [
            "id",
            "plan",
            "plan_name",
            "status",
            "customer_uid",
            "current_period_start",
            "current_period_end",
            "cancel_at_period_end",
            "cancelled_at",
            "ended_at",
            "next_charge_at",
            "next_charge_amount",
            "created_at",
        ]
        read_only_fields = fields

    def get_next_charge_at(self, subscription: Subscription) -> str | None:
        moment = next_charge(subscription)[0]
        return serializers.DateTimeField().to_representation(moment) if moment else None

    def get_next_charge_amount(self, subscription: Subscription) -> int | None:
        return next_charge(subscription)[1]


def next_charge(subscription: Subscription):
    """(when, amount) of the next charge: an open renewal's retry, else the next period's price."""
    if not subscription.is_live:
        return None, None
    open_renewals = [r for r in getattr(subscription, "open_renewals", []) if r.next_attempt_at]
    if open_renewals:
        return open_renewals[0].next_attempt_at, open_renewals[0].amount
    if subscription.cancel_at_period_end:
        return None, None
    return subscription.current_period_end, subscription.plan.amount


class AttemptSerializer(serializers.ModelSerializer):
    """One charge of a renewal, with the status billing mirrored from i'mport."""

    status = serializers.SerializerMethodField(help_text="The payment's status (ready/paid/failed/unknown).")
    customer_uid = serializers.CharField(source="billing_key.customer_uid", read_only=True)
    fail_reason = serializers.SerializerMethodField()

    class Meta:
        model = RenewalAttempt
        fields = ["number", "merchant_uid", "customer_uid", "status", "outcome", "fail_reason", "created_at"]
        read_only_fields = fields

    def get_status(self, attempt: RenewalAttempt) -> str:
        return attempt.payment.status if attempt.payment else "not_sent"

    def get_fail_reason(self, attempt: RenewalAttempt) -> str:
        return attempt.payment.fail_reason if attempt.payment else ""


class RenewalSerializer(serializers.ModelSerializer):
    payments = AttemptSerializer(source="attempt_set", many=True, read_only=True)

    class Meta:
        model = Renewal
        fields = [
            "id",
            "period_start",
            "period_end",
            "amount",
            "status",
            "attempts",
            "next_attempt_at",
            "decline",
            "last_error",
            "paid_at",
            "payments",
        ]
        read_only_fields = fields


class SubscribeInputSerializer(serializers.Serializer):
    plan = serializers.SlugField(max_length=50, help_text="The plan's code, from GET /api/v1/plans/.")
    customer_uid = serializers.CharField(max_length=80, help_text="One of your active billing keys.")


class CancelInputSerializer(serializers.Serializer):
    at_period_end = serializers.BooleanField(
        default=True, help_text="true: at the end of the paid period (default); false: now."
    )


class CardInputSerializer(serializers.Serializer):
    customer_uid = serializers.CharField(max_length=80, help_text="One of your active billing keys.")
