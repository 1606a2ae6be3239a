"""`manage.py embed_documents`: give every document whose embedding is missing or stale a new
one with the configured embedder (settings.EMBEDDER), in batches."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from cases.embeddings import EmbeddingError, get_embedder
from cases.services import embed_documents
from core.commands import OperatorCommand, whole_number


class Command(OperatorCommand):
    # The embedder settings are validated below with one readable line, not the system checks.
    requires_system_checks = []
    help = (
        "Embed the documents whose embedding is missing or stale (title or content changed, or "
        "another embedder made it), with the embedder EMBEDDER names."
    )
    service_errors = (ImproperlyConfigured, EmbeddingError)

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=whole_number(1),
            default=None,
            help=f"documents per embedder call (default EMBEDDING_BATCH_SIZE, "
            f"{settings.EMBEDDING_BATCH_SIZE})",
        )

    def handle(self, *args, batch_size, database, verbosity, **options):
        run = embed_documents(
            embedder=get_embedder(), batch_size=batch_size, progress=self.progress, using=database
        )
        if verbosity:
            self.stdout.write(
                f"embedded {run.embedded} documents with {run.embedder}; "
                f"{run.remaining} still missing or stale"
            )
