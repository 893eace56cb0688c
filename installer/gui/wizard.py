"""The Torch Setup wizard: page ids, the state the pages share, and the rules for closing during a job.

Dependencies (detection, catalog, runner, verification) are injectable so tests can feed a recorded
machine; by default they are the real engine, imported lazily so the first paint stays fast.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, QSize
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QMessageBox, QWidget, QWizard

from installer.core.plan import ChoiceError, Choices
from installer.gui.worker import Job

if TYPE_CHECKING:  # the engine's own types; annotations only, so start-up imports nothing more
    from installer.core.catalog import Catalog
    from installer.core.checklist import ChecklistRow
    from installer.core.plan import Plan
    from installer.core.report import SystemReport
    from installer.core.runner import RunResult
    from installer.core.verify import VerifyReport


class PageId(IntEnum):
    WELCOME = 0
    SYSTEM = 1
    METHOD = 2
    ENVIRONMENT = 3
    REVIEW = 4
    INSTALL = 5
    VERIFY = 6
    FINISH = 7
    DOCTOR = 8  # "Check the PyTorch I already have" (installer/gui/pages/doctor.py)
    ENVS = 9  # the environments Torch Setup made


# The window's smallest size (every page reads fully at it, scrolling where needed) and its first size.
MINIMUM_SIZE = QSize(640, 480)
DEFAULT_SIZE = QSize(860, 640)
# Which of the side panel's four steps (Look, Choose, Install, Check) each page belongs to.
STEP_OF_PAGE = {PageId.WELCOME: -1, PageId.SYSTEM: 0, PageId.METHOD: 1, PageId.ENVIRONMENT: 1, PageId.REVIEW: 1,
                PageId.INSTALL: 2, PageId.VERIFY: 3, PageId.FINISH: 3}


def _real_detect(**kwargs: Any) -> Any:
    """Detection as `torch-setup detect` does it: the network check first takes the proxy, trust and mirror
    from Torch Setup's config files and variables, so it asks what an install would ask."""
    from installer.core import settings
    from installer.core.detect import detect

    offline = bool(kwargs.get("offline"))
    try:
        settings.apply(Choices(offline=offline), {"offline"} if offline else set())
    except ChoiceError:
        pass  # a broken config file is named on the Environment page, where planning stops on it
    return detect(**kwargs)


class EnginePlanner:
    """The real planner with the bundled uv (and, like the CLI's --source-repo, a chosen source repository)."""

    def __init__(self, source_repo: str | None = None) -> None:
        import os

        from installer.core.netconfig import PROXY_VARS

        self.source_repo = source_repo
        # settings.apply() exports the chosen proxy to this process's environment (children inherit it).
        # The CLI plans once; the wizard plans on every edit, so a proxy the user cleared again must not
        # stay behind: each plan starts from the environment the wizard was started with.
        names = [*PROXY_VARS, *(v.lower() for v in PROXY_VARS)]
        self._proxy_env = {name: os.environ.get(name) for name in names}

    def _restore_proxy_env(self) -> None:
        import os

        for name, value in self._proxy_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def __call__(self, report: Any, choices: Choices, catalog: Any) -> Any:
        from installer.core import settings
        from installer.core.planner import make_plan
        from installer.core.uvbin import uv_executable

        extra = {"source_repo": self.source_repo} if self.source_repo else {}
        # The same config files, variables and network setup as the CLI (what the wizard's pages set is
        # explicit, as a flag is); then the same trust, proxy and pip/uv settings on the plan's steps.
        # A copy: apply() fills in from the files, and the pages' choices must stay what the pages show.
        choices = dataclasses.replace(choices)
        self._restore_proxy_env()
        defaults = Choices()
        current = settings.load()
        # A value the page shows because a config file set it keeps that file as its origin.
        explicit = {n for n in Choices.field_names() if getattr(choices, n) != getattr(defaults, n)
                    and not (current.sourced(n) is not None and current.get(n) == getattr(choices, n))}
        applied = settings.apply(choices, explicit, explicit_origin="the wizard")
        from installer.core import policy

        # An administrator's [policy] locks hold in the wizard as on the command line (issue 12).
        where = str(settings.machine_config_path())
        policy.enforce_choices(choices, applied.settings.policy, explicit, where)
        if choices.torch_index_url:
            import copy

            # A copy: the wizard keeps its catalog while the user edits, and a mirror cleared on the page
            # must not stay in it.
            root = choices.torch_index_url.rstrip("/")
            catalog = copy.copy(catalog)
            catalog.index = {**catalog.index, "base": root, "nightly": f"{root}/nightly"}
        plan = make_plan(report, choices, catalog, uv=uv_executable(), **extra)
        policy.enforce_plan(plan, applied.settings.policy, where)
        applied.apply_to_plan(plan)
        return plan


