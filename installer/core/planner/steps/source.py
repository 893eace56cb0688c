"""The source method: what the local toolkit can build, and the clone/build steps."""

from __future__ import annotations

from pathlib import PurePath

from installer.core.catalog import Release, variant_kind
from installer.core.plan import ChoiceError, Plan, Step
from installer.core.planner.context import INSTALL_RETRIES, SOURCE_MIN_FREE_MIB, PlanContext
from installer.core.planner.decisions import decide
from installer.core.planner.env import env_python_path
from installer.core.planner.facts import hardware
from installer.core.planner.fit import Build, parse_cc
from installer.core.planner.sources import net_args
from installer.core.planner.steps.common import verify_step
from installer.core.planner.suggest import offer
from installer.core.report import Tools
from installer.core.versions import version_tuple


def source_build(ctx: PlanContext, build: Build) -> Build:
    """A source build's backend is what the local toolkit can build, not a wheel variant."""
    tools, r = ctx.report.tools, ctx.report
    use_cuda = variant_kind(build.backend) == "cuda"
    use_rocm = variant_kind(build.backend) == "rocm"
    explicit = ctx.choices.backend != "auto"
    if use_cuda and tools.nvcc is None:
        if explicit:
            raise ChoiceError(
                "A CUDA build from source needs the CUDA toolkit (nvcc), which was not found: install it "
                f"({hardware().source_min_cuda} or newer)"
                + (" or choose --backend cpu." if offer(ctx, "cpu", backend="cpu") else ".")
            )
        build.warnings.append(
            "No CUDA toolkit (nvcc) was found, so this source build is CPU-only: install the CUDA toolkit "
            f"{hardware().source_min_cuda}+ and plan again to build with CUDA."
        )
        use_cuda = False
    if use_rocm and tools.hipcc is None:
        if explicit:
            raise ChoiceError(
                "A ROCm build from source needs ROCm (hipcc), which was not found: install ROCm."
            )
        build.warnings.append("ROCm (hipcc) was not found, so this source build is CPU-only.")
        use_rocm = False
    before = build.backend
    if use_cuda:
        nv = version_tuple(tools.nvcc.version if tools.nvcc else None) or (12, 6)
        build.backend = f"cu{nv[0]}{nv[1] if len(nv) > 1 else 0}"
        build.why = f"built from source with the CUDA toolkit found here (nvcc {tools.nvcc.version if tools.nvcc else '?'})."
    elif use_rocm:
        rv = version_tuple(r.rocm_version) or (0, 0)
        build.backend = f"rocm{rv[0]}.{rv[1] if len(rv) > 1 else 0}"
        build.why = f"built from source with the ROCm found here ({r.rocm_version or 'version unknown'})."
    elif build.backend != "mps":
        build.backend = "cpu"
        if before != "cpu":
            build.why, build.label = "built from source without a GPU toolkit (see the warnings).", "CPU build"
    build.variant = build.backend
    return build


