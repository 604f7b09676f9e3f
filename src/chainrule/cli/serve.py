"""`chainrule serve`: the interactive explainer in the browser, on a local server."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import webbrowser
from pathlib import Path

import click

from chainrule.errors import ChainruleError
from chainrule.train.allocator import keep_freed_memory

HOST = "127.0.0.1"  # local only by default: the page is for the person at this machine
STOP_SECONDS = 1  # on Ctrl+C, requests in flight get this long before they are cancelled


class _QuietStop(logging.Filter):
    """Drops uvicorn's traceback of a request cancelled because the server stops (Ctrl+C): that
    is the stop working as meant, not an error; every other error is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError):
            return False
        return "timeout graceful shutdown exceeded" not in record.getMessage()


def bind(port: int, host: str = HOST) -> socket.socket:
    """A listening socket on `host` (the loopback address): `port`, or a free one when it is 0."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (OSError, UnicodeError) as exc:
        raise ChainruleError(f"--host {host}: not an address or name this machine can listen on ({exc})") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ChainruleError(
            f"--port {port}: cannot listen there ({exc.strerror}); try another or leave it out"
        ) from None
    sock.listen(128)
    return sock


@click.command()
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port to listen on (default: a free one).")
@click.option(
    "--host",
    default=HOST,
    show_default=True,
    help="Address to listen on; the page accepts this name in its address (besides localhost).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the web browser.")
def serve(file: Path | None, port: int, host: str, open_browser: bool) -> None:
    """Explore FILE (default: the reference example) in the browser: step, edit, train."""
    from chainrule.io import netfile

    net = netfile.load(file)  # a bad file is reported before anything listens
    try:
        import uvicorn

        from chainrule.web.server import create_app
    except ImportError:
        raise ChainruleError("serve needs the web extra: pip install 'chainrule[web]'") from None
    keep_freed_memory()
    app = create_app(net, hosts=[host])
    sock = bind(port, host)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    click.echo(f"chainrule: serving {net.source} at {url}  (Ctrl+C stops)")
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=STOP_SECONDS))
    logging.getLogger("uvicorn.error").addFilter(_QuietStop())
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down on Ctrl+C, then passes the signal on: a normal stop
        pass
    finally:
        sock.close()
    click.echo("chainrule: stopped")
