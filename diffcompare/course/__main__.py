"""``python -m diffcompare.course generate|grade|grade-class``: the teacher's three commands (:mod:`.cli`)."""

from __future__ import annotations

from .cli import app


def main(argv=None) -> int:
    app(args=argv, prog_name="python -m diffcompare.course")
    return 0


if __name__ == "__main__":
    main()
