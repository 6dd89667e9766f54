"""A fast tokenizer whose offsets keep each letter's diacritics (loaded with `trust_remote_code`).

The tokenizer.json of an araie model removes tashkeel and tatweel in its normaliser, and a fast
tokenizer then ends a token's offsets before the marks that trail it (`مدنياً` -> `مدنيا`). This class
extends every offset end over such marks, so the stock token-classification pipeline returns spans
that never cut a letter from its diacritics, exactly as araie's own decoder does.
"""

from __future__ import annotations

import logging

from transformers import BertTokenizerFast

# transformers copies a remote-code file, and only the siblings that file itself imports, into its modules
# cache; so each entry point imports every sibling it needs, also those reached through another sibling
# (windows_araie imports text_araie). tests/test_hf_files.py holds every shipped file to this.
from .text_araie import is_arabic_letter  # noqa: F401
from .windows_araie import extend_over_marks


class _NotAMismatch(logging.Filter):
    """Drops transformers' warning that the folder names another tokenizer class than this one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("The tokenizer class you load from this checkpoint")


class AraieTokenizerFast(BertTokenizerFast):
    @classmethod
    def _from_pretrained(cls, *args, **kwargs):
        # tokenizer_config.json says BertTokenizer so that stock transformers loads the folder without remote
        # code; this class is that tokenizer with marks kept on their letter, so the mismatch warning misleads.
        base_logger = logging.getLogger("transformers.tokenization_utils_base")
        quiet = _NotAMismatch()
        base_logger.addFilter(quiet)
        try:
            return super()._from_pretrained(*args, **kwargs)
        finally:
            base_logger.removeFilter(quiet)

    def _batch_encode_plus(self, batch_text_or_text_pairs, *args, **kwargs):
        encoding = super()._batch_encode_plus(batch_text_or_text_pairs, *args, **kwargs)
        if "offset_mapping" not in encoding or kwargs.get("is_split_into_words"):
            return encoding
        texts = [t if isinstance(t, str) else t[0] for t in batch_text_or_text_pairs]
        mapping = encoding["offset_mapping"]
        rows = mapping.tolist() if hasattr(mapping, "tolist") else mapping
        owners = encoding.get("overflow_to_sample_mapping", list(range(len(rows))))
        if hasattr(owners, "tolist"):
            owners = owners.tolist()
        fixed = [[(s, extend_over_marks(texts[owner], e) if e > s else e) for s, e in row]
                 for owner, row in zip(owners, rows, strict=True)]
        if hasattr(mapping, "new_tensor"):
            fixed = mapping.new_tensor(fixed)
        elif hasattr(mapping, "dtype"):
            import numpy as np

            fixed = np.asarray(fixed, dtype=mapping.dtype)
        encoding["offset_mapping"] = fixed
        return encoding
