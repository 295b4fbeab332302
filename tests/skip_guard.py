"""pytest plugin: ``--forbid-skips`` turns any skipped test into a failed run (CI must run everything)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--forbid-skips", action="store_true", help="fail the run if any test is skipped")


class _SkipCounter:
    def __init__(self) -> None:
        self.skipped: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:
            self.skipped.append(report.nodeid)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--forbid-skips"):
        config._lacl_skips = _SkipCounter()  # type: ignore[attr-defined]
        config.pluginmanager.register(config._lacl_skips, "lacl-skip-counter")  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    counter = getattr(session.config, "_lacl_skips", None)
    if counter and counter.skipped:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line(f"--forbid-skips: {len(counter.skipped)} test(s) skipped: {counter.skipped}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
