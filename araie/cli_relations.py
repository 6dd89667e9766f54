"""`araie tune-thresholds` and `araie candidate-pairs`: thin subcommands over `thresholds` and
`relation_diagnostics` (kept apart from cli.py, which holds the other subcommands)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from araie.extractor import DEFAULT_MODEL


def cmd_tune_thresholds(args: argparse.Namespace) -> int:
    from araie.thresholds import format_thresholds, thresholds_json, tune_thresholds, write_thresholds

    choices = tune_thresholds(args.model, args.data, split=args.split, splits=args.splits, batch_size=args.batch_size)
    print(json.dumps(thresholds_json(choices), ensure_ascii=False) if args.json else format_thresholds(choices))
    if args.write:
        print(f"wrote relation_thresholds to {write_thresholds(args.model, choices)}", file=sys.stderr)
    return 0


def cmd_candidate_pairs(args: argparse.Namespace) -> int:
    from transformers import AutoTokenizer

    from araie.evaluate import split_documents
    from araie.hf.configuration_araie import AraieConfig
    from araie.recipe import load_recipe
    from araie.relation_diagnostics import format_pair_stats, pair_stats
    from araie.schema import Schema

    config = AraieConfig.from_pretrained(args.model)
    recipe_path = args.recipe or (os.path.join(args.model, "recipe.yaml")
                                  if os.path.exists(os.path.join(args.model, "recipe.yaml")) else None)
    recipe = load_recipe(recipe_path, []) if recipe_path else None
    negatives = args.negatives if args.negatives is not None else (recipe.data.negatives if recipe else 8)
    seed = int(recipe.training.get("seed", 13)) if recipe else 13
    docs = split_documents(args.data, args.split, args.splits)
    stats = pair_stats(docs, AutoTokenizer.from_pretrained(args.model), Schema.from_dict(config.schema),
                       config.window_length, config.overlap, negatives, seed, set(config.clitic_lexicon))
    if args.json:
        print(json.dumps(stats))
    else:
        print(f"{len(docs)} documents{f' of split {args.split}' if args.split else ''}; training keeps every positive "
              f"and {negatives} sampled negatives per positive (at least {negatives} per window)\n")
        print("\n".join(format_pair_stats({f"training (negatives {negatives})": stats["training"],
                                           "inference (every typed pair)": stats["inference"]})))
    return 0


def add_relation_commands(sub) -> None:
    """Add the subcommands of this module to the `araie` parser's subparsers."""
    p = sub.add_parser("tune-thresholds", help="choose a relation threshold per type on dev (strict F1)")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="exported folder (or a training checkpoint)")
    p.add_argument("--data", nargs="+", required=True, help="JSONL files or folders (e.g. annotations/docs)")
    p.add_argument("--split", default="dev", help="the split to tune on (test splits are refused)")
    p.add_argument("--splits", default="annotations/splits.json")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--write", action="store_true", help="store them as relation_thresholds in MODEL/config.json")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tune_thresholds)

    p = sub.add_parser("candidate-pairs", help="relation candidate pairs per sentence: training vs inference")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="folder whose tokenizer and windows to use")
    p.add_argument("--data", nargs="+", required=True, help="JSONL files or folders (e.g. annotations/docs)")
    p.add_argument("--split", default="train")
    p.add_argument("--splits", default="annotations/splits.json")
    p.add_argument("--recipe", help="recipe whose data.negatives and training.seed to use (default: MODEL/recipe.yaml)")
    p.add_argument("--negatives", type=int, help="sampled negatives per positive (overrides the recipe)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_candidate_pairs)
