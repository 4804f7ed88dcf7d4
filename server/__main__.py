"""videogen-mcp command line: the MCP server (stdio by default, or HTTP) and a few commands for people."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse


def parser() -> argparse.ArgumentParser:
    import argparse  # with gettext, ~5 ms that an MCP client's spawn (no arguments) never pays

    p = argparse.ArgumentParser(
        prog="videogen-mcp",
        description="MCP server for AI video generation (Kling, Seedance, Veo, Sora, Hailuo, Vidu...) through API "
        "gateways, with a free simulated sandbox. With no command: the MCP server on stdio.",
    )
    from importlib.metadata import version

    p.add_argument("--version", action="version", version=f"videogen-mcp {version('videogen-mcp')}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("serve", help="run the MCP server (stdio, or streamable HTTP at /mcp)")
    s.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    s.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    s.add_argument("--stateless", action="store_true", help="HTTP: no sessions (any worker can answer)")

    g = sub.add_parser("generate", help="make one video, with a live progress bar")
    g.add_argument("prompt", help="what the video should show")
    g.add_argument("--model", help="model id (see `videogen-mcp models`); default: the sandbox")
    g.add_argument("--duration", type=int, help="seconds")
    g.add_argument("--aspect-ratio", help="e.g. 16:9, 9:16, 1:1")
    g.add_argument("--resolution", help="e.g. 720p, 1080p")
    g.add_argument("--image", help="first frame: a local file, an http(s) URL or a data: URI")
    g.add_argument("--out", help="folder to save the video in (default: VIDEOGEN_DOWNLOAD_DIR)")
    g.add_argument("--idempotency-key", help="same key, same job: safe to re-run without paying twice")
    g.add_argument("--last-frame", help="last frame: a local file, an http(s) URL or a data: URI")
    g.add_argument("--reference-image", action="append", default=[], help="a reference image (repeatable)")
    g.add_argument("--negative-prompt", help="what the video should avoid")
    g.add_argument("--seed", type=int, help="seed, for models that take one")
    g.add_argument("--audio", action=argparse.BooleanOptionalAction, default=None, help="generate sound (or not)")
    g.add_argument("--no-wait", action="store_true", help="print the task id at once; follow with `task ID --wait`")
    g.add_argument("--json", action="store_true", help="print the task as JSON")
    g.add_argument("--dry-run", action="store_true", help="estimate and show the body it would send; send nothing")
    g.add_argument("--max-cost", type=float, metavar="USD", help="refuse (sending nothing) above this estimate")

    m = sub.add_parser("models", help="list the models of the configured gateways")
    m.add_argument("--provider", help="only this provider (its catalog even without a key, marked inactive)")
    m.add_argument("--all", action="store_true", help="every gateway's catalog, the unconfigured ones marked inactive")
    m.add_argument("--json", action="store_true", help="print JSON")

    tl = sub.add_parser("tasks", help="list recent tasks")
    tl.add_argument("--limit", type=int, default=20)
    tl.add_argument("--json", action="store_true", help="print JSON")

    tk = sub.add_parser("task", help="show one task (and optionally wait for it)")
    tk.add_argument("task_id")
    tk.add_argument("--wait", type=float, default=0, help="seconds to wait for it to finish")
    tk.add_argument("--json", action="store_true", help="print JSON only (no summary on stderr)")

    ad = sub.add_parser("adopt", help="follow a gateway job by the gateway's own task id (e.g. a lost submit's)")
    ad.add_argument("provider", help="the gateway, e.g. orcarouter")
    ad.add_argument("upstream_id", help="the task id the gateway's console shows")
    ad.add_argument("--task", help="the local `unknown` task to attach it to (default: the one it matches, if any)")
    ad.add_argument("--wait", type=float, default=600, help="seconds to wait for it to finish (default 600)")

    sp = sub.add_parser("spend", help="estimated spend today, this week and this month, per provider")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--principal", help="only this principal's tasks, and its budget left (serve --http with tokens "
                    "or OAuth: each principal has its own budget)")

    d = sub.add_parser("doctor", help="check configuration, keys and gateway reachability")
    d.add_argument("--json", action="store_true", help="print JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # No arguments is how MCP clients start us: serve stdio without building the parser (cold start matters).
    args = parser().parse_args(argv) if argv else SimpleNamespace(command=None)
    from server.cli.main import run  # after parsing, so `--help` stays instant

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
