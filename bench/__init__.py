"""The benchmark (``python -m bench.run``) and the A/B comparison (``python -m bench.ab``).

Run from the repository's root, so that ``bench``, ``bot`` and the tests' Bot API stand-in
(``tests.botapi``) import as the checkout's packages; see bench/README.md.
"""
