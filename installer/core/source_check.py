"""Before anything is created: can the plan get what it installs from where it was told to?

A wheel file the plan names must be a readable wheel (a truncated download is not skipped for some
other build, it is refused here), and an offline plan must resolve without the network: a dry-run
resolution with the plan's own install arguments names every package that is missing.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from installer.core import process
from installer.core.plan import ChoiceError, Plan

DRY_RUN_TIMEOUT = 180.0  # seconds for one offline resolution; it reads only local files
MAX_ROUNDS = 60  # each round names one missing package; a plan needs far fewer

_FILE_SPEC = re.compile(r"^[A-Za-z0-9._-]+\s*@\s*(file:\S+)$")
# uv: "Because filelock was not found in the cache and torch==… depends on filelock";
# "Because there is no version of sympy==1.13 and …". pip: "No matching distribution found for filelock".
_UV_MISSING = re.compile(
    r"Because (?:there is no version of )?([A-Za-z0-9][A-Za-z0-9._-]*)(?:[=<>!~][^ ]*)?"
    r"(?: was not found in the (?:cache|package registry|provided package locations)| and)"
)
_PIP_MISSING = re.compile(r"No matching distribution found for ([A-Za-z0-9][A-Za-z0-9._-]*)")


def wheel_files(plan: Plan) -> list[Path]:
    """The wheel files the plan's install steps name directly (`torch @ file:///…/torch-….whl`)."""
    found: list[Path] = []
    for step in plan.steps:
        if step.kind != "install":
            continue
        for arg in step.argv:
            m = _FILE_SPEC.match(str(arg))
            if m and m.group(1).endswith(".whl"):
                path = Path(url2pathname(unquote(urlsplit(m.group(1)).path)))
                if path not in found:
                    found.append(path)
    return found


def wheel_problem(path: Path) -> str | None:
    """Why `path` is not a readable wheel, or None. Reads the zip directory only (fast even for 1 GB)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except FileNotFoundError:
        return "the file does not exist"
    except zipfile.BadZipFile as exc:
        return f"it is not a complete zip archive ({exc})"
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if not any(n.endswith(".dist-info/METADATA") for n in names):
        return "it holds no .dist-info/METADATA"
    return None


def check_wheel_files(plan: Plan) -> None:
    for path in wheel_files(plan):
        problem = wheel_problem(path)
        if problem:
            raise ChoiceError(
                f"The wheel {path} is damaged or incomplete: {problem}. Nothing was installed; replace it with a "
                "complete copy (download it again and compare its size or sha256 with the published one)."
            )


def _dry_run_argv(plan: Plan, argv: list[str], target: str, excludes: str) -> list[str] | None:
    """The install step's argv as a dry run into an empty target, with the base Python (the
    environment does not exist yet); None when the step has a shape this does not know."""
    base = plan.python_executable or plan.python
    if plan.engine == "uv" and argv[1:3] == ["pip", "install"] and argv[3:4] == ["--python"]:
        return [argv[0], "pip", "install", "--dry-run", "--python", base, "--target", target,
                "--excludes", excludes, *argv[5:]]
    if plan.engine == "pip" and argv[1:4] == ["-m", "pip", "install"] and plan.python_executable:
        return [plan.python_executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", *argv[4:]]
    return None


def _first_error(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if ln.lower().startswith(("error", "×", "cause")):
            return ln[:300]
    return (lines[-1] if lines else "no output")[:300]


def offline_missing(plan: Plan) -> tuple[list[str], str | None]:
    """(packages the offline plan cannot find, another reason the dry run failed or None)."""
    missing: list[str] = []
    with tempfile.TemporaryDirectory(prefix="torch-setup-dry-run-") as tmp:
        excludes = Path(tmp, "excludes.txt")
        excludes.write_text("", encoding="utf-8")
        for step in plan.steps:
            if step.kind != "install":
                continue
            for _round in range(MAX_ROUNDS):
                argv = _dry_run_argv(plan, [str(a) for a in step.argv], str(Path(tmp, "target")), str(excludes))
                if argv is None:
                    break
                done = process.run_captured(argv, timeout=DRY_RUN_TIMEOUT)
                if done.returncode is None:
                    return missing, done.error
                if done.returncode == 0:
                    break
                text = done.stdout + "\n" + done.stderr
                if (plan.engine == "pip" and "No module named pip" in text) or "unexpected argument" in text:
                    break  # no pip to ask, or an older uv/pip without these options: the install step will tell
                names = _UV_MISSING.findall(text) if plan.engine == "uv" else _PIP_MISSING.findall(text)
                new = [n for n in names if n.lower() not in {m.lower() for m in missing}]
                if not new:
                    return missing, None if missing else _first_error(text)
                missing.append(new[0])
                if plan.engine != "uv":
                    break  # pip cannot be told to skip a package: it names the first one only
                # uv can: exclude what is known to be missing and ask again, so all of them get named
                excludes.write_text("\n".join(missing) + "\n", encoding="utf-8")
    return missing, None


def check_offline(plan: Plan) -> None:
    """ChoiceError (exit 2) naming what an offline pip-method plan cannot find without the network."""
    if plan.method != "pip" or not (plan.choices or {}).get("offline"):
        return
    missing, other = offline_missing(plan)
    source = plan.torch_index or "the default index"
    if missing:
        where = f"the wheel folder {plan.torch_index}" if plan.torch_index and "://" not in plan.torch_index else ""
        raise ChoiceError(
            f"Offline, {len(missing)} package(s) the plan needs are neither in "
            f"{where + ' nor in ' if where else ''}the local package cache: {', '.join(missing)}. "
            "Add their wheels to the folder (e.g. `pip download` them on a connected machine) "
            "or install without --offline."
        )
    if other:
        raise ChoiceError(f"Offline, the plan cannot be resolved from {source}: {other}")


def check_plan_sources(plan: Plan) -> None:
    """Refuse, before anything is created, a plan whose packages cannot come from its sources."""
    check_wheel_files(plan)
    check_offline(plan)
