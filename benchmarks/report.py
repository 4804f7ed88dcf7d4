"""Result rows and the markdown/JSON they are written as."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    section: str
    figure: str
    ours: float
    ours_text: str
    baseline: float | None
    baseline_text: str
    target: str
    passed: bool | None  # None: reported for information, no target
    ratio: float | None = None  # ours / baseline
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline not in (None, 0) and not _nan(self.ours) and not _nan(self.baseline):
            self.ratio = self.ours / self.baseline  # type: ignore[operator]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def verdict(passed: bool | None) -> str:
    return "info" if passed is None else ("**pass**" if passed else "**FAIL**")


def ratio_text(ratio: float | None) -> str:
    return "—" if ratio is None or _nan(ratio) else f"{ratio:.2f}x"


def table(rows: list[Row]) -> str:
    lines = ["| Figure | Ours | Baseline (same run) | Ratio | Target | Result |", "|---|---|---|---|---|---|"]
    for r in rows:
        figure = r.figure + (f" <sub>{r.note}</sub>" if r.note else "")
        lines.append(f"| {figure} | {r.ours_text} | {r.baseline_text} | {ratio_text(r.ratio)} | {r.target} "
                     f"| {verdict(r.passed)} |")
    return "\n".join(lines)


def ms(seconds: float, digits: int = 0) -> str:
    return f"{seconds * 1000:.{digits}f} ms"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.1f} MiB"
