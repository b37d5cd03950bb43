"""The ``frontier`` command line (``frontier.cli.main``)."""

from frontier.cli.main import main

__all__ = ["main"]
