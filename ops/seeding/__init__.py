"""Seeding: the demo dataset from the data files under fixtures/ (`demo`) and synthetic Romanian
firms at volume (`synthetic`)."""
