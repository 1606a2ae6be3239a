"""Integrity: the PASS / FAIL / SKIP report of `validate` and of the check after a restore."""
