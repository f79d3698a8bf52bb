"""Reads shaped for the program pages and API, one module per area: board, governance,
insight (Scrum of Scrums, leading indicators)."""
