"""Benchmarks for Yishi: HTTP page latency (pages.py) and minutes PDF render time (pdf.py)."""
