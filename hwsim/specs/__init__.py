"""Spec files: the safe YAML reader that collects every problem with its path
(`yaml_reader`), devices (`device`), workloads (`workload`, `workload_layers`), and the
bundled files (`bundled`, `catalog`).

May import: errors, io, version, ir.
"""
