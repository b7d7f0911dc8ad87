"""Run a submission's cells, then the hidden tests, in this process; print JSON results (used by grade)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback


def _python(source: str) -> str:
    # IPython magics and shell escapes have no meaning here
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def main() -> None:
    data = json.loads(sys.stdin.read())
    namespace: dict = {"__name__": "__main__"}
    cell_errors, tests = [], []
    sink = io.StringIO()
    for i, cell in enumerate(data["cells"]):
        try:
            with contextlib.redirect_stdout(sink):
                exec(compile(_python(cell), f"<cell {i}>", "exec"), namespace)
        except BaseException as err:  # noqa: BLE001 - a student's cell may raise anything, even SystemExit
            cell_errors.append({"cell": i, "error": f"{type(err).__name__}: {err}"[:500]})
    for test in data["tests"]:
        try:
            with contextlib.redirect_stdout(sink):
                exec(compile(_python(test["code"]), f"<{test['name']}>", "exec"), dict(namespace))
            tests.append({"passed": True, "message": ""})
        except BaseException as err:  # noqa: BLE001
            tb = traceback.format_exception_only(type(err), err)[-1].strip()
            tests.append({"passed": False, "message": tb[:500]})
    sys.stdout.write("@@DIFFCOMPARE-RESULTS@@" + json.dumps({"tests": tests, "cell_errors": cell_errors}))


if __name__ == "__main__":
    main()
