"""What the API says about a payment. Output only: charges and refunds have their own small inputs."""

from rest_framework import serializers

from billing.models import Payment, PaymentRefund


class PaymentRefundSerializer(serializers.ModelSerializer):
    """One refund, as i'mport recorded it (an entry of ``cancel_history``)."""

    # A string, not format "uri": it is empty when i'mport gave none.
    receipt_url = serializers.CharField(read_only=True, help_text="The refund receipt; empty when none.")

    class Meta:
        model = PaymentRefund
        fields = ["cancellation_id", "amount", "reason", "receipt_url", "cancelled_at"]
        read_only_fields = fields


class PaymentOutputSerializer(serializers.ModelSerializer):
    """A payment as mirrored from i'mport. Amounts are whole won; no card data."""

    customer_uid = serializers.CharField(source="billing_key.customer_uid", read_only=True)
    refunds = PaymentRefundSerializer(many=True, read_only=True)
    # A string, not format "uri": a declined payment (or one not yet settled) has no receipt, "".
    receipt_url = serializers.CharField(read_only=True, help_text="The card receipt; empty when none.")

    class Meta:
        model = Payment
        fields = [
            "merchant_uid",
            "imp_uid",
            "customer_uid",
            "amount",
            "cancelled_amount",
            "name",
            "status",
            "fail_reason",
            "cancel_reason",
            "paid_at",
            "failed_at",
            "cancelled_at",
            "receipt_url",
            "refunds",
            "created_at",
        ]
        read_only_fields = fields
