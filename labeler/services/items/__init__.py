"""Working with items: the browser (search, filters, paging), one item's full record,
bulk actions on a selection, comments, and the similar-items index."""
