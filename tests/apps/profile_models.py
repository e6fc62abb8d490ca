"""A module with __all__, for a profile's "profile_models:*" import."""

__all__ = ["Author", "Book"]


class Author:
    pass


class Book:
    pass


class NotExported:
    """Public, but not in __all__: a * import leaves it out."""
