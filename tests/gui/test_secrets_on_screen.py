"""What the wizard shows and saves never carries a URL's password or token: the Review page (words, warnings,
commands), the Install page (live log, status), and the Finish page's saved report (0600). Issue 8, "Secrets"."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from wizard_driver import go_to, recorded_detect

from installer.core.plan import Plan, Step
from installer.gui.wizard import PageId

INDEX = "https://user:s3cr3tPW@127.0.0.1:9/simple"
LINKS = "https://t0kenSECRET@127.0.0.1:9/links"
AT_SIGN = "https://user:p@ssAT_SECRET@127.0.0.1:9/more"
SECRETS = ("s3cr3tPW", "t0kenSECRET", "ssAT_SECRET")


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def _plan(tmp_path: Path) -> Plan:
    env = tmp_path / "envs" / "secret"
    echo = (f"import sys\nprint('Looking in indexes: {INDEX}, {LINKS}')\n"
            f"print('error: could not fetch {AT_SIGN}', file=sys.stderr)\nsys.exit(1)")
    return Plan(method="pip", backend="cpu", torch="2.13.0", python="3.11", env=str(env),
                steps=[Step(name="Install PyTorch", kind="install", argv=[sys.executable, "-c", echo, "--index-url",
                                                                          INDEX, "--find-links", LINKS],
                            env={"UV_INDEX_URL": AT_SIGN})],
                reasons=[f"Packages outside the torch family come from {INDEX}."],
                warnings=[f"The wheel folder {LINKS} is served over plain http."],
                env_python=str(env / "bin" / "python"), torch_index=AT_SIGN, download_mib=1, disk_mib=1,
                expect="cpu", choices={"index_url": INDEX, "find_links": [LINKS, AT_SIGN]})


def test_review_install_and_saved_report_show_no_secret(qtbot: Any, make_wizard: Any, catalog: Any,
                                                        tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog,
                         plan_fn=lambda _report, _choices, _catalog: plan)
    go_to(qtbot, wizard, PageId.REVIEW)
    review = wizard.currentPage()
    shown = review.summary.text() + review.warnings.text() + review.commands.toPlainText()
    assert _leaks(shown) == []
    assert "https://user:***@127.0.0.1:9/simple" in review.commands.toPlainText()
    assert "UV_INDEX_URL='https://user:***@127.0.0.1:9/more'" in review.commands.toPlainText()
    assert "https://***@127.0.0.1:9/links" in review.warnings.text()

    go_to(qtbot, wizard, PageId.INSTALL)
    install = wizard.currentPage()
    install.log_section.set_expanded(True)
    qtbot.waitUntil(lambda: wizard.state.result is not None and not install.is_running(), timeout=120_000)
    install.flush_log()
    view = install.log_view.toPlainText()
    assert "Looking in indexes: https://user:***@127.0.0.1:9/simple, https://***@127.0.0.1:9/links" in view
    assert _leaks(view + install.status.text()) == []
    assert _leaks(Path(wizard.state.log_path).read_text(encoding="utf-8")) == []

    finish = wizard.page(PageId.FINISH)
    for name in ("report.json", "report.html"):
        path = tmp_path / name
        finish.save_report(path)
        text = path.read_text(encoding="utf-8")
        assert _leaks(text) == [], name
        assert "127.0.0.1:9/simple" in text
        if os.name != "nt":
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["plan"]["choices"]["index_url"] == "https://user:***@127.0.0.1:9/simple"
    assert plan.choices["index_url"] == INDEX, "the Plan that runs keeps the real URL"
