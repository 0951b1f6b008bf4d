"""``sspm ad-setup``: what an Active Directory administrator runs, once, for one domain.

Issue 12: the README's delegation step pointed into Python. This prints, for the configured
domain, the schema LDIF and the exact commands: ``ldifde`` and ``dsacls`` on Windows,
``ldapmodify`` and ``samba-tool dsacl set`` on a Samba AD DC (where ``ldifde`` does not exist,
a schema change needs ``dsdb:schema update allowed = yes`` while it is imported, and Reset
Password is the control access right ``User-Force-Change-Password``, GUID 00299570-...).
The Samba commands grant exactly ``bot.local_stack.ad_seed.delegation_aces``;
``tests/directory/test_ad_setup.py`` runs them on a Samba DC and ``sspm check`` then passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ldap3.utils.dn import parse_dn

from bot.local_stack.ad_seed import BASE_DN as SEED_FOREST_ROOT
from bot.local_stack.ad_seed import ENROLMENT_ATTRIBUTE as SEED_ATTRIBUTE
from bot.local_stack.ad_seed import (
    ENROLMENT_SCHEMA,
    LOCKOUT_TIME_GUID,
    PWD_LAST_SET_GUID,
    RESET_PASSWORD_RIGHT,
    USER_CLASS_GUID,
)
from config.settings import DomainSettings

SAMBA_OPTIONS = "-s /etc/samba/smb.conf -H /var/lib/samba/private/sam.ldb"


@dataclass(frozen=True)
class AdSetup:
    """What the commands are written for."""

    forest_root: str  # DC=partners,DC=test: the schema is CN=Schema,CN=Configuration,<root>
    people_ou: str  # the OU that holds the people (and nothing privileged)
    service_account: str  # its sAMAccountName
    netbios: str  # the domain's NetBIOS name, for dsacls
    attribute: str = SEED_ATTRIBUTE

    @classmethod
    def for_domain(cls, domain: DomainSettings, *, forest_root: str = "",
                   service_account: str = "", netbios: str = "") -> AdSetup:
        return cls(forest_root=forest_root or domain.base_dn, people_ou=domain.search_base,
                   service_account=service_account or first_rdn_value(domain.bind_dn),
                   netbios=netbios or domain.name, attribute=domain.attributes.enrolment)


def first_rdn_value(dn: str) -> str:
    """``CN=svc-sspm,OU=Services,...`` -> ``svc-sspm`` (the usual sAMAccountName)."""
    try:
        return str(parse_dn(dn)[0][1])
    except Exception:
        return dn


def schema_ldif(setup: AdSetup) -> str:
    """``ENROLMENT_SCHEMA`` for this forest (and this attribute name, if renamed)."""
    return (ENROLMENT_SCHEMA.replace(SEED_FOREST_ROOT, setup.forest_root)
            .replace(f"lDAPDisplayName: {SEED_ATTRIBUTE}", f"lDAPDisplayName: {setup.attribute}")
            .replace(f"mayContain: {SEED_ATTRIBUTE}", f"mayContain: {setup.attribute}"))


def samba_commands(setup: AdSetup, options: str = SAMBA_OPTIONS) -> str:
    """A shell script for a Samba DC (as root): grant the delegation on the people's OU."""
    sddl = (f"(OA;CI;CR;{RESET_PASSWORD_RIGHT};{USER_CLASS_GUID};$SID)"
            f"(OA;CI;RPWP;{LOCKOUT_TIME_GUID};{USER_CLASS_GUID};$SID)"
            f"(OA;CI;RPWP;{PWD_LAST_SET_GUID};{USER_CLASS_GUID};$SID)"
            f"(OA;CI;RPWPCR;$GUID;{USER_CLASS_GUID};$SID)")
    return f"""\
set -e
SAMBA_OPTIONS="{options}"
SID=$(samba-tool user show '{setup.service_account}' $SAMBA_OPTIONS --attributes=objectSid \\
      | sed -n 's/^objectSid: //p')
GUID=$(samba-tool schema attribute show '{setup.attribute}' $SAMBA_OPTIONS \\
       | sed -n 's/^schemaIDGUID: //p')
test -n "$SID" && test -n "$GUID"
# Reset Password (User-Force-Change-Password), read/write lockoutTime and pwdLastSet,
# read/write/control access on {setup.attribute}; inherited by the user objects below.
samba-tool dsacl set $SAMBA_OPTIONS --objectdn='{setup.people_ou}' \\
    --sddl="{sddl}"
"""


def windows_commands(setup: AdSetup) -> str:
    """cmd.exe lines for a Windows admin (ldifde and dsacls come with the AD DS tools)."""
    who = f"{setup.netbios}\\{setup.service_account}"
    grants = ["CA;Reset Password;user", "RPWP;lockoutTime;user", "RPWP;pwdLastSet;user",
              f"RPWP;{setup.attribute};user", f"CA;{setup.attribute};user"]
    return "\n".join(f'dsacls "{setup.people_ou}" /I:S /G "{who}:{grant}"' for grant in grants)


def render(setup: AdSetup) -> str:
    ldif = schema_ldif(setup)
    return f"""\
# Active Directory setup for the SSPM assistant
#   forest root {setup.forest_root}; people in {setup.people_ou};
#   service account {setup.service_account} (an ordinary user, not a Domain Admin)
# Keep privileged accounts outside {setup.people_ou} AND list their groups in
# protected_groups: the product refuses them whatever the ACLs allow.

## 1. Schema, once per forest (as a Schema Admin): `sspm ad-setup --ldif > sspm.ldf` writes
#    this LDIF alone:
{ldif}
# Windows (on the schema master):
#   ldifde -i -k -f sspm.ldf
# Samba (ldifde does not exist there): first add to [global] of smb.conf on the DC
#   dsdb:schema update allowed = yes
# and restart samba, then (the OpenLDAP client tools read the same LDIF)
#   LDAPTLS_CACERT=/var/lib/samba/private/tls/ca.pem ldapmodify -x -H ldaps://<dc> \\
#       -D 'CN=Administrator,CN=Users,{setup.forest_root}' -W -f sspm.ldf
# then remove the line again and restart samba.

## 2. Delegation on {setup.people_ou}
# Windows (cmd.exe, as a Domain Admin):
{_indent(windows_commands(setup))}
# Samba (sh, as root on a DC; adjust SAMBA_OPTIONS to your paths):
{_indent(samba_commands(setup))}
## 3. Old passwords
# After a reset the OLD password keeps working for a while, and sspm cannot see it:
#   Samba: add `old password allowed period = 0` to [global] of smb.conf on every DC
#          (default 60 minutes; restart samba).
#   Windows: HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\OldPasswordAllowedPeriod
#          (REG_DWORD, minutes, default 60; NTLM only) = 0 on every DC.

## 4. Check
#   sspm check    (verifies the schema attribute and the delegated rights on an account)
"""


def _indent(block: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in block.splitlines()) + "\n"
