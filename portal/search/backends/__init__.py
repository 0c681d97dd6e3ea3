"""Search backends: the embedded engine (tantivy) and Elasticsearch, chosen by configuration."""
