"""``python -m eval``: the evaluation command line."""

from eval.cli import main

main()
