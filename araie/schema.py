"""The annotation schema as data: entity types, relation types and the pairs each relation admits.

Label lists are pure functions of the schema, never of the data, so a training set that lacks a
type cannot reorder label ids.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NO_RELATION = "NONE"
DEFAULT_SCHEMA_PATH = Path(__file__).resolve().parent.parent / "annotations" / "schema.json"


class SchemaError(ValueError):
    """A schema file that cannot be used, with the key at fault."""


@dataclass(frozen=True, slots=True)
class RelationType:
    name: str
    head: tuple[str, ...]
    tail: tuple[str, ...]
    symmetric: bool = False


@dataclass(frozen=True, slots=True)
class Schema:
    """Entity type names in order, and relation types with their argument constraints."""

    entity_types: tuple[str, ...]
    relation_types: tuple[RelationType, ...] = ()
    name: str = "araie"

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "schema") -> Schema:
        """Build a schema from the JSON layout of `annotations/schema.json`."""
        try:
            ents = tuple(_name(e) for e in data["entity_types"])
            rels = tuple(
                RelationType(_name(r), tuple(r["head"]), tuple(r["tail"]), bool(r.get("symmetric", False)))
                for r in data.get("relation_types", [])
            )
        except (KeyError, TypeError) as exc:
            raise SchemaError(f"{source}: missing or malformed key {exc}") from None
        schema = cls(ents, rels, str(data.get("name", "araie")))
        schema.check(source)
        return schema

    @classmethod
    def load(cls, path: str | os.PathLike = DEFAULT_SCHEMA_PATH) -> Schema:
        with open(path, encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh), str(path))

    def check(self, source: str = "schema") -> None:
        if not self.entity_types:
            raise SchemaError(f"{source}: entity_types is empty")
        for names, what in ((self.entity_types, "entity"), ([r.name for r in self.relation_types], "relation")):
            dup = {n for n in names if list(names).count(n) > 1}
            if dup:
                raise SchemaError(f"{source}: duplicate {what} type {sorted(dup)}")
        known = set(self.entity_types)
        for r in self.relation_types:
            for side in ("head", "tail"):
                bad = set(getattr(r, side)) - known
                if bad:
                    raise SchemaError(f"{source}: relation {r.name} {side} names unknown types {sorted(bad)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entity_types": [{"name": t} for t in self.entity_types],
            "relation_types": [
                {"name": r.name, "head": list(r.head), "tail": list(r.tail), "symmetric": r.symmetric}
                for r in self.relation_types
            ],
        }

    @property
    def relation_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.relation_types)

    def relation(self, name: str) -> RelationType | None:
        return next((r for r in self.relation_types if r.name == name), None)

    def allows(self, relation: str, head_type: str, tail_type: str) -> bool:
        """Whether `relation` may link a `head_type` entity to a `tail_type` one (either way if symmetric)."""
        r = self.relation(relation)
        if r is None:
            return False
        if head_type in r.head and tail_type in r.tail:
            return True
        return r.symmetric and tail_type in r.head and head_type in r.tail

    def pair_allowed(self, head_type: str, tail_type: str) -> bool:
        """Whether any relation admits this ordered pair of types (the candidate-pair filter)."""
        return any(self.allows(r.name, head_type, tail_type) for r in self.relation_types)


def _name(item: Any) -> str:
    return item if isinstance(item, str) else item["name"]


def bio_labels(schema: Schema) -> list[str]:
    """`O`, then `B-`/`I-` for each entity type in schema order."""
    return ["O", *(f"{p}-{t}" for t in schema.entity_types for p in "BI")]


def relation_labels(schema: Schema) -> list[str]:
    """`NONE`, then the relation types in schema order."""
    return [NO_RELATION, *schema.relation_names]
