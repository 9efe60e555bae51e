"""Entry points: the ``mirakl-sync`` CLI and the web status page; thin shells over services."""
