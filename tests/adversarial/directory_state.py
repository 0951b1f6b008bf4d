"""What the directory itself says about an account after an attack: read as its administrator."""

from __future__ import annotations

from ldap3 import BASE, Connection, Server

from bot.local_stack import SlapdInfo, demo_user


def policy_state(slapd: SlapdInfo, uid: str) -> dict[str, list[object]]:
    """The account's ppolicy attributes (lock, failure times)."""
    connection = Connection(Server(slapd.url), slapd.admin_dn, slapd.admin_password,
                            auto_bind=True)
    try:
        connection.search(demo_user(uid).dn, "(objectClass=*)", search_scope=BASE,
                          attributes=["pwdAccountLockedTime", "pwdFailureTime"])
        return dict(connection.entries[0].entry_attributes_as_dict)
    finally:
        connection.unbind()


def locked(slapd: SlapdInfo, uid: str) -> bool:
    return bool(policy_state(slapd, uid).get("pwdAccountLockedTime"))


def wrong_binds_seen(slapd: SlapdInfo, uid: str) -> int:
    """Wrong passwords the directory has counted since the last good one."""
    return len(policy_state(slapd, uid).get("pwdFailureTime", []))
