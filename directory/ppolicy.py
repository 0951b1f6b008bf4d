"""The password policy response control (draft-behera-ldap-password-policy).

ldap3 returns this control undecoded; its value is a small BER sequence::

    PasswordPolicyResponseValue ::= SEQUENCE {
        warning [0] CHOICE { timeBeforeExpiration [0] INTEGER,
                             graceAuthNsRemaining [1] INTEGER } OPTIONAL,
        error   [1] ENUMERATED { ... } OPTIONAL }
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PPOLICY_OID = "1.3.6.1.4.1.42.2.27.8.5.1"
PPOLICY_REQUEST = (PPOLICY_OID, False, None)

ERROR_NAMES = {
    0: "passwordExpired",
    1: "accountLocked",
    2: "changeAfterReset",
    3: "passwordModNotAllowed",
    4: "mustSupplyOldPassword",
    5: "insufficientPasswordQuality",
    6: "passwordTooShort",
    7: "passwordTooYoung",
    8: "passwordInHistory",
}


@dataclass(frozen=True)
class PolicyResponse:
    error: int | None = None
    time_before_expiration: int | None = None
    grace_remaining: int | None = None

    @property
    def error_name(self) -> str | None:
        return None if self.error is None else ERROR_NAMES.get(self.error, str(self.error))


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    return int.from_bytes(data[pos + 1:pos + 1 + count], "big"), pos + 1 + count


def _tlvs(data: bytes) -> list[tuple[int, bytes]]:
    items: list[tuple[int, bytes]] = []
    pos = 0
    while pos + 2 <= len(data):
        tag = data[pos]
        length, start = _read_length(data, pos + 1)
        items.append((tag, data[start:start + length]))
        pos = start + length
    return items


def decode_policy_value(value: bytes) -> PolicyResponse:
    """Decode the control value; a malformed value decodes to an empty response."""
    try:
        outer = _tlvs(value)
        if not outer or outer[0][0] != 0x30:
            return PolicyResponse()
        error = expiry = grace = None
        for tag, content in _tlvs(outer[0][1]):
            if tag == 0x81:
                error = int.from_bytes(content, "big")
            elif tag == 0xA0:
                for inner_tag, inner in _tlvs(content):
                    number = int.from_bytes(inner, "big")
                    if inner_tag == 0x80:
                        expiry = number
                    elif inner_tag == 0x81:
                        grace = number
        return PolicyResponse(error, expiry, grace)
    except (IndexError, ValueError):
        return PolicyResponse()


def policy_from_result(result: dict[str, Any] | None) -> PolicyResponse:
    """The decoded control of an ldap3 result dict, or an empty response."""
    controls = (result or {}).get("controls") or {}
    control = controls.get(PPOLICY_OID)
    if not control or not isinstance(control.get("value"), bytes):
        return PolicyResponse()
    return decode_policy_value(control["value"])
