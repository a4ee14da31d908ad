"""The CLI's consoles. Messages never wrap: a path or a config key broken across two lines
cannot be copied, and tests (and users) search the output for them."""

from rich.console import Console

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)
