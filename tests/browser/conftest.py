"""Browser-test fixtures; the helpers live in ``browser_support`` so tests import them by a unique name."""

from browser_support import (  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    browser,
    context,
    page,
    platform,
    playwright_instance,
    pytest_collection_modifyitems,
)
