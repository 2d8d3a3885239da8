import importlib
import os

import pytest
from keyring.backends import fail

from stnav_desktop import selftest
from stnav_desktop.cli import main


def test_self_test_passes_and_reports_every_check(stnav_home, qapp):
    ok, lines = selftest.run_self_test()
    text = "\n".join(lines)
    assert ok, text
    assert lines[-1] == "self-test passed"
    assert "store: fresh database opened in a temporary folder" in text
    # the tests' in-memory backend is usable but is no OS keychain, and the self-test says so
    assert "keychain: backend tests.conftest.MemoryKeyring is not an OS keychain" in text
    assert "import: all" in text and "[SKIP] import stnav_desktop.__main__" in text
    assert "ssl: OpenSSL" in text
    assert "Qt " in text and "QApplication" in text
    for label, _module, _cls in selftest.SIMULATORS:
        line = next(line for line in lines if line[7:].startswith(label))
        assert "TLS verified" in line or "skipped: not built" in line, line
    # the user's own home is untouched: the store check ran in a temporary folder
    assert os.environ["STNAV_HOME"] == str(stnav_home)
    assert not (stnav_home / "data").exists()


def test_no_keychain_is_a_warning_not_a_failure(qapp):
    import keyring

    keyring.set_keyring(fail.Keyring())
    ok, lines = selftest.run_self_test(gui=False)
    assert ok, "\n".join(lines)
    warning = next(line for line in lines if line.startswith("[WARN] keychain"))
    assert "NO real keychain found" in warning and "keyring.backends.fail.Keyring" in warning


def test_plaintext_file_keyring_is_not_called_a_keychain(qapp, monkeypatch):
    import keyring
    import keyring.backend

    class PlaintextKeyring(keyring.backend.KeyringBackend):  # what keyrings.alt.file offers
        priority = 0.5

        def get_password(self, service, username):
            return None

        def set_password(self, service, username, password):
            raise AssertionError("never stored in a file")

        def delete_password(self, service, username):
            pass

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    keyring.set_keyring(PlaintextKeyring())
    ok, lines = selftest.run_self_test(gui=False)
    warning = next(line for line in lines if line.startswith("[WARN] keychain"))
    assert "keyrings.alt.file" in warning
    assert not any(line.startswith("[ OK ] keychain: real keychain") for line in lines)


def test_missing_simulator_is_skipped_broken_one_fails(monkeypatch):
    real = importlib.import_module

    def fake_import(name, *args):
        if name == "stnav_desktop.sandbox.servicetitan":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        if name == "stnav_desktop.sandbox.nav":
            raise ModuleNotFoundError("No module named 'somedependency'", name="somedependency")
        return real(name, *args)

    monkeypatch.setattr(selftest.importlib, "import_module", fake_import)
    report = selftest.Report()
    selftest.check_simulators(report, None)
    assert report.lines[0] == "[SKIP] ServiceTitan simulator: skipped: not built"
    assert report.lines[1].startswith("[FAIL] NAV simulator: ModuleNotFoundError")
    assert report.failures == 1


def test_a_module_that_does_not_import_is_named(monkeypatch):
    real = importlib.import_module

    def fake_import(name, *args):
        if name == "stnav_desktop.support_bundle":
            raise ImportError("simulated breakage")
        return real(name, *args)

    monkeypatch.setattr(selftest.importlib, "import_module", fake_import)
    report = selftest.Report()
    selftest.check_modules(report)
    assert "[FAIL] import stnav_desktop.support_bundle: ImportError: simulated breakage" in report.lines
    assert report.failures == 1


def test_an_invalid_deployment_file_fails_the_self_test(tmp_path, monkeypatch):
    bad = tmp_path / "deploy.toml"
    bad.write_text("[servicetitan]\ntennant = '1'\n")
    monkeypatch.setenv("STNAV_DEPLOY_FILE", str(bad))
    report = selftest.Report()
    selftest.check_deployment(report)
    assert report.failures == 1 and "servicetitan.tennant" in report.lines[0]


@pytest.mark.parametrize("argv", [["--self-test"]])
def test_cli_flag_prints_and_exits(argv, capsys, monkeypatch):
    monkeypatch.setattr(selftest, "run_self_test", lambda gui=True: (False, ["[FAIL] x", "self-test FAILED"]))
    assert main(argv) == 1
    assert capsys.readouterr().out == "[FAIL] x\nself-test FAILED\n"
    monkeypatch.setattr(selftest, "run_self_test", lambda gui=True: (True, ["self-test passed"]))
    assert main(argv) == 0


def test_gui_flag_runs_the_self_test_without_a_window(monkeypatch, capsys):
    from stnav_desktop.ui import app

    monkeypatch.setattr(selftest, "run_self_test", lambda gui=True: (True, ["self-test passed"]))
    assert app.main(["stnav-desktop", "--self-test"]) == 0
    assert "self-test passed" in capsys.readouterr().out


def test_windowed_build_without_stdout_writes_the_report_to_the_log_folder(monkeypatch, stnav_home):
    monkeypatch.setattr(selftest, "run_self_test", lambda gui=True: (True, ["self-test passed"]))
    monkeypatch.setattr("sys.stdout", None)
    assert selftest.main() == 0
    assert (stnav_home / "logs" / "self-test.txt").read_text() == "self-test passed\n"
