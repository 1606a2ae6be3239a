"""Admin for every model of the cases app, scoped to the firm: a staff user who is not a superuser
sees, chooses and edits only their own firm's rows (another firm's object is a 404), and what
they may do follows their role (cases.backends.RoleBackend). Status and role changes of users,
document approval and closing cases go through cases.services, which keep the audit trail."""

from datetime import UTC, datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_value
from django.contrib.admin.views.main import ORDER_VAR
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Case as CaseWhen
from django.db.models import FloatField, Model, Q, QuerySet, Value, When
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from cases import services
from cases.embeddings import EmbeddingError
from cases.models import (
    Case,
    CaseStatus,
    Client,
    Document,
    DocumentStatus,
    Firm,
    Task,
    User,
    UserAuditLog,
)
from cases.selectors import search_cases, similar_documents
from legalplatform.admin import ReadOnlyAdminMixin, change_link, html_table, truncated_field
from legalplatform.exports import CSVExportMixin
from legalplatform.redis import RedisUnavailable
from legalplatform.session_activity import SessionActivity
from legalplatform.sessions import session_manager

# How each model reaches its firm: the lookup that scopes a queryset to one firm.
FIRM_LOOKUPS: dict[type[Model], str] = {
    Firm: "pk",
    User: "firm",
    Client: "firm",
    Case: "firm",
    Document: "firm",  # kept equal to the case's firm by the database
    Task: "case__firm",
    UserAuditLog: "user__firm",
}

# Fields a non-superuser never edits: the firm is theirs, the author is them.
OWN_FIRM_FIELDS = ("firm",)
AUTHOR_FIELDS = ("created_by_user",)


def firm_rows(model: type[Model], firm_id) -> Q:
    """The rows of `model` that belong to the firm `firm_id` (FIRM_LOOKUPS)."""
    return Q(**{FIRM_LOOKUPS[model]: firm_id})


def scope_to_firm(queryset: QuerySet, user: User, rows=None) -> QuerySet:
    """`queryset` limited to the rows of `user`'s firm (`rows(firm_id)`, a Q; by default
    firm_rows); everything for a superuser, nothing for a user of no firm."""
    if user.is_superuser:
        return queryset
    if user.firm_id is None:
        return queryset.none()
    return queryset.filter((rows or (lambda firm: firm_rows(queryset.model, firm)))(user.firm_id))


