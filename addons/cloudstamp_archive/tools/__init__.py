from . import fulltext
