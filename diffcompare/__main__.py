"""``python -m diffcompare``: the ``diffcompare`` command."""

from .cli import main

if __name__ == "__main__":
    main()
