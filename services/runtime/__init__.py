"""Wiring for one process: `Runtime` (what the web layer talks to) over one backend chosen once from
the config (embedded: in-process queue, pipeline and hub; Redis: stream, shared state, Redis hub),
and the worker node `python -m services.runtime.worker` runs."""
