"""The simpy schedule of frames on a device: the event model (`model`), the
scheduler with deadlines, firmware share, DMA, sleep, energy and battery (`scheduler`),
and the timeline export (`timeline`).

May import: errors, io, version, ir, specs.
"""
