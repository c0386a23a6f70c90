"""The analysis room: read a campaign's ratings into arrays (:mod:`.reading`), compute every
statistic with :mod:`audit.stats` (:mod:`.criterion` per criterion, :mod:`.compute` across
them), store the result as a snapshot (:mod:`.snapshots`), and run it under a per-campaign lease
(:mod:`.lease`, :mod:`.services`) in a Celery worker (:mod:`.tasks`) after ratings change
(:mod:`.signals`), nightly, or on request.

It imports neither the quality reports nor the exports.
"""
