"""The service: aiohttp routes, sweepers, CLI and configuration, wired together."""

__version__ = "0.1.0"
