"""Result records as plain JSON-ready dicts: one row per (network, device, style)
simulation, and the detail a dashboard draws (timeline, memory over time, per-node
cycles and energy by action class). docs/results.md documents every field."""
from __future__ import annotations

from hwsim.evaluate.simulate import Simulation

DETAIL_FRAMES = 3   # frames of timeline kept in a detail record


def _finite(value):
    return None if value is None or value != value or value in (float("inf"), float("-inf")) \
        else value


def simulation_row(sim: Simulation, *, workload: str, realtime) -> dict:
    """The fit-matrix row of one simulation (units in names)."""
    fits = {f.check: f for f in sim.fits}
    s, c, m = sim.schedule, sim.cost, sim.memory
    latencies = [x for x in s.latency_ms if x is not None]
    return {
        "workload": workload, "device": sim.device, "style": sim.style,
        "fits": sim.fits_all,
        "fits_ram": fits["ram"].fits, "ram_margin_bytes": int(fits["ram"].margin),
        "fits_flash": fits["flash"].fits, "flash_margin_bytes": int(fits["flash"].margin),
        "fits_deadline": fits["deadline"].fits,
        "deadline_margin_ms": _finite(fits["deadline"].margin),
        "ram_bytes": m.ram_bytes, "flash_bytes": m.flash_bytes,
        "parameter_bytes": m.parameter_bytes,
        "cycles_per_inference": round(c.total_cycles),
        "cycles_per_connection": _finite(round(c.cycles_per_connection, 4)),
        "connections": c.connections,
        "inference_ms": 1000 * c.total_cycles / c.clock_hz,
        "latency_ms_max": max(latencies) if latencies else None,
        "frame_period_ms": realtime.frame_period_ms, "deadline_ms": realtime.deadline_ms,
        "deadline_misses": s.deadline_misses,
        "energy_per_inference_uj": s.energy_per_inference_pj / 1e6,
        "dynamic_energy_uj": c.energy_pj / 1e6,
        "average_power_uw": s.average_power_uw,
        "battery_life_hours": _finite(s.battery_life_hours),
        "utilisation": round(max(s.utilisation), 6) if s.utilisation else None,
    }


def simulation_detail(sim: Simulation, *, workload: str, sram_bytes: int) -> dict:
    """What the timeline, memory and per-node charts need, for a few frames."""
    s = sim.schedule
    events = [{"frame": e.frame, "node": e.node, "kind": e.kind, "core": e.core,
               "start_cycle": e.start_cycle, "end_cycle": e.end_cycle}
              for e in s.events_before(DETAIL_FRAMES)]
    horizon = max((e["end_cycle"] for e in events), default=0)
    memory = [[cycle, size] for cycle, size in s.memory_until(horizon)]
    frames = [{"frame": f.frame, "arrival_cycle": f.arrival_cycle, "end_cycle": f.end_cycle,
               "deadline_cycle": f.arrival_cycle + s.deadline_cycles}
              for f in s.frame_records if f.frame < DETAIL_FRAMES]
    return {
        "workload": workload, "device": sim.device, "style": sim.style,
        "clock_hz": sim.cost.clock_hz, "sram_bytes": sram_bytes,
        "static_ram_bytes": sim.memory.static_ram_bytes,
        "nodes": [{"node": n.node, "op": n.op, "cycles": n.cycles, "energy_pj": n.energy_pj,
                   "cycles_by_class": dict(n.cycles_by_class)} for n in sim.cost.nodes],
        "timeline": events, "frames": frames, "memory_over_time": memory,
        "ram_lines": [{"name": l.name, "bytes": l.bytes} for l in sim.memory.ram_lines],
        "flash_lines": [{"name": l.name, "bytes": l.bytes} for l in sim.memory.flash_lines],
    }


def product_row(result, *, workload: str, realtime) -> dict:
    """The row of one network on one SoC (hwsim.evaluate.soc.SocSimulation): the chosen
    core's fit-matrix row plus the product's battery with and without the network."""
    run, soc = result.run, result.soc
    battery = run.battery
    return {
        **simulation_row(run.simulation, workload=workload, realtime=realtime),
        "soc": soc.name, "product_class": soc.product_class, "core": result.chosen,
        "core_class": soc.cores[result.chosen].core_class, "core_choice": result.reason,
        "fits_tiers": run.placement.fits, "fits_soc": run.fits, "load": battery.load,
        "baseline_power_mw": battery.baseline_mw,
        "network_power_battery_mw": battery.network_mw,
        "network_share": battery.share,
        "battery_life_without_network_hours": battery.life_without_network_hours,
        "battery_life_with_network_hours": battery.life_with_network_hours,
    }
