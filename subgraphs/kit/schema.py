"""Building a service's Federation 2 schema with the kit's error conventions."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import strawberry
from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from strawberry.extensions import AddValidationRules, MaskErrors, ParserCache, SchemaExtension
from strawberry.extensions.query_depth_limiter import create_validator
from strawberry.federation.schema import FederationAny
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.execution import ExecutionContext
from strawberry.types.info import Info

from subgraphs.kit.errors import AppError, should_mask_error
from subgraphs.kit.money import SCALARS
from subgraphs.kit.representations import resolve_checked

log = logging.getLogger(__name__)

MAX_QUERY_DEPTH = 15
# Parse and validation results are cached process-wide, keyed by the query text: the gateway sends
# the same few operation texts over and over.
DOCUMENT_CACHE_SIZE = 256
# Built once: the validation cache is keyed by the rules too, and QueryDepthLimiter makes a new rule
# class per instance, which made every request miss the cache.
DEPTH_LIMIT_RULE = create_validator(MAX_QUERY_DEPTH, None, None)


@lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def validate_cached(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...], hide: bool
) -> list[GraphQLError]:
    return validate(schema, document, (*rules, MaybeNullValidationRule, OneOfInputValidationRule),
                    hide_suggestions=hide)


class CachedValidation(SchemaExtension):
    """Strawberry's validation step, cached by document, without "Did you mean ...?" suggestions in
    production (graphql-core's `hide_suggestions`): they would map the schema for a stranger."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        settings = getattr(getattr(ctx.context, "runtime", None), "settings", None)
        hide = bool(getattr(settings, "production", False))
        assert ctx.graphql_document is not None
        rules = tuple(ctx.validation_rules)
        ctx.pre_execution_errors = validate_cached(ctx.schema._schema, ctx.graphql_document, rules, hide)
        yield


class ServiceSchema(strawberry.federation.Schema):
    """Logs only server-side failures: a client's mistake (an `AppError`, a validation error, a variable
    value its type refuses) is answered, not logged as an error with a traceback."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            original = error.original_error
            # Without a path, the request itself was refused (parsing, validation, variable values).
            if original is None or isinstance(original, AppError) or error.path is None:
                log.debug("client error: %s", error.message)
            else:
                log.error("error while resolving %s", error.path, exc_info=original)

    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        """Malformed representations get REPRESENTATION_INVALID at their index (kit.representations).
        Strawberry builds `_entities` from this method's annotations: keep them as its base's."""
        entity = self._schema.get_type("_Entity")
        names = {t.name for t in getattr(entity, "types", ())}
        return resolve_checked(super().entities_resolver, info, representations, names)


def federation_schema(
    *,
    query: type,
    mutation: type | None = None,
    subscription: type | None = None,
    types: Iterable[type] = (),
    extensions: Iterable[Any] = (),
) -> ServiceSchema:
    """A Federation 2 schema with the kit's scalars (`MinorUnits`), whose unexpected errors are masked
    (and logged), depth-limited, with parsing and validation cached."""
    return ServiceSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=list(types),
        config=StrawberryConfig(scalar_map=SCALARS),
        extensions=[
            lambda: MaskErrors(should_mask_error=should_mask_error, error_message="Internal server error"),
            lambda: AddValidationRules([DEPTH_LIMIT_RULE]),
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            CachedValidation,
            *extensions,
        ],
    )
