"""The user's network configuration as pip and uv would read it, and how Torch Setup's own network use
(and its children's) follows it: trust (the OS store plus any CA bundle), proxies, indexes, find-links.

pip reads pip.conf at several levels and PIP_* variables; uv reads uv.toml and UV_* but not pip's
configuration. So that the uv engine behaves as pip would, what pip would apply is translated into uv
arguments and variables on each uv step (unless uv's own configuration already says the same thing).
Every setting keeps where it came from, so the plan can say "package index from /etc/pip.conf".
"""

from __future__ import annotations

import configparser
import hashlib
import os
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer.core.redact import redact_text, redact_url

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# pip settings Torch Setup honours, by pip's option name; list-valued ones split on whitespace.
PIP_KEYS = ("index-url", "extra-index-url", "find-links", "trusted-host", "cert", "client-cert", "proxy",
            "timeout", "retries", "constraint")
_PIP_LISTS = {"extra-index-url", "find-links", "trusted-host", "constraint"}
# pip accepts both spellings of a few options (the long option's aliases).
_PIP_ALIASES = {"default-timeout": "timeout"}
# Where a Linux or BSD keeps its CA bundle (Debian/Ubuntu, Fedora/RHEL, openSUSE, Alpine/Arch/macOS).
_LINUX_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                  "/etc/ssl/ca-bundle.pem", "/etc/pki/tls/cacert.pem", "/etc/ssl/cert.pem")
# Variables that name a CA bundle other programs already trust; ours trusts them too (in addition).
CA_FILE_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT")
PROXY_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@dataclass
class Sourced:
    """A setting's value and where it came from ("/etc/pip.conf", "PIP_INDEX_URL", "--cert")."""

    value: Any
    origin: str


@dataclass
class NetConfig:
    pip: dict[str, Sourced] = field(default_factory=dict)  # pip's settings, by option name
    uv: dict[str, Sourced] = field(default_factory=dict)  # uv's own settings (uv.toml, UV_*)
    ca_files: list[Sourced] = field(default_factory=list)  # bundles trusted in addition to the OS store
    ca_dirs: list[Sourced] = field(default_factory=list)
    proxies: dict[str, Sourced] = field(default_factory=dict)  # "https"/"http"/"all"/"no" -> proxy URL
    offline: bool = False

    def pip_value(self, key: str) -> Any:
        item = self.pip.get(key)
        return item.value if item else None

    def proxy_map(self) -> dict[str, str]:
        """scheme -> proxy URL, as urllib.request.ProxyHandler wants it (credentials kept: this is used)."""
        out = {k: s.value for k, s in self.proxies.items() if k != "no"}
        if "all" in out:
            for scheme in ("http", "https"):
                out.setdefault(scheme, out["all"])
            out.pop("all")
        if "no" in self.proxies:
            out["no"] = self.proxies["no"].value
        return out


# -- reading pip's configuration -------------------------------------------------------------------------


def pip_config_files(env: Mapping[str, str], site_prefix: str | None = None) -> list[Path]:
    """pip's configuration files in the order pip applies them (later wins): global, user, site, then
    PIP_CONFIG_FILE. As in pip, an existing PIP_CONFIG_FILE replaces the user files, and os.devnull
    turns every file off."""
    named = env.get("PIP_CONFIG_FILE")
    if named == os.devnull:
        return []
    files: list[Path] = []
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if sys.platform == "win32":
        program_data = env.get("PROGRAMDATA", r"C:\ProgramData")
        files.append(Path(program_data) / "pip" / "pip.ini")
        appdata = env.get("APPDATA")
        user = [home / "pip" / "pip.ini"] + ([Path(appdata) / "pip" / "pip.ini"] if appdata else [])
        site_name = "pip.ini"
    else:
        if sys.platform == "darwin":
            files.append(Path("/Library/Application Support/pip/pip.conf"))
        xdg_dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
        files += [Path(d) / "pip" / "pip.conf" for d in reversed(xdg_dirs.split(os.pathsep)) if d]
        files.append(Path("/etc/pip.conf"))
        xdg_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
        user = [home / ".pip" / "pip.conf", xdg_home / "pip" / "pip.conf"]
        if sys.platform == "darwin":
            user.append(home / "Library" / "Application Support" / "pip" / "pip.conf")
        site_name = "pip.conf"
    if not (named and Path(named).exists()):
        files += user
    if site_prefix:
        files.append(Path(site_prefix) / site_name)
    if named:
        files.append(Path(named))
    return files


