"""The access requirements a supergraph declares, by type (`Type`) and field (`Type.field`).

Read as the authenticated/v0.1, requiresScopes/v0.1 and policy/v0.1 specs place them: on fields,
objects, interfaces, scalars and enums. A name the supergraph's `@link(as:)` renamed is followed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ListValueNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    StringValueNode,
    ValueNode,
)

from authn.tokens import Claims

from ..supergraph.links import collect_links, find_feature

Clauses = tuple[frozenset[str], ...]  # OR of ANDs
PolicyCheck = Callable[[str, "Claims | None"], bool]


@dataclass(frozen=True, slots=True)
class Requirement:
    """What one schema element demands of the request's identity."""

    authenticated: bool = False
    scopes: Clauses | None = None
    policies: Clauses | None = None

    def satisfied(self, claims: Claims | None, policy: PolicyCheck) -> bool:
        if claims is None and (self.authenticated or self.scopes is not None):
            return False
        if self.scopes is not None:
            assert claims is not None
            if not any(clause <= claims.scopes for clause in self.scopes):
                return False
        if self.policies is not None:
            return any(all(policy(name, claims) for name in sorted(clause)) for clause in self.policies)
        return True


@dataclass(slots=True)
class AuthorizationModel:
    types: dict[str, Requirement] = field(default_factory=dict)
    fields: dict[str, Requirement] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.types or self.fields)

    def type_requirement(self, name: str) -> Requirement | None:
        return self.types.get(name)

    def field_requirement(self, type_name: str, field_name: str) -> Requirement | None:
        return self.fields.get(f"{type_name}.{field_name}")

    @classmethod
    def from_document(cls, document: DocumentNode) -> AuthorizationModel:
        names = _DirectiveNames.resolve(document)
        model = cls()
        for definition in document.definitions:
            if not isinstance(
                definition,
                ObjectTypeDefinitionNode
                | InterfaceTypeDefinitionNode
                | ScalarTypeDefinitionNode
                | EnumTypeDefinitionNode,
            ):
                continue
            type_name = definition.name.value
            requirement = names.requirement(definition.directives)
            if requirement is not None:
                model.types[type_name] = requirement
            if isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
                for field_node in definition.fields or ():
                    requirement = names.requirement(field_node.directives)
                    if requirement is not None:
                        model.fields[f"{type_name}.{field_node.name.value}"] = requirement
        return model


@dataclass(frozen=True, slots=True)
class _DirectiveNames:
    authenticated: str
    requires_scopes: str
    policy: str

    @classmethod
    def resolve(cls, document: DocumentNode) -> _DirectiveNames:
        features = collect_links(document)

        def local(spec: str) -> str:
            feature = find_feature(features, spec)
            return feature.directive(spec) if feature else spec

        return cls(local("authenticated"), local("requiresScopes"), local("policy"))

    def requirement(self, directives: Iterable[DirectiveNode] | None) -> Requirement | None:
        authenticated = False
        scopes: Clauses | None = None
        policies: Clauses | None = None
        for directive in directives or ():
            name = directive.name.value
            if name == self.authenticated:
                authenticated = True
            elif name == self.requires_scopes:
                scopes = _clauses(directive, "scopes")
            elif name == self.policy:
                policies = _clauses(directive, "policies")
        if not authenticated and scopes is None and policies is None:
            return None
        return Requirement(authenticated, scopes, policies)


def _clauses(directive: DirectiveNode, argument: str) -> Clauses:
    value: ValueNode | None = next((a.value for a in directive.arguments or () if a.name.value == argument), None)
    if not isinstance(value, ListValueNode):
        return ()
    out: list[frozenset[str]] = []
    for item in value.values:
        items = item.values if isinstance(item, ListValueNode) else (item,)
        out.append(frozenset(v.value for v in items if isinstance(v, StringValueNode)))
    return tuple(out)
