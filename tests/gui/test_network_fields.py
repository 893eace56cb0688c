"""The Environment page's network fields (Advanced): a company CA bundle, a mirror of PyTorch's index and a
proxy, checked as the user types by the CLI's rules, shown with their origin when a config file set them,
and carried into the plan the wizard makes (issue 10)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from wizard_driver import go_to, recorded_detect

from installer.gui.wizard import PageId

SECRET = "pw-SECRET-9"


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Torch Setup's own files in tmp_path; the proxy variables and the process-wide network choice put
    back afterwards (planning exports a proxy to the environment, as the CLI does for its children)."""
    from installer.core import netconfig

    monkeypatch.setenv("TORCH_SETUP_HOME", str(tmp_path / "ts-home"))
    machine = tmp_path / "machine.toml"
    monkeypatch.setenv("TORCH_SETUP_MACHINE_CONFIG", str(machine))
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(var, "")
    for name in ("_ACTIVE", "_MIRROR", "_MIRROR_ORIGIN"):
        monkeypatch.setattr(netconfig, name, None)
    yield machine


def ca_file(tmp_path: Path) -> Path:
    import trustme

    path = tmp_path / "company-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def environment_page(qtbot: Any, make_wizard: Any, catalog: Any) -> tuple[Any, Any]:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    page.advanced.set_expanded(True)
    qtbot.waitUntil(page.isComplete)
    return wizard, page


def test_a_missing_ca_bundle_is_refused_inline(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path) -> None:
    wizard, page = environment_page(qtbot, make_wizard, catalog)
    page.cert_edit.setFocus()
    qtbot.keyClicks(page.cert_edit, str(tmp_path / "no-such-ca.pem"))
    qtbot.waitUntil(lambda: page.advanced_problem.isVisible() and not page.isComplete())
    assert "no-such-ca.pem" in page.advanced_problem.text() and "does not exist" in page.advanced_problem.text()
    assert not wizard.button(wizard.WizardButton.NextButton).isEnabled()
    page.cert_edit.setText(str(ca_file(tmp_path)))
    qtbot.waitUntil(page.isComplete)
    assert not page.advanced_problem.isVisible()
    assert wizard.button(wizard.WizardButton.NextButton).isEnabled()


@pytest.mark.parametrize("field, value, words", [
    ("torch_index_edit", "ftp://mirror.example/whl", "not an http(s) or file URL"),
    ("proxy_edit", "gopher://proxy.example:70", "not an http(s) or socks5 URL"),
])
def test_bad_urls_are_refused_inline(qtbot: Any, make_wizard: Any, catalog: Any, field: str, value: str,
                                     words: str) -> None:
    _wizard, page = environment_page(qtbot, make_wizard, catalog)
    getattr(page, field).setText(value)
    qtbot.waitUntil(lambda: page.advanced_problem.isVisible() and not page.isComplete())
    assert words in page.advanced_problem.text()
    getattr(page, field).clear()
    qtbot.waitUntil(page.isComplete)


