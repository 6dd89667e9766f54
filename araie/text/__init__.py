"""Arabic text handling that keeps every offset: normalisation, clitics, sentences, windows."""
