"""A strict local NAV 2016-2018 / Business Central on-premises server publishing UI pages as ODataV4 web
services (reference ``businesscentral-api.md`` §5). A leaf: imports nothing of the product."""

from stnav_desktop.sandbox.navclassic.sandbox import CODEUNIT, ClassicNavSandbox

__all__ = ["CODEUNIT", "ClassicNavSandbox"]
