"""Drift history: each finding is new, still present since its first run, or resolved."""

from __future__ import annotations

import pytest

from configurator.checks.history import History, classify

A = ("node9", "file[/etc/a]")
B = ("node9", "service[nginx]")
C = ("node10", "user[vdemo]")


@pytest.mark.parametrize(("current", "open_", "checked", "new", "still", "resolved"), [
    ([], {}, ["node9"], set(), {}, {}),
    ([A], {}, ["node9"], {A}, {}, {}),
    ([A], {A: "t1"}, ["node9"], set(), {A: "t1"}, {}),
    ([], {A: "t1"}, ["node9"], set(), {}, {A: "t1"}),
    ([B], {A: "t1"}, ["node9"], {B}, {}, {A: "t1"}),
    # node10 was not checked (unreachable): its open finding is neither seen nor resolved
    ([A], {A: "t1", C: "t0"}, ["node9"], set(), {A: "t1"}, {}),
    ([A, C], {A: "t1", C: "t0"}, ["node9", "node10"], set(), {A: "t1", C: "t0"}, {}),
])
def test_classify(current, open_, checked, new, still, resolved):
    classes = classify(current, open_, checked)
    assert (set(classes.new), classes.still, classes.resolved) == (new, still, resolved)


def test_runs_class_findings_new_then_still_then_resolved(tmp_path):
    path = tmp_path / "history.sqlite"
    with History(path) as db:
        first = db.record([A, B], ["node9"], "t1")
    assert set(first.new) == {A, B} and first.previous_run is None
    with History(path) as db:
        second = db.record([A, B], ["node9"], "t2")
    assert (set(second.new), second.still, second.previous_run) == (set(), {A: "t1", B: "t1"}, "t1")
    with History(path) as db:
        third = db.record([A], ["node9"], "t3")
        assert db.open_findings() == {A: "t1"}
    assert third.resolved == {B: "t1"} and third.still == {A: "t1"}


def test_a_finding_that_comes_back_is_new_again(tmp_path):
    with History(tmp_path / "h.sqlite") as db:
        db.record([A], ["node9"], "t1")
        db.record([], ["node9"], "t2")
        again = db.record([A], ["node9"], "t3")
        assert set(again.new) == {A}
        assert db.open_findings() == {A: "t3"}


def test_an_unreachable_host_keeps_its_findings_open(tmp_path):
    with History(tmp_path / "h.sqlite") as db:
        db.record([C], ["node10"], "t1")
        quiet = db.record([], [], "t2")
        assert quiet.resolved == {} and db.open_findings() == {C: "t1"}
        back = db.record([C], ["node10"], "t3")
    assert back.still == {C: "t1"}


@pytest.mark.parametrize(("key", "state"), [(A, "new"), (B, "still")])
def test_state_of_a_current_finding(key, state):
    assert classify([A, B], {B: "t0"}, ["node9"]).state(key) == state


def test_each_finding_keeps_first_and_last_seen_and_its_latest_evidence(tmp_path):
    with History(tmp_path / "h.sqlite") as db:
        db.record([A], ["node9"], "2026-11-01T02:30:00+00:00", {A: "-old\n+one"})
        db.record([A, B], ["node9"], "2026-11-02T02:30:00+00:00", {A: "-old\n+two", B: "stopped"})
        db.record([B], ["node9"], "2026-11-03T02:30:00+00:00", {B: "stopped"})
        rows = {(r.host, r.subject): r for r in db.rows()}
        assert rows[A].first_seen.startswith("2026-11-01") and rows[A].last_seen.startswith("2026-11-02")
        assert rows[A].resolved and rows[A].resolved.startswith("2026-11-03") and rows[A].detail == "-old\n+two"
        assert rows[B].resolved is None and rows[B].last_seen.startswith("2026-11-03")
        assert [r.subject for r in db.rows(since="2026-11-03T00:00:00+00:00")] == [A[1], B[1]]
        assert db.rows(host="node10") == []


def test_prune_forgets_old_runs_and_old_resolved_findings_but_keeps_open_ones(tmp_path):
    with History(tmp_path / "h.sqlite") as db:
        db.record([A, B], ["node9"], "2025-01-01T00:00:00+00:00")
        db.record([B], ["node9"], "2025-01-02T00:00:00+00:00")  # A resolved, long ago
        assert db.prune("2026-01-01T00:00:00+00:00") == 1
        assert [r.subject for r in db.rows()] == [B[1]] and db.last_run() is None


def test_a_history_from_before_evidence_was_kept_gains_the_column(tmp_path):
    import sqlite3

    old = sqlite3.connect(tmp_path / "h.sqlite")
    old.executescript("CREATE TABLE runs (id INTEGER PRIMARY KEY, at TEXT NOT NULL);"
                      "CREATE TABLE findings (id INTEGER PRIMARY KEY, host TEXT NOT NULL, subject TEXT NOT NULL, "
                      "first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, resolved TEXT);"
                      "INSERT INTO findings (host, subject, first_seen, last_seen) "
                      "VALUES ('node9', 'file[/etc/a]', 't0', 't0');")
    old.commit()
    old.close()
    with History(tmp_path / "h.sqlite") as db:
        db.record([A], ["node9"], "t1", {A: "diff"})
        assert [(r.first_seen, r.detail) for r in db.rows()] == [("t0", "diff")]
