"""The launch layer's error: a deployment that failed to start or become healthy."""

from __future__ import annotations

from frontier.errors import FrontierError


class LaunchError(FrontierError):
    """A server that failed to start or become healthy; carries the log tail and the stage
    (``launch`` | ``readiness``) the failure is recorded under."""

    def __init__(self, message: str, log_tail: str = "", stage: str = "launch"):
        super().__init__(message)
        self.log_tail = log_tail
        self.stage = stage
