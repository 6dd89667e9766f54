"""IOB2-constrained (Viterbi) decoding of the token head, against per-word argmax."""

from __future__ import annotations

import math

import pytest
import torch

from araie.hf.configuration_araie import AraieConfig
from araie.hf.pipeline_araie import _bio_transitions, _viterbi
from araie.hf.windows_araie import bio_to_spans, word_level

ID2LABEL = {0: "O", 1: "B-LOC", 2: "I-LOC", 3: "B-GPE", 4: "I-GPE", 5: "B-DATE", 6: "I-DATE"}


def row(*words: dict[str, float]) -> torch.Tensor:
    """Log-probabilities of a window row: [CLS], then one position per given distribution."""
    n = len(ID2LABEL)
    out = torch.full((len(words) + 1, n), math.log(1e-4))
    for i, probs in enumerate(words, start=1):
        for label, p in probs.items():
            out[i, [k for k, v in ID2LABEL.items() if v == label][0]] = math.log(p)
    return out.log_softmax(-1)


def decode(logp, word_starts):
    labels, probs = (x[0] for x in _viterbi(logp[None], [word_starts], _bio_transitions(ID2LABEL)))
    tags = [ID2LABEL[i] for i in labels[1:]]
    return bio_to_spans(word_level(tags, word_starts)), probs


def test_a_stray_inside_tag_becomes_the_best_valid_label():
    # `في حلب`: argmax says O then I-LOC (a LOC span with no B-); IOB2 forbids I-LOC after O, and
    # B-GPE is the most probable label that may start there
    logp = row({"O": 0.9, "B-LOC": 0.05}, {"I-LOC": 0.55, "B-GPE": 0.33, "I-GPE": 0.09})
    assert bio_to_spans([ID2LABEL[int(i)] for i in logp[1:].argmax(-1)]) == [(1, 2, "LOC")]
    spans, probs = decode(logp, [True, True])
    assert spans == [(1, 2, "GPE")]
    assert probs[2] == pytest.approx(float(logp[2, 3].exp()))  # the score: the chosen label's probability


def test_a_likely_continuation_keeps_the_span_whole():
    # `يوم الثلاثاء`: O 0.6 / B-DATE 0.4 on the first word, I-DATE 0.9 on the second; argmax breaks
    # the date (O, stray I-DATE), the best valid path is B-DATE I-DATE (0.4 x 0.9 > 0.6 x ~0)
    logp = row({"O": 0.6, "B-DATE": 0.4}, {"I-DATE": 0.9, "B-DATE": 0.05})
    spans, _ = decode(logp, [True, True])
    assert spans == [(0, 2, "DATE")]


def test_only_first_subwords_are_decided_and_continuations_follow_them():
    # three tokens, the second continues the first word: its own (invalid) I-GPE is not consulted
    logp = row({"B-LOC": 0.8}, {"I-GPE": 0.9}, {"I-LOC": 0.7, "O": 0.3})
    spans, _ = decode(logp, [True, False, True])
    assert spans == [(0, 3, "LOC")]


def test_a_window_never_opens_with_an_inside_tag():
    spans, _ = decode(row({"I-LOC": 0.7, "B-LOC": 0.2}), [True])
    assert spans == [(0, 1, "LOC")]


def test_decoding_is_a_config_field_with_a_named_error():
    assert AraieConfig().bio_decoding == "viterbi"
    assert AraieConfig(bio_decoding="argmax").to_dict()["bio_decoding"] == "argmax"
    with pytest.raises(ValueError, match="bio_decoding must be 'viterbi' or 'argmax', got 'crf'"):
        AraieConfig(bio_decoding="crf")


def test_a_batch_decodes_each_row_as_alone_whatever_its_length():
    torch.manual_seed(0)
    trans = _bio_transitions(ID2LABEL)
    logp = torch.randn(3, 9, len(ID2LABEL)).mul(3).log_softmax(-1)
    starts = [[True, False, True, True, False, True, True], [True, True], [True, False, False, True, True, True, True]]
    batch, batch_probs = _viterbi(logp, starts, trans)
    for r, ws in enumerate(starts):
        alone, alone_probs = (x[0] for x in _viterbi(logp[r:r + 1], [ws], trans))
        assert batch[r] == alone and batch_probs[r] == pytest.approx(alone_probs)
        tags = [ID2LABEL[i] for i in batch[r][1:len(ws) + 1]]
        decided = [t for t, s in zip(tags, ws, strict=True) if s]
        assert all(not t.startswith("I-") or p[2:] == t[2:] for p, t in zip(["O", *decided], decided, strict=False))
