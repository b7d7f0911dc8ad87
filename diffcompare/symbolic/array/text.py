"""Printing array expressions in matrix notation: ``A + Aᵀ``, ``u xᵀ``, ``Xᵀ diag(s) X`` (text and LaTeX),
and the lines a course writes (``δ₂ = ...``, ``∂L/∂W1 = ...``). Reads nodes only through their attributes,
so it sits below :mod:`.nodes`, whose nodes print themselves with it.
"""

from __future__ import annotations

from ..graph import topological, use_counts
from ..text import LATEX, latex_name


def scalar_value(n):
    """The number ``n`` stands for, if it is a (reshaped or broadcast) scalar constant, else None."""
    while n.op in ("reshape", "broadcast_to"):
        n = n.args[0]
    return float(n.value) if n.op == "const" and n.shape == () else None


def is_number(n, number: float) -> bool:
    """Whether ``n`` is the scalar ``number`` (possibly reshaped or broadcast)."""
    return scalar_value(n) == number


def _name(n, latex: bool) -> str:
    if n.op == "var":
        return n.value
    return "I" if n.op == "eye" else ("c" if n.shape else (str(float(n.value)).rstrip("0").rstrip(".") or "0"))


_TEXT_INFIX = {"add": (" + ", 1), "subtract": (" - ", 1), "multiply": (" ⊙ ", 2), "divide": (" / ", 2),
               "matmul": (" ", 2)}
_LATEX_INFIX = {"add": (" + ", 1), "subtract": (" - ", 1), "multiply": (r" \odot ", 2), "divide": (r" \oslash ", 2),
                "matmul": (" ", 2)}


def _diag_scaling(n):
    """``(s, M)`` when ``n`` is ``s[:, None] * M`` (a 1-d ``s`` scaling the rows of a matrix ``M``),
    which reads ``diag(s) M``; else None."""
    if n.op != "multiply" or n.ndim != 2:
        return None
    for col, m in (n.args, reversed(n.args)):
        if (col.op == "reshape" and col.args[0].ndim == 1 and col.shape == (n.shape[0], 1)
                and m.shape == n.shape):
            return col.args[0], m
    return None


def _derivative_of(n):
    """The ``z`` of ``1 - tanh(z) ⊙ tanh(z)``, which reads ``tanh′(z)``; else None."""
    if n.op == "subtract" and is_number(n.args[0], 1.0) and n.args[1].op == "multiply":
        t, t2 = n.args[1].args
        if t is t2 and t.op == "tanh":
            return t.args[0]
    return None


def _is_product(n) -> bool:
    # a matrix product reads the same however it is grouped: Xᵀ diag(s) X needs no parentheses
    return n.op == "matmul" or _diag_scaling(n) is not None


def _render(roots, latex: bool, names: dict | None = None) -> list[str]:
    names = names or {}
    shown: dict[int, tuple[str, int]] = {}

    def wrap(item, need):
        text, prec = item
        return text if prec >= need else (rf"\left({text}\right)" if latex else f"({text})")

    for n in topological(roots):
        if n.serial in names:
            shown[n.serial] = (names[n.serial], 9)
            continue
        args = [shown[a.serial] for a in n.args]
        op = n.op
        scaling, inner = _diag_scaling(n), _derivative_of(n)
        if op in ("var", "const", "eye"):
            text = _name(n, latex)
            out = ((latex_name(text) if latex and op == "var" else text), 9 if not text.startswith("-") else 0)
        elif scaling is not None:
            s_, m = (shown[x.serial] for x in scaling)
            body = rf"\operatorname{{diag}}\left({s_[0]}\right)" if latex else f"diag({s_[0]})"
            out = (body + " " + wrap(m, 2 if _is_product(scaling[1]) else 3), 2)
        elif inner is not None:
            z = shown[inner.serial][0]
            out = (rf"\tanh'\left({z}\right)" if latex else f"tanh′({z})", 9)
        elif op in _TEXT_INFIX and len(args) == 2:
            symbol, prec = (_LATEX_INFIX if latex else _TEXT_INFIX)[op]
            right = prec if op == "matmul" and _is_product(n.args[1]) else prec + 1
            out = (wrap(args[0], prec) + symbol + wrap(args[1], right), prec)
        elif op == "power":
            out = (wrap(args[0], 9) + (f"^{{{args[1][0]}}}" if latex else f"**{wrap(args[1], 9)}"), 5)
        elif op == "negative":
            out = ("-" + wrap(args[0], 3), 2)
        elif op == "transpose" and n.ndim == 2:
            out = (wrap(args[0], 9) + (r"^\top" if latex else "ᵀ"), 8)
        elif op == "outer":
            out = (wrap(args[0], 9) + " " + wrap(args[1], 9) + (r"^\top" if latex else "ᵀ"), 3)
        elif op == "diag":
            body = args[0][0]
            out = ((rf"\operatorname{{diag}}\left({body}\right)" if latex else f"diag({body})"), 9)
        elif op in ("reshape", "broadcast_to") and scalar_value(n) is not None:
            out = args[0]  # a scalar's reshaping is invisible
        elif op == "getitem":
            out = (wrap(args[0], 9) + f"[{_index_text(n.params[0])}]", 9)
        elif op == "scatter":  # zeros with g at the index
            out = (f"scatter({args[0][0]}, [{_index_text(n.params[0])}], {n.shape})", 9)
        elif op in ("max", "min") and latex:
            out = (rf"\{op}_{{" + ",".join(map(str, n.params[0])) + r"} " + wrap(args[0], 9), 4)
        elif op in ("reshape", "broadcast_to", "sum", "max", "min") and not latex:
            out = (f"{op}({args[0][0]}, {n.params[0]})", 9)
        elif op == "sum":
            out = (r"\sum_{" + ",".join(map(str, n.params[0])) + r"} " + wrap(args[0], 9), 4)
        elif op in ("reshape", "broadcast_to"):
            out = args[0]  # shape bookkeeping is invisible in formulas
        elif op in ("gt", "ge", "eq"):
            symbol = {"gt": ">", "ge": r"\geq" if latex else ">=", "eq": "="}[op]
            out = ((rf"\left[{args[0][0]} {symbol} {args[1][0]}\right]" if latex
                    else f"[{args[0][0]} {symbol} {args[1][0]}]"), 9)
        elif op == "select" and latex:
            c, a, b = (x[0] for x in args)
            out = (rf"\begin{{cases}} {a} & {c} \\ {b} & \text{{otherwise}} \end{{cases}}", 9)
        elif latex:
            head = LATEX.get(op, rf"\operatorname{{{op}}}")
            body = ", ".join(a for a, _ in args)
            out = (head % body if "%s" in head else rf"{head}\left({body}\right)", 9)
        else:
            out = (f"{'where' if op == 'select' else op}({', '.join(a for a, _ in args)})", 9)
        shown[n.serial] = out
    return [shown[r.serial][0] for r in roots]


