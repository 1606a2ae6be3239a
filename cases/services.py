"""Write paths of the cases app: activating, deactivating and changing the role of users (each
with its audit row), approving documents, closing cases, keeping document embeddings current,
and repairing the words cases are searched by. Rules about who may do what live here, so the
admin and any other caller share them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from cases.embeddings import Embedder, get_embedder
from cases.models import Case, CaseStatus, Document, DocumentStatus, User, UserAuditLog
from cases.selectors import HELD_WORDS_SQL, STALE_CASES_CONDITION, documents_needing_embedding
from core.progress import ProgressFactory, no_progress


def _require(actor: User, permission: str, firm_id, action: str) -> None:
    """PermissionDenied unless `actor` holds `permission` and belongs to the firm (or is a
    superuser)."""
    if not actor.has_perm(permission):
        raise PermissionDenied(f"{actor} ({actor.role}) may not {action}.")
    if not actor.is_superuser and (actor.firm_id is None or actor.firm_id != firm_id):
        raise PermissionDenied(f"{actor} may not {action}: it belongs to another firm.")


# --- Users ---------------------------------------------------------------------------------------


def activate_user(user: User, *, by: User) -> bool:
    """Make `user` Active (able to log in); False when they already were."""
    return _change_user(user, "status", User.Status.ACTIVE, UserAuditLog.Action.ACTIVATED, by=by)


def deactivate_user(user: User, *, by: User) -> bool:
    """Make `user` Inactive (unable to log in); False when they already were."""
    return _change_user(
        user, "status", User.Status.INACTIVE, UserAuditLog.Action.DEACTIVATED, by=by
    )


def change_role(user: User, role: str, *, by: User) -> bool:
    """Give `user` the role `role` (and so the permissions of its group); False when unchanged."""
    if role not in User.Role.values:
        raise ValidationError(f"{role!r} is not a role; choose one of {', '.join(User.Role)}.")
    return _change_user(user, "role", role, UserAuditLog.Action.ROLE_CHANGED, by=by)


def _change_user(user: User, field: str, value: str, action: str, *, by: User) -> bool:
    """Set `user.<field>` and write the audit row with the acting admin, in one transaction."""
    _require(by, "cases.change_user", user.firm_id, "change users")
    if by.pk == user.pk:
        raise ValidationError(f"You cannot change your own {field}; ask another administrator.")
    with transaction.atomic():
        old = User.objects.select_for_update().values_list(field, flat=True).get(pk=user.pk)
        if old == value:
            setattr(user, field, value)
            return False
        setattr(user, field, value)
        # save() rather than update(): signals (cache invalidation, logout) see the change.
        user.save(update_fields=[field])
        UserAuditLog.objects.create(
            user=user, action=action, admin_user=by, old_value=old, new_value=value
        )
    if field == "status":
        user.refresh_from_db(fields=["is_active"])  # generated from status by the database
    return True


# --- Documents and cases -------------------------------------------------------------------------


def approve_document(document: Document, *, by: User) -> bool:
    """Mark `document` Approved; only roles that may approve (Partner) can. False when it
    already was Approved."""
    _require(by, "cases.approve_document", document.case.firm_id, "approve documents")
    with transaction.atomic():
        status = Document.objects.select_for_update().values_list("status", flat=True)
        status = status.get(pk=document.pk)
        if status == DocumentStatus.APPROVED:
            document.status = status
            return False
        if status == DocumentStatus.FILED:
            raise ValidationError(f"{document} is filed already; a filed document stays filed.")
        document.status = DocumentStatus.APPROVED
        document.save(update_fields=["status", "updated_at"])
    return True


def close_case(
    case: Case, *, by: User | None = None, closed_date: datetime.date | None = None
) -> bool:
    """Close `case`, stamping `closed_date` (today unless given). `by` None means the system
    (no permission check). False when it was closed already."""
    if by is not None:
        _require(by, "cases.change_case", case.firm_id, "manage cases")
    closed_date = closed_date or timezone.localdate()
    with transaction.atomic():
        current = Case.objects.select_for_update().only("status", "opened_date").get(pk=case.pk)
        if current.status == CaseStatus.CLOSED:
            return False
        if current.status == CaseStatus.ARCHIVED:
            raise ValidationError(f"{case.case_number} is archived; it was closed before.")
        if closed_date < current.opened_date:
            raise ValidationError(
                f"{case.case_number} opened on {current.opened_date}; "
                f"it cannot close on {closed_date}."
            )
        case.status = CaseStatus.CLOSED
        case.closed_date = closed_date
        case.save(update_fields=["status", "closed_date", "updated_at"])
    return True


# --- Embeddings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddingRun:
    embedder: str
    embedded: int  # documents given a new embedding
    remaining: int  # documents still missing one or stale (changed while the run went on)


def embed_documents(
    *,
    within: QuerySet[Document] | None = None,
    embedder: Embedder | None = None,
    batch_size: int | None = None,
    progress: ProgressFactory = no_progress,
    using: str = "default",
) -> EmbeddingRun:
    """Give every document whose embedding is missing or stale (its text or the embedder
    changed) a new one, `batch_size` documents per embedder call and per transaction.

    The embedder is called outside any transaction; each batch is written in one UPDATE that
    records the hash of the text it embedded, so a document edited meanwhile stays stale, and an
    interrupted run keeps its finished batches and resumes with the rest. `progress` (the
    progress protocol of core.progress) counts the documents. `within` limits the run to those
    documents.
    """
    embedder = embedder or get_embedder()
    batch_size = batch_size or settings.EMBEDDING_BATCH_SIZE
    needing = documents_needing_embedding(embedder.name).using(using)
    if within is not None:
        needing = needing.filter(pk__in=within.values("pk"))
    pending = needing.order_by("pk")
    pending = pending.only("id", "title", "content", "content_hash")
    embedded = 0
    after = None
    with progress(total=needing.count(), desc="embedding", unit="docs") as bar:
        while documents := list(
            (pending if after is None else pending.filter(pk__gt=after))[:batch_size]
        ):
            vectors = embedder.embed([document.embedding_text for document in documents])
            for document, vector in zip(documents, vectors, strict=True):
                document.content_embedding = vector
                document.embedding_source_hash = document.content_hash
                document.embedding_model = embedder.name
            with transaction.atomic(using=using):
                Document.objects.using(using).bulk_update(
                    documents, ["content_embedding", "embedding_source_hash", "embedding_model"]
                )
            embedded += len(documents)
            after = documents[-1].pk
            bar.update(len(documents))
    remaining = needing.count()
    return EmbeddingRun(embedder=embedder.name, embedded=embedded, remaining=remaining)


# --- Search words --------------------------------------------------------------------------------

# Each statement's row count is one kind of drift (cases.selectors.case_search_drift), so the
# repair finds and counts it in one pass. The list first, from the words the cases hold now; then
# the stale cases are emptied, which the cases_search_vector trigger computes again (and
# case_search_words_update lists).
REFRESH_CASE_SEARCH_SQL = {
    "extra words": """
        DELETE FROM case_search_words
         WHERE NOT EXISTS (SELECT FROM held_words WHERE held_words.word = case_search_words.word)
    """,
    "missing words": """
        INSERT INTO case_search_words (word)
        SELECT word FROM held_words ORDER BY word
            ON CONFLICT DO NOTHING
    """,
    "stale cases": f"""
        UPDATE cases
           SET search_vector = NULL
          FROM clients
         WHERE clients.id = cases.client_id
           AND {STALE_CASES_CONDITION}
    """,
}


@transaction.atomic
def refresh_case_search() -> dict[str, int]:
    """Put the words search_cases reads back in step with the cases, in one transaction: after
    cases or clients were written with the triggers disabled (`session_replication_role =
    replica`), as `validate` reports. Returns how much of each kind of drift it repaired (the
    kinds of cases.selectors.case_search_drift); writes to cases wait for it."""
    counts = {}
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE cases, case_search_words IN SHARE ROW EXCLUSIVE MODE")
        # Dropped here, not on commit: a caller's transaction may repair twice.
        cursor.execute(f"CREATE TEMPORARY TABLE held_words AS {HELD_WORDS_SQL}")
        for kind, statement in REFRESH_CASE_SEARCH_SQL.items():
            cursor.execute(statement)
            counts[kind] = cursor.rowcount
        cursor.execute("DROP TABLE held_words")
    return counts
