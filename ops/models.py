"""The ops app holds no tables of its own yet; its migrations prepare the database."""
