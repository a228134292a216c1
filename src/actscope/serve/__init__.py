"""``actscope serve``: recognition jobs over HTTP, persisted in SQLite, run by a pool of
worker processes, with a web page (see docs/serve.md)."""
