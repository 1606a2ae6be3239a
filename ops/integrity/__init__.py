"""Integrity: `validate_database` (validate.py) runs every check the apps registered
(core.integrity) as one PASS / FAIL / SKIP report; the checks every schema has are here
(schema.py: migrations, extensions, tables; rows.py: each table's row rules in one scan), and
the comparison with the demo data files for `validate --expect-seed` (demo.py)."""
