"""Helpers shared by the tests of every app and by the benchmarks: scratch databases, catalog
snapshots, a real S3-compatible server process."""
