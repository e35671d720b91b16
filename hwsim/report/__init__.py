"""The main job (`main_job`): train and verify (`training`, in worker processes where
something is to train), compare, sweep, summary and dashboard.

May import: every stage below it except machine and cli.
"""
