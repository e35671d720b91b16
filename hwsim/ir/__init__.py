"""The style-neutral model every stage consumes: layer configs and window geometry
(`layers`, `geometry`), activation levels and the integer rules (`levels`), the integer
model (`integer`), the arithmetic styles (`style`), what a network description must
provide (`network`), random integer models for shape-only costing (`random_model`), the
typed op graph (`ops`, `graph`) and the lowering rules code generator and cost model share
(`lowering`).

May import: hwsim.errors, hwsim.io, hwsim.version. Nothing above it.
"""
