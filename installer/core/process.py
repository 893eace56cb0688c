"""Child processes: a clean environment, how every child is started (spawn) and stopped (kill_tree),
and run_captured, which keeps a bounded part of a short command's output.

In a frozen app the bootloader puts its own library paths and _PYI_* variables into the environment;
a system Python or conda started from it must not see them (DESIGN.md: a frozen app is not Python).

No child outlives Torch Setup: each leads its own process group, which is stopped on every way out of
the call that started it; if Torch Setup itself is killed, Linux's parent-death signal stops the child,
a small watchdog shell (POSIX) stops the child's whole group, and on Windows a job object closes with
the process and takes every child with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import psutil

IS_WINDOWS = sys.platform == "win32"
FROZEN = bool(getattr(sys, "frozen", False))

# Variables that make a child Python look at the wrong place or the bundle's libraries.
_DROP_ALWAYS = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__",
                "VIRTUAL_ENV", "CONDA_PREFIX", "PIP_REQUIRE_VIRTUALENV", "PYTHONNOUSERSITE")
_LIBRARY_PATH_VARS = ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "DYLD_FRAMEWORK_PATH", "DYLD_FALLBACK_LIBRARY_PATH")
# Set by PyInstaller's PySide6 run-time hook to folders inside the bundle; a Qt program we start (a conda
# GUI, an IDE) would load our plugins instead of its own.
_BUNDLE_QT_VARS = ("QT_PLUGIN_PATH", "QML2_IMPORT_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH")


def _inside(path: str, root: str) -> bool:
    """path is root or below it (case-insensitive on Windows; no file-system access)."""
    norm = os.path.normcase(os.path.normpath(path))
    top = os.path.normcase(os.path.normpath(root))
    return norm == top or norm.startswith(top.rstrip(os.sep) + os.sep)


def _without_bundle(value: str, bundle: str) -> str:
    return os.pathsep.join(p for p in value.split(os.pathsep) if p and not _inside(p, bundle))


def clean_env(extra: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: unbuffered UTF-8 Python, no bundle or venv leaks."""
    env = dict(os.environ if base is None else base)
    bundle = getattr(sys, "_MEIPASS", None)
    for var in _LIBRARY_PATH_VARS:
        original = env.pop(var + "_ORIG", None)  # PyInstaller saves the user's value here
        if original is not None:
            env[var] = original
        elif FROZEN or var.startswith("DYLD"):
            env.pop(var, None)
    for key in list(env):
        if key.startswith("_PYI_") or key.startswith("_MEIPASS") or key in _DROP_ALWAYS:
            env.pop(key, None)
    if bundle:
        for var in (*_BUNDLE_QT_VARS, *_LIBRARY_PATH_VARS):
            if var in env:
                kept = _without_bundle(env[var], bundle)
                if kept:
                    env[var] = kept
                else:
                    env.pop(var)
        # Windows: the PySide6 hook prepends the bundle to PATH; Windows compares paths case-insensitively.
        for key in [k for k in env if k.upper() == "PATH"]:
            env[key] = _without_bundle(env[key], bundle)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUTF8"] = "1"
    if extra:
        env.update(extra)
    return env


def popen_kwargs() -> dict[str, Any]:
    """Platform keyword arguments: no console window on Windows, own process group elsewhere."""
    if IS_WINDOWS:
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        return {"creationflags": flags}
    return {"start_new_session": True}


MIB = 1024 * 1024
KEEP_BYTES = 4 * MIB  # of each stream of a captured command: its first KEEP_HEAD_BYTES and its end
KEEP_HEAD_BYTES = 64 * 1024
MAX_LINE_CHARS = 256 * 1024  # a kept line longer than this is cut (a blob, a flood with no newline)
FLOOD_BYTES = 64 * MIB  # a short command that prints more than this is flooding: it is stopped
KILL_GRACE_SECONDS = 3.0
PIPE_GRACE_SECONDS = 2.0  # after the child exits, how long a grandchild may keep its pipes open
CUT_NOTE = "[… {} bytes of output were cut by Torch Setup …]"

# Set when Torch Setup is stopping (a signal): no new child starts, and captures stop theirs.
STOPPING = threading.Event()


class SpawnRefused(OSError):
    """No new child starts while Torch Setup is stopping."""


# -- children die with Torch Setup -------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_PRCTL = _load_prctl()  # resolved here: the child, between fork and exec, should only call it


