"""The application layer: commands and queries over the stores, the sweeper, the projection
runner, audit and export/import. It knows nothing of HTTP: the web edge and the SDK's
in-process mode both drive it."""
