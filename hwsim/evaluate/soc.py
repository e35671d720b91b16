"""A network on a SoC: each core simulated as an ordinary Device (beside the audio
pipeline's share of it), the memory tier of every buffer, the core chosen (given, or
the cheapest that fits), and the product's battery with and without the network.

The network's share of the battery (docs/devices.md, "SoC files"):

    network_battery_mw = network_core_mw / regulator.efficiency   (core_energy_at: core_rail)
                       = network_core_mw                          (core_energy_at: battery)
    share = network_battery_mw / (baseline_battery_mw + network_battery_mw)
    life_without_h = battery_mwh / baseline_battery_mw
    life_with_h    = battery_mwh / (baseline_battery_mw + network_battery_mw)

network_core_mw is the network's own (dynamic) power: the core's sleep current is part
of the product's baseline, which is a whole-product figure.

The placement prices the loads: each core's buffers are placed in its tiers first
(memory planner + first fit), and the cost model then reads tables, thresholds and
weights from where they landed (`placed_cost_options`): from a non-volatile or external
tier (flash, MRAM, PSRAM) with the core's flash wait cycles
(`memory.flash_load_extra_cycles`, the file's effective figure through its cache), from
a TCM or SRAM tier without them. Where first fit splits the constants between fast and
slow tiers, the code that reads them changes too (the lut kernel library's data is
characterized with its constants all in one place; split, the per-layer loops run), so
the placement with every constant in the slow tiers is costed as well and the one with
fewer cycles is kept (`placed_on_core`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from hwsim.cost.model import cost_graph
from hwsim.cost.options import CostOptions
from hwsim.errors import HwsimError
from hwsim.evaluate.simulate import Simulation, Subject, simulate
from hwsim.memory.planner import MemoryOptions, plan_memory
from hwsim.memory.tiers import TierPlacement, network_buffers, place_buffers
from hwsim.schedule.scheduler import ScheduleOptions
from hwsim.specs.soc import Soc


@dataclass(frozen=True)
class ProductBattery:
    load: str
    baseline_mw: float            # at the battery
    network_core_mw: float        # the network's dynamic power at the core's supply
    network_mw: float             # the same at the battery (regulator applied as the file says)
    battery_mwh: float

    @property
    def share(self) -> float:
        total = self.baseline_mw + self.network_mw
        return self.network_mw / total if total > 0 else 0.0

    @property
    def life_without_network_hours(self) -> float:
        return self.battery_mwh / self.baseline_mw

    @property
    def life_with_network_hours(self) -> float:
        return self.battery_mwh / (self.baseline_mw + self.network_mw)

    def to_dict(self) -> dict:
        return {"load": self.load, "baseline_power_mw": self.baseline_mw,
                "network_power_core_mw": self.network_core_mw,
                "network_power_battery_mw": self.network_mw, "battery_mwh": self.battery_mwh,
                "battery_life_without_network_hours": self.life_without_network_hours,
                "battery_life_with_network_hours": self.life_with_network_hours,
                "network_share": self.share}


def product_battery(soc: Soc, load: str | None, network_core_mw: float) -> ProductBattery:
    """The product's battery with the named baseline load (None: the file's default)."""
    name = load or soc.default_load
    if name not in soc.loads:
        raise HwsimError(f"SoC {soc.name!r} has no load {name!r}; loads: {', '.join(soc.loads)}")
    return ProductBattery(name, soc.loads[name].battery_power_mw, network_core_mw,
                          soc.network_battery_mw(network_core_mw), soc.battery_mwh)


@dataclass(frozen=True)
class CoreRun:
    core: str
    simulation: Simulation
    placement: TierPlacement
    battery: ProductBattery

    @property
    def fits(self) -> bool:
        return self.simulation.fits_all and self.placement.fits


@dataclass(frozen=True)
class SocSimulation:
    soc: Soc
    style: str
    runs: tuple[CoreRun, ...]      # every core simulated, in the file's order
    chosen: str
    reason: str

    @property
    def run(self) -> CoreRun:
        return next(r for r in self.runs if r.core == self.chosen)

    def summary(self) -> dict:
        """The chosen core's headline numbers plus the SoC's answers, JSON-ready."""
        run = self.run
        core = self.soc.cores[self.chosen]
        data = run.simulation.summary()
        data.update({
            "soc": self.soc.name, "core": self.chosen, "core_class": core.core_class,
            "core_choice": self.reason, "audio_share": core.audio_share,
            "fits_all": run.fits, "tiers": run.placement.to_dict(),
            "product_battery": run.battery.to_dict(),
            "cores": [{"core": r.core, "class": self.soc.cores[r.core].core_class,
                       "fits": r.fits, "fits_tiers": r.placement.fits,
                       "fits_deadline": next(f.fits for f in r.simulation.fits
                                             if f.check == "deadline"),
                       "network_power_battery_mw": r.battery.network_mw,
                       "network_share": r.battery.share} for r in self.runs],
        })
        return data


# Tier kinds whose loads the cost model prices as "flash" loads (the core's wait cycles).
SLOW_TIER_KINDS = ("flash", "mram", "psram")
CONSTANTS = ("tables", "weights")            # the buffer contents the cost options place


def placed_cost_options(placement: TierPlacement, tier_kinds: dict[str, str],
                        base: CostOptions | None = None) -> CostOptions:
    """`base` (default CostOptions()) with tables_in, thresholds_in and weights_in set
    from where the placement put those buffers: "flash" when any of them landed in a
    slow tier (SLOW_TIER_KINDS), "sram" when all landed in TCM or SRAM. A content with
    no placed buffer (absent, or fitting nowhere) keeps the base's place."""
    base = base or CostOptions()
    slow: dict[str, list[bool]] = {}
    for b in placement.buffers:
        if b.tier is None or b.content not in CONSTANTS:
            continue
        field = ("thresholds_in" if b.name.startswith("thresholds")
                 else "tables_in" if b.content == "tables" else "weights_in")
        slow.setdefault(field, []).append(tier_kinds[b.tier] in SLOW_TIER_KINDS)
    places = {f: "flash" if any(v) else "sram" for f, v in slow.items()}
    return CostOptions(**{**base.to_dict(), **places})