def test_a_mirror_with_another_torch_source_is_refused(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    _wizard, page = environment_page(qtbot, make_wizard, catalog)
    page.torch_index_edit.setText("https://mirror.example/whl")
    page.source_combo.setCurrentIndex(page.source_combo.findData("pypi"))
    qtbot.waitUntil(lambda: page.advanced_problem.isVisible() and not page.isComplete())
    assert "replaces PyTorch&#x27;s own index" in page.advanced_problem.text()


def test_a_typed_proxy_password_is_masked_and_kept(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    wizard, page = environment_page(qtbot, make_wizard, catalog)
    page.proxy_edit.setFocus()
    qtbot.keyClicks(page.proxy_edit, f"http://bob:{SECRET}@127.0.0.1:3128")
    page.proxy_edit.editingFinished.emit()  # what leaving the field does
    assert page.proxy_edit.text() == "http://bob:***@127.0.0.1:3128"
    qtbot.waitUntil(page.isComplete)
    assert wizard.state.choices.proxy == f"http://bob:{SECRET}@127.0.0.1:3128"
    # Editing the masked text (another port) keeps the password given before.
    page.proxy_edit.setText("http://bob:***@127.0.0.1:8080")
    page.proxy_edit.editingFinished.emit()
    qtbot.waitUntil(page.isComplete)
    assert wizard.state.choices.proxy == f"http://bob:{SECRET}@127.0.0.1:8080"
    assert SECRET not in page.proxy_edit.text()


def test_config_file_values_show_their_origin_and_reach_the_plan(qtbot: Any, make_wizard: Any, catalog: Any,
                                                                tmp_path: Path, isolated_settings: Path) -> None:
    ca = ca_file(tmp_path)
    machine = isolated_settings
    machine.write_text(f'cert = "{ca}"\ntorch_index_url = "https://mirror.example/pytorch/whl"\n'
                       f'proxy = "http://bob:{SECRET}@127.0.0.1:3128"\n', encoding="utf-8")
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    qtbot.waitUntil(page.isComplete)
    assert page.advanced.is_expanded()  # a machine-wide value is shown, not hidden
    assert page.cert_edit.text() == str(ca)
    assert page.torch_index_edit.text() == "https://mirror.example/pytorch/whl"
    assert page.proxy_edit.text() == "http://bob:***@127.0.0.1:3128"
    for label in (page.cert_origin, page.torch_index_origin, page.proxy_origin):
        assert label.isVisible() and label.text() == f"from {machine}"

    go_to(qtbot, wizard, PageId.REVIEW)
    plan = wizard.state.plan
    assert plan.choices["cert"] == str(ca)
    assert plan.choices["torch_index_url"] == "https://mirror.example/pytorch/whl"
    assert any(str(ca) in r and f"from {machine}" in r for r in plan.reasons), plan.reasons
    assert any("mirror.example/pytorch/whl" in r and f"from {machine}" in r for r in plan.reasons), plan.reasons
    assert any("proxy" in r and f"from {machine}" in r for r in plan.reasons), plan.reasons
    # The Review page shows those settings, and the password nowhere.
    review = wizard.currentPage()
    shown = review.summary.text() + review.warnings.text() + review.commands.toPlainText()
    assert "mirror.example/pytorch/whl" in shown and str(ca) in shown
    assert SECRET not in shown
    # The steps download from the mirror and trust the company CA.
    uv_steps = [s for s in plan.steps if s.argv and Path(str(s.argv[0])).name == "uv"]
    assert uv_steps and any("mirror.example/pytorch/whl/" in " ".join(map(str, s.argv)) for s in uv_steps)
    bundles = {s.env.get("SSL_CERT_FILE") for s in uv_steps} - {None}
    assert bundles and all(ca.read_text().strip() in Path(b).read_text() for b in bundles)


def test_a_value_typed_on_the_page_is_named_as_the_wizards(qtbot: Any, make_wizard: Any, catalog: Any,
                                                          tmp_path: Path, isolated_settings: Path) -> None:
    isolated_settings.write_text('torch_index_url = "https://mirror.example/pytorch/whl"\n', encoding="utf-8")
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    qtbot.waitUntil(page.isComplete)
    page.torch_index_edit.setText("https://other.example/whl")
    qtbot.waitUntil(lambda: page.isComplete() and "Replaces" in page.torch_index_origin.text())
    page.torch_index_edit.clear()
    qtbot.waitUntil(lambda: page.isComplete() and "Empty here" in page.torch_index_origin.text())
    page.torch_index_edit.setText("https://other.example/whl")
    qtbot.waitUntil(page.isComplete)
    go_to(qtbot, wizard, PageId.REVIEW)
    plan = wizard.state.plan
    assert plan.choices["torch_index_url"] == "https://other.example/whl"
    assert any("other.example/whl" in r and "from the wizard" in r for r in plan.reasons), plan.reasons
    # The page's own choices were not overwritten by the planner filling in from the files.
    assert wizard.state.choices.torch_index_url == "https://other.example/whl"


def test_the_system_page_says_where_each_network_setting_came_from(qtbot: Any, make_wizard: Any,
                                                                   catalog: Any) -> None:
    from wizard_driver import load_report

    report = load_report("linux-rtx4090")
    report.network.sources = {"package index": "/etc/pip.conf", "proxy": "HTTPS_PROXY", "CA bundle": "SSL_CERT_FILE"}
    wizard = make_wizard(detect_fn=lambda **_kw: report, catalog=catalog)
    go_to(qtbot, wizard, PageId.SYSTEM)
    page = wizard.currentPage()
    qtbot.waitUntil(lambda: bool(wizard.state.checklist))
    rows = [r for r in wizard.state.checklist if r.text.startswith("Network settings in use")]
    assert len(rows) == 1 and rows[0].text == "Network settings in use: package index, proxy, CA bundle"
    assert "package index from /etc/pip.conf; proxy from HTTPS_PROXY; CA bundle from SSL_CERT_FILE" in rows[0].meaning
    items = page.tree.findItems("Network settings in use", Qt.MatchFlag.MatchStartsWith, 1)
    assert len(items) == 1
    page.tree.setCurrentItem(items[0])
    assert "proxy from HTTPS_PROXY" in page.meaning.text()


def test_the_wizards_detection_uses_the_config_files_mirror(tmp_path: Path, isolated_settings: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """As `torch-setup detect` does: the network check asks the mirror and proxy the config file names."""
    from installer.core import netconfig
    from installer.gui import wizard as wizard_module

    isolated_settings.write_text('torch_index_url = "https://mirror.example/pytorch/whl"\n', encoding="utf-8")
    seen: list[tuple[str | None, str | None]] = []
    monkeypatch.setattr("installer.core.detect.detect",
                        lambda **_kw: seen.append((netconfig.active_mirror(), netconfig.active_mirror_origin())))
    wizard_module._real_detect(offline=False)
    assert seen == [("https://mirror.example/pytorch/whl", str(isolated_settings))]


def test_a_cleared_proxy_is_not_left_in_the_environment(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    """Each plan exports the proxy for the install's children; clearing the field takes it back out."""
    import os

    wizard, page = environment_page(qtbot, make_wizard, catalog)
    page.proxy_edit.setText(f"http://bob:{SECRET}@127.0.0.1:3128")
    page.proxy_edit.editingFinished.emit()
    qtbot.waitUntil(page.isComplete)
    assert wizard.try_plan()[0] is not None
    assert os.environ.get("HTTPS_PROXY") == f"http://bob:{SECRET}@127.0.0.1:3128"
    page.proxy_edit.clear()
    qtbot.waitUntil(lambda: page.isComplete() and wizard.state.choices.proxy is None)
    assert wizard.try_plan()[0] is not None
    assert not os.environ.get("HTTPS_PROXY") and not os.environ.get("https_proxy")


def test_a_cleared_mirror_is_not_used_by_the_next_plan(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    wizard, page = environment_page(qtbot, make_wizard, catalog)
    page.torch_index_edit.setText("https://mirror.example/pytorch/whl")
    qtbot.waitUntil(page.isComplete)
    plan = wizard.try_plan()[0]
    assert "mirror.example/pytorch/whl/" in (plan.torch_index or "")
    page.torch_index_edit.clear()
    qtbot.waitUntil(lambda: page.isComplete() and wizard.state.choices.torch_index_url is None)
    plan = wizard.try_plan()[0]
    assert "mirror.example" not in (plan.torch_index or "") and plan.torch_index
    assert not any("mirror.example" in " ".join(map(str, s.argv)) for s in plan.steps)


def test_a_broken_config_file_is_named_and_stops_the_wizard(qtbot: Any, make_wizard: Any, catalog: Any,
                                                             isolated_settings: Path) -> None:
    """As the CLI's exit 2: the sentence names the file; nothing is planned from half a configuration."""
    isolated_settings.write_text('colour = "blue"\n', encoding="utf-8")
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.METHOD)
    plan, problem = wizard.try_plan()
    assert plan is None and "Unknown key 'colour'" in (problem or "") and str(isolated_settings) in (problem or "")
    method = wizard.currentPage()
    qtbot.waitUntil(lambda: "colour" in method.error_label.text())
    assert not method.isComplete() and not wizard.button(wizard.WizardButton.NextButton).isEnabled()
