"""The course's assignments graded as a teacher would: otter generates the versions, the grader scores them.

Per assignment: the instructor version gets full marks, the untouched student version zero (without
crashing), a half-done submission partial marks, a submission missing one task loses only that task's
points. Attacks on the grade (a forged result marker and an early exit, patched references, a patched
RNG, result files written ahead of time, forged replies) score zero; shortcuts through JAX or
diffcompare's engines are flagged by name; a class of eleven submissions, one hanging and one crashing
its process, grades into a gradebook with every row.

The three classes are graded once per test run, concurrently, by the command line (a notebook's process
costs seconds to start; xdist workers share the result).
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("otter")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("jupytext")

from diffcompare.course import generate  # noqa: E402
from diffcompare.course.assign import questions, read_master  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
MASTERS = {p.stem: p for p in sorted((ROOT / "notebooks" / "assignments").glob("a[0-9]_*.py"))}
TIMEOUT = 90  # seconds per submission in the graded classes (the hanging one uses all of it)

_SOLUTION = re.compile(r"^([ \t]*)# BEGIN SOLUTION\n.*?^[ \t]*# END SOLUTION\n?", re.M | re.S)
_HEADING = re.compile(r"^##\s*Task (\d+)\.(\d+)", re.M)


def _variant(instructor: Path, keep, extra_cells=(), replace=None):
    """The instructor notebook with the solutions of tasks not in ``keep`` replaced by ``...`` (otter's stub),
    ``replace`` ({task: source}) swapped in for whole solution cells, and ``extra_cells`` appended."""
    nb = nbformat.read(instructor, as_version=4)
    task = None
    for cell in nb.cells:
        if cell.cell_type == "markdown" and (m := _HEADING.search(cell.source)):
            task = f"task{m.group(1)}_{m.group(2)}"
        elif cell.cell_type == "code" and "# BEGIN SOLUTION" in cell.source:
            if replace and task in replace:
                cell.source = replace[task]
            elif task in keep:
                cell.source = re.sub(r"^[ \t]*# (BEGIN|END) SOLUTION\n?", "", cell.source, flags=re.M)
            else:
                cell.source = _SOLUTION.sub(lambda m: f"{m.group(1)}...\n", cell.source)
    nb.cells += [nbformat.v4.new_code_cell(src) for src in extra_cells]
    return nb


def _auto_tasks(name):
    return [q["name"] for q in questions(read_master(MASTERS[name])) if not q["manual"]]


ATTACKS = {
    # the forgery of the old grader: its result marker on stdout, then an exit before any test ran
    "attack_marker_exit": ['import json, os\nprint("@@DIFFCOMPARE-RESULTS@@" + json.dumps({"tests": [{"passed": True, '
                           '"message": ""}] * 20, "cell_errors": []}))\nos._exit(0)'],
    # every reference a test could take from the notebook's namespace, patched to agree with anything
    "attack_patched_references": [
        "import diffcompare, jax, numpy\n"
        "class _Pass:\n    passed = True\n    def raise_if_failed(self):\n        return self\n"
        "diffcompare.check = lambda *a, **k: _Pass()\n"
        "numpy.allclose = numpy.isclose = lambda *a, **k: True\n"
        "jax.grad = jax.jvp = jax.vjp = jax.jacfwd = lambda *a, **k: (lambda *b, **c: (1.0, 1.0))\n"
        "print = lambda *a, **k: None\n"
        "def dual_mul(p, q):\n    return 1.0, 1.0\n"
        "def dual_div(p, q):\n    return 1.0, 1.0\n"],
    # a RNG that gives zeros, with answers right only for zeros
    "attack_numpy_random": [
        "import numpy\n"
        "class _Zeros:\n    def normal(self, size=None, **k):\n        return numpy.zeros(size)\n"
        "numpy.random.default_rng = lambda *a, **k: _Zeros()\n"
        "numpy.random.normal = lambda *a, size=None, **k: numpy.zeros(size)\n"
        "def dual_mul(p, q):\n    return 0.0, 0.0\n"],
    # results files written ahead of time wherever a grader might look for them
    "attack_results_file": [
        "import json, os, pathlib\n"
        "fake = {'score': 10, 'total': 10, 'tests': [], 'tasks': {}}\n"
        "for p in ['results.json', 'results/results.json', '../results.json', os.environ.get('FAKE_REPORT', '')]:\n"
        "    if p:\n"
        "        pathlib.Path(p).parent.mkdir(parents=True, exist_ok=True)\n"
        "        pathlib.Path(p).write_text(json.dumps(fake))\n"],
    # the cell that gives 10/10 under `otter run`: otter's own checker, patched to pass every test case
    "attack_otter_checker": [
        "import dataclasses\nfrom otter.execute import Checker\n_orig = Checker.get_results.__func__\n"
        "def _forged(cls):\n    res = _orig(cls)\n    for tf in res:\n"
        "        tf.test_case_results = [dataclasses.replace(r, passed=True) for r in tf.test_case_results]\n"
        "    return res\nChecker.get_results = classmethod(_forged)\n"],
    # replies forged onto every open descriptor (the grader's reply pipe among them)
    "attack_forged_replies": [
        "import json, os\n"
        "for fd in range(3, 256):\n"
        "    try:\n"
        "        os.write(fd, (json.dumps({'value': {'__tuple__': [1.0, 1.0]}, 'ok': True}) + '\\n').encode())\n"
        "    except OSError:\n"
        "        pass\n"],
}

CELL_ERROR = "y = 1\nundefined_name + y"  # the last cell of a1's half-done submission raises

SHORTCUTS = {  # a2 answers that differentiate with JAX or diffcompare instead of writing the rule
    "task2_1": "def linear_vjp(W, x, u):\n    return jax.vjp(lambda W, x: W @ x, W, x)[1](u)\n",
    "task2_2": "from diffcompare.reverse import vjp as pullback\n\n\ndef relu_vjp(x, u):\n"
               "    return pullback(dnp.relu, x)[1](u)[0]\n",
}


def _classes(built, folder: Path) -> dict[str, dict[str, tuple]]:
    """Write each class's submissions: ``{assignment: {student: (notebook, expected {task: points})}}``."""
    classes = {}
    for name, paths in built.items():
        tasks = _auto_tasks(name)
        points = {q["name"]: q["points"] for q in questions(read_master(MASTERS[name])) if not q["manual"]}
        instructor = paths["instructor"]
        missing = "task3_2" if name.startswith("a3") else tasks[0] if name.startswith("a2") else tasks[2]
        subs = {
            "instructor": (nbformat.read(instructor, as_version=4), set(tasks)),
            "student": (nbformat.read(paths["student"], as_version=4), set()),
            "half": (_variant(instructor, tasks[:2], extra_cells=[CELL_ERROR] if name.startswith("a1") else ()),
                     set(tasks[:2])),
            f"missing_{missing}": (_variant(instructor, set(tasks) - {missing}), set(tasks) - {missing}),
        }
        if name.startswith("a1"):
            student = paths["student"]
            for attack, cells in ATTACKS.items():
                nb = nbformat.read(student, as_version=4)
                nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
                subs[attack] = (nb, set())
            hang, crash = nbformat.read(student, as_version=4), nbformat.read(student, as_version=4)
            hang.cells.insert(3, nbformat.v4.new_code_cell("import time\nwhile True:\n    time.sleep(1)"))
            crash.cells.insert(3, nbformat.v4.new_code_cell("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)"))
            subs["hangs"], subs["crashes"] = (hang, set()), (crash, set())
            # a forker that outlives its kernel to rewrite the reports, a saboteur that overwrites a classmate's
            # notebook, a copier that runs a classmate's answers: none of those paths exists in its sandbox
            target, out = folder / name, folder.parent / "grades" / name
            forker = ("import os, time, pathlib\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                      f"        time.sleep(20)\n        for p in pathlib.Path({str(out)!r}).glob('*'):\n"
                      "            p.write_text('forged')\n    os._exit(0)\n")
            classmate = str(target / "instructor.ipynb")
            saboteur = f"import pathlib\npathlib.Path({classmate!r}).write_text('{{}}')\n"
            copier = (f"import json\nnb = json.load(open({classmate!r}))\nfor c in nb['cells']:\n"
                      "    if c['cell_type'] == 'code':\n        exec(''.join(c['source']))\n")
            for who, cell in (("forker", forker), ("saboteur", saboteur), ("copier", copier)):
                nb = nbformat.read(student, as_version=4)
                nb.cells.append(nbformat.v4.new_code_cell(cell))
                subs[who] = (nb, set())
            # the process exits inside Task 1.3's hidden test: what was graded before it stands, the rest is 0
            exits = {"task1_3": "@fwd.custom_jvp\ndef hypot(x, y):\n    return dnp.sqrt(x**2 + y**2)\n\n\n"
                                "@hypot.defjvp\ndef hypot_jvp(primals, tangents):\n    import os\n    os._exit(0)\n"}
            subs["exits_during_tests"] = (_variant(instructor, tasks, replace=exits), {"task1_1", "task1_2"})
        if name.startswith("a2"):
            subs["shortcuts"] = (_variant(instructor, tasks, replace=SHORTCUTS), set(tasks) - set(SHORTCUTS))
            # a cell that tries to put jax.vjp's code back (refused in the sandbox), then a shortcut through it
            tamper = ("try:\n    jax.vjp.__code__ = (lambda *a, **k: None).__code__\nexcept Exception:\n    pass\n"
                      + SHORTCUTS["task2_1"])
            subs["tampers"] = (_variant(instructor, tasks, extra_cells=[tamper]), set(tasks) - {"task2_1"})
        target = folder / name
        target.mkdir(parents=True)
        classes[name] = {}
        for student, (nb, right) in subs.items():
            nbformat.write(nb, target / f"{student}.ipynb")
            classes[name][student] = {t: (points[t] if t in right else 0.0) for t in tasks}
    return classes


def _grade_everything(root: Path) -> dict:
    """Generate every assignment with otter, then grade the three classes concurrently from the command line."""
    built = {name: generate(master, root / "build" / name) for name, master in MASTERS.items()}
    classes = _classes(built, root / "submissions")
    runs, started = {}, time.monotonic()
    for name in classes:
        out = root / "grades" / name
        cmd = [sys.executable, "-m", "diffcompare.course", "grade-class", str(root / "submissions" / name),
               "--autograder", str(built[name]["autograder"]), "--out", str(out), "--timeout", str(TIMEOUT),
               "--jobs", "2" if name.startswith("a1") else "1"]  # few processes at once: each holds JAX
        env_report = {"FAKE_REPORT": str(out / "attack_results_file.json")}
        runs[name] = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      env={**os.environ, **env_report})
    for proc in runs.values():
        log, _ = proc.communicate(timeout=900)
        assert proc.returncode == 0, log[-4000:]
    return {"built": {n: {k: str(p) for k, p in paths.items()} for n, paths in built.items()},
            "expected": classes, "seconds": time.monotonic() - started}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Everything graded once per test run: under xdist the workers share one folder, the first grades."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "course-graded"
    root.mkdir(exist_ok=True)
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "done.json").exists():
            (root / "done.json").write_text(json.dumps(_grade_everything(root)))
    done = json.loads((root / "done.json").read_text())
    results = {}
    for name, expected in done["expected"].items():
        out = root / "grades" / name
        with (out / "gradebook.csv").open() as f:
            rows = {r["student"]: r for r in csv.DictReader(f)}
        reports = {s: json.loads((out / f"{s}.json").read_text()) for s in rows}
        results[name] = {"rows": rows, "reports": reports, "out": out, "expected": expected}
    built = {n: {k: Path(p) for k, p in paths.items()} for n, paths in done["built"].items()}
    return {"built": built, "results": results, "seconds": done["seconds"]}


