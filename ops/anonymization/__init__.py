"""Anonymization: the rules of settings.ANONYMIZATION as SQL (`rules`), the run that applies them
in one transaction (`run`), the verification that nothing removed is left (`verification`), and
the import of a production export through a scratch database (`imports`)."""
