"""The `ash` command line."""
