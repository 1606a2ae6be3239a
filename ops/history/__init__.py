"""Migration history: each project migration's checksum and apply and rollback times, what the
files and the database say about them (`selectors`), and the safe undo (`services`)."""
