"""The `chit` command line: a thin Typer adapter over `chit.api.Chit`."""