def placed_on_core(graph, soc: Soc, core: str, style: str, base: CostOptions | None = None,
                   memory_options: MemoryOptions | None = None
                   ) -> tuple[TierPlacement, CostOptions]:
    """The tier placement of the graph's buffers on a core of the SoC, and the cost
    options that read each buffer from where it landed (placed_cost_options): first fit,
    or, where it costs fewer cycles, first fit with the constants (CONSTANTS) kept in
    the slow tiers."""
    tiers = soc.tiers_of(core)
    device = soc.cores[core].device
    # what the cost model prices: its int8 kernels' scratch, the lut layers' layout
    from hwsim.evaluate.simulate import described_memory
    memory = plan_memory(graph, device, style,
                         described_memory(cost_graph(graph, device, style, base), device,
                                          memory_options))
    kinds = {t.name: t.kind for t in tiers}
    buffers = network_buffers(memory)
    placement = place_buffers(buffers, tiers)
    options = placed_cost_options(placement, kinds, base)
    slow_only = tuple(t if t.kind in SLOW_TIER_KINDS else
                      replace(t, holds=tuple(h for h in t.holds if h not in CONSTANTS))
                      for t in tiers)
    alternative = place_buffers(buffers, slow_only)
    if (alternative != placement and all(a.tier is not None for a, b in
                                         zip(alternative.buffers, placement.buffers)
                                         if b.tier is not None)):
        other = placed_cost_options(alternative, kinds, base)
        if (cost_graph(graph, device, style, other).total_cycles
                < cost_graph(graph, device, style, options).total_cycles):
            return alternative, other
    return placement, options


def simulate_soc(subject: Subject, soc: Soc, style: str, *, core: str | None = None,
                 load: str | None = None, frames: int = 100,
                 audio_share: float | None = None, **simulate_options) -> SocSimulation:
    """Simulate the subject on every core of the SoC (each beside its audio share, or
    `audio_share` when given) and choose `core`, or the cheapest core that fits."""
    if core is not None:
        soc.core(core)                       # a clear error for an unknown name
    runs = []
    for name, soc_core in soc.cores.items():
        share = soc_core.audio_share if audio_share is None else audio_share
        options = ScheduleOptions(frames=frames, firmware_share=share)
        placement, cost_options = placed_on_core(
            subject.graph, soc, name, style, simulate_options.get("cost_options"),
            simulate_options.get("memory_options"))
        sim = simulate(subject, soc_core.device, style, schedule_options=options,
                       **{**simulate_options, "cost_options": cost_options})
        network_core_mw = sim.schedule.network_power_uw / 1000
        runs.append(CoreRun(name, sim, placement, product_battery(soc, load, network_core_mw)))
    if core is not None:
        chosen, reason = core, "given (--core)"
    else:
        fitting = [r for r in runs if r.fits]
        if fitting:
            best = min(fitting, key=lambda r: r.battery.network_mw)
            reason = "the cheapest core that fits (network power at the battery)"
        else:
            # A core that cannot keep up is busy all the time it is given, so its power
            # says nothing about the network: show the core that comes closest.
            best = min(runs, key=lambda r: r.simulation.cost.total_cycles
                       / r.simulation.cost.clock_hz)
            reason = ("no core fits: the fastest (one inference alone) shown; a core that "
                      "misses its deadlines is saturated, so its share is a floor")
        chosen = best.core
    return SocSimulation(soc, style, tuple(runs), chosen, reason)


def compare_products(subjects, socs, styles, *, frames: int = 20, per_core: bool = False,
                     progress=None) -> tuple[dict, ...]:
    """hwsim.evaluate.rows.product_row of every (subject, SoC, style) on the chosen core,
    or (per_core) of every (subject, SoC core, style), sorted."""
    from hwsim.evaluate.rows import product_row
    rows = []
    total, done = len(subjects) * len(socs) * len(styles), 0
    for subject in subjects:
        for soc in socs:
            for style in styles:
                for core in (list(soc.cores) if per_core else [None]):
                    result = simulate_soc(subject, soc, style, core=core, frames=frames)
                    rows.append(product_row(result, workload=subject.label,
                                            realtime=subject.realtime))
                done += 1
                if progress:
                    progress(done, total)
    return tuple(sorted(rows, key=lambda r: (r["workload"], r["soc"], r["core"], r["style"])))


def soc_devices(soc: Soc, core: str | None = None):
    """The cores of a SoC as ordinary Devices (named SOC.CORE), for comparisons."""
    cores = [soc.core(core)] if core else list(soc.cores.values())
    return [c.device for c in cores]


__all__ = ["ProductBattery", "CoreRun", "SocSimulation", "product_battery", "simulate_soc",
           "placed_cost_options", "placed_on_core",
           "soc_devices", "compare_products"]
