"""Can ``serve`` listen on HOST:PORT? Checked before anything is printed or created, so a port in use is
one clear line instead of a banner followed by uvicorn's exit 3."""

from __future__ import annotations

import errno
import socket

from framescout.store.locate import running_servers


def _bind_all(host: str, port: int) -> None:
    """Bind (then close) every address ``host`` resolves to, with the options uvicorn binds with."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    for family, kind, proto, _, address in set(infos):
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)


def _holder(port: int) -> str:
    """Who holds the port, when it is a framescout server of this user."""
    for server in running_servers():
        if server.url.rsplit(":", 1)[-1] == str(port):
            return f"framescout is already serving {server.url} (pid {server.pid}, data {server.data_dir})"
    return "another program listens on it"


def port_problem(host: str, port: int) -> str | None:
    """Why ``serve`` cannot listen on ``host:port`` (one line saying what to do), or None when it can."""
    where = f"{host}:{port}"
    try:
        _bind_all(host, port)
    except socket.gaierror as exc:
        return (
            f"cannot listen on {where}: unknown host ({exc.strerror}); "
            "pass --host with an address of this machine"
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return (
                f"cannot listen on {where}: the port is in use: {_holder(port)}; stop it "
                f"or choose another port, e.g. --port {port + 1 if port < 65535 else 9001}"
            )
        if exc.errno == errno.EACCES:
            return (
                f"cannot listen on {where}: permission denied (ports below 1024 need privileges); "
                "choose another port with --port"
            )
        return f"cannot listen on {where}: {exc.strerror or exc}; check --host and --port"
    return None
