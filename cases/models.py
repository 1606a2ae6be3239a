"""The firm's practice data: firms, their users (also Django's user model), the audit trail of
changes to users, and the clients, cases, documents and tasks of each firm. Database names follow
docs/schema.md ("cases app")."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import MD5, Concat, Now
from pgvector.django import HnswIndex, VectorField

from core.models import UUIDPrimaryKey, created_at_field, enum_check

EMBEDDING_DIMENSIONS = 1536


class Firm(UUIDPrimaryKey):
    name = models.CharField(max_length=255)
    address = models.TextField(blank=True, default="")
    vat_id = models.CharField("VAT id", max_length=50, unique=True, db_comment="e.g. RO12345678")
    email = models.EmailField(max_length=255, blank=True, default="")
    phone = models.CharField(max_length=50, blank=True, default="")
    website = models.URLField(max_length=255, blank=True, default="")
    created_at = created_at_field()
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "firms"
        db_table_comment = (
            "Law firms using the platform; every user, client and case belongs to one."
        )
        ordering = ["name"]

    def __str__(self):
        return self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **fields):
        if not email:
            raise ValueError("a user needs an email address")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        fields.setdefault("status", User.Status.ACTIVE)
        fields.setdefault("role", User.Role.PARTNER)
        return self.create_user(email, password, **fields)


class UserRole(models.TextChoices):
    PARTNER = "Partner"
    ASSOCIATE = "Associate"
    PARALEGAL = "Paralegal"


class UserStatus(models.TextChoices):
    PENDING = "Pending"
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class User(UUIDPrimaryKey, AbstractBaseUser, PermissionsMixin):
    """A person at a firm; logs in to the admin with their email address."""

    Role = UserRole
    Status = UserStatus

    firm = models.ForeignKey(
        Firm, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    email = models.EmailField(max_length=255, unique=True)
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    role = models.CharField(
        max_length=20, choices=Role, default=Role.PARALEGAL, db_default=Role.PARALEGAL
    )
    status = models.CharField(
        max_length=20, choices=Status, default=Status.PENDING, db_default=Status.PENDING
    )
    # Derived from status, so the two can never disagree; Django's auth reads it.
    is_active = models.GeneratedField(
        expression=models.Q(status="Active"),
        output_field=models.BooleanField(),
        db_persist=True,
        db_comment="status = 'Active' (generated): only active users can log in",
    )
    is_staff = models.BooleanField(
        default=False, db_default=False, help_text="May log in to the admin."
    )
    azure_ad_id = models.CharField(
        "Azure AD id", max_length=255, unique=True, null=True, blank=True
    )
    preferences = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        db_comment='e.g. {"language": "ro", "aiSuggestionLevel": "high"}',
    )
    created_at = created_at_field()
    last_active = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        db_table = "users"
        db_table_comment = "People at a firm; also the Django user model (admin login by email)."
        ordering = ["last_name", "first_name"]
        constraints = [
            enum_check("role", UserRole, "users"),
            enum_check("status", UserStatus, "users"),
        ]
        indexes = [models.Index(fields=["firm", "status"], name="users_firm_status_idx")]

    def __str__(self):
        return self.get_full_name() or self.email

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self):
        return self.first_name or self.email


class AuditAction(models.TextChoices):
    ACTIVATED = "Activated"
    DEACTIVATED = "Deactivated"
    ROLE_CHANGED = "RoleChanged"


class UserAuditLog(UUIDPrimaryKey):
    """Who activated, deactivated or changed the role of a user, and when."""

    Action = AuditAction

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="audit_logs")
    action = models.CharField(max_length=20, choices=Action)
    admin_user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="audit_actions")
    old_value = models.CharField(max_length=255, null=True, blank=True)
    new_value = models.CharField(max_length=255, null=True, blank=True)
    timestamp = created_at_field()

    class Meta:
        db_table = "user_audit_logs"
        db_table_comment = "Audit trail of user activation, deactivation and role changes."
        ordering = ["-timestamp"]
        constraints = [enum_check("action", AuditAction, "user_audit_logs")]
        indexes = [models.Index(fields=["user", "-timestamp"], name="user_audit_user_time_idx")]

    def __str__(self):
        return f"{self.action} {self.user} by {self.admin_user}"


class Client(UUIDPrimaryKey):
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="clients")
    name = models.CharField(max_length=255)
    address = models.TextField(blank=True, default="", db_default="")
    contact_info = models.JSONField(
        default=dict, db_default={}, blank=True, db_comment='{"email": …, "phone": …}'
    )
    created_at = created_at_field()
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "clients"
        db_table_comment = "A firm's clients (people or companies)."
        ordering = ["name"]
        indexes = [
            # The admin's client search (name__trigram_word_similar, pg_trgm)
            GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="idx_clients_name_trgm"),
        ]

    def __str__(self):
        return self.name


class CaseType(models.TextChoices):
    CIVIL = "Civil"
    CRIMINAL = "Criminal"
    CORPORATE = "Corporate"
    INTELLECTUAL_PROPERTY = "IntellectualProperty"
    FAMILY = "Family"
    LABOR = "Labor"


class CaseStatus(models.TextChoices):
    ACTIVE = "Active"
    ON_HOLD = "OnHold"
    CLOSED = "Closed"
    ARCHIVED = "Archived"


class Priority(models.TextChoices):
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"
    CRITICAL = "Critical"


class Case(UUIDPrimaryKey):
    # Indexed by idx_cases_firm_status_opened, whose first column is firm_id.
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="cases", db_index=False)
    case_number = models.CharField(
        max_length=50,
        unique=True,
        validators=[
            RegexValidator(r"^CASE-\d{4}-\d{3,}$", "A case number looks like CASE-2024-001.")
        ],
        db_comment="CASE-YYYY-NNN",
    )
    title = models.CharField(max_length=500)
    case_type = models.CharField(max_length=30, choices=CaseType)
    status = models.CharField(
        max_length=20, choices=CaseStatus, default=CaseStatus.ACTIVE, db_default=CaseStatus.ACTIVE
    )
    priority = models.CharField(
        max_length=20, choices=Priority, default=Priority.MEDIUM, db_default=Priority.MEDIUM
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="cases")
    assigned_partner = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases_as_partner",
        limit_choices_to={"role": UserRole.PARTNER},
    )
    assigned_associate = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases_as_associate",
        limit_choices_to={"role": UserRole.ASSOCIATE},
    )
    description = models.TextField(blank=True, default="", db_default="")
    opened_date = models.DateField()
    closed_date = models.DateField(null=True, blank=True)
    court_name = models.CharField(max_length=255, blank=True, default="", db_default="")
    judge_name = models.CharField(max_length=255, blank=True, default="", db_default="")
    next_hearing_date = models.DateTimeField(null=True, blank=True)
    created_at = created_at_field()
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())
    search_vector = SearchVectorField(
        null=True,
        editable=False,
        db_comment="The words of case_number, title and the client's name (set by the database)",
    )

    class Meta:
        db_table = "cases"
        db_table_comment = "Legal matters a firm handles for a client."
        ordering = ["-opened_date", "case_number"]
        constraints = [
            enum_check("case_type", CaseType, "cases"),
            enum_check("status", CaseStatus, "cases"),
            enum_check("priority", Priority, "cases"),
            models.CheckConstraint(
                condition=models.Q(closed_date__isnull=True)
                | models.Q(opened_date__lte=models.F("closed_date")),
                name="cases_opened_before_closed",
            ),
        ]
        indexes = [
            # Substring and similarity lookups of titles and case numbers (pg_trgm)
            GinIndex(fields=["title"], opclasses=["gin_trgm_ops"], name="idx_cases_title_trgm"),
            GinIndex(
                fields=["case_number"], opclasses=["gin_trgm_ops"], name="idx_cases_number_trgm"
            ),
            # search_cases: the cases holding every query word (cases_search_vector trigger)
            GinIndex(fields=["search_vector"], name="idx_cases_search_vector"),
            # search_cases' newest matches first; the admin's case list (newest first)
            models.Index(fields=["-opened_date"], name="idx_cases_opened"),
            models.Index(fields=["firm", "-opened_date"], name="idx_cases_firm_opened"),
            # The admin's case list: a firm's cases by status, newest first
            models.Index(
                fields=["firm", "status", "-opened_date"], name="idx_cases_firm_status_opened"
            ),
            models.Index(fields=["status", "-opened_date"], name="idx_cases_status_opened"),
        ]

    def __str__(self):
        return f"{self.case_number} {self.title}"

    def clean(self):
        """A case's client and lawyers belong to the case's firm."""
        errors = {}
        if self.firm_id and self.client_id and self.client.firm_id != self.firm_id:
            errors["client"] = "The client belongs to another firm."
        for name in ("assigned_partner", "assigned_associate"):
            lawyer = getattr(self, name)
            if lawyer is not None and self.firm_id and lawyer.firm_id != self.firm_id:
                errors[name] = "This user belongs to another firm."
        if errors:
            raise ValidationError(errors)


class CaseSearchWord(models.Model):
    """A word of some case's number, title or client name (no digits), kept by the database: the
    list search_cases corrects a misspelled query word from, a few thousand words where the
    cases hold millions."""

    word = models.TextField(primary_key=True)

    class Meta:
        db_table = "case_search_words"
        db_table_comment = (
            "The words (without digits) of every case's search_vector, kept by triggers on cases."
        )
        default_permissions = ()
        indexes = [
            # Written seldom, read by every search: no pending list to scan (fastupdate)
            GinIndex(
                fields=["word"],
                opclasses=["gin_trgm_ops"],
                fastupdate=False,
                name="idx_case_search_words_trgm",
            ),
        ]

    def __str__(self):
        return self.word


class DocumentType(models.TextChoices):
    CONTRACT = "Contract"
    PLEADING = "Pleading"
    MOTION = "Motion"
    BRIEF = "Brief"
    EVIDENCE = "Evidence"
    CORRESPONDENCE = "Correspondence"
    OTHER = "Other"


class DocumentStatus(models.TextChoices):
    DRAFT = "Draft"
    REVIEW = "Review"
    APPROVED = "Approved"
    FILED = "Filed"


class Document(UUIDPrimaryKey):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    # The firm of the case, copied by the database (triggers of migration cases.0004) so that a
    # firm's semantic search filters and reads the documents table alone: the HNSW scan checks it
    # per index tuple, and a small firm's documents are read through its index. The NULL default
    # makes Django leave the column to the trigger on INSERT and read the value back (RETURNING).
    firm = models.ForeignKey(
        Firm,
        on_delete=models.PROTECT,
        related_name="documents",
        editable=False,
        blank=True,
        db_default=None,
        db_comment="The firm of the case (set by the database from cases.firm_id)",
    )
    created_by_user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="documents_created"
    )
    title = models.CharField(max_length=500)
    content = models.TextField(blank=True, default="", db_default="")
    document_type = models.CharField(max_length=30, choices=DocumentType)
    status = models.CharField(
        max_length=20,
        choices=DocumentStatus,
        default=DocumentStatus.DRAFT,
        db_default=DocumentStatus.DRAFT,
    )
    file_name = models.CharField(max_length=255)
    file_size_bytes = models.BigIntegerField(default=0, db_default=0)
    mime_type = models.CharField(max_length=100)
    storage_url = models.CharField(max_length=1000, db_comment="r2://legal-docs/…")
    version = models.IntegerField(default=1, db_default=1)
    ai_generated = models.BooleanField(default=False, db_default=False)
    content_embedding = VectorField(
        dimensions=EMBEDDING_DIMENSIONS,
        null=True,
        blank=True,
        editable=False,
        db_comment="Embedding of title and content (1536 dimensions)",
    )
    # Staleness of the embedding: the hash of the text it must be made from, kept by the database,
    # against the hash and the embedder it was made from (cases.services.embed_documents).
    content_hash = models.GeneratedField(
        expression=MD5(
            Concat("title", models.Value("\n"), "content", output_field=models.TextField())
        ),
        output_field=models.CharField(max_length=32),
        db_persist=True,
        db_comment="md5 of title, newline, content (generated): the text the embedding is made of",
    )
    embedding_source_hash = models.CharField(
        max_length=32,
        null=True,
        blank=True,
        editable=False,
        db_comment="content_hash when content_embedding was computed; stale when they differ",
    )
    embedding_model = models.CharField(
        max_length=100,
        null=True,
        blank=True,
        editable=False,
        db_comment="The embedder that computed content_embedding; stale when it is not the current",
    )
    created_at = created_at_field()
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "documents"
        db_table_comment = "Documents of a case, with an embedding of their content for search."
        ordering = ["-created_at"]
        permissions = [("approve_document", "Can approve documents")]
        constraints = [
            enum_check("document_type", DocumentType, "documents"),
            enum_check("status", DocumentStatus, "documents"),
            models.CheckConstraint(
                condition=models.Q(file_size_bytes__gte=0), name="documents_file_size_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="documents_version_positive"
            ),
        ]
        indexes = [
            GinIndex(fields=["title"], opclasses=["gin_trgm_ops"], name="idx_documents_title_trgm"),
            # similar_documents: nearest by cosine distance (pgvector HNSW)
            HnswIndex(
                fields=["content_embedding"],
                opclasses=["vector_cosine_ops"],
                m=16,
                ef_construction=128,
                name="idx_documents_embedding_hnsw",
            ),
            # The admin's document list: by status, newest first
            models.Index(fields=["status", "-created_at"], name="idx_documents_status_created"),
        ]

    def __str__(self):
        return self.title

    @property
    def embedding_text(self) -> str:
        """The text the embedding is made from; content_hash is the md5 of exactly this."""
        return f"{self.title}\n{self.content}"


class TaskType(models.TextChoices):
    RESEARCH = "Research"
    DOCUMENT_CREATION = "DocumentCreation"
    DOCUMENT_REVIEW = "DocumentReview"
    CLIENT_COMMUNICATION = "ClientCommunication"
    COURT_FILING = "CourtFiling"
    CASE_PREPARATION = "CasePreparation"


class TaskStatus(models.TextChoices):
    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"


class Task(UUIDPrimaryKey):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True, default="", db_default="")
    task_type = models.CharField(max_length=30, choices=TaskType)
    status = models.CharField(
        max_length=20, choices=TaskStatus, default=TaskStatus.PENDING, db_default=TaskStatus.PENDING
    )
    priority = models.CharField(
        max_length=20, choices=Priority, default=Priority.MEDIUM, db_default=Priority.MEDIUM
    )
    assigned_to_user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks_assigned",
        db_comment="NULL = unassigned",
    )
    created_by_user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="tasks_created"
    )
    due_date = models.DateTimeField(null=True, blank=True)
    estimated_hours = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    actual_hours = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = created_at_field()
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "tasks"
        db_table_comment = "Work items of a case, assigned to a user or unassigned."
        ordering = ["due_date"]
        constraints = [
            enum_check("task_type", TaskType, "tasks"),
            enum_check("status", TaskStatus, "tasks"),
            enum_check("priority", Priority, "tasks"),
            models.CheckConstraint(
                condition=models.Q(estimated_hours__isnull=True) | models.Q(estimated_hours__gte=0),
                name="tasks_estimated_hours_nonnegative",
            ),
            models.CheckConstraint(
                condition=models.Q(actual_hours__isnull=True) | models.Q(actual_hours__gte=0),
                name="tasks_actual_hours_nonnegative",
            ),
        ]
        indexes = [
            # The admin's task list and "what is due": by status, soonest due first
            models.Index(fields=["status", "due_date"], name="idx_tasks_status_due"),
        ]

    def __str__(self):
        return self.title
