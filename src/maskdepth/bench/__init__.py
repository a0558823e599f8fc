"""Benchmarks: throughput measured on the machine at hand, never asserted in tests.

rates.py: single rates (scene engine, photo compositor, a model), what `maskdepth bench synth|
build|model` prints; measure.py: every speed of the project in one run (`bench all`);
report.py: those numbers as the Markdown report docs/BENCHMARKS.md.
"""
