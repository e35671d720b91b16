"""The main job (`main_job`): train, verify, compare, sweep, summary and dashboard.

May import: every stage below it except machine and cli.
"""
