"""Course assignments in the minitorch style: one master, three versions, a grader.

A master assignment is a jupytext percent-format script (or a notebook) with

* tasks headed ``# Task N.M (k points)`` in markdown cells;
* solutions between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines (the
  student version gets ``raise NotImplementedError("Task N.M")`` in their place,
  at the marker's indentation);
* hidden tests: code cells whose first line is ``# HIDDEN TEST Task N.M (k points)``
  (removed from the student version, kept in the instructor version, written to
  the autograder file).

    python -m diffcompare.course generate notebooks/assignments/a1_dual_numbers.py --out build/
    python -m diffcompare.course grade submission.ipynb --tests build/autograder/a1_dual_numbers.tests.json

Grading runs the submission cell by cell in a fresh Python process (a cell that
raises does not stop the rest), then each hidden test; a test that passes earns
its points. The report is JSON and Markdown.
"""

from __future__ import annotations

from .assign import Assignment, HiddenTest, generate, load_master
from .grade import GradeReport, grade

__all__ = ["Assignment", "GradeReport", "HiddenTest", "generate", "grade", "load_master"]
