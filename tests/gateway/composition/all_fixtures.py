"""Every fixture set, by outcome: those that compose and those that fail (the error fixtures)."""

from __future__ import annotations

from gateway.composition import SubgraphSource

from .fixtures import ERROR_FIXTURES, FIXTURES
from .fixtures_custom_directives import CUSTOM_DIRECTIVE_ERROR_FIXTURES, CUSTOM_DIRECTIVE_FIXTURES
from .fixtures_inaccessible import INACCESSIBLE_ERROR_FIXTURES, INACCESSIBLE_FIXTURES
from .fixtures_parity import PARITY_ERROR_FIXTURES, PARITY_FIXTURES
from .fixtures_paths import PATH_ERROR_FIXTURES, PATH_FIXTURES
from .fixtures_rules import RULE_ERROR_FIXTURES, RULE_FIXTURES
from .fixtures_validation import VALIDATION_ERROR_FIXTURES, VALIDATION_FIXTURES

SUPERGRAPH_SETS: dict[str, list[SubgraphSource]] = {
    **FIXTURES,
    **PARITY_FIXTURES,
    **RULE_FIXTURES,
    **PATH_FIXTURES,
    **CUSTOM_DIRECTIVE_FIXTURES,
    **VALIDATION_FIXTURES,
    **INACCESSIBLE_FIXTURES,
}
ERROR_SETS: dict[str, list[SubgraphSource]] = {
    **ERROR_FIXTURES,
    **PARITY_ERROR_FIXTURES,
    **RULE_ERROR_FIXTURES,
    **PATH_ERROR_FIXTURES,
    **CUSTOM_DIRECTIVE_ERROR_FIXTURES,
    **VALIDATION_ERROR_FIXTURES,
    **INACCESSIBLE_ERROR_FIXTURES,
}
