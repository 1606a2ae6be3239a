"""The start every benchmark shares. A bench runs as a plain script (`python bench/x.py`), so
importing this module first makes the project importable and names Django's settings module;
`setup_django()` then sets Django up, at import time or once the bench has chosen its database."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalplatform.settings")


def setup_django(**environment: str) -> None:
    """`django.setup()`, with `environment` (a scratch DATABASE_URL, say) set first: the settings
    read the environment once, when they are imported."""
    os.environ.update(environment)
    import django

    django.setup()
