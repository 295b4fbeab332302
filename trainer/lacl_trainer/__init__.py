"""Training app: turns a Hugging Face encoder into a language-agnostic retriever (Hu et al., 2023).

Installed as ``lacl_trainer``; imports the library (``lacl_search.*``), never the reverse.
Entry points: ``lacl-search train --config FILE`` and ``python -m lacl_trainer``.
"""
