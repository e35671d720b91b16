"""Self-contained plotly dashboards drawn from a results document: the page
(`page`), shared layout (`common`), and the panels (`figures`, `detail`, `whatif`).

May import: errors, io, version, results (the results format only).
"""
