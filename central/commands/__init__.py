"""Subcommands of ``driftvakt-central``: one module each, with
``add_parser(subparsers)`` that sets ``func`` (see ``central/cli.py``)."""
