"""What every billing admin shares: read-only mirrors, bounded actions and their confirmation pages.

Owns the paginator that never counts a whole large table, the read-only base classes (a mirrored
row is never added, edited or deleted by hand: a row deleted here would orphan its key at i'mport),
the cap on how many rows one action may touch, and the helpers the per-model admins have in common.
"""

import json
from typing import TYPE_CHECKING, cast

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..logging_filters import redact
from ..models import BillingKeyEvent

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise  # gettext_lazy's type; django-stubs-ext is a dev requirement

ADMIN = BillingKeyEvent.Source.ADMIN
# How many owners a search term may match (a username and an email address match one or two).
MAX_OWNERS_PER_SEARCH = 50
# Each selected row is a call to i'mport made while the page waits: "select all 1,000,000" is refused.
MAX_ROWS_PER_ACTION = 100


def staff(request: HttpRequest) -> AbstractBaseUser:
    """The staff member behind an admin request (the admin site lets no anonymous request through)."""
    return cast(AbstractBaseUser, request.user)


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts a whole large table.

    Up to ``exact_up_to`` rows the count is exact (``COUNT`` over a ``LIMIT``ed subquery, cheap).
    Beyond that, on PostgreSQL, it is the planner's estimate: ``pg_class.reltuples`` for the
    unfiltered table, ``EXPLAIN`` of the filtered query otherwise. ``estimated`` tells the template.
    """

    exact_up_to = 10_000

    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = cast(QuerySet, self.object_list)  # the admin pages a queryset
        bounded = queryset.order_by()[: self.exact_up_to + 1].count()
        if bounded <= self.exact_up_to:
            return bounded
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return queryset.count()
        self.estimated = True
        return max(bounded, _postgresql_estimate(queryset, connection))


def _postgresql_estimate(queryset: QuerySet, connection) -> int:
    with connection.cursor() as cursor:
        if not queryset.query.where:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            return int(cursor.fetchone()[0])
        sql, params = queryset.order_by().query.sql_with_params()
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])


class SelectedIdsMixin:
    """An action posted with a selected row that is not an id answers 400, not a 500.

    Django's ``response_action`` filters ``pk__in`` with whatever the form posted; ``abc`` or a NUL
    raises while building the query. Every selected value must be a valid primary key first.
    """

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        primary_key = self.model._meta.pk  # type: ignore[attr-defined]
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                primary_key.to_python(value)
        except ValidationError:
            return HttpResponseBadRequest(_("The selected rows are not valid."))
        return super().response_action(request, queryset)  # type: ignore[misc]


class ReadOnlyMixin:
    """Mirrors and audit rows: viewable, never added, edited or deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyAdmin(SelectedIdsMixin, ReadOnlyMixin, admin.ModelAdmin):
    paginator = EstimatedCountPaginator
    show_full_result_count = False


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


def selected_rows(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> list | None:
    """The selected rows, or ``None`` (and a message) when there are more than one action should handle."""
    rows = list(queryset.order_by("pk")[: MAX_ROWS_PER_ACTION + 1])
    if len(rows) > MAX_ROWS_PER_ACTION:
        model_admin.message_user(
            request,
            _("Select at most %(max)s rows for this action; nothing was done.")
            % {"max": MAX_ROWS_PER_ACTION},
            messages.ERROR,
        )
        return None
    return rows


def pretty_json(data) -> str:
    """i'mport's stored answer, indented; anything shaped like a card number is scrubbed all the same."""
    return format_html("<pre>{}</pre>", redact(json.dumps(data, ensure_ascii=False, indent=2)))


def owners_matching(term: str) -> list[int]:
    """Ids of the users whose username is ``term`` or whose email is ``term`` in any case.

    Both are index lookups: username is unique; ``UPPER(email)`` is indexed by migration 0003.
    """
    user_model = get_user_model()  # the host's (AUTH_USER_MODEL): its own login field and email field
    matches = Q(**{user_model.USERNAME_FIELD: term})
    email_field = user_model.get_email_field_name()
    if _has_field(user_model, email_field):
        matches |= Q(**{f"{email_field}__iexact": term})
    return list(user_model.objects.filter(matches).values_list("pk", flat=True)[:MAX_OWNERS_PER_SEARCH])


def _has_field(model, name: str) -> bool:
    return any(field.name == name for field in model._meta.get_fields())


def confirmation_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    template: str,
    title: "str | StrPromise",
    rows: list,
    form: Form,
    action: str,
    action_checkbox: bool = True,
) -> TemplateResponse:
    """The page that lists the rows an action will change and asks for its form before calling i'mport.

    Reached from the change list (``action_checkbox``: the selected rows go back as action checkboxes)
    or from one row's own page (no checkboxes: the URL names the row).
    """
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "rows": rows,
        "form": form,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME if action_checkbox else None,
        "action": action,
        "media": model_admin.media,
    }
    return TemplateResponse(request, template, context)
