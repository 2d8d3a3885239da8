"""The simulators are a leaf: they import nothing of the product, so a parsing bug in the connector
cannot be mirrored by the simulator that is meant to catch it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import stnav_desktop

SANDBOX = Path(stnav_desktop.__file__).parent / "sandbox"


def test_no_sandbox_file_imports_the_product():
    offenders = []
    for path in sorted(SANDBOX.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            offenders += [f"{path.relative_to(SANDBOX)}:{node.lineno} {n}" for n in names
                          if n.startswith("stnav_desktop") and not n.startswith("stnav_desktop.sandbox")]
    assert offenders == []


def test_servicetitan_simulator_loads_no_product_module_when_serving():
    code = (
        "import sys\n"
        "from stnav_desktop.sandbox.servicetitan import ServiceTitanSandbox\n"
        "from stnav_desktop.sandbox.servicetitan import app\n"
        "sb = ServiceTitanSandbox(None, purchase_orders=10)\n"
        "app._parse_dt('2026-01-02T03:04:05.1234567Z', 'from'); app._cmp('2026-01-01', app._parse_dt('2025-12-31', 'x'), 'ge')\n"
        "sb.data.purchase_orders.first_seq_modified_on_or_after(app._parse_dt('2020-01-01', 'from'))\n"
        "print(sorted(m for m in sys.modules if m.startswith('stnav_desktop.') and not m.startswith('stnav_desktop.sandbox')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
