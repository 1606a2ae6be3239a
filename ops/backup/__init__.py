"""Backups: creating a verified, owner-only dump with its manifest (`create`), restoring one
without losing anything (`restore`), encryption at rest (`encryption`), off-site copies in S3 or
R2 (`offsite`), and PostgreSQL's own client programs and connections (`client`)."""
