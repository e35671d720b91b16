"""One network on one device in one style, end to end (`simulate`: graph, cost,
memory, schedule), its result rows and details (`rows`), and device x style matrices
(`compare`).

May import: errors, io, version, ir, specs, artifact, cost, memory, schedule, results.
"""
