"""Shared fixtures: real Arabic records, a WordPiece tokenizer and a tiny BERT built in-process.

The network is off: nothing here or in any test reaches a model hub.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Every cache a test can touch lives in a fresh folder for the session, set before transformers is imported:
# a warm Hugging Face modules cache once hid a shipped file that the export no longer copied.
CACHE_ROOT = tempfile.mkdtemp(prefix="araie-test-cache-")
atexit.register(shutil.rmtree, CACHE_ROOT, ignore_errors=True)
for _var, _sub in (("HF_HOME", "hf"), ("HF_MODULES_CACHE", "hf/modules"), ("HF_DATASETS_CACHE", "hf/datasets"),
                   ("XDG_CACHE_HOME", "xdg"), ("TORCHINDUCTOR_CACHE_DIR", "inductor"), ("MPLCONFIGDIR", "mpl"),
                   ("TRITON_CACHE_DIR", "triton")):
    os.environ[_var] = os.path.join(CACHE_ROOT, _sub)
os.environ.pop("TRANSFORMERS_CACHE", None)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from araie.records import read_corpus, read_jsonl  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ANNOTATIONS = ROOT / "annotations"


@pytest.fixture(scope="session")
def tiny_docs():
    return list(read_jsonl(FIXTURES / "tiny.jsonl"))


@pytest.fixture(scope="session")
def corpus_docs():
    """The annotated corpus of the project (seed articles and authored documents)."""
    docs_dir = ANNOTATIONS / "docs"
    if not any(docs_dir.glob("*.jsonl")):
        pytest.skip("annotations/docs holds no corpus yet")
    return list(read_corpus([docs_dir]))


@pytest.fixture(scope="session")
def seed_docs(corpus_docs):
    return [d for d in corpus_docs if d.meta.get("source") == "seed"]


def build_tiny_encoder(folder: Path, texts: list[str], vocab_size: int = 1500, hidden: int = 32) -> Path:
    """Train a WordPiece tokenizer on `texts` and save it with a random 2-layer BERT in `folder`."""
    from transformers import BertConfig, BertModel

    from araie.pretrain import train_tokenizer
    from araie.text.normalize import normalize

    tokenizer = train_tokenizer(iter([normalize(t).text for t in texts]), vocab_size, folder, min_frequency=1)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id)
    import torch

    torch.manual_seed(0)
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory, tiny_docs):
    texts = [d.text for d in tiny_docs]
    docs_dir = ANNOTATIONS / "docs"
    if any(docs_dir.glob("*.jsonl")):
        texts += [d.text for d in read_corpus([docs_dir])]
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny_encoder"), texts)


@pytest.fixture(scope="session")
def random_model(tmp_path_factory, tiny_encoder):
    """An untrained araie model with the default schema (relations included), saved as a folder."""
    from araie.schema import DEFAULT_SCHEMA_PATH, Schema
    from araie.training import build_model, build_tokenizer
    from tests.test_model import tiny_recipe

    folder = tmp_path_factory.mktemp("random_model")
    recipe = tiny_recipe(folder, tiny_encoder, folder / "splits.json")
    build_model(recipe, Schema.load(DEFAULT_SCHEMA_PATH)).save_pretrained(folder / "model")
    build_tokenizer(str(tiny_encoder)).save_pretrained(folder / "model")
    return folder / "model"
