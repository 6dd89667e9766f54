"""araie: Arabic information extraction (entities and relations as exact character spans)."""

__version__ = "0.1.0"
