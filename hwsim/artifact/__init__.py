"""The trained model artifact (model.json + model.npz): writing it (`save`) and
loading and checking it (`load`).

May import: errors, io, version, ir, specs, train.
"""
