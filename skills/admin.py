"""Admin for skills, their versions and usage logs. Statistics are read-only (the database keeps
them) and listed with their units; versions change only through publish and rollback; the
usage-log list stays fast at millions of rows (planner-estimated count, indexed filters and
ordering, no N+1)."""

import uuid
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import OuterRef, Q, Subquery, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from cases.admin import FirmScopedAdmin
from legalplatform.admin import ReadOnlyAdminMixin, ReplicaListMixin, local_datetime, truncated
from legalplatform.exports import CSVExportMixin
from skills import services
from skills.models import Skill, SkillUsageDailyExact, SkillUsageLog, SkillVersion
from skills.paginators import EstimatedCountPaginator

User = get_user_model()

# The statistics as read (SkillStatistics: the folded base plus the pending deltas), shown on the
# change form by the methods statistic_<name> of SkillAdmin.
STATISTICS = [
    "usage_count",
    "success_count",
    "effectiveness_score",
    "token_savings_avg",
    "tokens_saved_success_sum",
]


def statistic_field(name: str):
    """A read-only field of the change form showing the statistic `name` as read."""

    @admin.display(description=name.replace("_", " "))
    def field(model_admin, skill):
        return getattr(skill.statistics, name)

    return field


class SkillVersionInline(admin.TabularInline):
    model = SkillVersion
    fields = ["version", "is_current", "deployed_at", "deprecated_at", "changelog", "created_at"]
    readonly_fields = fields
    ordering = ["-created_at"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # through "Add skill version", which publishes


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = [
        "skill_id",
        "display_name",
        "category",
        "type",
        "version",
        "is_active",
        "executions",
        "success_rate",
        "average_tokens_saved",
        "total_cost",
        "usage",
    ]
    list_filter = ["category", "type", "is_active"]
    search_fields = ["skill_id", "display_name"]
    readonly_fields = [f"statistic_{name}" for name in STATISTICS] + ["created_at", "updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "skill_id",
                    "display_name",
                    "description",
                    "version",
                    "type",
                    "category",
                    "is_active",
                    "created_by",
                    "metadata",
                ]
            },
        ),
        (
            "Statistics (kept by the database from the usage logs)",
            {"fields": [f"statistic_{name}" for name in STATISTICS]},
        ),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [SkillVersionInline]

    statistic_usage_count = statistic_field("usage_count")
    statistic_success_count = statistic_field("success_count")
    statistic_effectiveness_score = statistic_field("effectiveness_score")
    statistic_token_savings_avg = statistic_field("token_savings_avg")
    statistic_tokens_saved_success_sum = statistic_field("tokens_saved_success_sum")

    def changelist_view(self, request, extra_context=None):
        services.fold_skill_usage_backlog()  # exact either way; cheaper to read after a fold
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        # Its whole cost from the daily rollup: a few rows per day the skill ran, not its logs.
        cost = (
            SkillUsageDailyExact.objects.filter(skill=OuterRef("pk"))
            .order_by()
            .values("skill")
            .annotate(total=Sum("cost_usd"))
            .values("total")
        )
        queryset = super().get_queryset(request).select_related("statistics")
        return queryset.annotate(cost_usd_total=Subquery(cost))

    @admin.display(description="executions", ordering="statistics__usage_count")
    def executions(self, skill):
        return intcomma(skill.statistics.usage_count)

    @admin.display(description="success rate", ordering="statistics__effectiveness_score")
    def success_rate(self, skill):
        statistics = skill.statistics
        return f"{statistics.effectiveness_score} %" if statistics.usage_count else "—"

    @admin.display(description="tokens saved (mean)", ordering="statistics__token_savings_avg")
    def average_tokens_saved(self, skill):
        statistics = skill.statistics
        if not statistics.success_count:
            return "—"
        return f"{intcomma(statistics.token_savings_avg)} tokens"

    @admin.display(description="cost", ordering="cost_usd_total")
    def total_cost(self, skill):
        return f"{skill.cost_usd_total or 0:,.2f} USD"

    @admin.display(description="usage")
    def usage(self, skill):
        logs = reverse("admin:skills_skillusagelog_changelist")
        analytics = reverse("admin:usage_analytics")
        return format_html(
            '<a href="{}?{}">logs</a> · <a href="{}?{}">analytics</a>',
            logs,
            urlencode({"skill__id__exact": skill.pk}),
            analytics,
            urlencode({"skill": skill.skill_id}),
        )

    def get_readonly_fields(self, request, obj=None):
        # A skill's version changes by publishing or rolling back one of its versions.
        return [*self.readonly_fields, "version"] if obj else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        # Deleting a used skill would delete its whole usage history: deactivate it instead.
        return super().has_delete_permission(request, obj) and (
            obj is None or not obj.statistics.usage_count
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # would collect every log of every selected skill
        return actions


class PublishVersionForm(forms.ModelForm):
    class Meta:
        model = SkillVersion
        fields = ["skill", "version", "content", "changelog"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("skill") and cleaned.get("version"):
            try:
                services.check_new_version(cleaned["skill"], cleaned["version"])
            except forms.ValidationError as exc:
                self.add_error("version", exc)
        return cleaned


@admin.register(SkillVersion)
class SkillVersionAdmin(admin.ModelAdmin):
    form = PublishVersionForm
    list_display = ["skill", "version", "is_current", "deployed_at", "deprecated_at", "created_at"]
    list_filter = ["is_current"]
    list_select_related = ["skill"]
    search_fields = ["skill__skill_id", "version"]
    raw_id_fields = ["skill"]
    ordering = ["skill__skill_id", "-created_at"]
    actions = ["make_current"]

    def has_change_permission(self, request, obj=None):
        return False  # a published version is a record; publish a new one or roll back

    def has_rollback_permission(self, request):
        return request.user.has_perm("skills.change_skillversion")

    def save_model(self, request, obj, form, change):
        published = services.publish_version(
            obj.skill, obj.version, obj.content, obj.changelog, created_by=request.user.pk
        )
        obj.pk = published.pk

    @admin.action(
        description="Make the selected version current (roll back)", permissions=["rollback"]
    )
    def make_current(self, request, queryset):
        versions = list(queryset.select_related("skill")[:2])
        if len(versions) != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        version = versions[0]
        services.rollback_version(version.skill, version.version)
        self.message_user(request, f"{version.skill.skill_id} is now at version {version.version}.")


@admin.register(SkillUsageLog)
class SkillUsageLogAdmin(CSVExportMixin, ReadOnlyAdminMixin, ReplicaListMixin, FirmScopedAdmin):
    """Scoped like cases: a log is its user's firm's (docs/admin.md, "Firms"); a log of no user,
    or of a user of no firm, only superusers see. The list (the platform's largest, written only
    by the application) reads from a replica when one is configured and current."""

    def firm_filter(self, firm_id):
        return Q(user__firm_id=firm_id)

    export_fields = [
        "executed_at",
        "skill__skill_id",
        "user__email",
        "workspace_id",
        "success",
        "execution_time_ms",
        "tokens_used",
        "tokens_saved",
        "cost_usd",
        "error_message",
    ]
    # Figures with their units, formatted here: the admin's localized formatting of numbers was
    # most of a row's rendering time (bench/admin.py). Long values are cut (whole in a tooltip)
    # and the workspace left to the log's page, search and export, so that the list fits a
    # 1366 px screen beside the navigation and the filters.
    list_display = [
        "executed",
        "skill_name",
        "user_name",
        "success",
        "duration",
        "tokens",
        "cost",
    ]
    # RelatedFieldListFilter lists the skills table, not the distinct skills of the logs; no
    # date_hierarchy (it reads the distinct dates of every log).
    list_filter = ["skill", "success", "executed_at"]
    list_select_related = ["skill", "user"]
    ordering = ["-executed_at"]
    sortable_by = ["executed", "cost"]  # the indexed columns: no sort of the whole table
    search_fields = ["user_id", "workspace_id"]  # shows the search box; see get_search_results
    search_help_text = "A user id or a workspace id (UUID), or a user's email address."
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # 50 rows: each row costs about 0.9 ms of Django's rendering, the page's queries a few ms
    # at any size; 100 rows doubled the page's server time (bench/admin.py).
    list_per_page = 50
    actions = None

    @admin.display(description="executed at", ordering="executed_at")
    def executed(self, log):
        # The admin's format (to the minute); to the second in the tooltip.
        local = timezone.localtime(log.executed_at)
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            local.isoformat(),
            f"{local:%Y-%m-%d %H:%M:%S %Z}",
            local_datetime(local),
        )

    @admin.display(description="skill")
    def skill_name(self, log):
        return truncated(log.skill.skill_id, 22)

    @admin.display(description="user")
    def user_name(self, log):
        if log.user_id is None:
            return "—"
        name = str(log.user)
        if len(name) > 18 or name != log.user.email:  # the email address in the tooltip
            return format_html('<span title="{}">{}</span>', log.user.email, truncated(name, 18))
        return name

    @admin.display(description="time")
    def duration(self, log):
        return f"{log.execution_time_ms:,} ms"

    @admin.display(description="tokens used / saved")
    def tokens(self, log):
        return f"{log.tokens_used:,} / {log.tokens_saved:,}"

    @admin.display(description="cost (USD)", ordering="cost_usd")
    def cost(self, log):
        return str(log.cost_usd)

    def get_search_results(self, request, queryset, search_term):
        """Exact matches through an index that also gives the newest-first order: an id is a
        user's (user_id) if such a user exists, else a workspace's; an email address names a
        user. Anything else finds nothing. (A single OR over both columns would be planned as a
        walk down executed_at, which reads most of the table when the matches are old.)"""
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            value = uuid.UUID(term)
        except ValueError:
            user = User.objects.filter(email=term.lower()).values_list("pk", flat=True).first()
            return (queryset.filter(user_id=user) if user else queryset.none()), False
        if User.objects.filter(pk=value).exists():
            return queryset.filter(user_id=value), False
        return queryset.filter(workspace_id=value), False
