"""Page 4: where the new environment goes and which Python it uses, checked inline as the user types.

Only Pythons the planner accepts for the chosen PyTorch are offered; when none fits, a managed Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from installer.core.plan import env_name_problem
from installer.gui.widgets import CollapsibleSection, escape, scrolling_layout, status_color

MANAGED = "managed"
# Used until the planner gives its own estimate: a CPU build and its dependencies, unpacked.
DEFAULT_DISK_MIB = 2500
SOURCES = [
    ("pytorch", "PyTorch's own package index (recommended)"),
    ("pypi", "PyPI"),
    ("url", "A mirror (URL)…"),
    ("folder", "A folder of wheel files…"),
]


def _with_note(row: QHBoxLayout, note: QLabel) -> QVBoxLayout:
    """A field's row with its origin note right under it (a form row of its own leaves a gap)."""
    box = QVBoxLayout()
    box.setSpacing(2)
    box.addLayout(row)
    box.addWidget(note)
    return box


def _masked(proxy: str) -> str:
    """The proxy as the page shows it: any password replaced by ***."""
    from installer.core.redact import redact_url

    return redact_url(proxy)


def made_by_torch_setup(folder: Path) -> bool:
    from installer.core.preflight_io import made_by_torch_setup as ours

    return ours(folder)


def check_location(folder: Path, need_mib: int, replacing: bool = False) -> str | None:
    """Core's answer (installer.core.preflight_io): the wizard holds no location rules of its own."""
    from installer.core.preflight_io import env_location_problem

    return env_location_problem(folder, need_mib, replacing)


