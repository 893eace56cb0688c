"""Network facts: proxy settings, and whether PyTorch's index and the default package index answer.

The default package index's address is never written into this project. It comes from the user's
configuration (PIP_INDEX_URL, UV_INDEX_URL, UV_DEFAULT_INDEX) or, failing that, from pip's own default
read at run time when pip is importable; otherwise it is reported as not checked.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from installer.core.plan import redact_url
from installer.core.redact import redact_text
from installer.core.report import NetworkInfo

PYTORCH_INDEX = "https://download.pytorch.org/whl/"
INDEX_ENV_VARS = ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL")


def redacted_proxies(proxies: Mapping[str, str]) -> dict[str, str]:
    return {scheme: redact_url(url) for scheme, url in sorted(proxies.items())}


def default_index_url(env: Mapping[str, str]) -> tuple[str | None, str]:
    """(URL, where it came from) of the index the installer would use for non-torch packages."""
    for var in INDEX_ENV_VARS:
        if env.get(var):
            return env[var], var
    from installer.core.netconfig import read_pip_config

    configured = read_pip_config(env).get("index-url")
    if configured is not None:
        return str(configured.value), configured.origin
    try:
        from pip._internal.models.index import PyPI  # type: ignore[import-not-found,unused-ignore]

        return str(PyPI.simple_url), "pip's default"
    except Exception:
        return None, "no index configured and pip's default is not available"


def url_answers(url: str, timeout: float = 2.0) -> tuple[bool, str]:
    """Any HTTP answer counts as reachable (a 403 or 405 to HEAD still proves the server is there).

    The check goes through the same proxy and trust as the install, and a failure says which of "no
    answer", "the proxy refused (407)" and "certificate not trusted" it was, with the fix."""
    from installer.core import netconfig

    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "torch-setup"})
    try:
        with netconfig.opener(netconfig.active()).open(request, timeout=timeout) as response:
            return True, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        if exc.code == 407:
            return False, netconfig.describe_failure(OSError("Tunnel connection failed: 407 Proxy"))[1]
        return True, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, netconfig.describe_failure(exc)[1]


def _answer(future: Future[tuple[bool, str]], timeout: float) -> tuple[bool, str]:
    from installer.core import netconfig

    try:
        # urllib's own timeout fires first on a silent server; this margin only bounds a stuck resolver.
        return future.result(timeout=timeout + 1.0)
    except FutureTimeout:
        return False, f"no answer within {timeout:g} s; fix: {netconfig.FIXES[netconfig.NO_ANSWER]}"


def detect_network(env: Mapping[str, str] | None = None, timeout: float = 2.0,
                   check: Callable[[str, float], tuple[bool, str]] = url_answers,
                   proxies: Mapping[str, str] | None = None) -> NetworkInfo:
    import os

    env = os.environ if env is None else env
    info = NetworkInfo(checked=True,
                       proxies=redacted_proxies(urllib.request.getproxies() if proxies is None else proxies))
    index, origin = default_index_url(env)
    from installer.core import netconfig

    mirror = netconfig.active_mirror()
    torch_index = mirror.rstrip("/") + "/" if mirror else PYTORCH_INDEX
    # urllib's timeout is per socket operation; the deadline below bounds the whole check.
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="network")
    torch_future = pool.submit(check, torch_index, timeout)
    index_future = pool.submit(check, index, timeout) if index else None
    pool.shutdown(wait=False)
    info.pytorch_index, torch_detail = _answer(torch_future, timeout)
    details = [f"PyTorch index{' mirror ' + redact_url(torch_index) if mirror else ''}: {torch_detail}"]
    if index_future is not None and index:
        info.package_index, index_detail = _answer(index_future, timeout)
        details.append(f"package index {redact_url(index)} ({origin}): {index_detail}")
    else:
        details.append(f"package index not checked: {origin}")
    info.detail = "; ".join(details)
    for text in details:
        for kind in (netconfig.PROXY_AUTH, netconfig.CERTIFICATE, netconfig.PROXY_FAILED):
            # The detail went through redact_text, which also masks the fix's "USER:PASSWORD@" example.
            fix = netconfig.FIXES[kind]
            if (fix in text or redact_text(fix) in text) and info.problem is None:
                info.problem = kind
    if info.problem is None and (info.pytorch_index is False or info.package_index is False):
        info.problem = netconfig.NO_ANSWER
    configured = index and origin != "pip's default"
    info.sources = _sources(netconfig, origin if configured else None)
    return info


def _sources(netconfig: Any, index_origin: str | None) -> dict[str, str]:
    """Where each setting the check (and an install) uses came from; the index's own origin covers the
    UV_* variables and "pip's default" too."""
    found = netconfig.setting_origins(netconfig.active(), netconfig.active_mirror_origin())
    if index_origin:
        found["package index"] = index_origin
    return found
