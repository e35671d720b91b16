"""The style-neutral model every stage consumes: layer configs and window geometry
(`layers`, `geometry`), activation levels and the integer rules (`levels`), the integer
model (`integer`), the arithmetic styles (`style`), what a network description must
provide (`network`), random integer models for shape-only costing (`random_model`), the
typed op graph (`ops`, `graph`), the lowering rules code generator and cost model share
(`lowering`), how a converted model's inputs and data files become input levels
(`input_encoding`), and which int8 library kernel runs a weighted node and its trip counts
(`int8_kernels`, `int8_trip_counts`).

May import: hwsim.errors, hwsim.io, hwsim.version. Nothing above it.
"""