def _die_with_parent(parent: int) -> Callable[[], None]:
    """Linux, in the child before exec: SIGKILL it when the thread that started it ends.

    The signal follows the starting *thread*, not the process: every spawn() is waited for (or killed)
    by the thread that made it before that thread moves on, so only the death of Torch Setup fires it.
    The parent may already be gone when the signal is armed; then the child must not run at all.
    """
    prctl = _PRCTL

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(137)

    return arm


# A shell (there is one on every POSIX system, frozen app or not) that holds the process groups of the
# running children, one "+PGID" or "-PGID" line each; at end of input -- Torch Setup has exited or been
# killed -- it stops the groups still listed. Parent-death reaches only the direct child; this reaches
# its grandchildren, and it is macOS's only guard.
_WATCHDOG_SH = r"""
trap '' INT HUP
set --
while IFS= read -r line; do
  case "$line" in
    +*) set -- "$@" "${line#+}" ;;
    -*) g="${line#-}"; n=$#
        while [ "$n" -gt 0 ]; do x="$1"; shift; [ "$x" = "$g" ] || set -- "$@" "$x"; n=$((n - 1)); done ;;
  esac
done
[ "$#" -eq 0 ] && exit 0
for g in "$@"; do kill -s TERM -- "-$g" 2>/dev/null; done
sleep 1
for g in "$@"; do kill -s KILL -- "-$g" 2>/dev/null; done
exit 0
"""

_lock = threading.Lock()
_live: dict[int, subprocess.Popen[bytes]] = {}
_watchdog: subprocess.Popen[bytes] | None = None
_watchdog_pid = 0  # the process that started it (a forked copy of Torch Setup needs its own)
_job: Any = None  # Windows: the kill-on-close job object's handle


def _tell_watchdog(line: str) -> None:
    """Under _lock."""
    global _watchdog, _watchdog_pid
    if IS_WINDOWS or not os.path.exists("/bin/sh"):
        return
    if _watchdog is None or _watchdog_pid != os.getpid() or _watchdog.poll() is not None:
        try:
            _watchdog = subprocess.Popen(["/bin/sh", "-c", _WATCHDOG_SH], stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True, env={"PATH": "/usr/bin:/bin"})
            _watchdog_pid = os.getpid()
        except OSError:
            _watchdog = None
            return
        for pid in _live:  # a restarted watchdog must know the groups already running
            if pid != int(line[1:]):
                _write_watchdog(f"+{pid}")
    _write_watchdog(line)


def watchdog_pid() -> int | None:
    """The watchdog shell of this process (it lives as long as Torch Setup does, by design), if one runs."""
    with _lock:
        if _watchdog is not None and _watchdog_pid == os.getpid() and _watchdog.poll() is None:
            return _watchdog.pid
    return None


def _write_watchdog(line: str) -> None:
    if _watchdog is not None and _watchdog.stdin is not None:
        with contextlib.suppress(OSError, ValueError):
            _watchdog.stdin.write(line.encode() + b"\n")
            _watchdog.stdin.flush()


def _windows_job() -> Any:
    """One job object per Torch Setup process, never closed by us: Windows closes it when the process
    ends, however it ends, and JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE then ends every process in it."""
    global _job
    if sys.platform != "win32":
        return None
    if _job is not None:
        return _job or None

    class BasicLimits(ctypes.Structure):
        _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                    ("LimitFlags", ctypes.c_uint32), ("MinimumWorkingSetSize", ctypes.c_size_t),
                    ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", ctypes.c_uint32),
                    ("Affinity", ctypes.c_size_t), ("PriorityClass", ctypes.c_uint32),
                    ("SchedulingClass", ctypes.c_uint32)]

    class IoCounters(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint64) for name in ("ReadOperationCount", "WriteOperationCount",
                                                         "OtherOperationCount", "ReadTransferCount",
                                                         "WriteTransferCount", "OtherTransferCount")]

    class ExtendedLimits(ctypes.Structure):
        _fields_ = [("BasicLimitInformation", BasicLimits), ("IoInfo", IoCounters),
                    ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                    ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]

    job_object_extended_limit_information = 9
    job_object_limit_kill_on_job_close = 0x2000
    try:
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.CreateJobObjectW.restype = ctypes.c_void_p
        kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, ctypes.c_wchar_p]
        kernel32.SetInformationJobObject.restype = ctypes.c_int
        kernel32.SetInformationJobObject.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32]
        handle = kernel32.CreateJobObjectW(None, None)
        if not handle:
            _job = 0
            return None
        limits = ExtendedLimits()
        limits.BasicLimitInformation.LimitFlags = job_object_limit_kill_on_job_close
        if not kernel32.SetInformationJobObject(handle, job_object_extended_limit_information,
                                                ctypes.byref(limits), ctypes.sizeof(limits)):
            _job = 0
            return None
        _job = (kernel32, handle)
    except (OSError, AttributeError):
        _job = 0
        return None
    return _job


