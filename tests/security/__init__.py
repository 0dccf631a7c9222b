"""The security suite (issue 9 §2): one module per class of attack, each walking every route
it applies to from `app.url_map`, with the sample arguments and access classes in
`routes.py` (a route missing there fails `test_route_table.py`)."""
