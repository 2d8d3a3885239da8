"""The server side of Windows sign-in (NTLM inside ``Negotiate`` or ``NTLM``) as a NAV server with
``ClientServicesCredentialType = Windows`` answers it over HTTP.

Sources: the three-message exchange and the NTLMv2 response are MS-NLMP (3.1.5, 3.3.2 "NTLM v2
Authentication"): NEGOTIATE -> CHALLENGE (server challenge, target info) -> AUTHENTICATE, where the client
proves the password with ``NTProofStr = HMAC_MD5(NTOWFv2, ServerChallenge || temp)``. Over HTTP the
handshake is carried by ``WWW-Authenticate``/``Authorization`` headers on ONE keep-alive connection
(RFC 4559 for ``Negotiate``; NAV sends both ``Negotiate`` and ``NTLM`` in the first 401, reference §1.3
"Windows: Negotiate/NTLM with the Windows account"). After a successful AUTHENTICATE the connection stays
signed in (HTTP.sys keeps connection-based authentication by default), so later requests on it carry no
header. The message encoding and the NTLMv2 arithmetic are pyspnego's (``spnego._ntlm_raw``), the library
requests-ntlm itself uses on the client side; this module only plays the acceptor and checks the proof
against the account's password, so a wrong password really fails.
"""

from __future__ import annotations

import base64
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from spnego._ntlm_raw.crypto import compute_response_v2, ntowfv1, ntowfv2
from spnego._ntlm_raw.messages import (
    Authenticate,
    AvId,
    Challenge,
    FileTime,
    Negotiate,
    NegotiateFlags,
    NTClientChallengeV2,
    TargetInfo,
)

SCHEMES = ("Negotiate", "NTLM")


@dataclass
class NtlmConnectionState:
    """Per TCP connection: the challenge sent, and who signed in once it is done."""

    challenge: Challenge | None = None
    user: str | None = None
    context: Any = None  # OsAcceptor: the pyspnego acceptor context of this connection's handshake
    messages: list[str] = field(default_factory=list)  # "negotiate", "challenge", "authenticate" (tests)


class NtlmAcceptor:
    """Accounts are ``DOMAIN\\user`` -> password (case-insensitive user and domain, as Windows)."""

    def __init__(self, accounts: dict[str, str]) -> None:
        self.accounts = {k.upper(): v for k, v in accounts.items()}

    def step(self, state: NtlmConnectionState, token: bytes) -> tuple[bytes | None, bool]:
        """One client token -> (server token to send back or None, signed in?). Raises ValueError when the
        token is not NTLM or the proof does not match."""
        if token[:8] != b"NTLMSSP\x00" or len(token) < 12:
            raise ValueError("not an NTLM token")
        kind = int.from_bytes(token[8:12], "little")
        if kind == 1:
            state.messages.append("negotiate")
            state.challenge = self._challenge(Negotiate.unpack(token))
            state.messages.append("challenge")
            return state.challenge.pack(), False
        if kind == 3:
            state.messages.append("authenticate")
            if state.challenge is None:
                raise ValueError("AUTHENTICATE without a CHALLENGE on this connection")
            user = self._verify(state.challenge, Authenticate.unpack(token))
            state.user = user
            state.challenge = None
            return None, True
        raise ValueError(f"unexpected NTLM message type {kind}")

    @staticmethod
    def _challenge(negotiate: Negotiate) -> Challenge:
        flags = (negotiate.flags | NegotiateFlags.request_target | NegotiateFlags.ntlm
                 | NegotiateFlags.always_sign | NegotiateFlags.target_info | NegotiateFlags.target_type_server)
        if flags & NegotiateFlags.unicode:
            flags &= ~NegotiateFlags.oem
        if flags & NegotiateFlags.extended_session_security:
            flags &= ~NegotiateFlags.lm_key
        # the version field is only sent when the flag is negotiated (MS-NLMP 2.2.1.2); we don't send one
        flags &= ~NegotiateFlags.version
        info = TargetInfo()
        info[AvId.nb_computer_name] = "NAVSRV"
        info[AvId.nb_domain_name] = "CONTOSO"
        info[AvId.dns_computer_name] = socket.gethostname()
        info[AvId.timestamp] = FileTime.now()
        return Challenge(flags, os.urandom(8), target_name="CONTOSO", target_info=info)

    def _verify(self, challenge: Challenge, auth: Authenticate) -> str:
        user = f"{auth.domain_name or ''}\\{auth.user_name or ''}".upper()
        password = self.accounts.get(user)
        if password is None:
            raise ValueError(f"unknown account {user}")
        response = auth.nt_challenge_response or b""
        if len(response) <= 24:
            raise ValueError("NTLMv1 responses are refused (LmCompatibilityLevel 5)")
        client = NTClientChallengeV2.unpack(response[16:])
        key = ntowfv2(auth.user_name, ntowfv1(password), auth.domain_name)
        expected, _lm, _kx = compute_response_v2(key, challenge.server_challenge, client.challenge_from_client,
                                                 client.time_stamp, client.av_pairs)
        if expected != response:
            raise ValueError("wrong password")
        return user