def _pip_key(name: str) -> str | None:
    key = name.strip().lower().replace("_", "-").removeprefix("--")
    key = _PIP_ALIASES.get(key, key)
    return key if key in PIP_KEYS else None


def read_pip_config(env: Mapping[str, str] | None = None, site_prefix: str | None = None) -> dict[str, Sourced]:
    """pip's effective settings for `pip install`, each with its origin. [global] then [install] in each
    file; PIP_* variables last. A file pip could not read either is skipped, as pip would not fail on it."""
    env = os.environ if env is None else env
    found: dict[str, Sourced] = {}
    if env.get("PIP_ISOLATED_MODE", "").lower() in ("1", "true", "yes", "on"):
        files: list[Path] = []
    else:
        files = pip_config_files(env, site_prefix)
    for path in files:
        parser = configparser.RawConfigParser()
        try:
            if not path.is_file():
                continue
            parser.read(path, encoding="utf-8")
        except (OSError, configparser.Error, UnicodeDecodeError):
            continue
        for section in ("global", "install"):
            if not parser.has_section(section):
                continue
            for name, value in parser.items(section):
                key = _pip_key(name)
                if key is not None and value.strip():
                    found[key] = Sourced(_pip_value(key, value), str(path))
    for name, value in env.items():
        if name.startswith("PIP_") and value.strip():
            key = _pip_key(name[4:])
            if key is not None:
                found[key] = Sourced(_pip_value(key, value), name)
    return found


def _pip_value(key: str, raw: str) -> Any:
    return raw.split() if key in _PIP_LISTS else raw.strip()


# -- reading uv's configuration -------------------------------------------------------------------------


