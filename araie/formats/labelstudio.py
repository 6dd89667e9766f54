"""Label Studio JSON: a list of tasks, for a `<Labels name="label" toName="text">` + `<Relations>` project.

One task per document::

    {"data": {"text": "...", "id": "000_demo"}, "meta": {...},
     "annotations": [{"result": [
        {"id": "T1", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 4, "end": 16, "text": "الجيش السوري", "labels": ["ORG"]}},
        {"id": "R1", "from_id": "T1", "to_id": "T7", "type": "relation", "direction": "right",
         "labels": ["CONTROLS"]}]}]}

A document with scores (a prediction) goes to `predictions` instead, each result with its `score`
and the prediction with the lowest of them, which Label Studio uses to sort tasks by confidence.
Record metadata goes to the task's `meta`, which Label Studio keeps. Offsets are code points, as
Label Studio has exported them since its emoji fix, so no UTF-16 conversion is done.

The reader takes the one annotation that was not cancelled (several are refused: a second
annotator's work would vanish), else the first prediction; result ids
become entity ids (and relation ids where present, else `R<n>`). Direction `left` swaps head and
tail. A relation without a label or to a missing result, a label result with several labels, or a
`value.text` that does not match the text at its offsets is refused; reading goes on, and one
FormatError names every problem, each with its task.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from araie.formats import FormatError, refuse
from araie.formats.registry import register
from araie.records import Document, Entity, Relation


def _with_score(result: dict[str, Any], score: float | None) -> dict[str, Any]:
    if score is not None:
        result["score"] = round(score, 4)
    return result


def to_task(doc: Document) -> dict[str, Any]:
    """One Label Studio task for a document; scored documents become predictions."""
    results: list[dict[str, Any]] = []
    for e in doc.entities:
        if doc.text[e.start:e.end] != e.text:
            raise FormatError(f"record {doc.id}: entity {e.id} offsets {e.start}:{e.end} do not match {e.text!r}")
        value = {"start": e.start, "end": e.end, "text": e.text, "labels": [e.type]}
        results.append(_with_score({"id": e.id, "from_name": "label", "to_name": "text", "type": "labels",
                                    "value": value}, e.score))
    for r in doc.relations:
        # Label Studio relation results carry no id of their own; an extra `id` is kept on import.
        results.append(_with_score({"id": r.id, "from_id": r.head, "to_id": r.tail, "type": "relation",
                                    "direction": "right", "labels": [r.type]}, r.score))
    task: dict[str, Any] = {"data": {"text": doc.text, "id": doc.id}}
    if "error" in doc.meta:  # a record predict could not use: Label Studio shows `data`, so say it there
        task["data"]["error"] = doc.meta["error"]
    if doc.meta:
        task["meta"] = doc.meta
    scores = [x.score for x in (*doc.entities, *doc.relations) if x.score is not None]
    if scores:
        task["predictions"] = [{"model_version": "araie", "score": round(min(scores), 4), "result": results}]
    else:
        task["annotations"] = [{"result": results}]
    return task


def write_labelstudio(docs: Iterable[Document], path: str | os.PathLike) -> int:
    """Write documents as one Label Studio JSON list of tasks; return how many."""
    tasks = [to_task(doc) for doc in docs]
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(tasks, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    return len(tasks)


def _results(task: dict[str, Any], where: str) -> list[Any]:
    """Results of the one live annotation, else of the first prediction (human work wins).

    Several live annotations (a second annotator) are refused: a record holds one reading, and
    keeping the first would drop the others unseen.
    """
    for key in ("annotations", "completions", "predictions"):  # `completions`: Label Studio before 1.0
        live = [item for item in task.get(key) or [] if isinstance(item, dict) and not item.get("was_cancelled")]
        if len(live) > 1 and key != "predictions":
            ids = ", ".join(str(item.get("id", "?")) for item in live)
            raise FormatError(f"{where}: field {key}: {len(live)} annotations (ids {ids}); araie keeps one per "
                              "document: adjudicate in Label Studio, or cancel the ones to leave out")
        if live:
            results = live[0].get("result", [])
            if not isinstance(results, list):
                raise FormatError(f"{where}: {key} result must be a list")
            return results
    return []


def _entity(item: dict[str, Any], text: str, n: int, where: str) -> Entity:
    value = item.get("value")
    if not isinstance(value, dict):
        raise FormatError(f"{where}: labels result {n} has no value object")
    start, end, labels = value.get("start"), value.get("end"), value.get("labels")
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        raise FormatError(f"{where}: labels result {n} offsets {start}:{end} are not inside the text")
    if not (isinstance(labels, list) and len(labels) == 1 and isinstance(labels[0], str)):
        raise FormatError(f"{where}: labels result {n} must have exactly one label, has {labels!r}")
    if "text" in value and value["text"] != text[start:end]:
        raise FormatError(f"{where}: labels result {n} text {value['text']!r} does not match the task text "
                          f"at {start}:{end} ({text[start:end]!r})")
    return Entity(str(item.get("id") or f"T{n}"), labels[0], start, end, text[start:end], _score(item, where))


def _relation(item: dict[str, Any], n: int, where: str) -> Relation:
    labels = item.get("labels")
    if not (isinstance(labels, list) and labels and isinstance(labels[0], str)):
        raise FormatError(f"{where}: relation {item.get('from_id')} -> {item.get('to_id')} has no label; "
                          "araie relations are typed")
    if len(labels) > 1:
        raise FormatError(f"{where}: relation {item.get('from_id')} -> {item.get('to_id')} has labels {labels}")
    head, tail = str(item.get("from_id")), str(item.get("to_id"))
    if item.get("direction") == "left":
        head, tail = tail, head
    return Relation(str(item.get("id") or f"R{n}"), labels[0], head, tail, _score(item, where))


def _score(item: dict[str, Any], where: str) -> float | None:
    score = item.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise FormatError(f"{where}: result score {score!r} is not a number")
    return None if score is None else float(score)


def from_task(task: Any, fallback_id: str, where: str) -> Document:
    """A document from one Label Studio task (see the module docstring for what is read)."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise FormatError(f"{where}: a task must be an object with a 'data' object")
    data = task["data"]
    text = data.get("text")
    if not isinstance(text, str):
        raise FormatError(f"{where}: data.text is missing or not a string")
    doc_id = data.get("id", fallback_id)
    where = f"{where} (record {doc_id})"
    entities: list[Entity] = []
    relations: list[Relation] = []
    problems: list[str] = []
    for item in _results(task, where):
        kind = item.get("type") if isinstance(item, dict) else None
        try:
            if kind == "labels":
                entities.append(_entity(item, text, len(entities) + 1, where))
            elif kind == "relation":
                relations.append(_relation(item, len(relations) + 1, where))
            else:
                raise FormatError(f"{where}: result of type {kind!r} is neither 'labels' nor 'relation'")
        except FormatError as exc:  # every problem of the task is named
            problems.extend(exc.problems)
    known = {e.id for e in entities}
    problems += [f"{where}: field {side}: relation {r.id} names {arg!r}, not a labels result of the task"
                 for r in relations for side, arg in (("from_id", r.head), ("to_id", r.tail)) if arg not in known]
    refuse(problems)
    meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
    return Document(str(doc_id), text, tuple(entities), tuple(relations), dict(meta))


def read_labelstudio(path: str | os.PathLike) -> Iterator[Document]:
    """Stream documents from a Label Studio JSON export (a list of tasks).

    Raises:
        FormatError: not a list of tasks, or a task araie cannot read; the message names the task.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            tasks = json.load(fh)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if isinstance(tasks, dict):
        tasks = [tasks]  # a single task, as the API returns it
    if not isinstance(tasks, list):
        raise FormatError(f"{path}: expected a JSON list of tasks")
    stem = Path(path).stem
    problems: list[str] = []
    for n, task in enumerate(tasks, start=1):
        task_id = task.get("id") if isinstance(task, dict) else None
        try:
            yield from_task(task, f"{stem}_{task_id if task_id is not None else n}", f"{path}: task {n}")
        except FormatError as exc:  # go on: every problem of the file is named, then all are refused
            problems.extend(exc.problems)
    refuse(problems)


register("labelstudio", read_labelstudio, write_labelstudio, ".json")