def _check_scores(result, students):
    for student in students:
        report, expected = result["reports"][student], result["expected"][student]
        earned = {t["question"]: 0.0 for t in report["tests"]}
        for t in report["tests"]:
            earned[t["question"]] += t["earned"]
        assert earned == expected, (student, (result["out"] / f"{student}.md").read_text())
        assert float(result["rows"][student]["total"]) == sum(expected.values())


@pytest.mark.parametrize("name", sorted(MASTERS))
def test_full_zero_partial_and_independent_tasks(graded, name):
    """Instructor full marks, untouched student zero, half done partial, one task missing loses only it."""
    result = graded["results"][name]
    _check_scores(result, [s for s in result["expected"] if s in ("instructor", "student", "half")
                           or s.startswith("missing_")])
    total = sum(result["expected"]["instructor"].values())
    assert 0 < float(result["rows"]["half"]["total"]) < total
    assert result["reports"]["student"]["process"] == "ran every cell and every test"


def test_student_version_hides_solutions_hidden_tests_and_the_model_answer(graded):
    for name, paths in graded["built"].items():
        student, instructor = paths["student"].read_text(), paths["instructor"].read_text()
        assert "BEGIN SOLUTION" not in student and "hidden=True" not in student
        assert "BEGIN SOLUTION" in instructor
        assert 'grader.check(\\"task' in student  # one call runs a task's public tests
        import zipfile

        with zipfile.ZipFile(paths["autograder"]) as zf:
            tests = [zf.read(n).decode() for n in zf.namelist() if n.startswith("tests/")]
        assert len(tests) == len(_auto_tasks(name))
        for source in tests:  # every task: a public test (no points) and hidden tests (the points)
            assert "hidden=False" in source and "hidden=True" in source
    a3 = graded["built"]["a3_fd_steps"]
    assert "Model answer" not in a3["student"].read_text() and "Rubric" not in a3["student"].read_text()
    assert "Model answer" in a3["instructor"].read_text() and "Rubric" in a3["instructor"].read_text()
    manifest = json.loads(a3["tasks"].read_text())
    assert [q["manual"] for q in manifest["questions"]].count(True) == 1