def uv_config_files(env: Mapping[str, str]) -> list[Path]:
    """uv's system then user uv.toml (later wins); UV_CONFIG_FILE replaces both, UV_NO_CONFIG turns them off."""
    if env.get("UV_NO_CONFIG"):
        return []
    if env.get("UV_CONFIG_FILE"):
        return [Path(env["UV_CONFIG_FILE"])]
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if sys.platform == "win32":
        system = [Path(env.get("PROGRAMDATA", r"C:\ProgramData")) / "uv" / "uv.toml"]
        user = [Path(env.get("APPDATA", str(home / "AppData" / "Roaming"))) / "uv" / "uv.toml"]
    else:
        dirs = (env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(os.pathsep)
        system = [Path(d) / "uv" / "uv.toml" for d in reversed(dirs) if d] + [Path("/etc/uv/uv.toml")]
        user = [Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "uv" / "uv.toml"]
    return system + user


_UV_KEYS = {  # uv.toml key (top level or [pip]) -> our name
    "index-url": "index-url", "extra-index-url": "extra-index-url", "find-links": "find-links",
    "allow-insecure-host": "trusted-host", "native-tls": "system-certs", "system-certs": "system-certs",
    "offline": "offline", "index-strategy": "index-strategy",
}
_UV_VARS = {
    "UV_INDEX_URL": "index-url", "UV_DEFAULT_INDEX": "index-url", "UV_EXTRA_INDEX_URL": "extra-index-url",
    "UV_INDEX": "extra-index-url", "UV_FIND_LINKS": "find-links", "UV_INSECURE_HOST": "trusted-host",
    "UV_NATIVE_TLS": "system-certs", "UV_SYSTEM_CERTS": "system-certs", "UV_OFFLINE": "offline",
    "UV_HTTP_TIMEOUT": "timeout", "UV_HTTP_RETRIES": "retries", "UV_INDEX_STRATEGY": "index-strategy",
}


def read_uv_config(env: Mapping[str, str] | None = None) -> dict[str, Sourced]:
    """uv's own settings that overlap pip's, with their origin (uv applies these itself)."""
    env = os.environ if env is None else env
    found: dict[str, Sourced] = {}
    for path in uv_config_files(env):
        try:
            if not path.is_file():
                continue
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        tables = [data, data.get("pip") if isinstance(data.get("pip"), dict) else {}]
        for table in tables:
            for name, value in table.items():
                key = _UV_KEYS.get(name)
                if key is not None:
                    found[key] = Sourced(value, str(path))
            indexes = table.get("index")
            if isinstance(indexes, list) and indexes:
                urls = [i["url"] for i in indexes if isinstance(i, dict) and isinstance(i.get("url"), str)]
                default = [i["url"] for i in indexes if isinstance(i, dict) and i.get("default")]
                if default:
                    found["index-url"] = Sourced(default[0], str(path))
                extra = [u for u in urls if u not in default]
                if extra:
                    found["extra-index-url"] = Sourced(extra, str(path))
    for name, key in _UV_VARS.items():
        if env.get(name, "").strip():
            lists = ("extra-index-url", "find-links", "trusted-host")
            found[key] = Sourced(env[name].split() if key in lists else env[name].strip(), name)
    return found


# -- the whole picture -----------------------------------------------------------------------------------


def load(env: Mapping[str, str] | None = None, *, cert: Sourced | None = None, proxy: Sourced | None = None,
         offline: bool = False, site_prefix: str | None = None) -> NetConfig:
    """What pip, uv and the environment say, plus Torch Setup's own `cert` (a company CA bundle) and
    `proxy` choices (which come from a flag, a variable or a config file; see settings.py)."""
    env = os.environ if env is None else env
    net = NetConfig(pip=read_pip_config(env, site_prefix), uv=read_uv_config(env), offline=offline)
    seen: set[str] = set()
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        if env.get(var) and env[var] not in seen:
            seen.add(env[var])
            net.ca_files.append(Sourced(env[var], var))
    pip_cert = net.pip.get("cert")
    if pip_cert and pip_cert.value not in seen:
        seen.add(pip_cert.value)
        net.ca_files.append(pip_cert)
    if cert is not None and cert.value and cert.value not in seen:
        net.ca_files.append(cert)
    if env.get("SSL_CERT_DIR"):
        net.ca_dirs += [Sourced(d, "SSL_CERT_DIR") for d in env["SSL_CERT_DIR"].split(os.pathsep) if d]
    for var in PROXY_VARS:
        value = env.get(var) or env.get(var.lower())
        if value:
            net.proxies[var[:-6].lower()] = Sourced(value, var if env.get(var) else var.lower())
    pip_proxy = net.pip.get("proxy")
    if pip_proxy:  # pip's own `proxy` wins over the variables for pip; uv is given it the same way
        url = pip_proxy.value if "://" in pip_proxy.value else f"http://{pip_proxy.value}"
        for scheme in ("http", "https"):
            net.proxies[scheme] = Sourced(url, pip_proxy.origin)
    if proxy is not None and proxy.value:
        url = proxy.value if "://" in proxy.value else f"http://{proxy.value}"
        for scheme in ("http", "https"):
            net.proxies[scheme] = Sourced(url, proxy.origin)
    return net


def proxy_environment(net: NetConfig) -> dict[str, str]:
    """The proxy variables children must see: only those not already in the environment as the same value.

    Credentials travel to children through the environment, never through a plan, log or report."""
    out: dict[str, str] = {}
    for key, item in net.proxies.items():
        var = f"{key.upper()}_PROXY"
        if os.environ.get(var) != item.value:
            out[var] = item.value
            out[var.lower()] = item.value
    return out


# -- trust ----------------------------------------------------------------------------------------------


def system_ca_bundle() -> str | None:
    """The OS's CA bundle file on Linux and the BSDs (None where the store is not a file: macOS, Windows)."""
    if sys.platform in ("win32", "darwin"):
        return None
    for candidate in _LINUX_BUNDLES:
        if os.path.isfile(candidate):
            return candidate
    default = ssl.get_default_verify_paths().cafile
    return default if default and os.path.isfile(default) else None


def _exported_store() -> str | None:
    """The OS store written as PEM text (macOS Keychain, Windows ROOT/CA stores); None when unreadable."""
    pems: list[str] = []
    if sys.platform == "win32":
        for store in ("ROOT", "CA"):
            try:
                for der, encoding, trust in ssl.enum_certificates(store):  # type: ignore[attr-defined,unused-ignore]
                    if encoding == "x509_asn" and (trust is True or "1.3.6.1.5.5.7.3.1" in trust):
                        pems.append(ssl.DER_cert_to_PEM_cert(der))
            except OSError:
                continue
    elif sys.platform == "darwin":
        from installer.core import process

        keychains = ["/System/Library/Keychains/SystemRootCertificates.keychain", "/Library/Keychains/System.keychain"]
        done = process.run_captured(["/usr/bin/security", "find-certificate", "-a", "-p", *keychains],
                                    timeout=30, keep=16 * 1024 * 1024)
        if done.returncode == 0:
            pems.append(done.stdout)
    return "".join(pems) or None


def child_trust_bundle(net: NetConfig) -> str | None:
    """One CA bundle file for the children: the OS store plus every extra bundle; None when the OS bundle
    alone is all there is (then uv is told to use the system store and pip is given that file).

    uv (0.13) and pip both REPLACE their roots with a bundle they are given, so an extra CA must travel
    together with the OS's certificates, or trusting the company's CA would distrust everyone else.
    """
    system = system_ca_bundle()
    extra = [s.value for s in net.ca_files if s.value and os.path.isfile(s.value)
             and (system is None or not os.path.samefile(s.value, system))]
    if not extra:
        return system
    parts: list[str] = []
    base = Path(system).read_text(encoding="utf-8", errors="replace") if system else _exported_store()
    if base:
        parts.append(base)
    for path in extra:
        parts.append(Path(path).read_text(encoding="utf-8", errors="replace"))
    text = "\n".join(p.rstrip("\n") for p in parts) + "\n"
    from installer.core import paths
    from installer.core.runlog import ensure_private_dir, write_private_text

    folder = paths.cache_dir() / "trust"
    ensure_private_dir(folder)
    target = folder / f"ca-bundle-{hashlib.sha256(text.encode()).hexdigest()[:16]}.pem"
    if not target.is_file():
        write_private_text(target, text)
    return str(target)


def ssl_context(net: NetConfig | None = None) -> ssl.SSLContext:
    """A client context that trusts what the OS trusts (truststore: Keychain, Windows store, the Linux
    bundle) plus every extra CA bundle or folder in `net`. Verification is never turned off."""
    try:
        import truststore

        ctx: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    except ImportError:  # pragma: no cover - truststore is a dependency; a broken bundle still verifies
        ctx = ssl.create_default_context()
        bundle = system_ca_bundle()
        if bundle:
            ctx.load_verify_locations(cafile=bundle)
    for item in (net.ca_files if net else []):
        try:
            ctx.load_verify_locations(cafile=item.value)
        except (OSError, ssl.SSLError):
            continue  # a missing bundle named in a variable must not stop the OS store from working
    for item in (net.ca_dirs if net else []):
        try:
            ctx.load_verify_locations(capath=item.value)
        except (OSError, ssl.SSLError):
            continue
    return ctx


def opener(net: NetConfig | None = None) -> urllib.request.OpenerDirector:
    """urllib with the same trust and proxies as the install (an authenticated proxy included)."""
    handlers: list[Any] = [urllib.request.HTTPSHandler(context=ssl_context(net))]
    if net is not None:
        proxies = net.proxy_map()
        no_proxy = proxies.pop("no", None)
        if no_proxy is not None:
            os.environ.setdefault("no_proxy", no_proxy)  # urllib's bypass test reads it from the environment
        handlers.append(urllib.request.ProxyHandler(proxies))
    return urllib.request.build_opener(*handlers)


# -- failures, told apart -------------------------------------------------------------------------------


NO_ANSWER, PROXY_AUTH, CERTIFICATE, PROXY_FAILED = "no-answer", "proxy-auth", "certificate", "proxy-failed"

FIXES = {
    NO_ANSWER: "check that this computer is online and the address is right; behind a proxy set HTTPS_PROXY "
               "(or `proxy` in Torch Setup's config file); or install from a wheel folder (--torch-source FOLDER)",
    PROXY_AUTH: "the proxy wants a user name and password: put them in HTTPS_PROXY "
                "(http://USER:PASSWORD@proxy:port); Torch Setup keeps them out of its logs and reports",
    CERTIFICATE: "the certificate is not trusted: add your company's CA to the system's trust store, or give "
                 "its bundle with --cert FILE (or `cert` in Torch Setup's config file); check the clock",
    PROXY_FAILED: "the proxy could not reach the index: check the proxy's address and port",
}


def classify(exc: BaseException) -> str:
    """Which of the known network failures `exc` is (NO_ANSWER when nothing more specific fits)."""
    reason = getattr(exc, "reason", exc)
    text = f"{exc} {reason}"
    if isinstance(reason, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return CERTIFICATE
    if "407" in text and ("Proxy" in text or "Tunnel" in text):
        return PROXY_AUTH
    if "Tunnel connection failed" in text:
        return PROXY_FAILED
    return NO_ANSWER


def describe_failure(exc: BaseException) -> tuple[str, str]:
    """(kind, one redacted sentence with the fix)."""
    kind = classify(exc)
    what = {NO_ANSWER: "no answer", PROXY_AUTH: "the proxy refused (407: it needs a login)",
            CERTIFICATE: "certificate not trusted", PROXY_FAILED: "the proxy could not connect"}[kind]
    reason = getattr(exc, "reason", exc)
    return kind, redact_text(f"{what} ({reason}); fix: {FIXES[kind]}")


# -- the process-wide choice -----------------------------------------------------------------------------

_ACTIVE: NetConfig | None = None
_MIRROR: str | None = None
_MIRROR_ORIGIN: str | None = None


def set_mirror(url: str | None, origin: str | None = None) -> None:
    """The PyTorch index mirror in use (the detection check asks it instead of PyTorch's index)."""
    global _MIRROR, _MIRROR_ORIGIN
    _MIRROR = url
    _MIRROR_ORIGIN = origin if url else None


def active_mirror() -> str | None:
    return _MIRROR


def active_mirror_origin() -> str | None:
    return _MIRROR_ORIGIN


def setting_origins(net: NetConfig, mirror_origin: str | None = None) -> dict[str, str]:
    """Where each network setting in use came from, by what a person calls it ("package index" ->
    "/etc/pip.conf"). Origins only: a value may hold a password, an origin never does."""
    out: dict[str, str] = {}
    if mirror_origin:
        out["PyTorch index mirror"] = mirror_origin
    names = {"index-url": "package index", "extra-index-url": "extra package index", "find-links": "find-links",
             "trusted-host": "trusted host", "client-cert": "client certificate", "timeout": "timeout",
             "retries": "retries"}
    for key, label in names.items():
        item = net.pip.get(key)
        if item is not None:
            out[label] = item.origin
        elif key in net.uv and key in ("index-url", "extra-index-url", "find-links", "trusted-host"):
            out[label] = net.uv[key].origin
    if net.ca_files:
        out["CA bundle"] = ", ".join(dict.fromkeys(s.origin for s in net.ca_files))
    if net.ca_dirs:
        out["CA folder"] = ", ".join(dict.fromkeys(s.origin for s in net.ca_dirs))
    for scheme in ("https", "http", "all"):
        proxy = net.proxies.get(scheme)
        if proxy is not None:
            out["proxy"] = proxy.origin
            break
    if "no" in net.proxies:
        out["proxy exceptions"] = net.proxies["no"].origin
    return out


def activate(net: NetConfig) -> None:
    """Make `net` what this process's own downloads use (catalog refresh, the detection check)."""
    global _ACTIVE
    _ACTIVE = net


def active() -> NetConfig:
    global _ACTIVE
    if _ACTIVE is None:
        _ACTIVE = load()
    return _ACTIVE


# -- applying it to a finished plan ------------------------------------------------------------------------


def _is_uv(argv: list[str]) -> bool:
    return bool(argv) and Path(argv[0]).name.lower() in ("uv", "uv.exe")


def _is_pip_install(argv: list[str]) -> bool:
    return len(argv) >= 4 and argv[1:4] == ["-m", "pip", "install"]


def apply_to_plan(plan: Any, net: NetConfig, *, mirror: Sourced | None = None, engine_origin: str | None = None) -> None:
    """Give every network step of `plan` the trust, proxy and index settings pip would use, and say so.

    uv steps: the system certificate store (or one bundle with the extra CAs), and pip's own settings
    translated where uv's configuration does not already set them. pip steps: the same bundle with --cert,
    since a venv's pip older than 24.2 trusts only its own copy of certifi. Proxies reach children through
    the environment (see proxy_environment), never through the plan.
    """
    reasons: list[str] = []
    warnings: list[str] = []
    bundle = child_trust_bundle(net)
    system = system_ca_bundle()
    extra_ca = [s for s in net.ca_files if s.value and os.path.isfile(s.value)
                and (system is None or not os.path.samefile(s.value, system))]
    translate = {k: v for k, v in net.pip.items() if k not in net.uv or k in ("cert", "client-cert", "proxy",
                                                                                 "constraint")}
    uv_used: set[str] = set()
    for step in plan.steps:
        argv = [str(a) for a in step.argv]
        if _is_uv(argv):
            if net.offline:
                step.env["UV_OFFLINE"] = "1"
                continue
            if bundle and extra_ca:
                step.env["SSL_CERT_FILE"] = bundle
            else:
                # Both names: UV_SYSTEM_CERTS since uv 0.9, UV_NATIVE_TLS before (still read by 0.13).
                step.env["UV_SYSTEM_CERTS"] = "1"
                step.env["UV_NATIVE_TLS"] = "1"
            if argv[1:3] == ["pip", "install"]:
                added = _uv_pip_args(argv, translate, uv_used)
                step.argv = [*step.argv[:3], *added, *step.argv[3:]]
            _uv_env(step.env, translate, uv_used)
        elif (_is_pip_install(argv) and not net.offline and bundle and "--cert" not in argv
              and (extra_ca or "cert" not in net.pip)):
            step.argv = [*step.argv[:4], "--cert", bundle, *step.argv[4:]]
    has_uv = any(_is_uv([str(a) for a in s.argv]) for s in plan.steps)
    if net.offline:
        reasons.append("Offline: no step touches the network (uv runs with --offline, pip with --no-index).")
    else:
        trust = "the system's certificate store"
        if extra_ca:
            trust += " plus " + ", ".join(f"{s.value} (from {s.origin})" for s in extra_ca)
        reasons.append(f"Downloads trust {trust}; certificate checks stay on.")
        for key in ("index-url", "extra-index-url", "find-links", "trusted-host", "proxy", "timeout", "retries",
                    "constraint", "client-cert"):
            item = net.pip.get(key)
            if item is None:
                continue
            shown = " ".join(item.value) if isinstance(item.value, list) else str(item.value)
            also = " (given to uv too, as pip would use it)" if key in uv_used and has_uv else ""
            reasons.append(f"pip setting {key} from {item.origin}: {redact_url(shown)}{also}.")
        for key in ("index-url", "extra-index-url", "find-links", "trusted-host"):
            item = net.uv.get(key)
            if item is not None and has_uv:
                shown = " ".join(item.value) if isinstance(item.value, list) else str(item.value)
                reasons.append(f"uv setting {key} from {item.origin}: {redact_url(shown)}.")
        for scheme in ("https", "http"):
            proxy = net.proxies.get(scheme)
            if proxy is not None:
                reasons.append(f"Downloads go through the proxy {redact_url(proxy.value)} (from {proxy.origin}).")
                break
        hosts = net.pip.get("trusted-host")
        if hosts is not None:
            warnings.append(f"Certificate checks are off for {' '.join(hosts.value)} (trusted-host in "
                            f"{hosts.origin}): anyone on the network path can change what is installed from there.")
    if mirror is not None:
        reasons.append(f"PyTorch's wheels come from the mirror {redact_url(mirror.value)} (from {mirror.origin}).")
    if engine_origin and engine_origin not in ("default", "--engine"):
        reasons.append(f"Engine {plan.engine} (from {engine_origin}).")
    plan.reasons.extend(reasons)
    plan.warnings.extend(warnings)


def _uv_pip_args(argv: list[str], pip: dict[str, Sourced], used: set[str]) -> list[str]:
    """uv arguments for what pip would apply from its own configuration to this `pip install`."""
    out: list[str] = []
    has_index = "--index-url" in argv or "--default-index" in argv or "--no-index" in argv
    index = pip.get("index-url")
    if index is not None and not has_index:
        out += ["--index-url", index.value]
        used.add("index-url")
    extra = pip.get("extra-index-url")
    if extra is not None and "--no-index" not in argv:
        for url in extra.value:
            out += ["--extra-index-url", url]
        # pip takes the best version from all its indexes; uv's default takes the first index that has
        # the package. Same configuration, same result: pip's rule.
        out += ["--index-strategy", "unsafe-best-match"]
        used.add("extra-index-url")
    links = pip.get("find-links")
    if links is not None:
        for link in links.value:
            if link not in argv:
                out += ["--find-links", link]
        used.add("find-links")
    hosts = pip.get("trusted-host")
    if hosts is not None:
        for host in hosts.value:
            out += ["--allow-insecure-host", host]
        used.add("trusted-host")
    constraint = pip.get("constraint")
    if constraint is not None:
        for path in constraint.value:
            if os.path.isfile(path):
                out += ["--constraint", path]
        used.add("constraint")
    return out


def _uv_env(env: dict[str, str], pip: dict[str, Sourced], used: set[str]) -> None:
    timeout = pip.get("timeout")
    if timeout is not None and str(timeout.value).replace(".", "", 1).isdigit():
        env["UV_HTTP_TIMEOUT"] = str(int(float(timeout.value)))
        used.add("timeout")
    retries = pip.get("retries")
    if retries is not None and str(retries.value).isdigit():
        env["UV_HTTP_RETRIES"] = str(retries.value)
        used.add("retries")
    client = pip.get("client-cert")
    if client is not None:
        env["SSL_CLIENT_CERT"] = str(client.value)
        used.add("client-cert")
