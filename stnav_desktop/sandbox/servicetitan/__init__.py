"""Strict local ServiceTitan simulator (issue #3)."""

from stnav_desktop.sandbox.servicetitan.faults import Faults
from stnav_desktop.sandbox.servicetitan.sandbox import ServiceTitanSandbox, run_standalone

__all__ = ["Faults", "ServiceTitanSandbox", "run_standalone"]