def source_steps(ctx: PlanContext, plan: Plan, rel: Release, version: str, build: Build, env: PurePath) -> None:
    r, tools = ctx.report, ctx.report.tools
    missing = missing_build_tools(tools)
    if missing:
        raise ChoiceError(f"Building from source needs {' and '.join(missing)}: {tools_hint(r.os.name)}")
    # The backend of a source build is what the local toolkit can build, not a wheel variant.
    use_cuda = variant_kind(plan.backend) == "cuda"
    use_rocm = variant_kind(plan.backend) == "rocm"
    env_python = env_python_path(ctx, env)
    plan.env_python = env_python
    checkout = str(env / "src" / "pytorch")
    uv = ctx.choices.engine == "uv"
    for name, tool in (
        ("git", tools.git),
        ("compiler", tools.compiler),
        ("cmake", tools.cmake),
        ("ninja", tools.ninja),
        ("nvcc", tools.nvcc if use_cuda else None),
    ):
        if tool is None:
            continue
        plan.steps.append(
            Step(
                name=f"Check {name}",
                argv=[tool.executable, "--version"],
                kind="check",
                description=f"Checks that {name} ({tool.executable}) runs.",
                timeout=60,
            )
        )
    base = plan.python_executable or plan.python
    plan.steps.append(
        Step(
            name="Create the environment",
            argv=[ctx.uv, "venv", "--allow-existing", "--seed", "--python", base, str(env)]
            if uv
            else [base, "-m", "venv", str(env)],
            kind="venv",
            description=f"Creates the Python {plan.python} environment the build installs into (with pip).",
            creates=str(env),
            progress="uv" if uv else None,
        )
    )
    branch = [] if rel.nightly else ["--branch", f"v{version}"]
    plan.steps.append(
        Step(
            name="Download the PyTorch source",
            argv=[
                tools.git.executable if tools.git else "git",
                "clone",
                "--recursive",
                # git reports progress only to a terminal; the runner reads a pipe.
                "--progress",
                *branch,
                "--depth",
                "1",
                "--shallow-submodules",
                ctx.source_repo,
                checkout,
            ],
            kind="clone",
            description=f"Clones PyTorch {version} with its submodules (about 1.5 GB) into {checkout}.",
            creates=checkout,
            progress="git",
            retries=INSTALL_RETRIES,
        )
    )
    requirements = str(env / "src" / "pytorch" / "requirements.txt")
    extra = [t for t, tool in (("cmake", tools.cmake), ("ninja", tools.ninja)) if tool is None]
    installer = (
        [ctx.uv, "pip", "install", "--python", env_python]
        if uv
        else [env_python, "-m", "pip", "install"]
    )
    plan.steps.append(
        Step(
            name="Install the build dependencies",
            argv=[*installer, *net_args(ctx, uv), "-r", requirements, *extra],
            kind="install",
            description="Installs what the build needs (from the checkout's requirements.txt)"
            + (f", plus {' and '.join(extra)}." if extra else "."),
            cwd=checkout,
            progress="uv" if uv else "pip",
            retries=INSTALL_RETRIES,
        )
    )
    cores = r.cpu.threads or r.cpu.cores or 1
    ram_gib = (r.resources.ram_mib or 4096) / 1024
    jobs = max(1, min(cores, int(ram_gib // 2.5)))
    build_env = {
        "USE_CUDA": "1" if use_cuda else "0",
        "USE_ROCM": "1" if use_rocm else "0",
        "MAX_JOBS": str(jobs),
        "CMAKE_PREFIX_PATH": str(env),
        "BUILD_TEST": "0",
    }
    if use_cuda:
        ccs = sorted({g.compute_capability for g in r.gpus_of("nvidia") if g.compute_capability}, key=parse_cc)
        if ccs:
            build_env["TORCH_CUDA_ARCH_LIST"] = ";".join(ccs)
            ctx.reasons.append(
                f"TORCH_CUDA_ARCH_LIST={';'.join(ccs)}: kernels only for this machine's GPUs (a faster build)."
            )
    if use_rocm:
        gfx = sorted({g.gfx_arch for g in r.gpus_of("amd") if g.gfx_arch})
        if gfx:
            build_env["PYTORCH_ROCM_ARCH"] = ";".join(gfx)
    ctx.reasons.append(
        f"MAX_JOBS={jobs}: {cores} CPU threads, limited to one compile job per 2.5 GB of the "
        f"{ram_gib:.0f} GB RAM so the build does not run out of memory."
    )
    plan.steps.append(
        Step(
            name="Build and install PyTorch",
            argv=[env_python, "-m", "pip", "install", "--no-build-isolation", "-v", "."],
            env=build_env,
            cwd=checkout,
            kind="build",
            description="Compiles PyTorch (1–3 hours) and installs it into the environment.",
            progress="ninja",
        )
    )
    plan.packages = [f"torch=={version}" if not rel.nightly else "torch"]
    plan.torch_index = ctx.source_repo
    decide(ctx, "source", ctx.source_repo, f"PyTorch's source code from {ctx.source_repo}, compiled here.", "Packages")
    ctx.reasons.append(
        f"Build from source: PyTorch {version} from {ctx.source_repo}"
        + (" with CUDA" if use_cuda else " with ROCm" if use_rocm else " for the CPU")
        + "."
    )
    verify_step(ctx, plan, env_python, ["torch"])
    src = ctx.catalog.sizes.get("source", {"download": 1500, "disk": 15360})
    plan.download_mib, plan.disk_mib = int(src["download"]), int(src["disk"])
    free = r.resources.free_mib("env")
    if free is not None and free < SOURCE_MIN_FREE_MIB:
        ctx.warnings.append(
            f"Only {free / 1024:.1f} GB are free where the environment goes; a source build needs at least 15 GB."
        )


def missing_build_tools(tools: Tools) -> list[str]:
    """What a source build cannot start without, as the user would name it."""
    return [name for name, tool in (("git", tools.git), ("a C/C++ compiler", tools.compiler)) if tool is None]


def tools_hint(os_name: str) -> str:
    if os_name == "windows":
        return "install Git for Windows and Visual Studio Build Tools with the “Desktop development with C++” workload."
    if os_name == "macos":
        return "run `xcode-select --install` (it brings git and clang)."
    return "install git and a compiler (e.g. `sudo apt install git build-essential` or `sudo dnf install git gcc-c++`)."
