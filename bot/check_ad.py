"""``sspm check`` on Active Directory: the schema extension and the delegated rights.

What can be told over LDAP by the service account itself (verified on Samba 4.17; Windows AD
documents the same attributes and controls, see MS-ADTS 3.1.1.4.5):

- the enrolment attribute is in the schema: a search of the schema naming context for its
  ``lDAPDisplayName``, and whether it is confidential (``searchFlags`` 0x80);
- the attributes it may write on a real account: ``allowedAttributesEffective`` on that
  account (``lockoutTime``, ``pwdLastSet``, the enrolment attribute);
- Reset Password and the confidential read: neither is a property write, so they are read
  from the account's DACL (``nTSecurityDescriptor`` with the SD flags control asking for the
  DACL only, which every authenticated user may read by AD's default), evaluated in order for
  the service account's SID and its ``tokenGroups``. An approximation of Windows' access check:
  it ignores object-type inheritance filters on ACEs inherited from above the OU.

What cannot: how long an *old* password keeps working after a reset (Samba's ``old password
allowed period`` in smb.conf, Windows' ``OldPasswordAllowedPeriod`` in each DC's registry).
The check prints that advice for every AD domain.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from ldap3 import BASE, Connection
from ldap3.core import exceptions as ldap_exc
from ldap3.protocol.microsoft import security_descriptor_control
from ldap3.utils.conv import escape_filter_chars

from bot.check_openldap import RightsReport, sample_account
from dialogs.directory_port import Account
from directory import LdapDirectory

RESET_PASSWORD = uuid.UUID("00299570-246d-11d0-a768-00aa006e0529")
CONFIDENTIAL = 0x80
CONTROL_ACCESS = 0x100
READ_PROPERTY = 0x10
GENERIC_ALL = 0x10000000
INHERIT_ONLY = 0x08
DACL_ONLY = 0x04  # SD flags control: DACL_SECURITY_INFORMATION
ACCESS_ALLOWED, ACCESS_DENIED, OBJECT_ALLOWED, OBJECT_DENIED = 0, 1, 5, 6
# Everyone and Authenticated Users: in every token, never in tokenGroups.
WELL_KNOWN_SIDS = (bytes.fromhex("010100000000000100000000"),
                   bytes.fromhex("01010000000000050b000000"))
WRITTEN = ("lockoutTime", "pwdLastSet")

STALE_CREDENTIAL_ADVICE = (
    "after a reset the OLD password keeps working for a while, and sspm cannot read how long "
    "over LDAP: on Samba set `old password allowed period = 0` in [global] of smb.conf on "
    "every DC (default 60 minutes); on Windows DCs set the registry value "
    "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\OldPasswordAllowedPeriod (minutes, "
    "NTLM only) to 0 (see README, Active Directory)")


@dataclass(frozen=True)
class Ace:
    allow: bool
    inherit_only: bool
    mask: int
    object_type: uuid.UUID | None
    sid: bytes


def ad_rights(directory: LdapDirectory) -> RightsReport:
    """The schema attribute and every delegated right; raises ``DirectoryError``."""
    attribute = directory.settings.attributes.enrolment
    missing = directory.pool.run("check schema", lambda c: _schema_problems(c, attribute))
    sample = sample_account(directory)
    if sample is None:
        return RightsReport(None, "", (*missing, "no account (objectClass="
                                       f"{directory.settings.user_object_class}) can be read "
                                       f"under {directory.settings.search_base}"))
    found = directory.pool.run("check rights", lambda c: _delegation(directory, c, sample),
                               writer=True)
    return RightsReport(sample, "", (*missing, *found[0]), tuple(found[1]))


def _schema_problems(connection: Connection, attribute: str) -> list[str]:
    connection.search("", "(objectClass=*)", search_scope=BASE,
                      attributes=["schemaNamingContext"])
    schema = str(connection.response[0]["attributes"]["schemaNamingContext"][0]) \
        if connection.response else ""
    connection.search(schema, f"(lDAPDisplayName={escape_filter_chars(attribute)})",
                      attributes=["searchFlags"])
    entries = [e for e in connection.response or [] if e.get("type") == "searchResEntry"]
    if not entries:
        return [f"schema: no attribute {attribute} in {schema} (import the LDIF that "
                "`sspm ad-setup` prints)"]
    flags = entries[0]["attributes"].get("searchFlags") or 0
    if not int(flags[0] if isinstance(flags, list) else flags) & CONFIDENTIAL:
        return [f"schema: {attribute} is not confidential (searchFlags 0x80): every "
                "authenticated user can read the answers' hashes"]
    return []


def _delegation(directory: LdapDirectory, connection: Connection,
                account: Account) -> tuple[list[str], list[str]]:
    attribute = directory.settings.attributes.enrolment
    connection.search(account.dn, "(objectClass=*)", search_scope=BASE,
                      attributes=["allowedAttributesEffective"])
    allowed = {str(v).lower() for e in connection.response or []
               for v in e.get("attributes", {}).get("allowedAttributesEffective", [])}
    missing = [f"write on {name} of {account.dn}" for name in (*WRITTEN, attribute)
               if name.lower() not in allowed]
    aces, sids = _dacl(connection, account.dn), _token(connection, directory.settings.bind_dn)
    if aces is None:
        return missing, [f"Reset Password and the read of {attribute} on {account.dn}: the "
                         "account's security descriptor cannot be read"]
    if not granted(aces, sids, CONTROL_ACCESS, RESET_PASSWORD):
        missing.append(f"Reset Password (User-Force-Change-Password) on {account.dn}")
    guid = _schema_guid(connection, attribute)
    if guid is not None and not (granted(aces, sids, CONTROL_ACCESS, guid)
                                 and granted(aces, sids, READ_PROPERTY, guid)):
        missing.append(f"read and control access on {attribute} (confidential) of {account.dn}")
    return missing, []


def granted(aces: list[Ace], sids: set[bytes], right: int, object_type: uuid.UUID) -> bool:
    """The first ACE in order that speaks of ``right`` for one of ``sids`` decides."""
    for ace in aces:
        if (ace.inherit_only or ace.sid not in sids or not ace.mask & (right | GENERIC_ALL)
                or ace.object_type not in (None, object_type)):
            continue
        return ace.allow
    return False


def _dacl(connection: Connection, dn: str) -> list[Ace] | None:
    try:
        connection.search(dn, "(objectClass=*)", search_scope=BASE,
                          attributes=["nTSecurityDescriptor"],
                          controls=security_descriptor_control(sdflags=DACL_ONLY))
    except ldap_exc.LDAPOperationResult:
        return None
    for entry in connection.response or []:
        values = entry.get("raw_attributes", {}).get("nTSecurityDescriptor")
        if values:
            return list(dacl_aces(bytes(values[0])))
    return None


def _token(connection: Connection, dn: str) -> set[bytes]:
    connection.search(dn, "(objectClass=*)", search_scope=BASE,
                      attributes=["objectSid", "tokenGroups"])
    sids = set(WELL_KNOWN_SIDS)
    for entry in connection.response or []:
        raw = entry.get("raw_attributes", {})
        sids.update(bytes(v) for name in ("objectSid", "tokenGroups") for v in raw.get(name, []))
    return sids


def _schema_guid(connection: Connection, attribute: str) -> uuid.UUID | None:
    connection.search("", "(objectClass=*)", search_scope=BASE,
                      attributes=["schemaNamingContext"])
    schema = str(connection.response[0]["attributes"]["schemaNamingContext"][0])
    connection.search(schema, f"(lDAPDisplayName={escape_filter_chars(attribute)})",
                      attributes=["schemaIDGUID"])
    for entry in connection.response or []:
        values = entry.get("raw_attributes", {}).get("schemaIDGUID")
        if values:
            return uuid.UUID(bytes_le=bytes(values[0]))
    return None


def dacl_aces(descriptor: bytes) -> Iterator[Ace]:
    """The ACEs of a self-relative security descriptor's DACL (MS-DTYP 2.4.6, 2.4.4)."""
    offset = int.from_bytes(descriptor[16:20], "little")
    if not offset:
        return
    count = int.from_bytes(descriptor[offset + 4:offset + 6], "little")
    position = offset + 8
    for _ in range(count):
        kind, flags = descriptor[position], descriptor[position + 1]
        size = int.from_bytes(descriptor[position + 2:position + 4], "little")
        body = descriptor[position + 4:position + size]
        position += size
        if kind in (ACCESS_ALLOWED, ACCESS_DENIED):
            object_type, sid = None, body[4:]
        elif kind in (OBJECT_ALLOWED, OBJECT_DENIED):
            object_flags = int.from_bytes(body[4:8], "little")
            start = 8
            object_type = uuid.UUID(bytes_le=body[8:24]) if object_flags & 1 else None
            start += 16 if object_flags & 1 else 0
            start += 16 if object_flags & 2 else 0
            sid = body[start:]
        else:
            continue  # callback and audit ACEs grant nothing here
        sid = sid[:8 + 4 * sid[1]] if len(sid) > 1 else sid
        yield Ace(kind in (ACCESS_ALLOWED, OBJECT_ALLOWED), bool(flags & INHERIT_ONLY),
                  int.from_bytes(body[0:4], "little"), object_type, sid)
