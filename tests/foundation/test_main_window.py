from stnav_desktop.ui.main_window import TABS, MainWindow
from stnav_desktop.ui.qt import QSettings


def test_main_window_opens_and_closes(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.tabs.count() == len(TABS)
    window.resize(640, 480)
    window.close()
    assert settings.value("mainWindow/geometry") is not None
    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert again.size() == window.size()
