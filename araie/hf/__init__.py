"""Files that exported araie folders ship for `trust_remote_code`; see export.HF_FILES."""
