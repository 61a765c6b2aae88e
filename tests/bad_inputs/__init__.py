"""The bad-input catalogue: one table of calls that must fail cleanly or answer right.

Each module here lists the cases of one module of ``klcourse`` in ``CASES``;
``tests/test_bad_inputs.py`` runs them all as one parametrised table.
"""
