"""The Ansible role in deploy/ansible/ against this machine (connection: local), with a real bundle:
the first run installs (changed), the second is unchanged, check mode changes nothing, the report is fetched."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.cli_run import REPO, cli_env
from tests.reliability.test_lab_bundle import _choices, _cli, _folder

ANSIBLE = Path(sys.executable).with_name("ansible-playbook")


def _recap(output: str) -> dict[str, int]:
    match = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    assert match, output[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=True))


def test_ansible_role_installs_once_then_is_unchanged_and_check_mode_changes_nothing(tmp_path: Path) -> None:
    folder = _folder()
    if not ANSIBLE.exists() and shutil.which("ansible-playbook") is None:
        pytest.skip("ansible-core is not installed (pip install -e .[test])")
    playbook_cmd = str(ANSIBLE) if ANSIBLE.exists() else str(shutil.which("ansible-playbook"))
    env = cli_env(tmp_path)
    report = tmp_path / "here.json"
    report.write_text(_cli(["detect", "--json", "--offline"], env).stdout, encoding="utf-8")
    bundle = tmp_path / "bundle"
    done = _cli(["bundle", "--for", str(report), *_choices(folder), "--out", str(bundle)], env)
    assert done.returncode == 0, done.stderr
    home = tmp_path / "host"
    reports = tmp_path / "reports"
    target_env = tmp_path / "envs" / "torch"
    extra = {
        "target_hosts": "localhost", "use_become": False, "binary": "",
        "torch_setup_command": [sys.executable, "-m", "installer"],
        "torch_setup_home": str(home), "torch_setup_bundle": str(bundle),
        "torch_setup_answers": {"env": str(target_env)},
        "torch_setup_environment": {"PYTHONPATH": str(REPO), "TORCH_SETUP_HOME": env["TORCH_SETUP_HOME"]},
        "torch_setup_reports": str(reports),
    }
    (tmp_path / "vars.json").write_text(json.dumps(extra), encoding="utf-8")
    (tmp_path / "inventory.ini").write_text(
        f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n", encoding="utf-8")
    ansible_env = {**env, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
                   "ANSIBLE_HOME": str(tmp_path / "ansible-home")}

    def play(*more: str) -> str:
        run = subprocess.run([playbook_cmd, "-i", str(tmp_path / "inventory.ini"),
                              str(REPO / "deploy" / "ansible" / "site.yml"), "-e", f"@{tmp_path / 'vars.json'}",
                              *more], cwd=tmp_path, env=ansible_env, capture_output=True, text=True, timeout=1200)
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        return run.stdout

    first = play()
    assert _recap(first)["changed"] >= 1 and "changed: [localhost]" in first.split("Install PyTorch")[1].split("TASK")[0]
    assert (target_env / "bin" / "python").exists()
    fetched = json.loads((reports / "localhost.json").read_text())
    assert fetched["changed"] is True and fetched["exit_code"] == 0

    second = play()
    assert _recap(second)["changed"] == 0, second[-3000:]
    assert json.loads((reports / "localhost.json").read_text())["changed"] is False

    # check mode against a host that lacks the env: it says it would change, and creates nothing
    shutil.rmtree(target_env)
    checked = play("--check")
    assert "changed: [localhost]" in checked.split("Install PyTorch")[1].split("TASK")[0]
    assert not target_env.exists()
