"""The `jobledger` command: wires the web edge, the application layer and the SDK together."""
