"""Keeps Redis in step with writes to the practice data: cached entries are invalidated as
docs/schema.md's table says once the transaction commits, and deactivating a user ends their
sessions. Writes that bypass model signals (`QuerySet.update`, `bulk_create`) must invalidate
themselves."""

from __future__ import annotations

import logging
import threading

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from cases.models import Case, Document, Firm, User
from legalplatform.cache import cache_manager
from legalplatform.redis import RedisUnavailable
from legalplatform.sessions import session_manager

logger = logging.getLogger(__name__)


class _PendingWork(threading.local):
    def __init__(self):
        self.calls: dict[tuple, None] = {}  # an ordered set of (function, argument)


_pending = _PendingWork()


def after_commit(function, argument) -> None:
    """Run `function(argument)` once the current transaction commits (at once outside of one),
    so no reader can cache the old data again between the invalidation and the commit. A call
    queued many times in one transaction runs once: saving 1,000 documents scans for
    `document:*` once. Calls queued by a transaction that rolled back run with the next commit:
    an invalidation too many is harmless, one too few is not."""
    _pending.calls[(function, argument)] = None
    transaction.on_commit(_run_pending)


def _run_pending() -> None:
    calls, _pending.calls = _pending.calls, {}
    for function, argument in calls:
        function(argument)


def end_sessions_of(user_id) -> None:
    """Log the user out everywhere. With Redis down their sessions outlive this, but an inactive
    user's session authenticates no one (Django's ModelBackend refuses inactive users)."""
    try:
        ended = session_manager.delete_user_sessions(user_id)
    except RedisUnavailable as exc:
        logger.error("could not end the sessions of deactivated user %s: %s", user_id, exc)
        return
    logger.info("ended %d session(s) of deactivated user %s", ended, user_id)


# A case or firm updated or deleted → what to invalidate (docs/schema.md's table).
ON_UPDATE_OR_DELETE = {
    Case: (cache_manager.delete, "case:{pk}"),
    Firm: (cache_manager.invalidate, "firm:{pk}:*"),
}


def invalidate_updated_or_deleted(sender, instance, created=False, **kwargs):
    if not created:
        invalidate, key = ON_UPDATE_OR_DELETE[sender]
        after_commit(invalidate, key.format(pk=instance.pk))


for model in ON_UPDATE_OR_DELETE:
    for signal in (post_save, post_delete):
        signal.connect(invalidate_updated_or_deleted, sender=model, dispatch_uid=__name__)


@receiver(post_save, sender=Document, dispatch_uid="cases.signals.document_saved")
def document_added(sender, instance, created, **kwargs):
    """Document added to a case → `case:{caseId}` and `document:*`."""
    if created:
        invalidate_case_documents(instance)


@receiver(post_delete, sender=Document, dispatch_uid="cases.signals.document_deleted")
def document_removed(sender, instance, **kwargs):
    """A document removed from a case changes it as much as one added."""
    invalidate_case_documents(instance)


def invalidate_case_documents(document) -> None:
    after_commit(cache_manager.delete, f"case:{document.case_id}")
    after_commit(cache_manager.invalidate, "document:*")


@receiver(pre_save, sender=User, dispatch_uid="cases.signals.user_saving")
def remember_access(sender, instance, update_fields=None, **kwargs):
    """Note the stored role and status of a user about to be saved (one primary-key lookup,
    skipped for new users and for saves of other fields, such as `last_login` at each login)."""
    if instance._state.adding:
        return
    if update_fields is not None and not {"role", "status"}.intersection(update_fields):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values_list("role", "status")
    instance._access_before_save = stored.first()


@receiver(post_save, sender=User, dispatch_uid="cases.signals.user_saved")
def apply_access_change(sender, instance, **kwargs):
    """User role changed → `user:{userId}:*`; status changed to Inactive → end their sessions."""
    before = instance.__dict__.pop("_access_before_save", None)
    if before is None:
        return
    role, status = before
    if instance.role != role:
        after_commit(cache_manager.invalidate, f"user:{instance.pk}:*")
    if instance.status == User.Status.INACTIVE and status != User.Status.INACTIVE:
        after_commit(end_sessions_of, instance.pk)
