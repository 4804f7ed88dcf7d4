"""The commands behind `videogen-mcp`: serve, generate (with a progress bar), models, tasks, task, doctor."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import anyio

from server.cli.common import CommandError, load_settings
from server.settings import Settings

if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace


class RedactSecrets(logging.Filter):
    """Defence in depth: whatever a library logs, a configured key never reaches the log."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self._secrets):
            for s in self._secrets:
                message = message.replace(s, "***")
            record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if any(s in text for s in self._secrets):
                record.exc_info, record.exc_text = None, "(traceback withheld: it contained a secret)"
        return True


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)  # stdout belongs to the protocol on stdio
    handler.setFormatter(logging.Formatter("videogen-mcp %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(settings.secrets()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, settings.log_level.upper(), logging.WARNING))


def run(args: argparse.Namespace | SimpleNamespace) -> int:
    try:
        overrides = {"VIDEOGEN_DOWNLOAD_DIR": args.out} if getattr(args, "out", None) else {}
        settings = load_settings(**overrides)
        setup_logging(settings)
        command = args.command or "serve"
        if command == "serve":
            serve(settings, http=getattr(args, "http", False), host=getattr(args, "host", "127.0.0.1"),
                  port=getattr(args, "port", 8000), stateless=getattr(args, "stateless", False))
            return 0
        from server.cli import commands  # the person-facing commands (rich) load only when used

        return anyio.run(getattr(commands, command), settings, args)
    except CommandError as exc:
        print(f"videogen-mcp: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from server.ledger.store import LedgerError  # loaded only on this path

        if not isinstance(exc, LedgerError):
            raise
        print(f"videogen-mcp: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("videogen-mcp: interrupted (any submitted job continues on the gateway; see `videogen-mcp tasks`)",
              file=sys.stderr)
        return 130


def serve(settings: Settings, *, http: bool, host: str, port: int, stateless: bool) -> None:
    from server.app import build_server, freeze_start_up_heap

    if not http:
        from server.cli.stdio import serve_stdio

        server = build_server(settings, download_default=True)
        freeze_start_up_heap()

        async def main() -> None:
            await serve_stdio(lambda read, write: server.run(read, write, server.create_initialization_options()))

        anyio.run(main)
        return
    from server.cli.http import serve_http

    callback_base = settings.public_url if settings.callbacks else None  # only HTTP serving can receive them
    server = build_server(settings, download_default=True, callback_base=callback_base)
    freeze_start_up_heap()
    serve_http(server, settings, host=host, port=port, stateless=stateless)
