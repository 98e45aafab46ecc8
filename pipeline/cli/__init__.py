"""The commands: the console entry point, the typer app, one module per command, shared options.

Kept light: importing ``pipeline.cli.risk`` must not load typer (the app is ``pipeline.cli.app``).
"""
