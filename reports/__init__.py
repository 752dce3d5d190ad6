"""The results model and every format rendered from results.json."""
