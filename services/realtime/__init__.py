"""Server to browser: the hub interface with its in-memory and Redis implementations, the
per-connection coalescing outbox, the protocol (the one module that builds every message),
notifications, the registry of open connections, and `calculate` jobs over the socket."""
