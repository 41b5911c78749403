"""Python clients of the jobledger service: the worker SDK and the live-update client."""
