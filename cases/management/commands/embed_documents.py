"""`manage.py embed_documents`: give every document whose embedding is missing or stale a new
one with the configured embedder (settings.EMBEDDER), in batches."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from cases.embeddings import EmbeddingError, get_embedder
from cases.selectors import documents_needing_embedding
from cases.services import embed_documents
from core.progress import progress_bar


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    # The embedder settings are validated below with one readable line, not the system checks.
    requires_system_checks = []
    help = (
        "Embed the documents whose embedding is missing or stale (title or content changed, or "
        "another embedder made it), with the embedder EMBEDDER names."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=None,
            help=f"documents per embedder call (default EMBEDDING_BATCH_SIZE, "
            f"{settings.EMBEDDING_BATCH_SIZE})",
        )
        parser.add_argument(
            "--database", default="default", help="the database alias (default: default)"
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="accepted for symmetry with other commands; this one never asks",
        )

    def handle(self, *args, batch_size, database, verbosity, **options):
        if database not in connections:
            raise CommandError(f"no database alias {database!r} in DATABASES")
        try:
            embedder = get_embedder()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        total = documents_needing_embedding(embedder.name).using(database).count()
        with progress_bar(self.stderr, total=total, desc="embedding", unit="docs") as bar:
            try:
                run = embed_documents(
                    embedder=embedder, batch_size=batch_size, on_batch=bar.update, using=database
                )
            except EmbeddingError as exc:
                raise CommandError(str(exc)) from None
        if verbosity:
            self.stdout.write(
                f"embedded {run.embedded} documents with {run.embedder}; "
                f"{run.remaining} still missing or stale"
            )