class OsAcceptor:
    """The server side done by the operating system, as a NAV server on Windows has it (HTTP.sys hands the
    ``Negotiate``/``NTLM`` tokens to SSPI, which validates the account against Windows itself; the NAV server
    then only lets in Windows accounts set up as NAV users).

    ``spnego.server(protocol="negotiate")`` is pyspnego's acceptor: on Windows it is SSPI's Negotiate package
    (``AcceptSecurityContext``; SPNEGO-wrapped Kerberos or NTLM, or raw NTLM), which checks the logged-on
    user's proof without any password known to us. Elsewhere pyspnego falls back to its Python NTLM acceptor,
    which takes its accounts from the file named by ``NTLM_USER_FILE`` (``DOMAIN:USER:PASSWORD`` lines), so
    the same code path runs off Windows too. ``users`` are the Windows accounts set up as NAV users
    (``DOMAIN\\user``, case-insensitive); any other account the OS authenticated is refused, as NAV refuses a
    Windows user that is not on its Users page.

    The last acceptor token, if any (SPNEGO's ``accept-completed`` with its mechListMIC), goes back in the
    successful answer's ``WWW-Authenticate`` header (RFC 4559 section 5).
    """

    def __init__(self, users: set[str], *, service: str = "HTTP") -> None:
        self.users = {u.upper() for u in users}
        self.service = service

    def step(self, state: NtlmConnectionState, token: bytes) -> tuple[bytes | None, bool]:
        import spnego
        from spnego.exceptions import SpnegoError

        state.messages.append(_token_kind(token))
        try:
            if state.context is None:
                state.context = spnego.server(hostname=socket.gethostname(), service=self.service,
                                              protocol="negotiate")
            answer = state.context.step(token)
        except SpnegoError as exc:
            state.context = None
            raise ValueError(f"the operating system refused the sign-in: {exc}") from None
        if not state.context.complete:
            state.messages.append("challenge")
            return answer, False
        user = str(state.context.client_principal or "")
        state.context = None
        if user.upper() not in self.users:
            state.messages.append(f"refused {user}")
            raise ValueError(f"{user} is not set up as a NAV user")
        state.messages.append(f"signed in {user}")
        state.user = user
        return answer, True


def _token_kind(token: bytes) -> str:
    if token[:8] == b"NTLMSSP\x00" and len(token) >= 12:
        return {1: "negotiate", 3: "authenticate"}.get(int.from_bytes(token[8:12], "little"), "ntlm")
    return "spnego"


def parse_authorization(header: str | None) -> tuple[str, bytes] | None:
    """``Negotiate <b64>`` / ``NTLM <b64>`` -> (scheme, token); anything else None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    for s in SCHEMES:
        if scheme.lower() == s.lower() and value.strip():
            try:
                return s, base64.b64decode(value.strip())
            except ValueError:
                return None
    return None
