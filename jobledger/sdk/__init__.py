"""Python clients of the jobledger service: the worker SDK (over HTTP or in-process) and the
live-update client. In-process, it reaches the server only through
jobledger.application.embedded."""
