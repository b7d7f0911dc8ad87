"""``python -m diffcompare.course generate MASTER... [--out DIR]`` and ``grade SUBMISSION --tests FILE``."""

from __future__ import annotations

import argparse
import sys

from .assign import generate
from .grade import grade


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m diffcompare.course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write the student, instructor and autograder versions")
    gen.add_argument("masters", nargs="+", help="master assignments (.py percent format or .ipynb)")
    gen.add_argument("--out", default="build", help="output folder (default: build)")
    gr = sub.add_parser("grade", help="grade a submitted notebook and write a score report")
    gr.add_argument("submission", help="the submitted .ipynb")
    gr.add_argument("--tests", required=True, help="autograder NAME.tests.json (or the master)")
    gr.add_argument("--report", default=None, help="JSON report path (default: SUBMISSION.report.json)")
    args = parser.parse_args(argv)
    if args.command == "generate":
        for master in args.masters:
            for kind, path in generate(master, args.out).items():
                print(f"{kind:10s} {path}")
        return 0
    report = args.report or str(args.submission).removesuffix(".ipynb") + ".report.json"
    rep = grade(args.submission, args.tests, report=report)
    print(rep.to_markdown())
    print(f"report: {report} (and {report.removesuffix('.json')}.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
