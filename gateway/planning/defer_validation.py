"""Validation rules for @defer, as the incremental-delivery spec (graphql-js 17) words them:
labels are static and unique per document; no @defer on the root type of a mutation or a
subscription; a subscription may use @defer only with an `if` that can be false."""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    BooleanValueNode,
    DirectiveNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    ValidationContext,
    specified_rules,
)


class DeferLabelRule(ASTValidationRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.labels: dict[str, DirectiveNode] = {}

    def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
        if node.name.value != "defer":
            return
        label = next((a for a in node.arguments or () if a.name.value == "label"), None)
        if label is None:
            return
        if not isinstance(label.value, StringValueNode):
            self.report_error(GraphQLError('Directive "defer"\'s label argument must be a static string.', node))
            return
        first = self.labels.get(label.value.value)
        if first is not None:
            self.report_error(GraphQLError("Defer/Stream directive label argument must be unique.", [first, node]))
        else:
            self.labels[label.value.value] = node


class DeferOnRootFieldRule(ASTValidationRule):
    def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
        if node.name.value != "defer":
            return
        parent = self.context.get_parent_type()
        schema = self.context.schema
        if parent is None:
            return
        if parent is schema.mutation_type:
            self.report_error(
                GraphQLError(f'Defer directive cannot be used on root mutation type "{parent.name}".', node)
            )
        elif parent is schema.subscription_type:
            self.report_error(
                GraphQLError(f'Defer directive cannot be used on root subscription type "{parent.name}".', node)
            )


class DeferInSubscriptionRule(ASTValidationRule):
    """Within a subscription operation's own selections (fragments it spreads are not followed)."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.in_subscription = False

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        self.in_subscription = node.operation is OperationType.SUBSCRIPTION

    def leave_operation_definition(self, *_args: Any) -> None:
        self.in_subscription = False

    def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
        if not self.in_subscription or node.name.value != "defer":
            return
        condition = next((a for a in node.arguments or () if a.name.value == "if"), None)
        if condition is None or (isinstance(condition.value, BooleanValueNode) and condition.value.value):
            self.report_error(
                GraphQLError(
                    "Defer directive not supported on subscription operations. "
                    "Disable `@defer` by setting the `if` argument to `false`.",
                    node,
                )
            )


DEFER_RULES = (*specified_rules, DeferLabelRule, DeferOnRootFieldRule, DeferInSubscriptionRule)
