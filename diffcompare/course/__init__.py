"""Course assignments on otter-grader, graded where the student's code cannot reach the score.

A master assignment is an otter-assign notebook kept as a jupytext script
(``notebooks/assignments/*.py``): ``# BEGIN QUESTION`` / ``# BEGIN SOLUTION`` /
``# BEGIN TESTS`` raw cells, tests in otter's exception-based format written with
:mod:`diffcompare.course.testing` so that each runs both as a public check in the
student's notebook and as a hidden test in the grader.

    python -m diffcompare.course generate notebooks/assignments/a1_dual_numbers.py --out build/
    python -m diffcompare.course grade alice.ipynb --autograder build/autograder/a1_dual_numbers-autograder.zip
    python -m diffcompare.course grade-class submissions/ --autograder build/autograder/... --out grades/

What is ours and why (otter lacks it): the grader (:mod:`~diffcompare.course.grade`: the
student's cells in one process, hidden tests and references in another, data between
them, never a score), the shortcut guard (:mod:`~diffcompare.course.shortcuts`), the
failure messages (:mod:`~diffcompare.course.testing`) and the class gradebook without
Docker (:mod:`~diffcompare.course.gradebook`).
"""

from __future__ import annotations

from .assign import generate
from .grade import Autograder, GradeReport, grade, load_autograder
from .gradebook import grade_class

__all__ = ["Autograder", "GradeReport", "generate", "grade", "grade_class", "load_autograder"]
