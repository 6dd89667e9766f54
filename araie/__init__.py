"""araie: Arabic information extraction (entities and relations as exact character spans)."""

__version__ = "0.1.0"



def ie_pipeline(model: str = "model", device: str | int | None = None, **kwargs):
    """`pipeline("arabic-ie")` for an exported folder, from araie's own code (no `trust_remote_code`).

    An exported `config.json` declares the `arabic-ie` task as remote code, which transformers will
    only run with `trust_remote_code=True`; with araie installed the same pipeline class is local.

    Example:
        >>> ie = araie.ie_pipeline("model")                                   # doctest: +SKIP
        >>> ie("قال المرصد السوري إن 12 مدنياً قتلوا في حلب")["relations"]       # doctest: +SKIP
    """
    from transformers import AutoTokenizer

    from araie.hf.modeling_araie import AraieForInformationExtraction
    from araie.hf.pipeline_araie import ArabicIEPipeline

    return ArabicIEPipeline(model=AraieForInformationExtraction.from_pretrained(model),
                            tokenizer=AutoTokenizer.from_pretrained(model), device=device, task="arabic-ie",
                            **kwargs)


def __getattr__(name: str):
    if name == "Extractor":  # lazy: importing araie for the corpus tools should not load torch
        from araie.extractor import Extractor

        return Extractor
    raise AttributeError(f"module 'araie' has no attribute {name!r}")
