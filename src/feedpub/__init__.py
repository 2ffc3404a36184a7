"""feedpub: publish RSS 2.0 and Atom 1.0 feeds per category from where a newsroom keeps its articles."""

__version__ = "0.1.0"