def test_written_answer_is_a_manual_column(graded):
    result = graded["results"]["a3_fd_steps"]
    assert result["rows"]["instructor"]["Task 3.4 (written)"] == ""  # left for the teacher
    assert "graded by hand" in (result["out"] / "instructor.md").read_text()


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attacks_on_the_grade_score_zero(graded, attack):
    result = graded["results"]["a1_dual_numbers"]
    _check_scores(result, [attack])
    assert result["reports"][attack]["score"] == 0
    if attack == "attack_marker_exit":
        assert "ended" in result["reports"][attack]["process"]


def test_shortcuts_are_flagged_by_name(graded):
    result = graded["results"]["a2_vjp_rules"]
    _check_scores(result, ["shortcuts"])
    report = (result["out"] / "shortcuts.md").read_text()
    assert "Task 2.1 uses jax.vjp (in `linear_vjp`), which this task asks you to write yourself" in report
    assert "Task 2.2 uses diffcompare.reverse.vjp (in `relu_vjp`)" in report


def test_a_notebook_that_tries_to_switch_the_guard_off_still_hits_it(graded):
    result = graded["results"]["a2_vjp_rules"]
    _check_scores(result, ["tampers"])
    assert "Task 2.1 uses jax.vjp (in `linear_vjp`)" in (result["out"] / "tampers.md").read_text()


