"""The schedule of frames on a device: the plan and trace records (`frame_plan`), the
simpy event model (`model`) and its closed form when the nodes run one after another
(no DMA; one core or a path: `sequential`), the scheduler with deadlines, firmware
share, DMA, sleep, energy and battery (`scheduler`), and the timeline export
(`timeline`).

May import: errors, io, version, ir, specs.
"""
