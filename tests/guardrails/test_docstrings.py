import doctest
from types import ModuleType

import pytest

import pyagent_guardrails
from pyagent_guardrails import _chain, _length, _pii, _placeholders

MODULES = [pyagent_guardrails, _chain, _length, _pii, _placeholders]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    names = {name: getattr(pyagent_guardrails, name) for name in pyagent_guardrails.__all__}
    results = doctest.testmod(module, extraglobs=names, optionflags=doctest.ELLIPSIS)
    assert results.attempted > 0
    assert results.failed == 0