class FirmScopedAdmin(admin.ModelAdmin):
    """Querysets (lists, change pages, autocompletes of this model, CSV exports), foreign-key
    choices (selects, raw ids and autocompletes) and new rows are limited to the user's firm
    unless the user is a superuser. A model of another app says which rows are a firm's by
    overriding `firm_filter`."""

    def firm_filter(self, firm_id) -> Q:
        """The rows of this admin's model that belong to the firm `firm_id`."""
        return firm_rows(self.model, firm_id)

    def get_queryset(self, request):
        return scope_to_firm(super().get_queryset(request), request.user, self.firm_filter)

    def get_object(self, request, object_id, from_field=None):
        # Django redirects to the index for an object it cannot find; another firm's object is
        # simply not there: 404, and nothing tells whether it exists.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with id {object_id!r}.")
        return obj

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if related in FIRM_LOOKUPS and "queryset" not in kwargs:
            queryset = self.get_field_queryset(None, db_field, request)
            if queryset is None:
                queryset = related._default_manager.all()
            kwargs["queryset"] = scope_to_firm(queryset, request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        return [f for f in filters if f != "firm"]  # would list every firm's name

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            model_fields = {field.name for field in self.opts.get_fields()}
            fields += [f for f in (*OWN_FIRM_FIELDS, *AUTHOR_FIELDS) if f in model_fields]
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            if not request.user.is_superuser and hasattr(obj, "firm_id"):
                obj.firm_id = request.user.firm_id
            if hasattr(obj, "created_by_user_id") and obj.created_by_user_id is None:
                obj.created_by_user = request.user
        super().save_model(request, obj, form, change)

    def apply_service(self, request, queryset, service, done: str, **kwargs) -> None:
        """Call `service(obj, by=request.user, **kwargs)` for each selected object and report
        how many changed and why any was refused."""
        changed = 0
        for obj in queryset:
            try:
                changed += bool(service(obj, by=request.user, **kwargs))
            except (PermissionDenied, ValidationError) as exc:
                message = "; ".join(getattr(exc, "messages", None) or [str(exc)])
                self.message_user(request, f"{obj}: {message}", messages.ERROR)
        self.message_user(request, f"{changed} {done}.", messages.SUCCESS)


@admin.register(Firm)
class FirmAdmin(FirmScopedAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "vat_id", "email", "phone", "created_at"]
    search_fields = ["name", "vat_id", "email"]
    ordering = ["name"]
    readonly_fields = ["created_at", "updated_at"]


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "firm", "role", "status"]


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(FirmScopedAdmin, DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    profile_fields = ["email", "first_name", "last_name", "firm", "role", "status"]
    list_display = [*profile_fields, "is_staff", "last_active"]
    list_filter = ["role", "status", "is_staff", "firm"]
    list_select_related = ["firm"]
    search_fields = ["email", "first_name", "last_name"]
    ordering = ["email"]
    autocomplete_fields = ["firm"]
    readonly_fields = ["created_at", "last_login", "last_active", "sessions"]
    actions = [
        "activate",
        "deactivate",
        "log_out_everywhere",
        "make_partner",
        "make_associate",
        "make_paralegal",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "firm", "preferences", "azure_ad_id"]}),
        (
            "Access",
            {
                "description": (
                    "Role and status change through the actions of the user list, which "
                    "record who changed them."
                ),
                "fields": [
                    "role",
                    "status",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ],
            },
        ),
        ("Dates", {"fields": ["created_at", "last_login", "last_active"]}),
        (
            "Sessions",
            {
                "description": (
                    "Where the user is signed in. Deactivating a user (the list's action) also "
                    "ends all their sessions."
                ),
                "fields": ["sessions"],
            },
        ),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [*profile_fields, "password1", "password2"],
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None:
            fields += ["role", "status"]  # audited: through the actions only
        if not request.user.is_superuser:
            # Nobody below superuser grants admin access or permissions.
            fields += ["is_staff", "is_superuser", "groups", "user_permissions"]
        return fields

    @admin.action(description="Activate the selected users", permissions=["change"])
    def activate(self, request, queryset):
        self.apply_service(request, queryset, services.activate_user, "users activated")

    @admin.action(description="Deactivate the selected users", permissions=["change"])
    def deactivate(self, request, queryset):
        self.apply_service(request, queryset, services.deactivate_user, "users deactivated")

    @admin.action(description="Log out everywhere", permissions=["change"])
    def log_out_everywhere(self, request, queryset):
        ended = self._end_sessions(request, queryset)
        if ended is not None:
            self.message_user(
                request, f"{ended} session(s) of {len(queryset)} user(s) ended.", messages.SUCCESS
            )

    def _end_sessions(self, request, users) -> int | None:
        """End every session of `users` (session_manager.delete_user_sessions); how many, or None
        (and the reason shown) when the sessions cannot be reached."""
        try:
            return sum(session_manager.delete_user_sessions(user.pk) for user in users)
        except RedisUnavailable as exc:
            self.message_user(request, f"No session ended: {exc}", messages.ERROR)
            return None

    def get_urls(self):
        logout = self.admin_site.admin_view(self.log_out_everywhere_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_log_out_everywhere"
        return [
            path("<path:object_id>/log-out-everywhere/", logout, name=name),
            *super().get_urls(),
        ]

    def log_out_everywhere_view(self, request, object_id):
        """POST from the user's change page: end all of their sessions, back to the page."""
        user = self.get_object(request, object_id)
        if request.method != "POST" or not self.has_change_permission(request, user):
            raise PermissionDenied
        ended = self._end_sessions(request, [user])
        if ended is not None:
            self.message_user(request, f"{ended} session(s) of {user} ended.", messages.SUCCESS)
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[user.pk])
        )

    @admin.display(description="active sessions")
    def sessions(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        try:
            sessions = session_manager.user_sessions(obj.pk)
        except RedisUnavailable as exc:
            return f"Not available: {exc}"
        activities = sorted(
            (SessionActivity.of(data) for data in sessions.values()),
            key=lambda a: a.last_used or datetime.min.replace(tzinfo=UTC),
            reverse=True,
        )
        empty = self.get_empty_value_display()
        table = html_table(
            ["last used", "IP address", "browser"],
            [
                (
                    display_for_value(a.last_used, empty) if a.last_used else "not recorded",
                    a.ip_address or empty,
                    a.user_agent or empty,
                )
                for a in activities
            ],
        )
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_log_out_everywhere",
            args=[obj.pk],
        )
        return format_html(
            '<p id="session-count">{} active session(s)</p>{}<p><button type="submit" '
            'class="button" formaction="{}" formmethod="post" formnovalidate '
            'id="log-out-everywhere">Log out everywhere</button></p>',
            len(activities),
            table,
            url,
        )

    @admin.action(
        description="Change the role of the selected users to Partner", permissions=["change"]
    )
    def make_partner(self, request, queryset):
        self._change_role(request, queryset, User.Role.PARTNER)

    @admin.action(
        description="Change the role of the selected users to Associate", permissions=["change"]
    )
    def make_associate(self, request, queryset):
        self._change_role(request, queryset, User.Role.ASSOCIATE)

    @admin.action(
        description="Change the role of the selected users to Paralegal", permissions=["change"]
    )
    def make_paralegal(self, request, queryset):
        self._change_role(request, queryset, User.Role.PARALEGAL)

    def _change_role(self, request, queryset, role):
        def change(user, *, by):
            return services.change_role(user, role, by=by)

        self.apply_service(request, queryset, change, f"users made {role}")