def _join_windows_job(proc: subprocess.Popen[bytes]) -> None:
    """Under _lock. The child could start a grandchild before it joins; Windows puts the children of a
    process in a job into that job, so only that short window is uncovered."""
    job = _windows_job()
    handle = getattr(proc, "_handle", None)
    if not job or handle is None:
        return
    kernel32, job_handle = job
    with contextlib.suppress(OSError, AttributeError, ctypes.ArgumentError):
        kernel32.AssignProcessToJobObject.restype = ctypes.c_int
        kernel32.AssignProcessToJobObject.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        kernel32.AssignProcessToJobObject(job_handle, int(handle))


def spawn(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None,
          stdout: Any = subprocess.PIPE, stderr: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """Start a child: binary pipes, no stdin, its own process group, and tied to Torch Setup's life.

    The thread that calls this waits for the child (or kill_tree()s it) and then calls release(proc).
    Raises OSError (SpawnRefused while Torch Setup is stopping) like subprocess.Popen.
    """
    if STOPPING.is_set():
        raise SpawnRefused("Torch Setup is stopping")
    kwargs = popen_kwargs()
    if _PRCTL is not None:
        kwargs["preexec_fn"] = _die_with_parent(os.getpid())
    proc = subprocess.Popen([str(a) for a in argv], env=None if env is None else dict(env), cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, bufsize=0, **kwargs)
    with _lock:
        _live[proc.pid] = proc
        if IS_WINDOWS:
            _join_windows_job(proc)
        else:
            _tell_watchdog(f"+{proc.pid}")
    return proc


def release(proc: subprocess.Popen[bytes]) -> None:
    """The child has been waited for: forget it (its process-group number may be reused from now on)."""
    with _lock:
        if _live.pop(proc.pid, None) is not None and not IS_WINDOWS:
            _write_watchdog(f"-{proc.pid}")


def live_children() -> list[subprocess.Popen[bytes]]:
    with _lock:
        return list(_live.values())


def stop_children(grace: float = 1.0) -> None:
    """Kill the tree of every child still running (a way out that skipped its owner's clean-up)."""
    for proc in live_children():
        kill_tree(proc, grace=grace)
        release(proc)


# -- stopping a tree -----------------------------------------------------------------------------------

def _still_running(members: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for member in members:
        try:
            if member.is_running() and member.status() != psutil.STATUS_ZOMBIE:
                alive.append(member)
        except psutil.Error:
            pass
    return alive


def _wait_gone(proc: subprocess.Popen[bytes], members: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every member has exited (a zombie counts as exited); returns those still running."""
    deadline = time.monotonic() + timeout
    while True:
        proc.poll()  # reap our own child so it does not linger as a zombie
        alive = _still_running(members)
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.05)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> bool:
    """POSIX: the child leads its own session (start_new_session), so its group catches orphaned grandchildren."""
    if IS_WINDOWS:
        return False
    try:
        os.killpg(proc.pid, sig)
        return True
    except OSError:
        return False


def kill_tree(proc: subprocess.Popen[bytes], grace: float = KILL_GRACE_SECONDS) -> None:
    """Terminate a child and all its descendants; kill what is still there after `grace` seconds."""
    try:
        parent = psutil.Process(proc.pid)
        members = [*parent.children(recursive=True), parent] if proc.poll() is None else []
    except psutil.Error:
        members = []
    for member in members:
        with contextlib.suppress(psutil.Error):
            member.terminate()
    group = _signal_group(proc, signal.SIGTERM)
    alive = _wait_gone(proc, members, grace)
    for member in alive:
        with contextlib.suppress(psutil.Error):
            member.kill()
    if group:
        _signal_group(proc, getattr(signal, "SIGKILL", signal.SIGTERM))
    _wait_gone(proc, alive, grace)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)


# -- short commands, bounded ---------------------------------------------------------------------------

class BoundedOutput:
    """What is kept of one stream: its first `head` bytes and its last `limit - head`, and the total seen."""

    def __init__(self, limit: int = KEEP_BYTES, head: int = KEEP_HEAD_BYTES) -> None:
        self.head_limit = min(head, limit // 4)  # the end (where a verdict or an error is) gets the most
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk and self.tail_limit > 0:
            self.tail += chunk
            if len(self.tail) > 2 * self.tail_limit:  # trim now and then, not on every chunk
                del self.tail[: len(self.tail) - self.tail_limit]

    @property
    def cut(self) -> int:
        return max(0, self.total - len(self.head) - min(len(self.tail), self.tail_limit))

    def text(self) -> str:
        tail = bytes(self.tail[-self.tail_limit:]) if self.tail_limit else b""
        parts = [bytes(self.head).decode("utf-8", errors="replace")]
        if self.cut:
            parts.append("\n" + CUT_NOTE.format(self.cut) + "\n")
        parts.append(tail.decode("utf-8", errors="replace"))
        return cut_long_lines("".join(parts))


def cut_long_lines(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """Lines longer than `limit` keep their start and a note (a kept line is never a memory problem)."""
    if len(text) <= limit or all(len(line) <= limit for line in text.split("\n")):
        return text
    return "\n".join(line if len(line) <= limit else line[:limit] + f" [… line cut at {limit} characters]"
                     for line in text.split("\n"))


def read_chunks(stream: IO[bytes], size: int = 65536) -> Iterator[bytes]:
    """What a child writes to a pipe, as it arrives, until it closes or breaks; the pipe is closed after."""
    read = getattr(stream, "read1", stream.read)
    try:
        while True:
            try:
                chunk = read(size)
            except (OSError, ValueError):
                return
            if not chunk:
                return
            yield chunk
    finally:
        with contextlib.suppress(OSError):
            stream.close()


def _drain(stream: IO[bytes], kept: BoundedOutput, done: threading.Event) -> None:
    try:
        for chunk in read_chunks(stream):
            kept.add(chunk)
    finally:
        done.set()


@dataclass
class Completed:
    argv: list[str]
    returncode: int | None  # None: it could not start, or was stopped
    stdout: str
    stderr: str
    error: str | None = None  # why it did not run to completion
    timed_out: bool = False
    flooded: bool = False  # it printed more than run_captured's flood limit and was stopped
    cut: bool = False  # some of its output was not kept

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_captured(argv: Sequence[str], timeout: float = 10.0, env: Mapping[str, str] | None = None,
                 cwd: str | None = None, keep: int = KEEP_BYTES, flood: int = FLOOD_BYTES) -> Completed:
    """Run a short command and keep at most `keep` bytes of each stream (start and end). Never raises for a
    missing, hanging or flooding program; its whole process tree is stopped on every way out."""
    args = [str(a) for a in argv]
    try:
        proc = spawn(args, env=clean_env(env), cwd=cwd)
    except FileNotFoundError:
        return Completed(args, None, "", "", f"{args[0]} not found")
    except PermissionError:
        return Completed(args, None, "", "", f"{args[0]} is not executable")
    except SpawnRefused:
        return Completed(args, None, "", "", "Torch Setup is stopping")
    except OSError as exc:
        return Completed(args, None, "", "", f"{args[0]} could not start: {exc.strerror or exc}")
    out, err = BoundedOutput(keep), BoundedOutput(keep)
    out_done, err_done = threading.Event(), threading.Event()
    readers = [threading.Thread(target=_drain, args=(stream, kept, done), daemon=True, name="torch-setup-capture")
               for stream, kept, done in ((proc.stdout, out, out_done), (proc.stderr, err, err_done))
               if stream is not None]
    error: str | None = None
    timed_out = flooded = False
    deadline = time.monotonic() + timeout
    exited_at: float | None = None
    finished = False
    try:
        for reader in readers:
            reader.start()
        while True:
            if out_done.wait(0.02) and err_done.wait(0.02):
                break
            now = time.monotonic()
            if out.total + err.total > flood:
                flooded = True
                error = f"{args[0]} printed more than {flood // MIB} MB and was stopped"
                break
            if STOPPING.is_set():
                error = "stopped: Torch Setup is stopping"
                break
            if now > deadline:
                timed_out = True
                error = f"{args[0]} did not answer within {timeout:g} s and was stopped"
                break
            if exited_at is None and proc.poll() is not None:
                exited_at = now  # a grandchild may still hold the pipes open
            if exited_at is not None and now - exited_at > PIPE_GRACE_SECONDS:
                break
        finished = error is None
    finally:
        if not finished or proc.poll() is None or not (out_done.is_set() and err_done.is_set()):
            kill_tree(proc, grace=1.0)
        for reader in readers:
            reader.join(timeout=KILL_GRACE_SECONDS)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=KILL_GRACE_SECONDS)
        release(proc)
    cut = bool(out.cut or err.cut)
    returncode = proc.returncode if error is None else None
    return Completed(args, returncode, out.text(), err.text(), error, timed_out, flooded, cut)
