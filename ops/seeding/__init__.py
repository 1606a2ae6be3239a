"""Seeding: the demo dataset from the data files under fixtures/ (`demo`, with its discovery part
in `discovery`), synthetic Romanian firms at volume (`synthetic`), and the Romanian vocabulary
both speak (`vocabulary`)."""