def ask_yes_no(parent: QWidget, title: str, text: str) -> bool:
    answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


@dataclass
class WizardState:
    """What the pages learn and decide, in one place (plain engine dataclasses, never widgets)."""

    choices: Choices = field(default_factory=Choices)
    report: SystemReport | None = None
    checklist: list[ChecklistRow] = field(default_factory=list)
    catalog: Catalog | None = None
    catalog_error: str | None = None
    detect_seconds: float | None = None
    plan: Plan | None = None
    result: RunResult | None = None
    verify: VerifyReport | None = None
    log_path: str | None = None


class TorchSetupWizard(QWizard):
    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        detect_fn: Callable[..., Any] | None = None,
        catalog: Any = None,
        catalog_loader: Callable[[], Any] | None = None,
        plan_fn: Callable[[Any, Choices, Any], Any] | None = None,
        source_repo: str | None = None,
        runner_factory: Callable[..., Any] | None = None,
        verify_fn: Callable[..., Any] | None = None,
        env_root: str | Path | None = None,
        torch_source: str | None = None,
        offline: bool = False,
        confirm: Callable[[QWidget, str, str], bool] = ask_yes_no,
        settings: QSettings | None = None,
        autostart_detection: bool = True,
    ) -> None:
        super().__init__(parent)
        self.detect_fn = detect_fn or _real_detect
        self.catalog_loader = catalog_loader
        self.plan_fn = plan_fn or EnginePlanner(source_repo)
        self.runner_factory = runner_factory
        self.verify_fn = verify_fn
        self.offline = offline
        self.confirm = confirm
        self.autostart_detection = autostart_detection
        self._settings = settings
        if env_root is None:
            from installer.core.paths import default_env_root

            env_root = default_env_root()
        self.env_root = Path(env_root)
        self.state = WizardState(catalog=catalog)
        if torch_source:
            self.state.choices.torch_source = torch_source
        self.state.choices.offline = offline
        self.jobs: list[Job] = []

        self.setWindowTitle("Torch Setup")
        self.setObjectName("TorchSetupWizard")
        # Modern style on Windows, classic on Linux (with a page side picture-free look), Mac style on macOS:
        # the platform default keeps it native.
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        # Every button with its own mnemonic, the same on every platform; pages avoid these letters
        # (tests/gui/test_keyboard_a11y.py checks each page).
        self.setButtonText(QWizard.WizardButton.NextButton, "&Next >")
        self.setButtonText(QWizard.WizardButton.BackButton, "< &Back")
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Close")
        self.setButtonText(QWizard.WizardButton.CancelButton, "Cancel")  # Esc, as everywhere
        for which, description in (
                (QWizard.WizardButton.NextButton, "Goes to the next page; nothing is installed before Review."),
                (QWizard.WizardButton.BackButton, "Goes back a page; what you entered is kept."),
                (QWizard.WizardButton.CommitButton, "Installs PyTorch as shown on this page."),
                (QWizard.WizardButton.FinishButton, "Closes Torch Setup."),
                (QWizard.WizardButton.CancelButton, "Closes Torch Setup; during an install it asks first.")):
            self.button(which).setAccessibleDescription(description)
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setMinimumSize(MINIMUM_SIZE)
        self.setPixmap(QWizard.WizardPixmap.LogoPixmap, scaled_icon_pixmap(48, self.devicePixelRatio()))
        from installer.gui.widgets import StepList

        self.step_list = StepList(self)
        self.setSideWidget(self.step_list)
        self.currentIdChanged.connect(self._on_page_changed)

        from installer.gui.pages.environment import EnvironmentPage
        from installer.gui.pages.finish import FinishPage
        from installer.gui.pages.install import InstallPage
        from installer.gui.pages.method import MethodPage
        from installer.gui.pages.review import ReviewPage
        from installer.gui.pages.system import SystemPage
        from installer.gui.pages.verify import VerifyPage
        from installer.gui.pages.welcome import WelcomePage

        self.setPage(PageId.WELCOME, WelcomePage(self))
        self.setPage(PageId.SYSTEM, SystemPage(self))
        self.setPage(PageId.METHOD, MethodPage(self))
        self.setPage(PageId.ENVIRONMENT, EnvironmentPage(self))
        self.setPage(PageId.REVIEW, ReviewPage(self))
        self.setPage(PageId.INSTALL, InstallPage(self))
        self.setPage(PageId.VERIFY, VerifyPage(self))
        self.setPage(PageId.FINISH, FinishPage(self))
        from installer.gui.pages.doctor import DoctorPage, EnvsPage

        self.doctor_paths: list[str] = []  # project folders the doctor checks besides the usual places
        self.doctor_scan = True
        self.setPage(PageId.DOCTOR, DoctorPage(self))
        self.setPage(PageId.ENVS, EnvsPage(self))
        self.setStartId(PageId.WELCOME)
        self._restore_geometry()

    # -- navigation -------------------------------------------------------------------------------------

    def _on_page_changed(self, page_id: int) -> None:
        self.step_list.set_current(STEP_OF_PAGE.get(page_id, -1), all_done=page_id == PageId.FINISH)

    def nextId(self) -> int:
        current = self.currentId()
        if current == PageId.WELCOME:
            mode = getattr(self.page_of(PageId.WELCOME), "mode", "install")
            return {"doctor": PageId.DOCTOR, "envs": PageId.ENVS}.get(mode, PageId.SYSTEM)
        if current in (PageId.DOCTOR, PageId.ENVS):
            return -1
        if current == PageId.SYSTEM:
            return PageId.METHOD
        if current == PageId.METHOD:
            return PageId.ENVIRONMENT
        if current == PageId.ENVIRONMENT:
            return PageId.REVIEW
        if current == PageId.REVIEW:
            return PageId.INSTALL
        if current == PageId.INSTALL:
            # A run that ended without a verification result (cancelled, failed before verify) has nothing
            # to show on the Verify page; the Install page itself then offers Retry and the log.
            result = self.state.result
            if result is not None and getattr(result, "ok", False) is False and getattr(result, "verify", None) is None:
                return PageId.FINISH
            return PageId.VERIFY
        if current == PageId.VERIFY:
            return PageId.FINISH
        return -1

    def page_of(self, page_id: PageId) -> Any:
        return self.page(int(page_id))

    # -- planning (pure and fast: safe on the GUI thread) -----------------------------------------------

    def try_plan(self, choices: Choices | None = None) -> tuple[Any, str | None]:
        """(plan, None) or (None, one sentence saying why the request cannot be met)."""
        state = self.state
        if state.report is None or state.catalog is None:
            return None, "This computer has not been looked at yet."
        try:
            return self.plan_fn(state.report, choices or state.choices, state.catalog), None
        except ChoiceError as exc:
            return None, str(exc)
        except ImportError as exc:
            return None, f"This copy of Torch Setup is incomplete ({exc})."
        except Exception as exc:  # a planner bug must not take the window down
            return None, f"Torch Setup could not make a plan: {type(exc).__name__}: {exc}"

    def config_settings(self) -> tuple[Any, str | None]:
        """Torch Setup's config files and TORCH_SETUP_* variables, as the CLI reads them: (Settings, None),
        or (None, the sentence saying what is wrong with a file)."""
        from installer.core import settings

        try:
            return settings.load(), None
        except ChoiceError as exc:
            return None, str(exc)

    def choices_copy(self, **changes: Any) -> Choices:
        return dataclasses.replace(self.state.choices, **changes)

    # -- jobs -------------------------------------------------------------------------------------------

    def start_job(self, worker: Any) -> Job:
        job = Job(worker)
        self.jobs = [j for j in self.jobs if j.running]
        self.jobs.append(job)
        job.start()
        return job

    def install_running(self) -> bool:
        """An install, or a repair on the doctor's pages (stopping either puts things back)."""
        install = self.page_of(PageId.INSTALL)
        repairing = any(getattr(self.page_of(p), "panel", None) is not None and self.page_of(p).panel.running
                        for p in (PageId.DOCTOR, PageId.ENVS))
        return bool(install is not None and install.is_running()) or repairing

    def stop_jobs(self, timeout_ms: int = 120_000) -> bool:
        ok = True
        for job in list(self.jobs):
            ok = job.stop(timeout_ms) and ok
        self.jobs = [j for j in self.jobs if j.running]
        return ok

    def done(self, result: int) -> None:
        """Closing, Cancel or Close: never leave a worker thread running (STYLE rule 5)."""
        if self.install_running():
            if not self.confirm(self, "Stop the installation?",
                                "PyTorch is being installed. Stop now? Everything this run created is removed."):
                return
            if self.page_of(PageId.INSTALL).is_running():
                self.page_of(PageId.INSTALL).begin_cancel()
        self.setEnabled(False)
        self.stop_jobs()
        self._save_geometry()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.install_running():
            if not self.confirm(self, "Stop the installation?",
                                "PyTorch is being installed. Stop now? Everything this run created is removed."):
                event.ignore()
                return
            if self.page_of(PageId.INSTALL).is_running():
                self.page_of(PageId.INSTALL).begin_cancel()
            self.stop_jobs()
        self._save_geometry()
        super().closeEvent(event)

    # -- window size ------------------------------------------------------------------------------------

    def settings(self) -> QSettings:
        if self._settings is None:
            self._settings = QSettings("torch-setup", "Torch Setup")
        return self._settings

    def _restore_geometry(self) -> None:
        geometry = self.settings().value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        # The size separately: restoreGeometry() shrinks a window that a smaller screen cannot hold, and the
        # size is what people notice.
        size = self.settings().value("window/size")
        size = size if isinstance(size, QSize) and size.isValid() else DEFAULT_SIZE
        # Never below the minimum: an older version (or a window manager) may have saved a smaller size.
        self.resize(size.expandedTo(self.minimumSize()))

    def _save_geometry(self) -> None:
        self.settings().setValue("window/geometry", self.saveGeometry())
        self.settings().setValue("window/size", self.size())
        self.settings().sync()


def app_icon() -> QIcon:
    """The Torch Setup flame, at every size resources/icons holds (an empty icon if they are missing)."""
    icon = QIcon()
    try:
        from installer.core.paths import resource

        folder = resource("icons")
    except (FileNotFoundError, OSError):
        return icon
    for png in sorted(folder.glob("torch-setup-*.png")):
        icon.addFile(str(png))
    svg = folder / "torch-setup.svg"
    if icon.isNull() and svg.is_file():
        icon.addFile(str(svg))
    return icon


def scaled_icon_pixmap(size: int, device_pixel_ratio: float = 1.0) -> Any:
    """The icon at `size` logical pixels, rendered for the screen's scale so it stays sharp at 150 %/200 %."""
    return app_icon().pixmap(QSize(size, size), max(1.0, device_pixel_ratio), QIcon.Mode.Normal, QIcon.State.Off)
