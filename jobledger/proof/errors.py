"""The one error of the offline verifier."""


class ProofError(ValueError):
    """The evidence does not verify; the message says what failed."""
