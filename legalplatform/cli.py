"""The `manage.py` entry point: Django's command line, with configuration and connection errors
reported as one readable line and a non-zero exit code instead of a traceback."""

import os
import sys


def main(argv=None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legalplatform.settings")
    argv = list(sys.argv if argv is None else argv)
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError

    from legalplatform.embedded import EmbeddedServerError

    try:
        execute_from_command_line(argv)
    except (ImproperlyConfigured, OperationalError, EmbeddedServerError) as exc:
        if "--traceback" in argv:
            raise
        message = " ".join(str(exc).split()) or exc.__class__.__name__
        sys.stderr.write(f"error: {message}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
