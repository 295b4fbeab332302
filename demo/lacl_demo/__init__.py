"""The browser demo (``lacl-search demo``): a Gradio page over :class:`lacl_search.serving.search.Searcher`."""
