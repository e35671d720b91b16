"""The trainer: the paper's method (tanhD with a straight-through gradient, periodic
k-means weight clustering, product tables, integer thresholds) and continuous baselines,
in numpy; `pipeline.run_training` trains, discretizes and exports an integer model.

May import: errors, io, version, ir, specs, datasets.
"""
