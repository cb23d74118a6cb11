"""What the API says about a payment. Output only: charges and refunds have their own small inputs."""

from rest_framework import serializers

from billing.models import Payment, PaymentRefund


class PaymentRefundSerializer(serializers.ModelSerializer):
    """One refund, as i'mport recorded it (an entry of ``cancel_history``)."""

    class Meta:
        model = PaymentRefund
        fields = ["cancellation_id", "amount", "reason", "receipt_url", "cancelled_at"]
        read_only_fields = fields


class PaymentOutputSerializer(serializers.ModelSerializer):
    """A payment as mirrored from i'mport. Amounts are whole won; no card data."""

    customer_uid = serializers.CharField(source="billing_key.customer_uid", read_only=True)
    refunds = PaymentRefundSerializer(many=True, read_only=True)

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