class EnvironmentPage(QWizardPage):
    def __init__(self, wizard: Any) -> None:
        super().__init__()
        self._wizard = wizard
        self._loading = False
        self._pythons_for: tuple[object, ...] | None = None  # the choices the Python list was made for
        self._python_choices: dict[str, str | None] = {}  # combo key -> Choices.python (None = the planner's pick)
        self.problem: str | None = None
        self.setTitle("The new environment")
        self.setSubTitle("PyTorch goes into a folder of its own, so nothing else on this computer changes.")

        # Where ----------------------------------------------------------------------------------------
        where = QGroupBox("Where", self)
        self.name_edit = QLineEdit(where)
        self.name_edit.setAccessibleName("Environment name")
        self.name_edit.setAccessibleDescription("The folder name of the new environment: letters and digits of any "
                                                "language, '.', '_' and '-'.")
        self.name_edit.setPlaceholderText("e.g. torch-2.14-cpu")
        self.location_edit = QLineEdit(where)
        self.location_edit.setAccessibleName("Environment location")
        self.location_edit.setAccessibleDescription("The folder the environment is created in; a full path.")
        self.location_edit.setMinimumWidth(160)
        self.browse_button = QPushButton("Bro&wse…", where)  # B is the wizard's "< Back"
        self.browse_button.setAccessibleName("Browse for the location")
        self.browse_button.setAccessibleDescription("Opens a folder chooser for the location.")
        location_row = QHBoxLayout()
        location_row.addWidget(self.location_edit, 1)
        location_row.addWidget(self.browse_button)
        self.path_label = QLabel(where)
        self.path_label.setWordWrap(True)
        self.path_label.setTextFormat(Qt.TextFormat.RichText)
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label.setAccessibleName("The folder that will be created")
        self.problem_label = QLabel(where)
        self.problem_label.setWordWrap(True)
        self.problem_label.setTextFormat(Qt.TextFormat.RichText)
        self.problem_label.setAccessibleName("Problem with the name or location")
        # Offered only for a folder carrying Torch Setup's marker; the runner then moves the old environment
        # aside and puts it back if the new install fails (the CLI's --force).
        self.replace_check = QCheckBox("&Replace it (the old environment is kept until the new one works)", where)
        self.replace_check.setAccessibleName("Replace it")
        self.replace_check.setAccessibleDescription("Replace the environment Torch Setup made earlier; the old one "
                                                    "is kept until the new one works.")
        self.replace_check.hide()
        form = QFormLayout(where)
        form.addRow("Na&me:", self.name_edit)  # N is the wizard's "Next"
        location_label = QLabel("&Location:", where)
        location_label.setBuddy(self.location_edit)
        form.addRow(location_label, location_row)
        form.addRow(self.path_label)
        form.addRow(self.problem_label)
        form.addRow(self.replace_check)

        # Python ---------------------------------------------------------------------------------------
        python_box = QGroupBox("Python", self)
        self.python_combo = QComboBox(python_box)
        self.python_combo.setAccessibleName("Python for the environment")
        self.python_combo.setAccessibleDescription("Only the Pythons this PyTorch supports are offered.")
        self.python_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.python_combo.setMinimumContentsLength(20)  # long interpreter paths must not widen the window
        python_label = QLabel("&Python:", python_box)
        python_label.setBuddy(self.python_combo)
        self.python_note = QLabel(python_box)
        self.python_note.setWordWrap(True)
        self.python_note.setTextFormat(Qt.TextFormat.RichText)
        self.python_note.setAccessibleName("About the Python choice")
        # Why some Pythons are left out: once only a tooltip ("hover here"), now a section the keyboard opens too.
        self.python_details = QLabel(python_box)
        self.python_details.setWordWrap(True)
        self.python_details.setTextFormat(Qt.TextFormat.PlainText)
        self.python_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                                    | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.python_details.setAccessibleName("Why these Pythons are not offered")
        self.python_why = CollapsibleSection("W&hy not the others?", self.python_details, expanded=False,
                                             parent=python_box)
        self.python_why.hide()
        python_row = QHBoxLayout()
        python_row.addWidget(python_label)
        python_row.addWidget(self.python_combo, 1)
        python_layout = QVBoxLayout(python_box)
        python_layout.addLayout(python_row)
        python_layout.addWidget(self.python_note)
        python_layout.addWidget(self.python_why)

        # Advanced -------------------------------------------------------------------------------------
        advanced = QWidget(self)
        self.engine_combo = QComboBox(advanced)
        self.engine_combo.addItem("uv (fast, recommended)", "uv")
        self.engine_combo.addItem("pip (classic)", "pip")
        self.engine_combo.setAccessibleName("Installer engine")
        self.engine_combo.setAccessibleDescription("The tool that installs the packages; uv is faster.")
        self.source_combo = QComboBox(advanced)
        for key, label in SOURCES:
            self.source_combo.addItem(label, key)
        self.source_combo.setAccessibleName("PyTorch from")
        self.source_combo.setAccessibleDescription("Where PyTorch comes from: its own index, PyPI, a mirror or a "
                                                   "folder of wheel files.")
        self.source_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source_combo.setMinimumContentsLength(16)
        self.source_edit = QLineEdit(advanced)
        self.source_edit.setAccessibleName("Mirror URL or wheels folder")
        self.source_edit.setAccessibleDescription("Used when PyTorch comes from a mirror or a folder.")
        self.source_edit.setMinimumWidth(160)
        self.source_browse = QPushButton("Br&owse…", advanced)
        self.source_browse.setAccessibleName("Browse for the wheels folder")
        self.source_browse.setAccessibleDescription("Opens a folder chooser for the wheel files.")
        source_row = QHBoxLayout()
        source_row.addWidget(self.source_edit, 1)
        source_row.addWidget(self.source_browse)
        self.index_edit = QLineEdit(advanced)
        self.index_edit.setPlaceholderText("default: PyPI")
        self.index_edit.setAccessibleName("Other packages index")
        self.index_edit.setAccessibleDescription("The package index URL for everything except PyTorch; empty "
                                                 "means PyPI.")
        # Company and campus networks: the same three settings as --cert, --torch-index-url and --proxy (and
        # the config files' keys), checked with the same core rules as the CLI.
        self.cert_edit = QLineEdit(advanced)
        self.cert_edit.setPlaceholderText("none: the system's certificate store only")
        self.cert_edit.setAccessibleName("Company CA bundle")
        self.cert_edit.setAccessibleDescription("A PEM file with your company's or campus's CA certificates, "
                                                "trusted in addition to the system's store.")
        self.cert_edit.setMinimumWidth(160)
        self.cert_browse = QPushButton("Choo&se…", advanced)
        self.cert_browse.setAccessibleName("Choose the CA bundle file")
        self.cert_browse.setAccessibleDescription("Opens a file chooser for the CA bundle.")
        cert_row = QHBoxLayout()
        cert_row.addWidget(self.cert_edit, 1)
        cert_row.addWidget(self.cert_browse)
        self.cert_origin = self._origin_label(advanced, "Where the CA bundle setting comes from")
        self.torch_index_edit = QLineEdit(advanced)
        self.torch_index_edit.setPlaceholderText("none: PyTorch's own index")
        self.torch_index_edit.setAccessibleName("Mirror of PyTorch's index")
        self.torch_index_edit.setAccessibleDescription("The root of a mirror of PyTorch's wheel index (Artifactory, "
                                                       "Nexus, devpi); the per-backend paths such as /cu126 are "
                                                       "kept.")
        self.torch_index_origin = self._origin_label(advanced, "Where the mirror setting comes from")
        self.proxy_edit = QLineEdit(advanced)
        self.proxy_edit.setPlaceholderText("none, or http://[USER:PASSWORD@]HOST:PORT")
        self.proxy_edit.setAccessibleName("Proxy")
        self.proxy_edit.setAccessibleDescription("A proxy for every download. Once entered, its password is "
                                                 "shown as ***.")
        self.proxy_origin = self._origin_label(advanced, "Where the proxy setting comes from")
        # The proxy's full value (password included); the field shows it with the password masked.
        self._proxy_secret: str | None = None
        self._config: Any = None  # settings.Settings read when the page opens
        self._config_problem: str | None = None
        self.jupyter_check = QCheckBox("Register as a &Jupyter kernel", advanced)
        self.jupyter_check.setAccessibleName("Register as a Jupyter kernel")
        self.jupyter_check.setAccessibleDescription("Adds the environment to Jupyter's kernel list.")
        self.advanced_problem = QLabel(advanced)
        self.advanced_problem.setWordWrap(True)
        self.advanced_problem.setTextFormat(Qt.TextFormat.RichText)
        self.advanced_problem.setAccessibleName("Problem with the advanced settings")
        adv_form = QFormLayout(advanced)
        adv_form.addRow("&Engine:", self.engine_combo)
        adv_form.addRow("PyTorch &from:", self.source_combo)
        source_label = QLabel("&URL or folder:", advanced)
        source_label.setBuddy(self.source_edit)
        adv_form.addRow(source_label, source_row)
        adv_form.addRow("Other packages &index:", self.index_edit)
        cert_label = QLabel("&Company CA bundle:", advanced)
        cert_label.setBuddy(self.cert_edit)
        adv_form.addRow(cert_label, _with_note(cert_row, self.cert_origin))
        index_row = QHBoxLayout()
        index_row.addWidget(self.torch_index_edit)
        index_label = QLabel("Mirror of PyTorch's in&dex:", advanced)
        index_label.setBuddy(self.torch_index_edit)
        adv_form.addRow(index_label, _with_note(index_row, self.torch_index_origin))
        proxy_row = QHBoxLayout()
        proxy_row.addWidget(self.proxy_edit)
        proxy_label = QLabel("Pro&xy:", advanced)
        proxy_label.setBuddy(self.proxy_edit)
        adv_form.addRow(proxy_label, _with_note(proxy_row, self.proxy_origin))
        adv_form.addRow("", self.jupyter_check)
        adv_form.addRow(self.advanced_problem)
        self.advanced = CollapsibleSection("&Advanced", advanced, expanded=False, parent=self)

        layout = scrolling_layout(self)
        layout.addWidget(where)
        layout.addWidget(python_box)
        layout.addWidget(self.advanced)
        layout.addStretch(1)

        # Validation waits for a pause in typing; a folder check on a slow network drive must not lag keys.
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.revalidate)
        self.name_edit.textChanged.connect(self._on_edited)
        self.location_edit.textChanged.connect(self._on_edited)
        self.python_combo.currentIndexChanged.connect(self._on_edited)
        self.engine_combo.currentIndexChanged.connect(self._on_edited)
        self.source_combo.currentIndexChanged.connect(self._on_source_kind_changed)
        self.source_edit.textChanged.connect(self._on_edited)
        self.index_edit.textChanged.connect(self._on_edited)
        self.jupyter_check.toggled.connect(self._on_edited)
        self.cert_edit.textChanged.connect(self._on_edited)
        self.torch_index_edit.textChanged.connect(self._on_edited)
        self.proxy_edit.textChanged.connect(self._on_edited)
        self.proxy_edit.editingFinished.connect(self._mask_proxy)
        self.cert_browse.clicked.connect(self.browse_cert)
        self.replace_check.toggled.connect(self._on_edited)
        self.browse_button.clicked.connect(self.browse_location)
        self.source_browse.clicked.connect(self.browse_source)

        self.setTabOrder(self.name_edit, self.location_edit)
        self.setTabOrder(self.location_edit, self.browse_button)
        self.setTabOrder(self.browse_button, self.python_combo)
        self.setTabOrder(self.python_combo, self.python_why.toggle)
        self.setTabOrder(self.python_why.toggle, self.advanced.toggle)
        self.setTabOrder(self.advanced.toggle, self.engine_combo)
        self.setTabOrder(self.engine_combo, self.source_combo)
        self.setTabOrder(self.source_combo, self.source_edit)
        self.setTabOrder(self.source_edit, self.source_browse)
        self.setTabOrder(self.source_browse, self.index_edit)
        self.setTabOrder(self.index_edit, self.cert_edit)
        self.setTabOrder(self.cert_edit, self.cert_browse)
        self.setTabOrder(self.cert_browse, self.torch_index_edit)
        self.setTabOrder(self.torch_index_edit, self.proxy_edit)
        self.setTabOrder(self.proxy_edit, self.jupyter_check)

    @staticmethod
    def _origin_label(parent: QWidget, name: str) -> QLabel:
        label = QLabel(parent)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setAccessibleName(name)
        label.hide()
        return label

    # -- lifecycle --------------------------------------------------------------------------------------

    def initializePage(self) -> None:
        self._loading = True
        try:
            choices = self._wizard.state.choices
            if not self.location_edit.text():
                self.location_edit.setText(str(self._wizard.env_root))
            if not self.name_edit.text():
                self.name_edit.setText(self._free_name(Path(self.location_edit.text()), self._default_name()))
            self.engine_combo.setCurrentIndex(max(self.engine_combo.findData(choices.engine), 0))
            self._show_source(choices.torch_source)
            self.index_edit.setText(choices.index_url or "")
            self.jupyter_check.setChecked(choices.jupyter)
            self._load_network_fields()
            self.engine_combo.setEnabled(choices.method != "conda")
            self._fill_pythons()
            self._apply_policy()
        finally:
            self._loading = False
        self.revalidate()

    def _apply_policy(self) -> None:
        """Grey the location and indexes an administrator's [policy] locks (installer/core/policy.py)."""
        from installer.core import policy

        locks, _where = policy.current()
        shown = policy.locked_fields(locks)
        for field, widgets, value in (("env", (self.location_edit, self.browse_button), locks.get("env_root")),
                                      ("index_url", (self.index_edit,), locks.get("index_url")),
                                      ("torch_index_url", (self.source_combo, self.source_edit, self.source_browse),
                                       None)):
            if field not in shown:
                continue
            if value and isinstance(widgets[0], QLineEdit):
                widgets[0].setText(str(value))
            for widget in widgets:
                widget.setEnabled(False)
                widget.setToolTip(shown[field])
            widgets[0].setAccessibleDescription(shown[field])

    def isComplete(self) -> bool:
        return self.problem is None and not self._debounce.isActive()

    def _default_name(self) -> str:
        """The CLI's default name for these choices (torch-<series>-<backend>): one default, from core."""
        from installer.core.planner import default_env_name

        state = self._wizard.state
        if state.report is None:
            return "torch"
        return default_env_name(state.report, self._wizard.choices_copy(), state.catalog)

    @staticmethod
    def _free_name(root: Path, base: str) -> str:
        name, n = base, 1
        while (root / name).exists():
            n += 1
            name = f"{base}-{n}"
        return name

    def _show_source(self, source: str) -> None:
        if source in ("pytorch", "pypi"):
            self.source_combo.setCurrentIndex(self.source_combo.findData(source))
            self.source_edit.clear()
        elif "://" in source:
            self.source_combo.setCurrentIndex(self.source_combo.findData("url"))
            self.source_edit.setText(source)
        else:
            self.source_combo.setCurrentIndex(self.source_combo.findData("folder"))
            self.source_edit.setText(source)
            self.advanced.set_expanded(True)  # a local source is unusual: show it
        self._update_source_widgets()

    def _update_source_widgets(self) -> None:
        kind = self.source_combo.currentData()
        self.source_edit.setEnabled(kind in ("url", "folder"))
        self.source_browse.setEnabled(kind == "folder")
        self.source_edit.setPlaceholderText({"url": "https://mirror.example.org/whl/", "folder": "a folder with .whl files"}
                                            .get(kind, ""))

    # -- Pythons ----------------------------------------------------------------------------------------

    def _python_key(self) -> tuple[object, ...]:
        c = self._wizard.state.choices
        return (c.method, c.torch, c.backend, c.engine, c.torch_source, c.index_url, tuple(c.packages))

    def _python_choice(self) -> str | None:
        """The Python for Choices: None while the planner's own pick is selected, so its reason stays
        "the best fit" rather than "as asked"."""
        key = self.python_combo.currentData()
        return self._python_choices.get(str(key)) if key is not None else None

    def _fill_pythons(self) -> None:
        """Offer the Pythons core says the planner accepts here; say which were left out and why."""
        from installer.core.planner import python_options

        wizard = self._wizard
        choices = wizard.state.choices
        self._pythons_for = self._python_key()
        previous = self.python_combo.currentData()
        self.python_combo.clear()
        self._python_choices = {}
        report = wizard.state.report
        offered = python_options(report, wizard.choices_copy(), wizard.state.catalog) if report is not None else None
        default_key = None
        for option in (offered.options if offered else []):
            self.python_combo.addItem(option.label, option.key)
            self._python_choices[option.key] = option.choice
            if option.default:
                default_key = option.key
        index = -1
        wanted = [previous, choices.python, default_key] + ([f"managed:{choices.python}"] if choices.python else [])
        for candidate in wanted:
            if candidate:
                index = self.python_combo.findData(candidate)
                if index >= 0:
                    break
        self.python_combo.setCurrentIndex(max(index, 0))
        notes = []
        if offered is None or not offered.options:
            notes.append(f"<span style='color:{status_color('fail', self)}'>✗ No Python fits this PyTorch.</span>")
        elif offered.note:
            notes.append(escape(offered.note))
        left_out = offered.left_out if offered else []
        if left_out:
            versions = ", ".join(dict.fromkeys(x.split(" ", 1)[0] for x in left_out))
            notes.append(f"Not offered: Python {escape(versions)}"
                         + (f" ({escape(offered.supported)})." if offered and offered.supported else ".")
                         + " The reasons are under “Why not the others?”.")
        self.python_note.setText("<br>".join(notes))
        self.python_note.setToolTip("\n".join(left_out))
        self.python_note.setVisible(bool(notes))
        self.python_details.setText("\n".join(left_out))
        self.python_why.setVisible(bool(left_out))

    # -- reacting ---------------------------------------------------------------------------------------

    @Slot()
    def _on_edited(self, *_args: Any) -> None:
        if self._loading:
            return
        self._debounce.start()
        self.completeChanged.emit()

    @Slot(int)
    def _on_source_kind_changed(self, _index: int) -> None:
        self._update_source_widgets()
        self._on_edited()

    @Slot()
    def browse_location(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Where to put the environment", self.location_edit.text())
        if folder:
            self.location_edit.setText(folder)

    @Slot()
    def browse_cert(self) -> None:
        start = self.cert_edit.text().strip() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Your company's CA bundle (PEM)", start,
                                              "Certificates (*.pem *.crt *.cer);;All files (*)")
        if path:
            self.cert_edit.setText(path)

    # -- company and campus networks ----------------------------------------------------------------------

    def _load_network_fields(self) -> None:
        """What the config files and TORCH_SETUP_* variables set fills the fields (the CLI would use it too),
        unless the user already gave a value here."""
        self._config, self._config_problem = self._wizard.config_settings()
        choices = self._wizard.state.choices
        config = self._config
        for name, edit in (("cert", self.cert_edit), ("torch_index_url", self.torch_index_edit)):
            value = getattr(choices, name) or (config.get(name) if config is not None else None)
            if not edit.text().strip() and value:
                edit.setText(str(value))
        proxy = choices.proxy or (config.get("proxy") if config is not None else None)
        if not self.proxy_edit.text().strip() and proxy:
            self._proxy_secret = proxy
            self.proxy_edit.setText(_masked(proxy))
        if config is not None and any(config.sourced(n) for n in ("cert", "torch_index_url", "proxy")):
            self.advanced.set_expanded(True)  # a value someone set for this machine: show it
        if config is not None and choices.engine == "uv" and config.sourced("engine") is not None:
            self.engine_combo.setCurrentIndex(max(self.engine_combo.findData(config.get("engine")), 0))

    def proxy_value(self) -> str | None:
        """The proxy as entered, password included (the field shows *** in its place)."""
        text = self.proxy_edit.text().strip()
        secret = self._proxy_secret
        if not text:
            return None
        if secret and text == _masked(secret):
            return secret
        if secret and ":***@" in text:
            # The user edited the masked form (a new port, say): keep the password they entered before.
            from urllib.parse import urlsplit

            old = urlsplit(secret if "://" in secret else f"http://{secret}")
            if old.password:
                return text.replace(":***@", f":{old.password}@", 1)
        return text

    @Slot()
    def _mask_proxy(self) -> None:
        """After entry the password is never shown again: the field keeps the real value aside."""
        value = self.proxy_value()
        self._proxy_secret = value
        if value and _masked(value) != self.proxy_edit.text().strip():
            self.proxy_edit.setText(_masked(value))

    def _network_problem(self) -> str | None:
        """The three network fields, by the same rules as --cert, --torch-index-url and --proxy."""
        from installer.core import settings
        from installer.core.plan import ChoiceError

        if self._config_problem:
            return self._config_problem
        keys = {k.name: k for k in settings.KEYS}
        fields = (("cert", self.cert_edit.text().strip(), "the Company CA bundle field"),
                  ("torch_index_url", self.torch_index_edit.text().strip(), "the mirror field"),
                  ("proxy", self.proxy_value(), "the proxy field"))
        for name, value, where in fields:
            if not value:
                continue
            try:
                settings.check_value(keys[name], value, where)
            except ChoiceError as exc:
                from installer.core.redact import redact_text

                return redact_text(str(exc))
        if self.torch_index_edit.text().strip() and self.source_combo.currentData() != "pytorch":
            return ("A mirror of PyTorch's index replaces PyTorch's own index: set “PyTorch from” to PyTorch's "
                    "own package index, or clear the mirror.")
        return None

    def _show_origins(self) -> None:
        """Next to each network field: where its value comes from when a config file or variable set it."""
        config = self._config
        values = {"cert": self.cert_edit.text().strip(), "torch_index_url": self.torch_index_edit.text().strip(),
                  "proxy": self.proxy_value() or ""}
        labels = {"cert": self.cert_origin, "torch_index_url": self.torch_index_origin, "proxy": self.proxy_origin}
        for name, label in labels.items():
            item = config.sourced(name) if config is not None else None
            text = ""
            if item is not None:
                configured = str(item.value)
                if name == "cert":
                    same = bool(values[name]) and Path(values[name]).expanduser() == Path(configured)
                else:
                    same = values[name] == configured
                if same:
                    text = f"from {item.origin}"
                elif not values[name]:
                    shown = _masked(configured) if name == "proxy" else configured
                    text = f"Empty here, so {shown} from {item.origin} is used."
                else:
                    text = f"Replaces {item.origin}'s value for this install."
            label.setText(text)
            label.setVisible(bool(text))

    @Slot()
    def browse_source(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder with PyTorch wheel files", self.source_edit.text())
        if folder:
            self.source_edit.setText(folder)

    def env_folder(self) -> Path | None:
        location = self.location_edit.text().strip()
        name = self.name_edit.text().strip()
        if not location or not name:
            return None
        return Path(location).expanduser() / name

    def torch_source(self) -> str:
        kind = self.source_combo.currentData()
        if kind in ("url", "folder"):
            return self.source_edit.text().strip()
        return str(kind)

    @Slot()
    def revalidate(self) -> None:
        """Check the fields, write them into Choices, and show the first problem under the fields."""
        self._debounce.stop()
        choices = self._wizard.state.choices
        folder = self.env_folder()
        ours = folder is not None and self._check_name() is None and made_by_torch_setup(folder)
        replacing = ours and self.replace_check.isChecked()
        choices.force = replacing
        problem = self._check_where(ours)
        choices.env = str(folder) if folder is not None else None
        choices.env_name = None
        choices.python = self._python_choice()
        if choices.method != "conda":
            choices.engine = self.engine_combo.currentData() or "uv"
        choices.torch_source = self.torch_source() or "pytorch"
        choices.index_url = self.index_edit.text().strip() or None
        choices.jupyter = self.jupyter_check.isChecked()
        choices.cert = self.cert_edit.text().strip() or None
        choices.torch_index_url = self.torch_index_edit.text().strip() or None
        choices.proxy = self.proxy_value()
        self._show_origins()
        if self._python_key() != self._pythons_for or self.python_combo.count() == 0:
            # which Pythons fit depends on the engine and the wheel source: offer them afresh
            self._loading = True
            try:
                self._fill_pythons()
            finally:
                self._loading = False
            choices.python = self._python_choice()

        advanced_problem = self._check_advanced()
        plan = None
        if problem is None and advanced_problem is None:
            plan, plan_error = self._wizard.try_plan()
            if plan is None:
                problem = plan_error
            elif folder is not None:
                problem = check_location(folder, int(getattr(plan, "disk_mib", None) or DEFAULT_DISK_MIB),
                                         replacing=replacing)
        if self.python_combo.count() == 0:
            problem = problem or "No Python fits this PyTorch; go Back and choose another version."
        self.problem = problem or advanced_problem
        self.replace_check.setVisible(ours)
        self._show(folder, problem, advanced_problem, plan)
        if replacing and folder is not None and not problem:
            self.path_label.setText(f"The environment will be the folder <b>{escape(folder)}</b>, replacing the "
                                    "one Torch Setup made there earlier.")
        self.completeChanged.emit()

    def _check_name(self) -> str | None:
        name = self.name_edit.text().strip()
        location = self.location_edit.text().strip()
        if not name:
            return "Give the environment a name."

        problem = env_name_problem(name)
        if problem:
            return problem
        if not location:
            return "Choose a location for the environment."
        if any(c in location for c in "\n\r\0"):
            return "The location has control characters in it."
        if not Path(location).expanduser().is_absolute():
            return "Give the location as a full path, e.g. " + str(self._wizard.env_root) + "."
        return None

    def _check_where(self, ours: bool = False) -> str | None:
        problem = self._check_name()
        if problem:
            return problem
        folder = self.env_folder()
        assert folder is not None
        if ours and not self.replace_check.isChecked():
            return (f"{folder} is an environment Torch Setup made earlier: tick “Replace it” below, or choose "
                    "another name.")
        return check_location(folder, 0, replacing=ours)

    # -- where a failed install sends the user back to (the Install page's fix buttons) -------------------

    def focus_torch_source(self) -> None:
        """Open Advanced at "PyTorch from", on a wheel folder unless a mirror or folder is already chosen."""
        self.advanced.set_expanded(True)
        if self.source_combo.currentData() not in ("url", "folder"):
            self.source_combo.setCurrentIndex(self.source_combo.findData("folder"))
        self.source_edit.setFocus()
        self.source_edit.selectAll()

    def focus_python(self) -> None:
        self.python_combo.setFocus()

    def focus_location(self) -> None:
        self.location_edit.setFocus()
        self.location_edit.selectAll()

    def _check_advanced(self) -> str | None:
        from installer.core.plan import ChoiceError

        kind = self.source_combo.currentData()
        if kind in ("url", "folder") and not self.source_edit.text().strip():
            return "Give the mirror URL or the wheels folder, or choose PyTorch's index."
        network = self._network_problem()
        if network:
            return network
        try:
            self._wizard.choices_copy(env=None, python=None).validate()
        except ChoiceError as exc:
            return str(exc)
        return None

    def _show(self, folder: Path | None, problem: str | None, advanced_problem: str | None, plan: Any) -> None:
        if folder is not None:
            self.path_label.setText(f"The environment will be the folder <b>{escape(folder)}</b>")
        else:
            self.path_label.clear()
        fail = status_color("fail", self)
        self.problem_label.setText(f"<span style='color:{fail}'>✗ {escape(problem)}</span>" if problem else "")
        self.problem_label.setVisible(bool(problem))
        if advanced_problem:
            self.advanced.set_expanded(True)
        self.advanced_problem.setText(f"<span style='color:{fail}'>✗ {escape(advanced_problem)}</span>"
                                      if advanced_problem else "")
        self.advanced_problem.setVisible(bool(advanced_problem))
