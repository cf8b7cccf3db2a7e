"""Touch batches as Arrow tables: the columnar layer the Beam backfill and the lake's sinks share.

``columns``: parsing, packing and splitting touch batches; ``privacy``: the personal-data rules of
:mod:`transforms.privacy` applied to whole columns.
"""
