"""State machines as data: each aggregate declares its actions once (API.md §9)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from worksible_api.errors import InvalidState


class HasStatus(Protocol):
    status: str


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str


class StateMachine:
    def __init__(self, object_name: str, transitions: Mapping[str, Transition]) -> None:
        self.object_name = object_name
        self.transitions = transitions

    def check(self, subject: HasStatus, action: str) -> Transition:
        """The transition `action` takes from the subject's status; 409 `invalid_state` if none."""
        transition = self.transitions[action]
        if subject.status not in transition.sources:
            raise InvalidState(
                f"Cannot {action} this {self.object_name}: it is {subject.status}.",
                current_status=subject.status,
            )
        return transition

    def apply(self, subject: HasStatus, action: str) -> None:
        subject.status = self.check(subject, action).target


def transition(*sources: str, to: str) -> Transition:
    return Transition(frozenset(sources), to)
