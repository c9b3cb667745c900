"""A small immutable representation of GraphQL type references (`[String!]!`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql.language import ListTypeNode, NamedTypeNode, NonNullTypeNode, TypeNode


@dataclass(frozen=True)
class TypeRef:
    """`name` is set for named types; `inner` wraps the list / non-null target."""

    name: str | None = None
    inner: TypeRef | None = None
    is_list: bool = False
    non_null: bool = False

    @staticmethod
    def named(name: str) -> TypeRef:
        return TypeRef(name=name)

    @staticmethod
    def from_ast(node: TypeNode, renames: Mapping[str, str] | None = None) -> TypeRef:
        if isinstance(node, NonNullTypeNode):
            return TypeRef(inner=TypeRef.from_ast(node.type, renames), non_null=True)
        if isinstance(node, ListTypeNode):
            return TypeRef(inner=TypeRef.from_ast(node.type, renames), is_list=True)
        assert isinstance(node, NamedTypeNode)
        name = node.name.value
        return TypeRef(name=(renames or {}).get(name, name))

    @property
    def base(self) -> str:
        ref: TypeRef = self
        while ref.inner is not None:
            ref = ref.inner
        assert ref.name is not None
        return ref.name

    @property
    def nullable(self) -> TypeRef:
        """The type without its outermost non-null wrapper."""
        return self.inner if self.non_null and self.inner is not None else self

    @property
    def has_list(self) -> bool:
        ref: TypeRef | None = self
        while ref is not None:
            if ref.is_list:
                return True
            ref = ref.inner
        return False

    def with_base(self, name: str) -> TypeRef:
        if self.inner is None:
            return TypeRef(name=name)
        return TypeRef(inner=self.inner.with_base(name), is_list=self.is_list, non_null=self.non_null)

    def __str__(self) -> str:
        if self.non_null:
            return f"{self.inner}!"
        if self.is_list:
            return f"[{self.inner}]"
        return str(self.name)


def same_shape(a: TypeRef, b: TypeRef) -> bool:
    """Whether two refs have the same list/named structure, ignoring nullability and the base name."""
    a, b = a.nullable, b.nullable
    if a.is_list != b.is_list:
        return False
    if a.is_list:
        assert a.inner is not None and b.inner is not None
        return same_shape(a.inner, b.inner)
    return True


def merge_output(a: TypeRef, b: TypeRef, supertype: str) -> TypeRef:
    """The more general of two same-shaped output refs: nullable wins and the base becomes `supertype`."""
    if a.non_null and b.non_null:
        assert a.inner is not None and b.inner is not None
        return TypeRef(inner=merge_output(a.inner, b.inner, supertype), non_null=True)
    a, b = a.nullable, b.nullable
    if a.is_list:
        assert a.inner is not None and b.inner is not None
        return TypeRef(inner=merge_output(a.inner, b.inner, supertype), is_list=True)
    return TypeRef(name=supertype)


def merge_input(a: TypeRef, b: TypeRef) -> TypeRef:
    """The more specific of two same-shaped input refs: non-null wins."""
    if a.non_null or b.non_null:
        return TypeRef(inner=merge_input(a.nullable, b.nullable), non_null=True)
    if a.is_list:
        assert a.inner is not None and b.inner is not None
        return TypeRef(inner=merge_input(a.inner, b.inner), is_list=True)
    return a
