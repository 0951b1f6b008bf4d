"""The directory layer: every LDAP detail lives here (ldap3, escaping, dialects, pooling).

It implements the core's ``dialogs.directory_port.Directory`` port. Errors::

    DirectoryError
     ├── DirectoryUnavailable    server down, slow, or refusing the service account
     ├── InvalidCredentials      the person's password did not bind
     ├── AccountLocked           the bind was refused because the account is locked
     ├── PasswordExpired         the bind was refused because the password has expired
     ├── AccountDisabled         the account is disabled
     ├── AccountProtected        a privileged target self-service must never touch
     │    └── AdministratorLock  an administrator's permanent lock (000001010000Z)
     ├── PasswordRejected        the directory refused a new password; ``reason`` says why
     └── EnrolmentTooLarge       the enrolment record does not fit the attribute

ldap3's exceptions are translated in one place, ``directory.errors.translated``; what
differs between servers is a dialect: ``directory.openldap`` (ppolicy) and
``directory.active_directory`` (AD over LDAPS), picked from ``DomainSettings.dialect``.
"""

from directory.ldap_directory import LdapDirectory

__all__ = ["LdapDirectory"]
