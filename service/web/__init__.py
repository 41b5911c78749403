"""The HTTP and WebSocket edge: routing, request parsing, responses, authentication, the
dashboard's static files. Every rule it applies lives in the application layer or the domain."""
