"""Evaluation through the PyPI ``trackeval`` package; the metrics are never re-implemented here."""
