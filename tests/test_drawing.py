"""The drawn graph: layered layout (no edge through a box), local partials on edges, notebook width."""

import jax
import matplotlib
import numpy as np
import pytest

import diffcompare.numpy as dnp
from diffcompare.reverse import graph

matplotlib.use("Agg")


def example1(x):
    return dnp.sqrt(x**2 + dnp.exp(x**2)) + dnp.cos(x**2 + dnp.exp(x**2))


def fan_out(x):
    a = dnp.sin(x)
    b = a * x
    c = dnp.exp(b) + a  # a skips a column: its edge needs a waypoint
    return c * dnp.tanh(b) + x


@pytest.mark.parametrize("f", [example1, fan_out])
def test_edges_pass_between_boxes(f):
    g = graph.record(f, 0.7)
    pos, routes = graph.layout(g)
    assert set(routes) == set(g.edges())
    slots = {}
    for i, (x, y) in pos.items():
        assert (x, y) not in slots, "two boxes share a slot"
        slots[(x, y)] = i
    for (a, b), via in routes.items():
        # one waypoint per column strictly between the parent's and the child's column
        assert [x for x, _ in via] == list(np.arange(pos[a][0] + 1, pos[b][0]))
        for point in via:
            assert point not in slots, f"edge #{a} -> #{b} runs through box #{slots.get(point)}"


def test_table_lists_nodes_in_creation_order():
    g = graph.record(example1, 1.5)
    indices = [n.index for n in g.nodes]
    assert indices == sorted(indices)


def test_local_partials_are_the_edge_derivatives():
    g = graph.record(example1, 1.5)
    partials = graph.local_partials(g)
    by_index = {n.index: n for n in g.nodes}
    for (a, b), value in partials.items():
        node = by_index[b]
        if node.op == "power":
            assert value == pytest.approx(2 * 1.5)  # d(x**2)/dx
        elif node.op == "exp":
            assert value == pytest.approx(float(np.exp(2.25)))
        elif node.op == "sqrt":
            assert value == pytest.approx(0.5 / np.sqrt(float(by_index[a].value)))
        elif node.op == "cos":
            assert value == pytest.approx(-np.sin(float(by_index[a].value)))
        elif node.op == "add":
            assert value == 1.0
    # the adjoint of x is the sum over paths of the products of local partials
    assert float(g.adjoints[0]) == pytest.approx(float(jax.grad(example1)(1.5)), rel=1e-12)


def test_figure_fits_a_notebook():
    fig = graph.draw(graph.record(fan_out, 0.7))
    width, _ = fig.get_size_inches()
    assert width <= 9.0
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_expression_graph_draws_shared_nodes_once():
    from diffcompare import drawing
    from diffcompare import symbolic as S

    ex1 = S.parse("sqrt(x**2 + exp(x**2)) + cos(x**2 + exp(x**2))")
    nodes = drawing.expression_nodes([ex1])
    assert len(nodes) == len({id(n) for n in nodes})
    squares = [n for n in nodes if n.op == "power"]
    assert len(squares) == 1  # x**2 is one node with several users, drawn once
    pos, routes = drawing.layered_layout([id(n) for n in nodes],
                                         [(id(a), id(n)) for n in nodes for a in dict.fromkeys(n.args)])
    slots = set(pos.values())
    assert all(point not in slots for via in routes.values() for point in via)
    fig = drawing.draw_expression([ex1], title="Example 1")
    assert fig.get_size_inches()[0] <= 9.0
    import matplotlib.pyplot as plt

    plt.close(fig)
