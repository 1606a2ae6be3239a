"""Authentication backend in which a user's role is a Django group: a Partner has the permissions
of the group "Partner" without being added to it, so the role column alone (changed through
cases.services.change_role) decides what a user may do; other groups still add to it."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q


class RoleBackend(ModelBackend):
    def _get_group_permissions(self, user_obj):
        return Permission.objects.filter(
            Q(group__in=user_obj.groups.all()) | Q(group__name=user_obj.role)
        )