def _index_text(key) -> str:
    def one(item):
        if item is None:
            return "None"
        if isinstance(item, tuple):
            start, stop, step = ("" if v is None else str(v) for v in item[1:])
            return f"{start}:{stop}" + (f":{step}" if step else "")
        return str(item)

    while key and key[-1] == ("slice", None, None, None):  # trailing full slices go without saying
        key = key[:-1]
    return ", ".join(map(one, key)) or "..."


def to_text(n, names: dict | None = None) -> str:
    """A formula with matrix notation: ``A + Aᵀ``, ``u xᵀ``, ``Xᵀ diag(s) X`` (``names``: serial ->
    the name a subexpression is printed as)."""
    return _render([n], False, names)[0]


def to_latex(n, names: dict | None = None) -> str:
    return _render([n], True, names)[0]


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def shared_names(roots, errors=()) -> dict:
    """serial -> name for the subexpressions worth naming when ``roots`` are printed together:
    ``errors`` (``(k, node)`` pairs: the backpropagated error of layer k) used by two formulas or twice
    are δₖ, a sigmoid used twice is σ (σ₁, σ₂, ... when several)."""
    order = topological(list(roots))
    uses = use_counts(order, roots)
    reach = {r.serial: {n.serial for n in topological([r])} for r in roots}
    names = {}
    for k, e in errors:
        if e.args and (uses.get(e.serial, 0) >= 2 or sum(e.serial in seen for seen in reach.values()) >= 2):
            names[e.serial] = f"δ{str(k).translate(_SUBSCRIPTS)}"
    sigmoids = [n for n in order if n.op == "sigmoid" and uses[n.serial] >= 2 and n.serial not in names]
    for i, n in enumerate(sigmoids, 1):
        names[n.serial] = "σ" if len(sigmoids) == 1 else f"σ{str(i).translate(_SUBSCRIPTS)}"
    return names


def equations(labelled, names: dict, latex: bool = False) -> list[str]:
    """``name = formula`` lines: first each named subexpression (in the order they are computed),
    then each ``(label, node)`` of ``labelled``, all printed with ``names``."""
    roots = [node for _, node in labelled]
    names = {k: _latex_symbol(v) if latex else v for k, v in names.items()}
    lines = []
    for n in topological(roots):
        if n.serial in names:
            body = _render([n], latex, {k: v for k, v in names.items() if k != n.serial})[0]
            lines.append(f"{names[n.serial]} = {body}")
    for label, text in zip((label for label, _ in labelled), _render(roots, latex, names)):
        lines.append(f"{label} = {text}")
    return lines


def _latex_symbol(name: str) -> str:
    base = {"δ": r"\delta", "σ": r"\sigma"}[name[0]]
    digits = name[1:].translate({ord(c): str(i) for i, c in enumerate("₀₁₂₃₄₅₆₇₈₉")})
    return f"{base}_{{{digits}}}" if digits else base
