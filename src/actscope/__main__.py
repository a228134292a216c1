"""``python -m actscope`` runs the command-line interface."""

from actscope.cli import main

main()
