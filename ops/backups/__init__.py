"""Backups: creating a verified, owner-only dump with its manifest (`create`), restoring one
without losing anything (`restore`), encryption at rest (`encryption`), and PostgreSQL's own
client programs and connections (`client`)."""
