"""`show_source`: a listing shows the docstring rendered (formulas typeset) and the code once."""

import inspect

from utils.notebook import docstring_markdown, split_docstring


def propagate(adjacency, embeddings, layers: int = 3):
    r"""One layer, written out.

    .. math::

        E^{(k+1)} = \hat A E^{(k)}

    The mean over layers, :math:`\frac{1}{K+1}`, of :class:`~utils.models.LightGCN` (``num_layers``).

    Args:
        adjacency: the normalised adjacency :math:`\hat A`.
        embeddings (Tensor): layer 0,
            one row per node.

    Run it::

        propagate(a, e)
    """
    return adjacency @ embeddings  # the code after the docstring


def test_the_docstring_leaves_the_code_and_the_code_is_whole():
    docstring, code = split_docstring(inspect.getsource(propagate))
    assert docstring.startswith("One layer, written out.")
    assert '"""' not in code and "E^{(k+1)}" not in code
    assert code.splitlines()[0].startswith("def propagate(") and "# the code after the docstring" in code


def test_rst_becomes_markdown_with_typeset_formulas():
    text = docstring_markdown(split_docstring(inspect.getsource(propagate))[0])
    assert "$$\nE^{(k+1)} = \\hat A E^{(k)}\n$$" in text
    assert "$\\frac{1}{K+1}$" in text and ":math:" not in text and ".. math" not in text
    assert "`LightGCN`" in text and "`num_layers`" in text and "``num_layers``" not in text
    assert "- `adjacency`: the normalised adjacency $\\hat A$." in text
    assert "- `embeddings` (Tensor): layer 0, one row per node." in text
    assert "Run it:\n\n```\npropagate(a, e)\n```" in text


def test_a_function_without_a_docstring_is_shown_whole():
    source = "def f(x):\n    return x + 1\n"
    assert split_docstring(source) == (None, source)
