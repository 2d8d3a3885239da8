"""What every tab shares: the profile, the task runner, the service, the two signals the window listens
to, and the busy-button idiom (disable, say what is happening, run on a worker, restore, report)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stnav_desktop.store.models import Profile
from stnav_desktop.ui.qt import QPushButton, QWidget, Signal


class Page(QWidget):
    changed = Signal()  # data changed: other tabs refresh
    status_message = Signal(str)

    def __init__(self, profile: Profile, parent=None, *, runner=None, service_fn: Callable | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        if runner is None:
            from stnav_desktop.ui.tasks import InlineRunner

            runner = InlineRunner()
        self.runner = runner
        self.service_fn = service_fn  # returns the SyncService (built lazily: it needs credentials)

    def say(self, text: str) -> None:
        self.status_message.emit(text)

    def run_busy(self, buttons: QPushButton | list[QPushButton], work: Callable[[], Any],
                 on_done: Callable[[Any], None], *, busy: str = "", on_error: Callable[[str], None] | None = None):
        """Run ``work`` on a worker with ``buttons`` disabled (and relabelled ``busy`` if given); on the GUI
        thread afterwards restore them and call ``on_done(result)`` or ``on_error(message)`` (default: the
        message goes to the status bar)."""
        group = buttons if isinstance(buttons, list) else [buttons]
        texts = [b.text() for b in group]
        for button in group:
            button.setEnabled(False)
        if busy and group:
            group[0].setText(busy)

        def restore() -> None:
            for button, text in zip(group, texts, strict=True):
                button.setText(text)
                button.setEnabled(True)

        def done(result) -> None:
            restore()
            on_done(result)

        def failed(message: str) -> None:
            restore()
            (on_error or self.say)(message)

        return self.runner.submit(work, done, failed)
