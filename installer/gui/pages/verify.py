"""Page 7: what the verification probe found inside the new environment; green when the expected backend runs.

The plan's own verify step usually produced the VerifyReport already; otherwise the probe runs on a worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QWizardPage,
)

from installer.gui.widgets import diagnosis_html, escape, scrolling_layout, status_color, status_icon
from installer.gui.worker import Job, VerifyWorker

if TYPE_CHECKING:
    from installer.core.events import Diagnosis
    from installer.core.report import SystemReport
    from installer.core.verify import DeviceReport, VerifyReport


def backend_of(verify: VerifyReport) -> str:
    if verify.backend or verify.expect:
        return str(verify.backend or verify.expect)
    if verify.cuda:
        return f"CUDA {verify.cuda}"
    return "cpu"


def backend_words(backend: str) -> str:
    b = backend.lower()
    if b.startswith("cu") and b[2:].isdigit():
        return f"the NVIDIA GPU (CUDA {b[2:-1]}.{b[-1]})"
    if b.startswith("cuda"):
        return f"the NVIDIA GPU ({backend})"
    if b.startswith("rocm"):
        return f"the AMD GPU (ROCm {b[4:]})"
    if b == "xpu":
        return "the Intel GPU (XPU)"
    if b == "mps":
        return "the Apple GPU (Metal)"
    if b == "cpu":
        return "the processor (CPU)"
    return backend


def device_line(device: DeviceReport) -> tuple[str, str, bool | None]:
    """(device name, what its kernel check said, passed?) for one device the probe reported."""
    name = device.name or device.device or "device"
    if str(device.index) not in name:
        name = f"{name} (#{device.index})"
    cap = device.capability or device.arch
    if cap:
        name = f"{name}, {cap}"
    return name, device.error or "", device.kernel_ok


# The probe's check names ("python", "cpu kernel", "kernel cuda:0") as row names in one style: a short
# phrase in sentence case saying what was checked.
CHECK_WORDS = {
    "python": "Python starts",
    "import torch": "PyTorch imports",
    "cpu kernel": "Calculation on the processor",
    "backend": "Compute platform as planned",
    "build": "Build as planned",
    "clean exit": "Check ended cleanly",
    "probe": "Check could run",
    "cuda devices": "NVIDIA GPUs visible",
    "xpu devices": "Intel GPUs visible",
}


def check_words(name: str) -> str:
    if name in CHECK_WORDS:
        return CHECK_WORDS[name]
    kind, _, device = name.partition(" ")
    if kind == "kernel" and device:
        return f"Calculation on {device}"
    if kind == "arch" and device:
        return f"Build supports {device}"
    return f"{name} imports" if name.replace("_", "").replace("-", "").isalnum() and name.islower() else name


def diagnoses_for(verify: VerifyReport, report: SystemReport | None) -> list[Diagnosis]:
    try:
        from installer.core.diagnose import diagnose_facts

        return list(diagnose_facts(verify, report))
    except Exception:
        return []


class VerifyPage(QWizardPage):
    def __init__(self, wizard: Any) -> None:
        super().__init__()
        self._wizard = wizard
        self.job: Job | None = None
        self.running = False
        self.error: str | None = None
        self.setTitle("Checking PyTorch")
        self.setSubTitle("PyTorch was started inside the new environment and asked to compute something.")

        self.headline = QLabel(self)
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setAccessibleName("Verification result")
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.headline.setFont(font)
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setAccessibleName("Verification in progress")
        self.busy.hide()
        self.facts = QTreeWidget(self)
        self.facts.setColumnCount(2)
        self.facts.setHeaderLabels(["Check", "Result"])
        self.facts.setRootIsDecorated(False)
        self.facts.setAlternatingRowColors(True)
        self.facts.setAccessibleName("What was checked")
        self.facts.setAccessibleDescription("One row per check: what was checked, and the result.")
        self.facts.setMinimumHeight(self.fontMetrics().height() * 7)
        self.facts.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        header = self.facts.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.diagnosis = QLabel(self)
        self.diagnosis.setWordWrap(True)
        self.diagnosis.setTextFormat(Qt.TextFormat.RichText)
        self.diagnosis.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.diagnosis.setAccessibleName("Diagnosis")
        self.rerun_button = QPushButton("Check &again", self)
        self.rerun_button.setAccessibleName("Check again")
        self.rerun_button.setAccessibleDescription("Starts PyTorch in the environment and checks it again.")

        layout = scrolling_layout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.busy)
        layout.addWidget(self.facts, 1)
        layout.addWidget(self.diagnosis)
        layout.addWidget(self.rerun_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.rerun_button.clicked.connect(self.run_probe)

    def initializePage(self) -> None:
        verify = self._wizard.state.verify
        if verify is not None:
            self.show_report(verify)
        elif not self.is_running():
            self.run_probe()

    def isComplete(self) -> bool:
        return not self.is_running() and (self._wizard.state.verify is not None or self.error is not None)

    def is_running(self) -> bool:
        return self.running

    @Slot()
    def run_probe(self) -> None:
        plan = self._wizard.state.plan
        if plan is None or self.is_running():
            return
        self.error = None
        self.facts.clear()
        self.diagnosis.clear()
        self.headline.setText("Starting PyTorch in the new environment…")
        self.busy.show()
        self.rerun_button.setEnabled(False)
        python = plan.env_python or plan.python_executable or "python"
        worker = VerifyWorker(python, plan.expect, verify_fn=self._wizard.verify_fn)
        worker.succeeded.connect(self.on_verified)
        worker.failed.connect(self.on_failed)
        worker.finished.connect(self.on_finished)
        self.running = True
        self.job = self._wizard.start_job(worker)
        self.completeChanged.emit()

    @Slot(object)
    def on_verified(self, verify: Any) -> None:
        self._wizard.state.verify = verify
        self.show_report(verify)

    @Slot(str)
    def on_failed(self, message: str) -> None:
        self.error = message
        self.headline.setText(f"<span style='color:{status_color('fail', self)}'>✗ {escape(message)}</span>")

    @Slot()
    def on_finished(self) -> None:
        self.running = False
        self.busy.hide()
        self.rerun_button.setEnabled(True)
        self.completeChanged.emit()

    def show_report(self, verify: VerifyReport) -> None:
        ok = verify.ok
        torch = verify.torch or "?"
        backend = backend_of(verify)
        if ok:
            self.headline.setText(f"<span style='color:{status_color('ok', self)}'>✓ PyTorch {escape(torch)} works "
                                  f"on {escape(backend_words(backend))}.</span>")
        else:
            self.headline.setText(f"<span style='color:{status_color('fail', self)}'>✗ PyTorch {escape(torch)} is "
                                  f"installed but does not work as expected.</span>")
        self.facts.clear()
        self._add("PyTorch version", str(torch), True)
        self._add("Compute platform", backend_words(backend), None)
        if verify.cuda:
            self._add("CUDA runtime", verify.cuda, None)
        for device in verify.devices:
            name, detail, dev_ok = device_line(device)
            self._add(f"Device {name}", detail or ("a calculation ran" if dev_ok else ""), dev_ok)
        for check in verify.checks:
            self._add(check_words(check.name), check.detail, check.ok)
        if verify.throughput_gflops:
            self._add("Speed of a matrix multiply", f"{verify.throughput_gflops:,.0f} GFLOP/s", None)
        if verify.error:
            self._add("What went wrong", verify.error, False)
        if ok:
            self.diagnosis.clear()
            return
        lines = []
        for diagnosis in diagnoses_for(verify, self._wizard.state.report)[:3]:
            lines.append(diagnosis_html(diagnosis))
        self.diagnosis.setText("<br><br>".join(lines) if lines else "The log and the rows above show what failed.")

    def _add(self, name: str, value: str, ok: bool | None) -> None:
        item = QTreeWidgetItem([name, value])
        status = "info" if ok is None else ("ok" if ok else "fail")
        item.setIcon(0, status_icon(status, self))
        item.setToolTip(1, value)
        # A screen reader says "Passed: PyTorch imports" rather than nothing for the icon.
        words = {"ok": "Passed", "fail": "Failed", "info": "Information"}[status]
        item.setData(0, Qt.ItemDataRole.AccessibleTextRole, f"{words}: {name}")
        item.setData(1, Qt.ItemDataRole.AccessibleTextRole, value)
        self.facts.addTopLevelItem(item)
