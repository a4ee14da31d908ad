"""The error every conformance check raises (an ``AssertionError``, so pytest shows it well)."""


class ConformanceError(AssertionError):
    """A component broke a rule of the ash component contract; the message says which and how."""
