"""ml-connector desktop: ServiceTitan purchasing into Microsoft Dynamics NAV / Business Central."""

__version__ = "0.1.0"
APP_NAME = "ml-connector"
