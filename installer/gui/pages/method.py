"""Page 3: how to install (pip / conda / source), which PyTorch version, which compute platform, which extras.

The automatic compute platform is whatever the planner chooses for this machine; its reason is shown live.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from installer.gui.widgets import escape, linkify, plain_text, scrolling_layout, status_color

# Each with its own mnemonic (P, O, S); the page's other letters are V, C, T, A and the wizard's N, B.
if TYPE_CHECKING:
    from installer.core.plan import Plan

METHOD_TITLES = {
    "pip": "&pip: a Python virtual environment",
    "conda": "c&onda: a conda environment",
    "source": "&source: build PyTorch from its source code",
}
METHOD_DESCRIPTIONS = {
    "pip": "A separate Python environment with PyTorch's own wheels; the usual choice.",
    "conda": "A conda environment; PyTorch's wheels are installed inside it.",
    "source": "Downloads PyTorch's source code and compiles it; takes an hour or more.",
}

class MethodPage(QWizardPage):
    def __init__(self, wizard: Any) -> None:
        super().__init__()
        self._wizard = wizard
        self._loading = False
        self.plan_error: str | None = None
        self.setTitle("How to install")
        self.setSubTitle("The recommended choices are already selected; change them only if you know you need to.")

        # Method ----------------------------------------------------------------------------------------
        method_box = QGroupBox("Method", self)
        self.method_group = QButtonGroup(self)
        self.method_buttons: dict[str, QRadioButton] = {}
        self.method_notes: dict[str, QLabel] = {}
        method_layout = QVBoxLayout(method_box)
        for name in ("pip", "conda", "source"):
            button = QRadioButton(METHOD_TITLES[name], method_box)
            button.setAccessibleName(plain_text(METHOD_TITLES[name]))
            button.setAccessibleDescription(METHOD_DESCRIPTIONS[name])
            button.setToolTip(METHOD_DESCRIPTIONS[name])
            note = QLabel(method_box)
            note.setWordWrap(True)
            note.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
            note.setOpenExternalLinks(True)
            note.setIndent(24)
            note.setMinimumWidth(200)  # wraps at any width instead of being cut
            note.setTextFormat(Qt.TextFormat.RichText)
            note.setAccessibleName(f"About {name}")
            self.method_group.addButton(button)
            self.method_buttons[name] = button
            self.method_notes[name] = note
            method_layout.addWidget(button)
            method_layout.addWidget(note)

        # Options ---------------------------------------------------------------------------------------
        options_box = QGroupBox("PyTorch", self)
        self.version_combo = QComboBox(options_box)
        self.version_combo.setAccessibleName("PyTorch version")
        self.version_combo.setAccessibleDescription("Latest stable is recommended; older versions and nightly "
                                                    "builds are offered too.")
        self.version_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.version_combo.setMinimumContentsLength(12)
        self.backend_combo = QComboBox(options_box)
        self.backend_combo.setAccessibleName("Compute platform")
        self.backend_combo.setAccessibleDescription("Automatic picks the build for this computer's graphics card; "
                                                    "the reason is shown below.")
        # Long entries ("cu126: NVIDIA CUDA 12.6, needs driver …") must not set the page's minimum width.
        self.backend_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.backend_combo.setMinimumContentsLength(16)
        self.backend_note = QLabel(options_box)
        self.backend_note.setWordWrap(True)
        self.backend_note.setTextFormat(Qt.TextFormat.RichText)
        self.backend_note.setAccessibleName("Why this compute platform")
        self.torchvision = QCheckBox("&torchvision (images: datasets, models, transforms)", options_box)
        self.torchvision.setAccessibleName("torchvision")
        self.torchvision.setAccessibleDescription("Also install torchvision: image datasets, models and transforms.")
        self.torchaudio = QCheckBox("torch&audio (sound)", options_box)
        self.torchaudio.setAccessibleName("torchaudio")
        self.torchaudio.setAccessibleDescription("Also install torchaudio, for sound.")
        extras = QVBoxLayout()  # stacked: side by side they would set a minimum width wider than 640
        extras.addWidget(self.torchvision)
        extras.addWidget(self.torchaudio)
        form = QFormLayout(options_box)
        form.addRow("&Version:", self.version_combo)
        form.addRow("&Compute platform:", self.backend_combo)
        form.addRow(self.backend_note)
        form.addRow("Also install:", extras)

        self.policy_note = QLabel(self)  # "Some choices are set by your administrator" (a [policy] table)
        self.policy_note.setWordWrap(True)
        self.policy_note.setAccessibleName("Locked by your administrator")
        self.policy_note.setVisible(False)
        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.RichText)
        self.error_label.setAccessibleName("Problem with these choices")

        layout = scrolling_layout(self)
        layout.addWidget(method_box)
        layout.addWidget(options_box)
        layout.addWidget(self.policy_note)
        layout.addWidget(self.error_label)
        layout.addStretch(1)

        self.method_group.buttonToggled.connect(self._on_method_toggled)
        self.version_combo.currentIndexChanged.connect(self._on_version_changed)
        self.backend_combo.currentIndexChanged.connect(self._on_option_changed)
        self.torchvision.toggled.connect(self._on_option_changed)
        self.torchaudio.toggled.connect(self._on_option_changed)
        self.setTabOrder(self.method_buttons["source"], self.version_combo)
        self.setTabOrder(self.version_combo, self.backend_combo)
        self.setTabOrder(self.backend_combo, self.torchvision)
        self.setTabOrder(self.torchvision, self.torchaudio)

    # -- lifecycle --------------------------------------------------------------------------------------

    def initializePage(self) -> None:
        self._loading = True
        try:
            self._fill_methods()
            self._fill_versions()
            self._fill_backends()
            self._fill_extras()
            self._apply_policy()
        finally:
            self._loading = False
        self.refresh()

    def _apply_policy(self) -> None:
        """Grey what an administrator's [policy] locks, saying so (installer/core/policy.py)."""
        from installer.core import policy

        locks, _where = policy.current()
        if not locks:
            return
        shown = policy.locked_fields(locks)
        methods = policy.allowed_methods(locks)
        for name, button in self.method_buttons.items():
            if methods is not None and name not in methods:
                button.setEnabled(False)
                self.method_notes[name].setText(f"<i>{escape(policy.ADMIN.capitalize())}.</i>")
                self.method_notes[name].setVisible(True)
        if not self.method_buttons[self._wizard.state.choices.method].isEnabled():
            first = next((n for n, b in self.method_buttons.items() if b.isEnabled()), "pip")
            self.method_buttons[first].setChecked(True)
            self._wizard.state.choices.method = first
        if "torch" in shown:
            for index in reversed(range(self.version_combo.count())):
                if not policy.version_allowed(str(self.version_combo.itemData(index)), locks):
                    self.version_combo.removeItem(index)
            self.version_combo.setToolTip(shown["torch"])
            self.version_combo.setAccessibleDescription(shown["torch"])
            self.version_combo.setEnabled(self.version_combo.count() > 1)
        if "backend" in shown:
            allowed = set(locks.get("backends") or [])
            for index in reversed(range(self.backend_combo.count())):
                data = str(self.backend_combo.itemData(index))
                if data != "auto" and data not in allowed:
                    self.backend_combo.removeItem(index)
            self.backend_combo.setToolTip(shown["backend"])
            self.backend_combo.setAccessibleDescription(shown["backend"])
        self.policy_note.setText("Some choices are " + "; ".join(
            f"{field}: {text}" for field, text in shown.items() if field in ("method", "torch", "backend")) + ".")
        self.policy_note.setVisible(any(field in shown for field in ("method", "torch", "backend")))

    def isComplete(self) -> bool:
        method = self.selected_method()
        return method is not None and self.method_buttons[method].isEnabled() and self.plan_error is None

    # -- filling ----------------------------------------------------------------------------------------

    def _fill_methods(self) -> None:
        state = self._wizard.state
        try:
            from installer.core.planner import method_options

            options = method_options(state.report)
        except Exception as exc:
            options = []
            self.error_label.setText(f"Could not tell which methods work here: {escape(exc)}")
        by_name = {o.method: o for o in options}
        current = state.choices.method
        recommended = None
        for name, button in self.method_buttons.items():
            option = by_name.get(name)
            available = bool(option.available) if option else name == "pip"
            reason = option.reason if option else ""
            button.setEnabled(available)
            title = METHOD_TITLES[name]
            if option is not None and option.recommended:
                title += "  (recommended)"
                recommended = name
            button.setText(title)
            button.setAccessibleName(plain_text(title))
            note = linkify(reason)
            if not available:
                note = f"<span style='color:{status_color('warn', self)}'>Not available: {note}</span>"
            self.method_notes[name].setText(note)
            self.method_notes[name].setVisible(bool(reason))
        chosen = current if self.method_buttons[current].isEnabled() else (recommended or "pip")
        if current == "pip" and recommended and not self._user_touched_method:
            chosen = recommended
        self.method_buttons[chosen].setChecked(True)
        state.choices.method = chosen

    _user_touched_method = False

    def _fill_versions(self) -> None:
        catalog = self._wizard.state.catalog
        current = self._wizard.state.choices.torch
        self.version_combo.clear()
        latest = ""
        versions: list[str] = []
        try:
            latest = catalog.latest().version
            versions = list(catalog.versions())
        except Exception:
            pass
        self.version_combo.addItem(f"Latest stable ({latest})" if latest else "Latest stable", "latest")
        for version in versions:
            self.version_combo.addItem(version, version)
        self.version_combo.addItem("Nightly (preview build, changes every day)", "nightly")
        index = self.version_combo.findData(current)
        self.version_combo.setCurrentIndex(max(index, 0))

    def _fill_backends(self) -> None:
        state = self._wizard.state
        current = state.choices.backend
        self.backend_combo.blockSignals(True)
        self.backend_combo.clear()
        self.backend_combo.addItem("Automatic (recommended)", "auto")
        for variant in self._variants():
            label = variant
            try:
                label = f"{variant}: {state.catalog.describe_backend(variant)}"
            except Exception:
                pass
            self.backend_combo.addItem(label, variant)
            self.backend_combo.setItemData(self.backend_combo.count() - 1, label, Qt.ItemDataRole.ToolTipRole)
        index = self.backend_combo.findData(current)
        self.backend_combo.setCurrentIndex(max(index, 0))
        self.backend_combo.blockSignals(False)

    def _variants(self) -> list[str]:
        """The builds core says PyTorch publishes of the chosen version for this machine's platform."""
        from installer.core.planner import backend_options

        state = self._wizard.state
        if state.report is None or state.catalog is None:
            return []
        return backend_options(state.report, state.catalog, state.choices.torch)

    def _fill_extras(self) -> None:
        packages = self._wizard.state.choices.packages
        source = self._wizard.state.choices.torch_source
        folder = Path(source).expanduser() if source not in ("pytorch", "pypi") and "://" not in source else None
        if folder is not None and folder.is_dir():
            # A local wheels folder: offer only what it holds, or the install fails for a missing wheel.
            has_vision = any(folder.glob("torchvision-*.whl"))
            has_audio = any(folder.glob("torchaudio-*.whl"))
            self.torchvision.setEnabled(has_vision)
            self.torchaudio.setEnabled(has_audio)
            self.torchvision.setChecked(has_vision and "torchvision" in packages)
            self.torchaudio.setChecked(has_audio and "torchaudio" in packages)
            return
        self.torchvision.setEnabled(True)
        self.torchaudio.setEnabled(True)
        self.torchvision.setChecked("torchvision" in packages)
        self.torchaudio.setChecked("torchaudio" in packages)

    # -- reacting ---------------------------------------------------------------------------------------

    def selected_method(self) -> str | None:
        for name, button in self.method_buttons.items():
            if button.isChecked():
                return name
        return None

    @Slot(object, bool)
    def _on_method_toggled(self, _button: Any, checked: bool) -> None:
        if checked and not self._loading:
            self._user_touched_method = True
            self.refresh()

    @Slot(int)
    def _on_version_changed(self, _index: int) -> None:
        if self._loading:
            return
        self._wizard.state.choices.torch = self.version_combo.currentData() or "latest"
        self._loading = True
        try:
            self._fill_backends()
        finally:
            self._loading = False
        self.refresh()

    @Slot()
    def _on_option_changed(self, *_args: Any) -> None:
        if not self._loading:
            self.refresh()

    def refresh(self) -> None:
        """Write the widgets into Choices and ask the planner what that gives, live."""
        choices = self._wizard.state.choices
        choices.method = self.selected_method() or "pip"
        choices.torch = self.version_combo.currentData() or "latest"
        choices.backend = self.backend_combo.currentData() or "auto"
        packages = ["torch"]
        if self.torchvision.isChecked():
            packages.append("torchvision")
        if self.torchaudio.isChecked():
            packages.append("torchaudio")
        extra = [p for p in choices.packages if p.split("[")[0].split("=")[0] not in ("torch", "torchvision", "torchaudio")]
        choices.packages = packages + extra
        plan, error = self._wizard.try_plan()
        self.plan_error = error
        if plan is not None:
            reason = self._backend_reason(plan)
            what = "Automatic chooses" if choices.backend == "auto" else "You chose"
            self.backend_note.setText(f"{what} <b>{escape(plan.backend)}</b> for PyTorch {escape(plan.torch)}. "
                                      f"{escape(reason)}")
            warnings = "".join(f"<br>⚠ {escape(w)}" for w in plan.warnings)
            self.error_label.setText(f"<span style='color:{status_color('warn', self)}'>{warnings[4:]}</span>"
                                     if warnings else "")
        else:
            self.backend_note.setText("")
            self.error_label.setText(f"<span style='color:{status_color('fail', self)}'>✗ {escape(error)}</span>")
        self.completeChanged.emit()

    @staticmethod
    def _backend_reason(plan: Plan) -> str:
        """The planner's reason for its build, read from the decision (never searched for in the prose)."""
        from installer.core.planner.decisions import render

        decision = plan.decision("backend")
        return render(decision) if decision is not None else ""
