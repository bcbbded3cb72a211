"""Errors the user can act on. The CLI prints them as one line and exits non-zero."""


class UserError(Exception):
    """Bad input or a failed precondition, phrased for the person at the keyboard."""

    exit_code = 2


class CredentialsError(UserError):
    """An account's credentials are missing, invalid or expired; names the connection."""

    exit_code = 3
