"""Result rows and the markdown/JSON they are written as."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
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


# ---- the report -------------------------------------------------------------------------------------------------
def render(rows: list[Row], extra: list[str], errors: dict[str, str], info: dict[str, Any], elapsed: float,
           started_at: datetime, command: str) -> str:
    pk = info["packages"]
    busy = info["other_load_cores"]
    machine = (
        f"`{command}` on {started_at:%Y-%m-%d %H:%M} UTC, {elapsed:.0f} s. Machine: {info['cpu']}, "
        f"{info['cores']} cores, {info['memory_gib']} GiB RAM, {info['os']}, Python {info['python']}; "
        f"videogen-mcp {pk['videogen-mcp']}, mcp {pk['mcp']}, httpx2 {pk['httpx2']}, pydantic {pk['pydantic']}. "
        f"Other processes on the machine used {busy:g} cores on average during the run"
        + (" (a busy machine: timings are noisier than on an idle one)." if busy > 0.2 else ".")
    )
    method = (
        "Everything runs on loopback: a fake gateway (benchmarks/fakegw.py) and the embedded sandbox. Baselines are "
        "measured in the same run; the ratio is ours / baseline (for polling: / the fixed 10 s poller, simulated "
        "exactly on the same jobs)."
    )
    out = ["## videogen-mcp benchmarks", "", machine, method, "", table(rows)]
    if errors:
        out += ["", "**Sections that failed to run:**", ""] + [f"- {k}: {v}" for k, v in errors.items()]
    for block in extra:
        out += ["", block]
    return "\n".join(out) + "\n"


def startup_md(d: dict[str, Any]) -> str:
    cs = d["cold_start"]
    lines = [
        "### Start-up detail",
        "",
        ("| Server | spawn -> initialize (median) | spawn -> tools/list (median, p10-p90) | best of runs (ratio to "
         "bare) | VmHWM (median / max) |"),
        "|---|---|---|---|---|",
    ]
    bare_min = cs["bare"]["list"]["min"]
    names = {"bare": "bare low-level server", "sandbox": "ours, sandbox only", "all5": "ours, all five gateways"}
    for key, label in names.items():
        c, lst = cs[key], cs[key]["list"]
        lines.append(
            f"| {label} | {c['init']['median'] * 1e3:.0f} ms | {lst['median'] * 1e3:.0f} ms ({lst['p10'] * 1e3:.0f}-"
            f"{lst['p90'] * 1e3:.0f}) | {lst['min'] * 1e3:.0f} ms ({lst['min'] / bare_min:.2f}x) | "
            f"{c['hwm_median'] / 2**20:.1f} / {c['hwm_max'] / 2**20:.1f} MiB |"
        )
    phases = d.get("phases", {}).get("all5", {})
    if phases.get("ms"):
        intro = ("Our start path, step by step (median of 5 fresh processes, all five gateways; "
                 "benchmarks/startup_phases.py):")
        lines += ["", intro, "", "| Step | ms |", "|---|---|"]
        lines += [f"| {name} | {value:g} |" for name, value in phases["ms"].items()]
        if phases.get("error"):
            lines += ["", f"(stopped early: {phases['error']})"]
    imp = d["imports"]["all5"]
    pkgs = ", ".join(f"{k} {v:g}" for k, v in list(imp["by_package_ms"].items())[:12])
    ours = ", ".join(f"{k} {v:g}" for k, v in list(imp["our_modules_self_ms"].items())[:12])
    third = ", ".join(f"{k} {v:g}" for k, v in list(imp["extra_third_party_modules_self_ms"].items())[:10])
    profile = (
        f"Import profile (`-X importtime`, median of 3 starts, all five gateways): {imp['extra_modules']} modules "
        f"beyond the bare server's, {imp['extra_self_ms']:.0f} ms of self time (whole start: ours "
        f"{imp['ours_total_self_ms']:.0f} ms, bare {imp['bare_total_self_ms']:.0f} ms; importtime inflates both). "
        f"Extra self time by package, ms: {pkgs}. Our modules, self ms: {ours}. Third-party modules the bare server "
        f"does not load, self ms: {third}. Gateway requests during all the starts: "
        f"{d['gateway_requests_during_starts']}."
    )
    s = d["schema"]
    tools = "; ".join(
        f"{name} {parts['total']:,} B (inputSchema {parts.get('inputSchema', 0):,}, outputSchema "
        f"{parts.get('outputSchema', 0):,}, description {parts.get('description', 0):,})"
        for name, parts in s["all5_breakdown"].items()
    )
    schema = f"tools/list with all five gateways: {s['all5_bytes']:,} B ({s['model_ids']} model ids); {tools}."
    return "\n".join([*lines, "", profile, "", schema])


def calls_md(d: dict[str, Any]) -> str:
    lines = [
        "### Call overhead detail",
        "",
        "| Transport | get_video_task (ledger) median / p90 | bare trivial tool median / p90 | raw GET of the fake |",
        "|---|---|---|---|",
    ]
    for key, label in (("stdio", "stdio"), ("http", "streamable HTTP")):
        if key in d:
            o, b, r = d[key]["ours"], d[key]["bare"], d[key]["raw"]
            lines.append(f"| {label} | {o['median'] * 1e3:.2f} / {o['p90'] * 1e3:.2f} ms | {b['median'] * 1e3:.2f} "
                         f"/ {b['p90'] * 1e3:.2f} ms | {r['median'] * 1e3:.2f} ms |")
    pieces = d.get("pieces_us") or {}
    if pieces:
        lines += ["", "Inside the server, per call (wall time, one process, no transport; benchmarks/calls.py):", "",
                  "| Piece | us |", "|---|---|"]
        lines += [f"| {name.strip()} | {value:g} |" for name, value in pieces.items() if "bytes" not in name]
        if "result size, bytes" in pieces:
            size = pieces["result size, bytes"]
            lines += ["", f"The result is {size:,.0f} B of JSON (the trivial tool's: about 60 B)."]
    return "\n".join(lines)


def scale_md(d: dict[str, Any]) -> str:
    t = d["ticker"]
    run = (
        f"{d['tasks']:,} tasks (job lengths {d['seconds'] * 0.5:g}-{d['seconds'] * 1.5:g} s, half with progress %), "
        f"default poll intervals, real time: {d['polls_total']:,} upstream polls ({d['polls_per_task']:g} per task), "
        f"{d['never_detected']} tasks never seen finished. Submitting them took {d['submit_burst_s']:.1f} s "
        f"({d['submit_burst_cpu_s']:.1f} s CPU)."
    )
    window = (
        f"Polling window {d['window_s']:.0f} s: {d['polls_in_window']:,} polls, {d['cpu_in_window_raw_s']:.1f} s CPU "
        f"({d['cpu_per_poll_raw_s'] * 1e3:.2f} ms/poll before subtracting the ticker's "
        f"{d['idle_cpu_per_s'] * 1e3:.0f} ms/s)."
    )
    lag = (
        f"Event-loop overshoot: idle p50 {t['idle_p50'] * 1e3:.1f} / p99 {t['idle_p99'] * 1e3:.1f} ms; polling p50 "
        f"{t['busy_p50'] * 1e3:.1f} / p99 {t['busy_p99'] * 1e3:.1f} / max {t['busy_max'] * 1e3:.1f} ms; submit burst "
        f"p99 {t['burst_p99'] * 1e3:.1f} / max {(t['burst_max'] or 0) * 1e3:.1f} ms."
    )
    lines = ["### Scale detail", "", f"{run} {window} {lag}"]
    parts = d.get("poll_cost_parts_us") or {}
    if parts:
        intro = "What the parts of a poll cost, one at a time (CPU per call, one process; scale.py diagnose):"
        lines += ["", intro, "", "| Part | CPU us |", "|---|---|"]
        lines += [f"| {name} | {value:g} |" for name, value in parts.items()]
    return "\n".join(lines)
