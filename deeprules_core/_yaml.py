"""Safe YAML loading: no Python objects, no alias bombs, no huge files.

PyYAML's ``safe_load`` builds no Python objects, but an alias bomb (anchors that refer to
anchors, ``&a [*b, *b, ...]``) of a few hundred bytes expands to billions of values the
moment anything walks it. :func:`load_yaml` composes the node graph first, counts the
values it would expand to, and builds the Python objects only when that count is small.
"""

from __future__ import annotations

import yaml

from .errors import DeepRulesError, one_line

__all__ = ["load_yaml", "MAX_YAML_BYTES", "MAX_YAML_VALUES"]

#: a study file is a few hundred bytes; this is generous
MAX_YAML_BYTES = 1 << 20
#: values once every alias is expanded
MAX_YAML_VALUES = 100_000


def _expanded(
    node: yaml.Node, memo: dict[int, int], active: set[int], what: str, error: type[DeepRulesError]
) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise error(f"{what} refers to itself through a YAML alias (&name / *name). Remove the alias.")
    active.add(key)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _expanded(child, memo, active, what, error)
            if total > MAX_YAML_VALUES:
                break
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _expanded(k, memo, active, what, error) + _expanded(v, memo, active, what, error)
            if total > MAX_YAML_VALUES:
                break
    active.discard(key)
    memo[key] = total
    return total


def load_yaml(
    text: str, *, what: str = "The YAML file", error: type[DeepRulesError] = DeepRulesError
) -> object:
    """Parse YAML text safely; raise ``error`` with a plain one-line message.

    Examples
    --------
    >>> load_yaml("a: [1, 2]")
    {'a': [1, 2]}
    >>> bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\\n" + "".join(
    ...     f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\\n" for p, c in zip("abcde", "bcdef"))
    >>> load_yaml(bomb)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    deeprules_core.errors.DeepRulesError: The YAML file uses YAML aliases ...
    """
    if len(text) > MAX_YAML_BYTES:
        raise error(
            f"{what} is {len(text):,} characters long; a study file is a few hundred. Check that it is "
            "the right file."
        )
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        n = _expanded(node, {}, set(), what, error)
        if n > MAX_YAML_VALUES:
            raise error(
                f"{what} uses YAML aliases (&name / *name) that expand to more than {MAX_YAML_VALUES:,} "
                "values (an 'alias bomb'). Write the values out instead of using aliases."
            )
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{what} is not valid YAML{where}: {one_line(str(problem), 160)}.") from exc
    except RecursionError as exc:
        raise error(f"{what} is nested too deeply to be a study file.") from exc
    finally:
        if loader is not None:
            loader.dispose()
