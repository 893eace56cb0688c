"""`refresh()` against a small PEP 503 simple index served on 127.0.0.1 by the test."""

from __future__ import annotations

import html
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from installer.core import catalog as catalog_mod
from installer.core import paths
from installer.core.catalog import Catalog, refresh


def _pages(fixtures: Path) -> dict[str, list[str]]:
    pages: ClassVar[dict[str, list[str]]] = {}
    for line in (fixtures / "simple-index" / "wheels.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            variant, name = line.split()
            pages.setdefault(variant, []).append(name)
    return pages


class _Index(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, list[str]]] = {}
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        parts = [p for p in self.path.split("/") if p]
        # /whl/<variant>/torch/
        if len(parts) == 3 and parts[0] == "whl" and parts[2] == "torch" and parts[1] in self.pages:
            links = "\n".join(
                f'<a href="/whl/{parts[1]}/torch/{html.escape(n.replace("+", "%2B"))}#sha256=00">{html.escape(n)}</a><br/>'
                for n in self.pages[parts[1]]
            )
            body = f"<!DOCTYPE html><html><body><h1>Links for torch</h1>\n{links}\n</body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def index(fixtures_dir: Path) -> Iterator[str]:
    handler = type("Handler", (_Index,), {"pages": _pages(fixtures_dir), "requests": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/whl"
    finally:
        server.shutdown()
        server.server_close()


def test_refresh_learns_new_versions_and_variants(index: str) -> None:
    cat = refresh(index, timeout=10)
    # A series the bundled data does not know, learned from the names alone and flagged.
    assert cat.latest().series == "2.15"
    new = cat.latest()
    assert new.learned and new.is_unverified("cuda_arches")
    assert cat.variants(new, "linux-x86_64") == ["cu132", "cu130", "rocm7.2", "cpu"]
    assert cat.variants(new, "macos-arm64") == ["mps"]
    assert new.python.min == "3.11" and new.python.max == "3.15" and "3.15t" in new.python.free_threaded
    # A new patch release of a known series.
    assert cat.release("2.14").versions[0] == "2.14.2"
    # The index is the truth for every page it answered: 2.13's variants are what the names show.
    rel = cat.release("2.13")
    assert cat.variants(rel, "linux-x86_64") == ["cu132", "cu130", "cu126", "rocm7.2", "xpu", "cpu"]
    assert cat.variants(rel, "windows-x86_64") == ["cu130", "cu126", "xpu", "cpu"]
    assert cat.variants(rel, "linux-arm64") == ["cu126", "cpu"]
    assert cat.variants(rel, "windows-arm64") == ["cpu"]
    assert cat.variants(rel, "macos-arm64") == ["mps"]
    # The bundled torchvision pairing and arch lists stay.
    assert rel.torchvision_for("2.13.0") == "0.28.0"
    assert "12.0+PTX" in cat.cuda_arches(rel, "cu130", "linux-x86_64")


def test_refresh_writes_a_cache_that_load_overlays(index: str) -> None:
    refresh(index, timeout=10)
    assert catalog_mod.cache_path().is_file()
    loaded = Catalog.load()  # no network: bundled + cache
    assert loaded.latest().series == "2.15"
    assert loaded.refreshed_at


def test_bundled_data_is_the_fallback_when_the_index_is_unreachable(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        refresh("http://127.0.0.1:9/whl", timeout=2)
    assert not catalog_mod.cache_path().exists()
    assert Catalog.load().latest().version == "2.14.1"


def test_load_with_refresh_timeout_falls_back_with_a_note(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The bundled data's index points at a closed port: planning online must still work offline.
    bundled = json.loads(paths.resource("catalog.json").read_text(encoding="utf-8"))
    bundled["index"]["base"] = "http://127.0.0.1:9/whl"
    (tmp_path / "catalog.json").write_text(json.dumps(bundled), encoding="utf-8")
    monkeypatch.setattr(paths, "resource", lambda *parts: tmp_path.joinpath(*parts))
    cat = Catalog.load(refresh_timeout=2)
    assert cat.latest().version == "2.14.1"
    assert any("Could not refresh" in n for n in cat.notes)


def test_refresh_is_time_boxed(fixtures_dir: Path) -> None:
    # A server that accepts connections and never answers: refresh gives up within the box.
    import socket
    import time

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        start = time.monotonic()
        with pytest.raises(OSError):
            refresh(f"http://127.0.0.1:{sock.getsockname()[1]}/whl", timeout=1.5)
        assert time.monotonic() - start < 10
    finally:
        sock.close()
