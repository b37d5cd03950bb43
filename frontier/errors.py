"""Errors a user sees: one line naming the field or thing at fault and the fix."""


class FrontierError(Exception):
    """A failure with a one-line, human-readable reason (the CLI prints it and exits 1)."""
