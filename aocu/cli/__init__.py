"""Subcommands of the ``aocu`` CLI, one module each (see `aocu.__main__`)."""
