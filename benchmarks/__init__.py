"""Benchmarks: ``python -m benchmarks`` (ratios against a baseline measured in the same run)."""
