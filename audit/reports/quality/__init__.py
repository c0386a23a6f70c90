"""The quality room: a campaign's report over a period (:mod:`.services`, its numbers in
:mod:`.numbers`), the snapshot's numbers as tables and charts (:mod:`.presentation`,
:mod:`.charts`), HTML and PDF (:mod:`.rendering`), their files (:mod:`.storage`), and the
schedules that mail them (:mod:`.schedules`, run by :mod:`.tasks`).

It reads analysis snapshots (and may ask for an analysis first); nothing below it imports it.
"""
