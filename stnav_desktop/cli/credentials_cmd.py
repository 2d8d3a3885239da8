"""``stnav credentials set|status|delete``: secrets into the OS keychain, never echoed."""

from __future__ import annotations

import argparse
import getpass
import sys

from stnav_desktop import credentials
from stnav_desktop.cli.common import CliError, boot


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("credentials", help="store secrets in the OS keychain")
    s = p.add_subparsers(dest="credentials_command", metavar="ACTION", required=True)
    st = s.add_parser("set", help="store a secret (prompted without echo, or --stdin)")
    st.add_argument("profile_name", metavar="PROFILE")
    st.add_argument("field", metavar="FIELD", choices=sorted(credentials.SECRET_FIELDS),
                    help="one of: " + ", ".join(sorted(credentials.SECRET_FIELDS)))
    st.add_argument("--stdin", action="store_true", help="read the secret from standard input")
    st.set_defaults(handler=set_secret)
    ss = s.add_parser("status", help="which secrets are stored (never their values)")
    ss.add_argument("profile_name", metavar="PROFILE", nargs="?", default=None)
    ss.set_defaults(handler=status)
    sd = s.add_parser("delete", help="remove a secret")
    sd.add_argument("profile_name", metavar="PROFILE")
    sd.add_argument("field", metavar="FIELD", choices=sorted(credentials.SECRET_FIELDS))
    sd.set_defaults(handler=delete)


def set_secret(args: argparse.Namespace) -> int:
    boot(args)
    label = credentials.SECRET_FIELDS[args.field]
    if args.stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise CliError("no terminal to prompt on; pass --stdin to read the secret from standard input")
        value = getpass.getpass(f"{label} for profile {args.profile_name}: ")
    try:
        credentials.set_secret(args.profile_name, args.field, value)
    except credentials.CredentialError as exc:
        raise CliError(str(exc)) from None
    print(f"{label} stored in the keychain ({credentials.backend_name()}) for profile {args.profile_name}")
    return 0


def status(args: argparse.Namespace) -> int:
    boot(args)
    profile = args.profile_name or args.profile
    try:
        result = credentials.status(profile)
    except credentials.CredentialError as exc:
        raise CliError(str(exc)) from None
    print(f"profile {profile} (keychain: {credentials.backend_name()})")
    for field, state in result.items():
        print(f"  {field:<30} {state:<8} {credentials.SECRET_FIELDS[field]}")
    return 0


def delete(args: argparse.Namespace) -> int:
    boot(args)
    try:
        removed = credentials.delete_secret(args.profile_name, args.field)
    except credentials.CredentialError as exc:
        raise CliError(str(exc)) from None
    print(f"{args.field}: {'removed' if removed else 'was not stored'}")
    return 0
