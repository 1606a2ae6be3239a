"""Admin of document-type discovery: the registry with its status and priority up front and
actions to map types or queue them for review, templates with their patterns and usage, the
detail tables, and the three reports as read-only lists."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils.html import format_html

from cases.admin import FirmScopedAdmin
from cases.models import User
from discovery import selectors, services
from discovery.models import (
    DocumentDiscoveryMetrics,
    DocumentPattern,
    DocumentTypeInstance,
    DocumentTypeRegistry,
    RomanianTemplate,
    TemplateCreationCandidate,
    TemplateEffectivenessReport,
    TemplateUsageLog,
)
from discovery.normalization import normalize_type_name
from legalplatform.admin import (
    ReadOnlyAdminMixin,
    change_link,
    changelist_link,
    html_table,
    local_datetime,
    short_id,
)
from skills.models import Skill

RECENT_USES_SHOWN = 10


# --- registry -----------------------------------------------------------------------------------


class DocumentTypeForm(forms.ModelForm):
    """A type added by hand gets its normalized key from its name, as record_discovery would; a
    type edited keeps its key. Either way, (key, language) must name no other type."""

    class Meta:
        model = DocumentTypeRegistry
        fields = [
            "discovered_type_original",
            "discovered_type_english",
            "primary_language",
            "document_category",
            "business_value_score",
            "complexity_score",
            "common_clauses",
            "typical_structure",
        ]

    def clean(self):
        cleaned = super().clean()
        original, language = (
            cleaned.get("discovered_type_original"),
            cleaned.get("primary_language"),
        )
        if not (original and language):
            return cleaned
        if self.instance._state.adding:
            self.instance.discovered_type_normalized = normalize_type_name(original, language)
        normalized = self.instance.discovered_type_normalized
        existing = (
            DocumentTypeRegistry.objects.filter(
                discovered_type_normalized=normalized, primary_language=language
            )
            .exclude(pk=self.instance.pk)
            .first()
        )
        if existing is not None:
            raise ValidationError(
                f"“{original}” is already registered as “{existing}” ({normalized}, {language})"
            )
        return cleaned


class MapTypesForm(forms.Form):
    """The mapping the “Map to a skill or template” action applies to every selected type."""

    skill = forms.ModelChoiceField(
        Skill.objects.filter(is_active=True), to_field_name="skill_id", required=False
    )
    template = forms.ModelChoiceField(
        RomanianTemplate.objects.filter(is_active=True), required=False
    )
    confidence = forms.DecimalField(min_value=0, max_value=1, decimal_places=2, initial=1)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("skill") and not cleaned.get("template"):
            raise ValidationError("Choose a skill, a template or both.")
        return cleaned


@admin.register(DocumentTypeRegistry)
class DocumentTypeRegistryAdmin(admin.ModelAdmin):
    form = DocumentTypeForm
    list_display = [
        "discovered_type_original",
        "mapping_status",
        "priority_score",
        "total_occurrences",
        "unique_variations",
        "discovered_type_english",
        "primary_language",
        "document_category",
        "last_seen_date",
    ]
    list_filter = ["mapping_status", "primary_language", "document_category"]
    search_fields = [
        "discovered_type_original",
        "discovered_type_normalized",
        "discovered_type_english",
    ]
    ordering = ["-priority_score", "-total_occurrences"]
    date_hierarchy = "first_seen_date"
    show_full_result_count = False  # no second COUNT(*) over a large registry
    actions = ["map_selected", "queue_selected_for_review"]
    # Kept by the services (record_discovery, map_type, recompute_priorities), shown only.
    occurrence_fields = [
        "total_occurrences",
        "unique_variations",
        "spellings",
        "first_seen_date",
        "last_seen_date",
        "avg_document_length",
        "sample_document_ids",
        "instances",
    ]
    mapping_fields = [
        "mapped_skill_id",
        "mapped_template",
        "mapping_confidence",
        "reviewed_by",
        "reviewed_at",
    ]
    readonly_fields = [
        "discovered_type_normalized",
        "mapping_status",
        "priority_score",
        "frequency_score",
        *mapping_fields,
        *occurrence_fields,
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "discovered_type_original",
                    "discovered_type_normalized",
                    "discovered_type_english",
                    "primary_language",
                    "document_category",
                ]
            },
        ),
        (
            "Status and priority",
            {
                "description": "Mapped through the list's actions; priority from "
                "frequency, business value and complexity (recompute_priorities).",
                "fields": [
                    "mapping_status",
                    "priority_score",
                    "frequency_score",
                    "business_value_score",
                    "complexity_score",
                    *mapping_fields,
                ],
            },
        ),
        ("Occurrences", {"fields": occurrence_fields}),
        ("Content", {"fields": ["common_clauses", "typical_structure"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="spellings found")
    def spellings(self, obj):
        return html_table(
            ["spelling", "first seen"],
            [(s.variation, local_datetime(s.first_seen_date)) for s in selectors.spellings_of(obj)],
        )

    @admin.display(description="mapped template")
    def mapped_template(self, obj):
        if obj.mapped_template_id is None:
            return "—"
        template = RomanianTemplate.objects.filter(pk=obj.mapped_template_id).first()
        if template is None:
            return f"{obj.mapped_template_id} (deleted)"
        return change_link(RomanianTemplate, template.pk, template)

    @admin.display(description="documents detected")
    def instances(self, obj):
        return changelist_link(DocumentTypeInstance, "list", registry__id__exact=obj.pk)

    @admin.action(description="Map to a skill or template…", permissions=["change"])
    def map_selected(self, request, queryset):
        form = MapTypesForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            skill = form.cleaned_data["skill"]
            try:
                with transaction.atomic():
                    for registry in queryset:
                        services.map_type(
                            registry,
                            skill_id=skill.skill_id if skill else None,
                            template=form.cleaned_data["template"],
                            confidence=form.cleaned_data["confidence"],
                            manual=True,
                            reviewer=request.user.get_username(),
                        )
            except ValidationError as exc:
                self.message_user(request, f"Nothing mapped: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Mapped {len(queryset)} document type(s).")
            return None
        return TemplateResponse(
            request,
            "admin/discovery/documenttyperegistry/map_types.html",
            {
                **self.admin_site.each_context(request),
                "title": "Map document types",
                "opts": self.model._meta,
                "form": form,
                "types": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description="Queue for review", permissions=["change"])
    def queue_selected_for_review(self, request, queryset):
        queued = services.queue_for_review(queryset)
        self.message_user(
            request,
            f"Queued {queued} of {len(queryset)} document type(s) for review "
            "(manually mapped types and types with a template keep their status).",
            messages.SUCCESS,
        )


@admin.register(DocumentTypeInstance)
class DocumentTypeInstanceAdmin(admin.ModelAdmin):
    list_display = ["document", "registry", "confidence_score", "detected_at"]
    list_select_related = ["registry"]
    raw_id_fields = ["registry"]
    search_fields = ["=document_id"]
    date_hierarchy = "detected_at"
    show_full_result_count = False

    @admin.display(description="document", ordering="document_id")
    def document(self, instance):
        return short_id(instance.document_id)


# --- templates ----------------------------------------------------------------------------------


@admin.register(RomanianTemplate)
class RomanianTemplateAdmin(admin.ModelAdmin):
    list_display = [
        "template_name_ro",
        "template_name_en",
        "legal_category",
        "usage_count",
        "effectiveness_score",
        "is_active",
        "version",
        "updated_at",
    ]
    list_filter = ["is_active", "legal_category", "jurisdiction"]
    search_fields = ["template_name_ro", "template_name_en", "template_slug"]
    prepopulated_fields = {"template_slug": ["template_name_en"]}
    autocomplete_fields = ["document_type"]
    readonly_fields = [
        "usage_count",
        "effectiveness_score",
        "rated_count",
        "patterns",
        "recent_usage",
        "created_by",
        "last_modified_by",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "template_name_ro",
                    "template_name_en",
                    "template_slug",
                    "legal_category",
                    "document_type",
                    "jurisdiction",
                    "civil_code_references",
                    "version",
                    "is_active",
                ]
            },
        ),
        (
            "Content",
            {
                "fields": [
                    "template_structure",
                    "standard_clauses",
                    "variable_mappings",
                    "created_from_pattern",
                    "source_document_ids",
                ]
            },
        ),
        ("Patterns", {"fields": ["patterns"]}),
        (
            "Usage",
            {"fields": ["usage_count", "rated_count", "effectiveness_score", "recent_usage"]},
        ),
        ("Record", {"fields": ["created_by", "last_modified_by", "created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        obj.last_modified_by = request.user.get_username()
        if not change:
            obj.created_by = obj.last_modified_by
        super().save_model(request, obj, form, change)

    @admin.display(description="patterns used")
    def patterns(self, obj):
        return html_table(
            ["type", "text (ro)", "occurrences", "confidence"],
            [
                (
                    change_link(DocumentPattern, p.pk, p.get_pattern_type_display()),
                    p.pattern_text_ro,
                    p.occurrence_count,
                    p.confidence_score,
                )
                for p in selectors.patterns_of_template(obj)
            ],
        )

    def get_fieldsets(self, request, obj=None):
        # The recent uses table is every firm's: a superuser's. Staff follow the link to the
        # list of uses, scoped to their firm.
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        return [
            (name, {**options, "fields": [_own_uses(f) for f in options["fields"]]})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else [_own_uses(f) for f in fields]

    @admin.display(description="uses")
    def uses_link(self, obj):
        return changelist_link(TemplateUsageLog, "Uses of your firm", template__id__exact=obj.pk)

    @admin.display(description="recent uses")
    def recent_usage(self, obj):
        table = html_table(
            ["used at", "satisfaction", "minutes saved", "use case"],
            [
                (
                    change_link(TemplateUsageLog, log.pk, local_datetime(log.used_at)),
                    log.user_satisfaction_score,
                    log.time_saved_minutes,
                    log.use_case,
                )
                for log in selectors.recent_usage_of_template(obj)[:RECENT_USES_SHOWN]
            ],
        )
        return format_html(
            "{}<p>{}</p>",
            table,
            changelist_link(TemplateUsageLog, "All uses", template__id__exact=obj.pk),
        )


def _own_uses(field: str) -> str:
    return "uses_link" if field == "recent_usage" else field


@admin.register(DocumentPattern)
class DocumentPatternAdmin(admin.ModelAdmin):
    list_display = [
        "pattern_text_ro",
        "pattern_type",
        "category",
        "occurrence_count",
        "confidence_score",
        "document_type",
    ]
    list_filter = ["pattern_type", "category"]
    list_select_related = ["document_type"]
    search_fields = ["pattern_text_ro", "pattern_text_en"]
    autocomplete_fields = ["document_type"]


@admin.register(TemplateUsageLog)
class TemplateUsageLogAdmin(FirmScopedAdmin):
    """Usage can be corrected here: the statistics triggers keep the template's figures exact.
    Scoped like cases: a use is the firm's of the user who made it (docs/admin.md, "Firms")."""

    def firm_filter(self, firm_id):
        # user_id is a plain UUID column (upstream's), not a foreign key.
        return Q(user_id__in=User.objects.filter(firm_id=firm_id).values("pk"))

    list_display = [
        "used_at",
        "template",
        "user_satisfaction_score",
        "time_saved_minutes",
        "generation_time_ms",
        "manual_edits_count",
    ]
    list_filter = ["user_satisfaction_score", "template"]
    list_select_related = ["template"]
    search_fields = ["use_case", "template__template_name_ro", "template__template_slug"]
    autocomplete_fields = ["template"]
    date_hierarchy = "used_at"
    show_full_result_count = False


