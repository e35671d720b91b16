"""Errors hwsim raises for a user's mistake: one message, every problem listed."""
from __future__ import annotations

from dataclasses import dataclass


class HwsimError(Exception):
    """A problem with the user's input; the CLI prints it and exits 2."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a spec: where (YAML path) and what."""

    path: str
    message: str

    def render(self, source: str) -> str:
        where = f"{source}: {self.path}" if self.path else source
        return f"{where}: {self.message}"


class SpecError(HwsimError):
    """A spec file (device, workload, artifact) with one or more problems."""

    def __init__(self, source: str, problems: list[Problem] | tuple[Problem, ...]):
        self.source = source
        self.problems = tuple(problems)
        lines = [p.render(source) for p in self.problems]
        if len(lines) == 1:
            text = lines[0]
        else:
            text = f"{source}: {len(lines)} problems\n" + "\n".join("  " + line for line in lines)
        super().__init__(text)
