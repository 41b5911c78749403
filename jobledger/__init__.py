"""jobledger: an event-sourced job service, and its Python clients.

The rooms are subpackages: `domain`, `eventlog`, `projections`, `application`, `web`,
`cli`, `migrations` and `sdk`. The SDK's public names are here too, loaded on first use
so that the server never imports the SDK: `from jobledger import Worker, Client, client`.
"""

import importlib

__version__ = "0.1.0"

_SDK = {
    "Worker": "jobledger.sdk.worker",
    "PermanentError": "jobledger.sdk.worker",
    "JobContext": "jobledger.sdk.worker",
    "Parent": "jobledger.sdk.worker",
    "JobStopped": "jobledger.sdk.worker",
    "UndeclaredPhase": "jobledger.sdk.worker",
    "Client": "jobledger.sdk.api",
    "SyncClient": "jobledger.sdk.api",
    "Refused": "jobledger.sdk.client",
}


def __getattr__(name: str):
    if name in _SDK:
        return getattr(importlib.import_module(_SDK[name]), name)
    if name == "client":
        return importlib.import_module("jobledger.sdk.client")
    raise AttributeError(f"module 'jobledger' has no attribute {name!r}")
