"""System checks (`manage.py check`) for the embedder settings of semantic search."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register()
def check_embedder(app_configs=None, **kwargs):
    """EMBEDDER must name a usable embedder; a lone API URL or key is probably a mistake."""
    from cases.embeddings import get_embedder

    problems = []
    try:
        get_embedder()
    except ImproperlyConfigured as exc:
        problems.append(
            checks.Error(
                str(exc),
                hint="EMBEDDER is a dotted path to an embedder class, e.g. "
                "cases.embeddings.HashingEmbedder (local) or cases.embeddings.OpenAIEmbedder.",
                id="cases.E001",
            )
        )
    if bool(settings.EMBEDDING_API_URL) != bool(settings.EMBEDDING_API_KEY):
        given, missing = (
            ("EMBEDDING_API_URL", "EMBEDDING_API_KEY")
            if settings.EMBEDDING_API_URL
            else ("EMBEDDING_API_KEY", "EMBEDDING_API_URL")
        )
        problems.append(
            checks.Warning(
                f"{given} is set but {missing} is not: documents are embedded locally "
                f"({settings.EMBEDDER}), not by the API.",
                hint=f"Set {missing} too, or unset {given}.",
                id="cases.W001",
            )
        )
    return problems
