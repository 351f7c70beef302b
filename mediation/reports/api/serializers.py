"""Serializers of /api/v1/reports/: the annual reports (one per year) and the R614-2 figures of a period."""

from __future__ import annotations

from rest_framework import serializers

from mediation.reports.models import AnnualReport

NOT_STARTED = "not_started"
REPORT_STATUSES = [(NOT_STARTED, "Not started"), *AnnualReport.Status.choices]


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Inclusive.")


class ReportSummarySerializer(serializers.Serializer):
    """A year of GET /api/v1/reports/: its report's state (not_started while nobody has written it)."""

    year = serializers.IntegerField()
    status = serializers.ChoiceField(choices=REPORT_STATUSES)
    period = PeriodSerializer(help_text="The report's period, or the calendar year while it is not started.")
    published_at = serializers.DateTimeField(allow_null=True)
    public_url = serializers.URLField(allow_null=True, help_text="The published PDF on the firm's site.")


class ReportSerializer(ReportSummarySerializer):
    """GET /api/v1/reports/{year}/: the summary and the mediator's texts."""

    recurring_problems = serializers.CharField(allow_blank=True)
    cooperation = serializers.CharField(allow_blank=True)
    training = serializers.CharField(allow_blank=True)
    updated_at = serializers.DateTimeField(allow_null=True)


class RowSerializer(serializers.Serializer):
    """A line of a breakdown: `scope` and `value` name the cases it counts (the staff page lists them)."""

    scope = serializers.CharField()
    value = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label (the metaclass takes it)
    count = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True, help_text="Of the breakdown's base, 0 to 1; null when it is 0.")


class DurationSerializer(serializers.Serializer):
    cases = serializers.IntegerField()
    average_days = serializers.FloatField(allow_null=True)
    median_days = serializers.FloatField(allow_null=True)


class FiguresSerializer(serializers.Serializer):
    """Every figure of the annual activity report (R614-2) for a period, as `figures.compute()` gives it."""

    period = PeriodSerializer()
    received = serializers.IntegerField(help_text="Requests received in the period (drafts excluded).")
    by_subject = RowSerializer(many=True)
    by_source = RowSerializer(many=True)
    by_sector = RowSerializer(many=True)
    by_member = RowSerializer(many=True, help_text="The 20 members with the most requests.")
    other_members = serializers.IntegerField(help_text="Requests about members beyond the 20 listed.")
    refused = serializers.IntegerField()
    refused_share = serializers.FloatField(allow_null=True)
    by_refusal_reason = RowSerializer(many=True)
    reoriented = serializers.IntegerField()
    withdrawn_before_opening = serializers.IntegerField()
    opened = serializers.IntegerField()
    stopped = serializers.IntegerField()
    stopped_share = serializers.FloatField(allow_null=True)
    by_stop_reason = RowSerializer(many=True)
    pending = serializers.IntegerField(help_text="Received in the period and still open at its end.")
    ended = serializers.IntegerField(help_text="Mediations ended in the period.")
    by_outcome = RowSerializer(many=True)
    from_opening = DurationSerializer(help_text="Time from the opening to the end of the mediations ended.")
    from_receipt = DurationSerializer(help_text="Time from the receipt to the end of the mediations ended.")
    proposals_answered = serializers.IntegerField()
    proposals_accepted = serializers.IntegerField()
    accepted_share = serializers.FloatField(allow_null=True)
    solutions = serializers.IntegerField()
    execution_known = serializers.IntegerField()
    followed = serializers.IntegerField()
    followed_share = serializers.FloatField(allow_null=True)


class FiguresResponseSerializer(FiguresSerializer):
    previous = FiguresSerializer(
        required=False, help_text="The same figures for the period just before (only with compare=true)."
    )
