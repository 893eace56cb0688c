"""Local network pieces for the network tests: an HTTPS package index on 127.0.0.1 with a certificate
from a CA made for the test (trustme), and an authenticated CONNECT proxy that records what it saw."""

from __future__ import annotations

import base64
import http.server
import os
import select
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

# torch 2.13.0's dependencies on Linux/CPython 3.11, and one more package for "the other packages" step.
DEPENDENCIES = ("filelock", "typing-extensions", "setuptools", "sympy", "mpmath", "networkx", "jinja2",
                "markupsafe", "fsspec", "six")


def download_wheels(python: str, torch_wheel: Path, dest: Path) -> Path:
    """torch's wheel (linked) and its dependencies' wheels (downloaded once with pip from the default
    index, as a user's pip would) in one folder."""
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / torch_wheel.name
    if not target.exists():
        os.symlink(torch_wheel, target)
    done = subprocess.run([python, "-m", "pip", "download", "-q", "--only-binary=:all:", "--dest", str(dest),
                           *DEPENDENCIES], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"pip download failed:\n{done.stdout}\n{done.stderr}")
    return dest


def build_index(wheels: Path, root: Path, prefixes: tuple[str, ...] = ("simple", "whl/cpu"),
                leave_out: tuple[str, ...] = ()) -> Path:
    """A PEP 503 index under root/<prefix>/<project>/ for each prefix, linking to root/files/."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[str]] = {}
    for wheel in sorted(wheels.glob("*.whl")):
        name = str(canonicalize_name(parse_wheel_filename(wheel.name)[0]))
        if name in leave_out:
            continue
        link = files / wheel.name
        if not link.exists():
            os.symlink(wheel.resolve(), link)
        projects.setdefault(name, []).append(wheel.name)
    for prefix in prefixes:
        depth = len(prefix.split("/")) + 1
        for name, names in projects.items():
            page = root / prefix / name
            page.mkdir(parents=True, exist_ok=True)
            up = "../" * depth
            links = "".join(f'<a href="{up}files/{n.replace("+", "%2B")}">{n}</a>\n' for n in names)
            (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
        (root / prefix / "index.html").write_text(
            "<html><body>" + "".join(f'<a href="{n}/">{n}</a>' for n in projects) + "</body></html>")
    return root


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class HttpsIndex:
    url: str  # https://127.0.0.1:PORT
    ca_pem: Path  # the test CA's certificate, trusted nowhere unless a test puts it somewhere


@contextmanager
def https_index(root: Path, ca_dir: Path) -> Iterator[HttpsIndex]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_dir.mkdir(parents=True, exist_ok=True)
    ca_pem = ca_dir / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)

    class Handler(_QuietHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpsIndex(f"https://127.0.0.1:{server.server_address[1]}", ca_pem)
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class ProxyLog:
    connects: list[str] = field(default_factory=list)  # "host:port" of every CONNECT that was let through
    refused: int = 0  # requests without the right Proxy-Authorization (answered 407)


@contextmanager
def connect_proxy(user: str, password: str) -> Iterator[tuple[int, ProxyLog]]:
    """An HTTP proxy on 127.0.0.1 that tunnels CONNECT to 127.0.0.1 only, after Basic authentication."""
    log = ProxyLog()
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_CONNECT(self) -> None:
            if self.headers.get("Proxy-Authorization") != expected:
                log.refused += 1
                self.send_response(407)
                self.send_header("Proxy-Authenticate", 'Basic realm="test"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            host, _, port = self.path.rpartition(":")
            if host not in ("127.0.0.1", "localhost"):
                self.send_response(502)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            try:
                upstream = socket.create_connection((host, int(port)), timeout=10)
            except OSError:
                self.send_response(502)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            log.connects.append(self.path)
            self.send_response(200, "Connection established")
            self.end_headers()
            self.close_connection = True
            _pump(self.connection, upstream)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], log
    finally:
        server.shutdown()
        server.server_close()


def _pump(a: socket.socket, b: socket.socket) -> None:
    a.setblocking(True)
    try:
        while True:
            ready, _, _ = select.select([a, b], [], [], 60)
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()


def bundle_with(extra_ca: Path, dest: Path, system_bundle: str = "/etc/ssl/certs/ca-certificates.crt") -> Path:
    """The system bundle plus one CA (what an administrator's update-ca-certificates would produce)."""
    with open(dest, "wb") as out:
        with open(system_bundle, "rb") as src:
            shutil.copyfileobj(src, out)
        out.write(b"\n" + extra_ca.read_bytes())
    return dest