@admin.register(UserAuditLog)
class UserAuditLogAdmin(ReadOnlyAdminMixin, FirmScopedAdmin):
    list_display = ["timestamp", "user", "action", "old_value", "new_value", "admin_user"]
    list_filter = ["action"]
    list_select_related = ["user", "admin_user"]
    raw_id_fields = ["user", "admin_user"]
    search_fields = ["user__email", "admin_user__email"]
    date_hierarchy = "timestamp"


@admin.register(Client)
class ClientAdmin(CSVExportMixin, FirmScopedAdmin):
    export_fields = ["name", "address", "firm__name", "created_at", "updated_at", "id"]
    list_display = ["name", "firm", "created_at"]
    list_filter = ["firm"]
    list_select_related = ["firm"]
    # Served by the trigram index on clients.name; forgives misspellings.
    search_fields = ["name__trigram_word_similar"]
    autocomplete_fields = ["firm"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Case)
class CaseAdmin(CSVExportMixin, FirmScopedAdmin):
    # The columns the list shows and the CSV exports, in this order.
    tracked_fields = [
        "case_type",
        "status",
        "priority",
        "opened_date",
        "closed_date",
        "next_hearing_date",
    ]
    export_fields = [
        "case_number",
        "title",
        "client__name",
        *tracked_fields,
        "court_name",
        "judge_name",
        "assigned_partner__email",
        "assigned_associate__email",
        "created_at",
        "id",
    ]
    list_display = ["case_number", "short_title", "client", *tracked_fields]
    list_filter = ["status", "case_type", "priority", "firm"]
    list_select_related = ["client"]
    short_title = truncated_field("title", 60)
    search_fields = ["case_number", "title", "client__name"]  # through search_cases, see below
    search_help_text = "Case number, title or client name; misspellings are forgiven."
    date_hierarchy = "opened_date"
    autocomplete_fields = ["firm", "client", "assigned_partner", "assigned_associate"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["close"]

    # The admin's own search (ILIKE over a join) cannot use an index; the fuzzy search can.
    SEARCH_LIMIT = 500

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        firm = None if request.user.is_superuser else request.user.firm
        matches = search_cases(search_term, firm=firm, limit=self.SEARCH_LIMIT)
        return queryset.filter(pk__in=[case.pk for case in matches]), False

    def save_model(self, request, obj, form, change):
        closing = (
            change
            and obj.status == CaseStatus.CLOSED
            and form.initial.get("status") in (CaseStatus.ACTIVE, CaseStatus.ON_HOLD)
        )
        if closing:  # saved as it was, then closed by the service, which stamps closed_date
            obj.status = form.initial["status"]
        super().save_model(request, obj, form, change)
        if closing:
            services.close_case(obj, by=request.user, closed_date=obj.closed_date)

    @admin.action(description="Close the selected cases (closed today)", permissions=["change"])
    def close(self, request, queryset):
        self.apply_service(request, queryset, services.close_case, "cases closed")


class DocumentForm(forms.ModelForm):
    """Refuses to approve a document for a user whose role may not approve."""

    may_approve = False  # set per request by DocumentAdmin.get_form

    def clean_status(self):
        status = self.cleaned_data["status"]
        approving = status == DocumentStatus.APPROVED and self.initial.get("status") != status
        if approving and not self.may_approve:
            raise ValidationError("Only a Partner may approve documents.")
        return status


class SearchModeFilter(admin.SimpleListFilter):
    """Claims the documents list's `search` parameter (`meaning`, or absent for the title search)
    so that the list's links keep it; chosen beside the search box, not in the sidebar."""

    title = "search by"
    parameter_name = "search"

    def lookups(self, request, model_admin):
        return [("meaning", "meaning")]

    def has_output(self):
        return False

    def queryset(self, request, queryset):
        return queryset  # the search itself is DocumentAdmin.get_search_results


def searches_by_meaning(request) -> bool:
    return request.GET.get(SearchModeFilter.parameter_name) == "meaning"


@admin.register(Document)
class DocumentAdmin(CSVExportMixin, FirmScopedAdmin):
    export_fields = [
        "title",
        "case__case_number",
        "document_type",
        "status",
        "version",
        "ai_generated",
        "file_name",
        "file_size_bytes",
        "mime_type",
        "created_by_user__email",
        "created_at",
        "updated_at",
        "id",
    ]
    form = DocumentForm
    list_display = [
        "short_title",
        "short_case",
        "document_type",
        "status",
        "version",
        "ai_generated",
        "has_embedding",
        "created_at",
    ]
    list_filter = ["status", "document_type", "ai_generated", SearchModeFilter]
    list_select_related = ["case"]
    short_title = truncated_field("title", 70)
    short_case = truncated_field("case", 40)
    # Titles: served by the trigram index on documents.title; forgives misspellings. Meaning:
    # the query is embedded and the nearest documents of the firm come first (similar_documents).
    search_fields = ["title__trigram_word_similar"]
    search_help_text = (
        "Title: words of the title, misspellings forgiven. Meaning: the documents of your firm "
        "nearest in meaning to what you type, the nearest first."
    )
    autocomplete_fields = ["case", "created_by_user"]
    readonly_fields = ["embedding_model", "similar", "created_at", "updated_at"]
    actions = ["approve"]

    # How many documents the meaning search shows, and the similar documents a change page lists.
    MEANING_RESULTS = 20
    SIMILAR_SHOWN = 10

    def get_fields(self, request, obj=None):
        fields = [f for f in super().get_fields(request, obj) if f != "similar"]
        return [*fields, "similar"] if obj is not None else fields

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        if searches_by_meaning(request) and request.GET.get("q", "").strip():
            return [columns[0], "similarity", *columns[1:]]  # beside the title
        return columns

    def get_search_results(self, request, queryset, search_term):
        if not (searches_by_meaning(request) and search_term.strip()):
            return super().get_search_results(request, queryset, search_term)
        firm = None if request.user.is_superuser else request.user.firm
        if firm is None and not request.user.is_superuser:
            return queryset.none(), False
        try:
            nearest = similar_documents(search_term, firm=firm, limit=self.MEANING_RESULTS)
        except EmbeddingError as exc:
            self.message_user(request, f"The meaning search is unavailable: {exc}", messages.ERROR)
            return queryset.none(), False
        similarity = CaseWhen(
            *(When(pk=doc.pk, then=Value(1 - doc.distance)) for doc in nearest),
            default=Value(None),
            output_field=FloatField(),
        )
        found = queryset.filter(pk__in=[doc.pk for doc in nearest]).annotate(similarity=similarity)
        if ORDER_VAR not in request.GET:  # the nearest first, unless a column is sorted
            found = found.order_by("-similarity", "-pk")
        return found, False

    @admin.display(description="similarity")  # the order of a meaning search already
    def similarity(self, obj):
        return f"{obj.similarity:.2f}"

    @admin.display(description="similar documents (same firm)")
    def similar(self, obj):
        try:
            nearest = similar_documents(obj, firm=obj.firm, limit=self.SIMILAR_SHOWN)
        except EmbeddingError as exc:
            return f"Not available: {exc}"
        return html_table(
            ["document", "case", "similarity", "type", "status"],
            [
                (
                    change_link(Document, doc.pk, doc.title),
                    change_link(Case, doc.case_id, doc.case),
                    f"{1 - doc.distance:.2f}",
                    doc.get_document_type_display(),
                    doc.get_status_display(),
                )
                for doc in nearest
            ],
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"may_approve": self.has_approve_permission(request)})

    def has_approve_permission(self, request):
        return request.user.has_perm("cases.approve_document")

    @admin.display(boolean=True, description="embedded")
    def has_embedding(self, obj):
        return obj.embedding_model is not None and obj.embedding_source_hash == obj.content_hash

    @admin.action(description="Approve the selected documents", permissions=["approve"])
    def approve(self, request, queryset):
        queryset = queryset.select_related("case")
        self.apply_service(request, queryset, services.approve_document, "documents approved")


@admin.register(Task)
class TaskAdmin(CSVExportMixin, FirmScopedAdmin):
    export_fields = [
        "title",
        "case__case_number",
        "task_type",
        "status",
        "priority",
        "assigned_to_user__email",
        "due_date",
        "estimated_hours",
        "actual_hours",
        "completed_at",
        "created_at",
        "id",
    ]
    list_display = [
        "short_title",
        "short_case",
        "task_type",
        "status",
        "priority",
        "assigned_to_user",
        "due_date",
    ]
    list_filter = ["status", "priority", "task_type"]
    list_select_related = ["case", "assigned_to_user"]
    short_title = truncated_field("title", 60)
    short_case = truncated_field("case", 40)
    search_fields = ["title", "case__case_number"]
    date_hierarchy = "due_date"
    autocomplete_fields = ["case", "assigned_to_user", "created_by_user"]
    readonly_fields = ["created_at", "updated_at"]