def test_a_class_with_a_hanging_and_a_crashing_submission(graded):
    result = graded["results"]["a1_dual_numbers"]
    rows = result["rows"]
    assert len(rows) >= 10 and set(rows) == set(result["expected"])
    assert list(next(iter(rows.values())))[:6] == ["student", "Task 1.1", "Task 1.2", "Task 1.3", "Task 1.4", "total"]
    assert "time limit" in rows["hangs"]["process"] and float(rows["hangs"]["total"]) == 0
    assert "ended" in rows["crashes"]["process"] and float(rows["crashes"]["total"]) == 0
    assert float(rows["instructor"]["total"]) == 10  # graded in the same run, unharmed
    _check_scores(result, ["forker", "saboteur", "copier"])
    notebook = result["out"].parents[1] / "submissions" / "a1_dual_numbers" / "instructor.ipynb"
    built = nbformat.read(graded["built"]["a1_dual_numbers"]["instructor"], as_version=4)
    assert nbformat.read(notebook, as_version=4).cells == built.cells  # the saboteur's target, intact
    assert (result["out"] / "gradebook.csv").read_text().startswith("student,")  # the forker wrote nothing of ours
    assert all(json.loads((result["out"] / f"{s}.json").read_text()) for s in rows)
    _check_scores(result, ["exits_during_tests"])
    assert "during Task 1.3's test" in rows["exits_during_tests"]["process"]
    for student in rows:
        assert (result["out"] / f"{student}.md").exists() and (result["out"] / f"{student}.log").exists()
    assert graded["seconds"] < 600


def test_feedback_names_input_expected_got_and_the_first_wrong_entry(graded):
    result = graded["results"]["a1_dual_numbers"]
    report = (result["out"] / "half.md").read_text()
    assert "hidden test `test_hypot_rule_against_jax`" in report
    # a patched submission's answers (1.0, 1.0) against the matrix form, in full, with no timings
    patched = (result["out"] / "attack_patched_references.md").read_text()
    assert "dual_mul((x, xd), (y, yd)) returned a wrong value." in patched
    hidden = patched.split("hidden test `test_product_against_the_matrix_form`")[1].split("###")[0]
    assert "first wrong entry [0]: got 1.0" in hidden and "  got:      (1.0, 1.0)" in hidden
    assert "expected" not in hidden  # a hidden test does not give its expected values away
    assert "  expected: (6.0, 2.0)" in patched  # a public test does
    assert "  x = " in patched and re.search(r"\d+(\.\d+)? s\b", patched) is None
    # a cell that raised, by the notebook's own cell number (counting markdown cells), with its traceback
    cells = len(nbformat.read(graded["results"]["a1_dual_numbers"]["out"].parents[1] / "submissions" /
                              "a1_dual_numbers" / "half.ipynb", as_version=4).cells)
    assert f"### Notebook cell {cells}\n" in report and "NameError: name 'undefined_name' is not defined" in report
    assert "undefined_name + y" in report


def test_grade_one_submission_from_the_command_line(graded, tmp_path):
    paths = graded["built"]["a1_dual_numbers"]
    out = subprocess.run([sys.executable, "-m", "diffcompare.course", "grade", str(paths["instructor"]),
                          "--autograder", str(paths["autograder"]), "--report", str(tmp_path / "r.json"),
                          "--timeout", "120"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 10
    assert "**Score: 10 / 10**" in out.stdout
