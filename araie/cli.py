"""The `araie` command: thin subcommands over the library's public functions."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from araie.extractor import DEFAULT_MODEL
from araie.schema import DEFAULT_SCHEMA_PATH, Schema

log = logging.getLogger("araie")


def cmd_validate(args: argparse.Namespace) -> int:
    from araie.validate import summarise, validate_paths

    problems = validate_paths(args.paths, Schema.load(args.schema))
    for p in problems:
        if p.severity == "error" or not args.errors_only:
            print(p)
    counts = summarise(problems)
    print(f"{counts['error']} error(s), {counts['warning']} warning(s)", file=sys.stderr)
    return 1 if counts["error"] else 0


def cmd_stats(args: argparse.Namespace) -> int:
    import json

    from araie.stats import corpus_stats, format_stats

    schema = Schema.load(args.schema)
    stats = corpus_stats(args.paths)
    print(json.dumps(stats, ensure_ascii=False, indent=1) if args.json
          else format_stats(stats, schema.entity_types, schema.relation_names))
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from araie.formats.registry import convert

    counter: dict = {}
    type_map, drop = _pairs(args.type_map), args.drop_types or []
    # a foreign label set is being brought to the schema: every type written must be one of its types
    schema = Schema.load(args.schema) if type_map or drop else None
    n = convert(args.input, args.output, source=args.source_format, target=args.target_format, type_map=type_map,
                strip_clitics=args.strip_clitics, overwrite=args.force, drop_relations=args.drop_relations,
                drop_types=drop, schema=schema, doc_size=args.doc_size, counter=counter)
    print(f"converted {n} document(s) to {args.output}", file=sys.stderr)
    for etype, count in sorted(counter.get("dropped", {}).items()):
        print(f"dropped {count} {etype} span(s)", file=sys.stderr)
    if counter.get("dropped_relations"):
        print(f"dropped {counter['dropped_relations']} relation(s) holding a dropped span", file=sys.stderr)
    if args.strip_clitics:
        print(f"moved proclitics out of {counter.get('changed', 0)} entity span(s)", file=sys.stderr)
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from collections import Counter

    from araie.records import read_corpus
    from araie.splits import make_splits, write_splits

    splits = make_splits((d.id for d in read_corpus(args.paths)), args.dev, args.test, args.seed)
    write_splits(splits, args.out, overwrite=args.force)
    counts = Counter(splits.values())
    print(f"wrote {args.out}: " + ", ".join(f"{counts[s]} {s}" for s in ("train", "dev", "test") if counts[s]),
          file=sys.stderr)
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    from araie.pretrain import PretrainConfig, pretrain

    fields = {k: v for k, v in vars(args).items() if k in PretrainConfig.__dataclass_fields__ and v is not None}
    fields["text_fields"] = tuple(args.text_fields.split(","))
    final = pretrain(PretrainConfig(**fields))
    print(final)
    return 0


def cmd_mlm_eval(args: argparse.Namespace) -> int:
    from araie.pretrain import iter_corpus, masked_lm_score
    from araie.records import corpus_files

    fields = tuple(args.text_fields.split(","))
    # corpus_files names a missing path; a .gz file is read as it is, a folder for its .jsonl files
    texts = [t for f in corpus_files(args.data) for t in iter_corpus(f, fields)]
    for encoder in args.encoders:
        score = masked_lm_score(encoder, texts, args.mask_probability, args.max_length, args.seed)
        if args.json:
            print(json.dumps(score))
            continue
        print(f"{encoder}: {score['masked']} masked subwords in {score['blocks']} blocks: loss {score['loss']:.3f}, "
              f"top-1 accuracy {score['accuracy']:.3f}; without context {score['blind_loss']:.3f} (context gains "
              f"{round(score['blind_loss'] - score['loss'], 2) + 0.0:.2f} nats); the texts' own word frequencies "
              f"{score['unigram_loss']:.3f}; uniform {score['vocab_loss']:.3f}")
    return 0


def cmd_promote_encoder(args: argparse.Namespace) -> int:
    from araie.promote import promote_encoder

    score = None
    if args.eval_data:
        from araie.pretrain import iter_corpus, masked_lm_score
        from araie.records import corpus_files

        texts = [t for f in corpus_files(args.eval_data) for t in iter_corpus(f, ("text",))]
        score = masked_lm_score(args.encoder, texts)
    print(promote_encoder(args.encoder, args.dest, force=args.force, dtype=args.dtype, mlm_eval=score))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from araie.recipe import load_recipe
    from araie.training import train

    best = train(load_recipe(args.recipe, args.set), resume=not args.no_resume)
    print(best)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from araie.predict import fast_start

    fast_start()  # before torch and transformers are imported
    from araie.extractor import Extractor
    from araie.predict import predict_stream, read_inputs
    from araie.predict_output import check_output, resume_point, write_predictions

    check_output(args.output, args.format, resume=args.resume, force=args.force, drop_relations=args.drop_relations,
                 model=args.model)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # under `accelerate launch` or torchrun
        return _predict_sharded(args)
    docs, skip = resume_point(read_inputs(args.input, args.input_format), args.output, args.format, args.resume)
    extractor = Extractor.from_pretrained(args.model, device=args.device, dtype=args.dtype, backend=args.backend,
                                          onnx_file=args.onnx_file)
    results = predict_stream(extractor, _progress(docs, args.output), batch_size=args.batch_size,
                             entity_threshold=args.entity_threshold, relation_threshold=args.relation_threshold)
    written = write_predictions(results, args.output, args.format, append=skip > 0,
                                drop_relations=args.drop_relations)
    print(written.summary(skip), file=sys.stderr)
    return 1 if written.errors else 0


def _predict_sharded(args: argparse.Namespace) -> int:
    from araie.predict import predict_sharded

    merged = predict_sharded(args)
    if merged is None:  # not the main process
        return 0
    n, errors = merged
    print(f"merged {n} record(s) into {args.output}{f'; {errors} of them error record(s)' if errors else ''}",
          file=sys.stderr)
    return 1 if errors else 0


def _progress(docs, output: str):
    if output != "-" and sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(docs, unit=" doc", file=sys.stderr)
    return docs


def cmd_evaluate(args: argparse.Namespace) -> int:
    from araie.evaluate import evaluate_model

    if args.folds:
        return _cross_validate(args)
    report = evaluate_model(args.model, args.data, split=args.split, splits=args.splits, out=args.out,
                            batch_size=args.batch_size, command=" ".join(["araie", *sys.argv[1:]]),
                            oracle_entities=args.oracle_entities, relation_threshold=args.relation_threshold)
    summary = {"entities_strict_f1": round(report.entities_strict.micro.f1, 4),
               "relations_strict_f1": round(report.relations_strict.micro.f1, 4), "documents": report.documents}
    if report.relations_oracle is not None:
        summary["relations_strict_f1_oracle_entities"] = round(report.relations_oracle.micro.f1, 4)
    print(json.dumps(summary))
    return 0


def _cross_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from araie.evaluate import cross_validate, format_markdown
    from araie.recipe import load_recipe

    report = cross_validate(load_recipe(args.recipe, args.set), args.data, args.folds, split=args.split,
                            splits=args.splits)
    command = " ".join(["araie", *sys.argv[1:]])
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps({"command": command, **report.to_dict()}, ensure_ascii=False,
                                                       indent=1), encoding="utf-8")
        out.with_suffix(".md").write_text(format_markdown(report, f"{args.folds}-fold cross-validation", command),
                                          encoding="utf-8")
    print(json.dumps({"folds": args.folds, "entities_strict_f1": round(report.entities_strict.micro.f1, 4),
                      "relations_strict_f1": round(report.relations_strict.micro.f1, 4)}))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from araie.export import export

    metrics = json.loads(open(args.metrics, encoding="utf-8").read()) if args.metrics else None
    card = open(args.card, encoding="utf-8").read() if args.card else None
    print(export(args.checkpoint, args.out, card=card, metrics=metrics, overwrite=args.force, onnx=args.onnx,
                 int8=args.int8))
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    from pathlib import Path

    from araie.card import model_card

    folder = Path(args.model)
    for i, path in enumerate(args.metrics or []):  # the first is metrics.json (the seeds), the rest by split
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        name = "metrics.json" if i == 0 else f"metrics_{report.get('split') or Path(path).stem}.json"
        (folder / name).write_text(Path(path).read_text(encoding="utf-8"), encoding="utf-8")
    notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else None
    (folder / "README.md").write_text(model_card(folder, notes), encoding="utf-8")
    print(folder / "README.md")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from araie.bench import bench_from_args

    path = bench_from_args(args)
    if path is not None:  # None: a worker subprocess, whose stdout is its result
        print(path)
    return 0


def cmd_debug_align(args: argparse.Namespace) -> int:
    from transformers import AutoTokenizer

    from araie.features import round_trip_problems
    from araie.records import read_corpus
    from araie.text.normalize import install_normalizer

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    if args.install_normalizer:
        from araie.text.normalize import NormalizeConfig

        install_normalizer(tokenizer, NormalizeConfig(split_clitics=not args.no_clitic_rules))
    lexicon = None
    if args.lexicon_from:
        from araie.text.clitics import entity_lexicon

        lexicon = entity_lexicon(read_corpus(args.lexicon_from))
    elif os.path.exists(os.path.join(args.tokenizer, "config.json")):
        lexicon = set(json.load(open(os.path.join(args.tokenizer, "config.json"))).get("clitic_lexicon", []))
    checked, bad = round_trip_problems(read_corpus(args.paths), tokenizer, args.max_length, lexicon=lexicon)
    for problem in bad:
        print(problem)
    print(f"{checked} entities, {len(bad)} not reproduced by {args.tokenizer}", file=sys.stderr)
    return 1 if bad and args.strict else 0


def cmd_facts(args: argparse.Namespace) -> int:
    from araie.facts import FactTable, build_facts, read_records, top_facts

    if (Path(args.out) / "facts.csv").exists() and not args.force:
        raise FileExistsError(f"{args.out} already holds facts; pass --force to replace them")
    schema = Schema.load(args.schema)
    table = FactTable()
    summary = build_facts(read_records(args.predictions, table), args.out, table=table,
                          symmetric=[r.name for r in schema.relation_types if r.symmetric],
                          report_rows=args.report_rows, graph_nodes=args.graph_nodes)
    for f in top_facts(table, args.top):
        head, tail = table.name(f.head, f.names[0]), table.name(f.tail, f.names[1])
        print(f"{f.articles}\t{f.confidence:.2f}\t{head}\t{f.relation}\t{tail}\t{f.last_date}")
    print(f"{summary.documents} document(s) ({summary.skipped} skipped), {summary.mentions} mentions -> "
          f"{summary.entities} entities, {summary.instances} relation instances -> {summary.facts} facts; "
          f"wrote {summary.out}/entities.csv, facts.csv, facts.jsonl, graph.graphml, report.html, graph.svg",
          file=sys.stderr)
    return 0


def _pairs(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--type-map expects FROM=TO, got {item!r}")
        out[key] = value
    return out


def _positive_int(value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return int(value)


def _probability(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="araie", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="list every problem of JSONL corpora (files or folders)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--schema", default=DEFAULT_SCHEMA_PATH)
    p.add_argument("--errors-only", action="store_true", help="hide warnings")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("stats", help="documents, words, entities and relations per type and split")
    p.add_argument("paths", nargs="+")
    p.add_argument("--schema", default=DEFAULT_SCHEMA_PATH)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("convert", help="convert between JSONL and CoNLL, BRAT, Label Studio, doccano, inline")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--from", dest="source_format", help="input format (default: from the name)")
    p.add_argument("--to", dest="target_format", help="output format (default: from the name)")
    p.add_argument("--type-map", nargs="*", metavar="FROM=TO", help="rename entity types, e.g. PERS=PER; "
                   "MISC= (or MISC=O) drops MISC; every type written must then be in --schema")
    p.add_argument("--drop-types", nargs="*", metavar="TYPE", help="drop entities of these (source) types, "
                   "e.g. MISC, with their relations; prints how many")
    p.add_argument("--doc-size", type=int, metavar="N", help="CoNLL input: a new document every N sentences "
                   "(a file without -DOCSTART- is otherwise one document)")
    p.add_argument("--schema", default=DEFAULT_SCHEMA_PATH, help="schema the mapped types must belong to")
    p.add_argument("--strip-clitics", action="store_true", help="move proclitics out of entity spans")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--drop-relations", action="store_true", help="drop relations for formats that cannot carry them")
    p.set_defaults(func=cmd_convert)
    p = sub.add_parser("split", help="write splits.json: each document of a corpus to train, dev or test")
    p.add_argument("paths", nargs="+", help="JSONL files or folders")
    p.add_argument("--out", required=True, help="splits.json to write")
    p.add_argument("--dev", type=float, default=0.1, help="share of documents for dev (default 0.1)")
    p.add_argument("--test", type=float, default=0.0, help="share of documents for test (default 0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("train", help="fine-tune an encoder on the annotated corpus (a YAML recipe)")
    p.add_argument("recipe")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a recipe value, e.g. --set training.num_train_epochs=3")
    p.add_argument("--no-resume", action="store_true", help="ignore checkpoints in the output folder")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="extract entities and relations from text, JSONL, a folder or stdin")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="exported folder (default: the shipped model/)")
    p.add_argument("--input", default="-", help="FILE (JSONL, or text: a document per line), FOLDER, or -")
    p.add_argument("--input-format", default="auto", choices=["auto", "jsonl", "text"])
    p.add_argument("--output", default="-")
    p.add_argument("--format", default="jsonl", choices=["jsonl", "table", "html", "conll", "brat", "labelstudio"])
    p.add_argument("--drop-relations", action="store_true", help="with --format conll: write the entities alone")
    p.add_argument("--batch-size", type=_positive_int, default=16)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--dtype", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--entity-threshold", type=_probability)
    p.add_argument("--relation-threshold", type=_probability)
    p.add_argument("--backend", default="torch", choices=["torch", "onnx"], help="onnx: needs `export --onnx`")
    p.add_argument("--onnx-file", default="model.onnx", help="model.onnx or model.int8.onnx (with --backend onnx)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run (jsonl output)")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("facts", help="merge predicted mentions into entities and facts: CSV, JSONL, GraphML, HTML")
    p.add_argument("predictions", help="records with entities and relations (JSONL, e.g. `araie predict` output)")
    p.add_argument("--out", required=True, help="folder for entities.csv, facts.csv, facts.jsonl, graph.graphml, "
                   "report.html")
    p.add_argument("--schema", default=DEFAULT_SCHEMA_PATH, help="which relations are symmetric")
    p.add_argument("--top", type=int, default=10, help="print this many facts, the best supported first")
    p.add_argument("--report-rows", type=int, default=1000, help="facts in the report's table")
    p.add_argument("--graph-nodes", type=int, default=40, help="entities in the report's picture")
    p.add_argument("--force", action="store_true", help="replace facts already in --out")
    p.set_defaults(func=cmd_facts)

    p = sub.add_parser("evaluate", help="strict entity and relation P/R/F1 of a model on annotated data")
    p.add_argument("--model", default=str(DEFAULT_MODEL))
    p.add_argument("--data", nargs="+", required=True, help="JSONL files or folders")
    p.add_argument("--split", help="only documents of this split (splits.json)")
    p.add_argument("--splits", default="annotations/splits.json")
    p.add_argument("--out", help="write NAME.json, NAME.md and NAME.png (e.g. eval/seeds)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--folds", type=int, help="cross-validate: train a model per fold of --data (leave-one-"
                   "document-out when it equals the document count) with --recipe, and score held-out folds")
    p.add_argument("--recipe", default="train/default.yaml", help="recipe for --folds")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="recipe override")
    p.add_argument("--oracle-entities", action="store_true", help="also score relations on the gold entities")
    p.add_argument("--relation-threshold", type=_probability, help="one threshold for every relation type "
                   "(overrides the model's; 0 keeps every candidate, for a full reliability table)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="write a Hugging Face folder from a checkpoint and verify it")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True)
    p.add_argument("--card", help="model card (README.md) to include")
    p.add_argument("--metrics", help="metrics JSON to include")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--onnx", action="store_true", help="also write onnx/model.onnx (encoder + token head)")
    p.add_argument("--int8", action="store_true", help="also write onnx/model.int8.onnx (dynamic int8; implies --onnx)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("bench", help="throughput and memory of araie predict vs the stock pipeline (eval/bench.*)")
    from araie.bench import add_bench_arguments

    add_bench_arguments(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("debug-align", help="list gold entities that subword IOB2 tags cannot reproduce")
    p.add_argument("paths", nargs="+")
    p.add_argument("--tokenizer", default=str(DEFAULT_MODEL), help="folder of a fast tokenizer (default: model/)")
    p.add_argument("--install-normalizer", action="store_true",
                   help="add araie's normalisation to a tokenizer that lacks it (a raw pretraining tokenizer)")
    p.add_argument("--no-clitic-rules", action="store_true", help="with --install-normalizer: leave proclitics "
                   "glued (to measure what the rules buy)")
    p.add_argument("--lexicon-from", nargs="+", help="corpus whose entities form the clitic lexicon "
                   "(default: the model's clitic_lexicon)")
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--strict", action="store_true", help="exit 1 when any entity is not reproduced")
    p.set_defaults(func=cmd_debug_align)

    p = sub.add_parser("card", help="(re)write an exported folder's model card from its recipe and metrics")
    p.add_argument("model")
    p.add_argument("--metrics", nargs="+", help="`araie evaluate` JSON reports to copy in: the first as "
                   "metrics.json (the seeds), the others as metrics_<split>.json")
    p.add_argument("--notes", help="Markdown appended to the card (how the model was made)")
    p.set_defaults(func=cmd_card)

    p = sub.add_parser("pretrain", help="train a WordPiece tokenizer and a compact BERT (masked-LM), or adapt one")
    p.add_argument("--corpus", required=True, help="JSONL(.gz) with text fields, or a plain text file")
    p.add_argument("--out", required=True, help="run folder (resumes from its checkpoints)")
    p.add_argument("--text-fields", default="title,content")
    p.add_argument("--from-model", help="continue masked-LM on this encoder (e.g. aubmindlab/bert-base-arabertv02)")
    p.add_argument("--position", choices=["absolute", "relative_key"], help="position information of a new "
                   "encoder: absolute embeddings (BERT's default) or also relative distances in attention")
    for name, kind in (("max-documents", int), ("vocab-size", int), ("layers", int), ("hidden", int),
                       ("heads", int), ("intermediate", int), ("max-length", int), ("batch-size", int),
                       ("steps", int), ("learning-rate", float), ("dropout", float), ("save-steps", int),
                       ("seed", int)):
        p.add_argument(f"--{name}", type=kind)
    p.set_defaults(func=cmd_pretrain)

    p = sub.add_parser("promote-encoder", help="copy a pretrained encoder from runs/ into a committed folder "
                       "(fp16 weights, its tokenizer, how it was made, a card)")
    p.add_argument("encoder", help="an `araie pretrain` encoder folder, e.g. runs/pretrain/rel-4x256/encoder")
    p.add_argument("dest", help="where it goes, e.g. encoders/rel-4x256 (what train/default.yaml names)")
    p.add_argument("--dtype", default="float16", choices=["float16", "bfloat16", "float32"])
    p.add_argument("--eval-data", nargs="+", help="held-out texts to record its `mlm-eval` score (annotations/docs)")
    p.add_argument("--force", action="store_true", help="replace dest")
    p.set_defaults(func=cmd_promote_encoder)

    p = sub.add_parser("mlm-eval", help="held-out masked-LM loss and accuracy of encoders, and what context buys them")
    p.add_argument("encoders", nargs="+", help="encoder folders with a masked-LM head (`araie pretrain` output)")
    p.add_argument("--data", nargs="+", required=True, help="texts the encoders did not train on: JSONL(.gz) "
                   "files or folders of .jsonl, or plain text files")
    p.add_argument("--text-fields", default="text", help="JSON fields holding the text (SaudiNewsNet: title,content)")
    p.add_argument("--mask-probability", type=float, default=0.15)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--seed", type=int, default=0, help="which words are masked (the same for every encoder)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_mlm_eval)
    from araie.cli_relations import add_relation_commands

    add_relation_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:  # FileNotFoundError, FileExistsError, PermissionError are OSErrors
        print(f"araie {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
