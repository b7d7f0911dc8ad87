"""``python -m diffcompare.course generate|grade|grade-class``: the teacher's three commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diffcompare.course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write the student and instructor notebooks and the autograder (otter)")
    gen.add_argument("masters", nargs="+", help="master assignments (.py percent format or .ipynb)")
    gen.add_argument("--out", default="build", help="output folder (default: build)")
    one = sub.add_parser("grade", help="grade one submitted notebook into a JSON and Markdown report and a log")
    one.add_argument("submission", help="the submitted .ipynb")
    one.add_argument("--autograder", required=True, help="NAME-autograder.zip (or the folder holding it)")
    one.add_argument("--report", default=None, help="JSON report path (default: SUBMISSION.report.json)")
    one.add_argument("--timeout", type=float, default=600, help="seconds for the whole submission (default 600)")
    many = sub.add_parser("grade-class", help="grade a folder of submissions into gradebook.csv and reports")
    many.add_argument("folder", help="folder of STUDENT.ipynb (or STUDENT/NOTEBOOK.ipynb)")
    many.add_argument("--autograder", required=True, help="NAME-autograder.zip (or the folder holding it)")
    many.add_argument("--out", default="grades", help="folder for gradebook.csv and each student's report and log")
    many.add_argument("--timeout", type=float, default=600, help="seconds per submission (default 600)")
    many.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: cores)")
    args = parser.parse_args(argv)
    if args.command == "generate":
        from .assign import generate

        for master in args.masters:
            for kind, path in generate(master, args.out).items():
                print(f"{kind:10s} {path}")
        return 0
    if args.command == "grade":
        from .grade import grade

        report = args.report or str(args.submission).removesuffix(".ipynb") + ".report.json"
        rep = grade(args.submission, args.autograder, report=report, timeout=args.timeout)
        print(rep.to_markdown())
        print(f"report: {report} (and {Path(report).with_suffix('.md')}, log {Path(report).with_suffix('.log')})")
        return 0
    from .gradebook import grade_class

    path = grade_class(args.folder, args.autograder, args.out, timeout=args.timeout, jobs=args.jobs)
    print(path.read_text())
    print(f"gradebook: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
