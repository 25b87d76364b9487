"""CLI command groups kept out of cli.py, each registered there with one `cli.add_command` line."""
