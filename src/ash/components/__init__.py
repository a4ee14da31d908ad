"""Built-in model components: discretizers, in-graph feature builders, losses and backbones.

Every class here is registered through :mod:`ash.builtins` exactly like a third-party plugin.
"""
