"""Seeding: the demo dataset from the data files under fixtures/ (`demo`), synthetic Romanian
firms at volume (`synthetic`), and the Romanian vocabulary both speak (`vocabulary`)."""
