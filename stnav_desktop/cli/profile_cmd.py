"""``stnav profile set servicetitan|nav|option`` and ``stnav profile show``: non-secret settings."""

from __future__ import annotations

import argparse

from stnav_desktop import deploy
from stnav_desktop.cli.common import CliError, boot, require_profile
from stnav_desktop.store import audit, settings
from stnav_desktop.store.db import db

# option name on the command line -> setting key
SERVICETITAN_FLAGS = {
    "environment": "servicetitan.environment", "tenant": "servicetitan.tenant",
    "client_id": "servicetitan.client_id", "app_key": "servicetitan.app_key",
    "auth_url": "servicetitan.auth_url", "api_url": "servicetitan.api_url",
    "ca_bundle": "servicetitan.ca_bundle", "calls_per_second": "servicetitan.calls_per_second",
}
NAV_FLAGS = {
    "deployment": "nav.deployment", "tenant": "nav.tenant", "environment": "nav.environment",
    "company_id": "nav.company_id", "client_id": "nav.client_id", "authority": "nav.authority",
    "api_url": "nav.api_url", "auth": "nav.auth", "user": "nav.user", "ca_bundle": "nav.ca_bundle",
}


def _add_flags(parser: argparse.ArgumentParser, flags: dict[str, str]) -> None:
    for name, key in flags.items():
        setting = settings.BY_KEY[key]
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=None,
                            choices=setting.choices or None, help=setting.label)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="connection and posting settings (secrets: see `stnav credentials`)")
    s = p.add_subparsers(dest="profile_command", metavar="ACTION", required=True)
    ps = s.add_parser("set", help="change settings")
    targets = ps.add_subparsers(dest="target", metavar="TARGET", required=True)
    st = targets.add_parser("servicetitan", help="ServiceTitan connection")
    _add_flags(st, SERVICETITAN_FLAGS)
    st.set_defaults(handler=set_flags, flags=SERVICETITAN_FLAGS)
    nav = targets.add_parser("nav", help="NAV / Business Central connection")
    _add_flags(nav, NAV_FLAGS)
    nav.set_defaults(handler=set_flags, flags=NAV_FLAGS)
    opt = targets.add_parser("option", help="any setting by key (see `stnav profile show`)")
    opt.add_argument("key")
    opt.add_argument("value")
    opt.set_defaults(handler=set_option)
    sh = s.add_parser("show", help="all settings with where each value comes from")
    sh.set_defaults(handler=show)


def _apply(profile_name: str, changes: dict[str, object]) -> None:
    _check_name(profile_name)
    try:
        with db.atomic():  # a refused value leaves no half-made profile behind
            profile = settings.get_profile(profile_name)
            applied = {key: settings.set_value(profile, key, value) for key, value in changes.items()}
            audit.append("settings.changed", profile=profile_name, detail=applied)
    except settings.SettingError as exc:
        raise CliError(str(exc)) from None
    for key, value in applied.items():
        print(f"{key} = {value}")


def _check_name(name: str) -> None:
    if not name.strip() or name != name.strip() or len(name) > 64 or any(not c.isprintable() for c in name):
        raise CliError(f"--profile {name!r}: a profile name is 1 to 64 printable characters without leading or "
                       "trailing spaces", 2)


def set_flags(args: argparse.Namespace) -> int:
    boot(args)
    changes = {key: getattr(args, name) for name, key in args.flags.items() if getattr(args, name) is not None}
    if not changes:
        raise CliError("nothing to change: give at least one option (see --help)", 2)
    _apply(args.profile, changes)
    return 0


def set_option(args: argparse.Namespace) -> int:
    boot(args)
    if args.key not in settings.BY_KEY:
        raise CliError(f"unknown setting {args.key!r}; `stnav profile show` lists them", 2)
    _apply(args.profile, {args.key: args.value})
    return 0


def show(args: argparse.Namespace) -> int:
    boot(args)
    try:
        dep = deploy.current()
    except deploy.DeployError as exc:
        raise CliError(str(exc)) from None
    require_profile(args.profile)
    print(f"profile {args.profile}" + (f" (deployment file: {dep.source})" if dep.source else ""))
    for key, (value, origin) in settings.origins(args.profile).items():
        print(f"  {key:<36} {str(value):<40} [{origin}]")
    return 0
