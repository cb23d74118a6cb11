"""The demo site's own admin registrations: Django's users and groups with billing's guard on actions.

Django's ``UserAdmin`` and ``GroupAdmin`` answer a 500 to an action posted with a selected row that is
not an id; re-registered here with ``SelectedIdsMixin`` (400 instead). A host project does the same for
its own user admin if it wants to; billing does not touch the host's registrations.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from billing.admin.base import SelectedIdsMixin

User = get_user_model()


class SiteUserAdmin(SelectedIdsMixin, UserAdmin):
    pass


class SiteGroupAdmin(SelectedIdsMixin, GroupAdmin):
    pass


for model, model_admin in ((User, SiteUserAdmin), (Group, SiteGroupAdmin)):
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