# --- reports (views) ----------------------------------------------------------------------------


class ReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A database view: listed and opened, never written."""

    list_display_links = None


@admin.register(DocumentDiscoveryMetrics)
class DocumentDiscoveryMetricsAdmin(ReportAdmin):
    list_display = [
        "week_start",
        "new_types",
        "total_occurrences",
        "avg_mapping_confidence",
        "pending",
        "auto_mapped",
        "manual_mapped",
        "template_created",
        "queue_review",
    ]


@admin.register(TemplateEffectivenessReport)
class TemplateEffectivenessReportAdmin(ReportAdmin):
    list_display = [
        "template_link",
        "legal_category",
        "uses",
        "rated_uses",
        "avg_satisfaction",
        "effectiveness_score",
        "avg_time_saved_minutes",
        "total_time_saved_minutes",
    ]
    list_filter = ["legal_category"]
    search_fields = ["template_name_ro", "template_name_en", "template_slug"]

    @admin.display(description="template", ordering="template_name_ro")
    def template_link(self, row):
        return change_link(RomanianTemplate, row.template_id, row.template_name_ro)


@admin.register(TemplateCreationCandidate)
class TemplateCreationCandidateAdmin(ReportAdmin):
    list_display = [
        "type_link",
        "discovered_type_english",
        "mapping_status",
        "priority_score",
        "total_occurrences",
        "unique_variations",
        "primary_language",
        "document_category",
        "days_since_discovery",
    ]
    list_filter = ["mapping_status", "primary_language", "document_category"]
    search_fields = ["discovered_type_original", "discovered_type_english"]

    @admin.display(description="document type", ordering="discovered_type_original")
    def type_link(self, row):
        return change_link(DocumentTypeRegistry, row.registry_id, row.discovered_type_original)
