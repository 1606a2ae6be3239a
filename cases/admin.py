"""Admin for firms, users and the user audit trail."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from cases.models import Firm, User, UserAuditLog


@admin.register(Firm)
class FirmAdmin(admin.ModelAdmin):
    list_display = ["name", "vat_id", "email", "phone", "created_at"]
    search_fields = ["name", "vat_id", "email"]
    ordering = ["name"]


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "firm", "role", "status"]


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    list_display = [
        "email",
        "first_name",
        "last_name",
        "firm",
        "role",
        "status",
        "is_staff",
        "last_active",
    ]
    list_filter = ["role", "status", "is_staff", "firm"]
    list_select_related = ["firm"]
    search_fields = ["email", "first_name", "last_name"]
    ordering = ["email"]
    raw_id_fields = ["firm"]
    readonly_fields = ["created_at", "last_login", "last_active"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "firm", "preferences", "azure_ad_id"]}),
        (
            "Access",
            {
                "fields": [
                    "role",
                    "status",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ]
            },
        ),
        ("Dates", {"fields": ["created_at", "last_login", "last_active"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email",
                    "first_name",
                    "last_name",
                    "firm",
                    "role",
                    "status",
                    "password1",
                    "password2",
                ],
            },
        ),
    ]


@admin.register(UserAuditLog)
class UserAuditLogAdmin(admin.ModelAdmin):
    list_display = ["timestamp", "user", "action", "old_value", "new_value", "admin_user"]
    list_filter = ["action"]
    list_select_related = ["user", "admin_user"]
    raw_id_fields = ["user", "admin_user"]
    search_fields = ["user__email", "admin_user__email"]
    date_hierarchy = "timestamp"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
