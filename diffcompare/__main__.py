"""``python -m diffcompare``: the ``diffcompare`` command."""

from .cli import main

main()
