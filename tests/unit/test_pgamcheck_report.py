"""pg_amcheck's report (the format PostgreSQL 15 prints) read as one problem per damaged relation."""

from __future__ import annotations

from ccsec.backup.pgamcheck import MAX_PROBLEMS, parse_report

INDEX = (
    'btree index "drill.public.calls_lying":\n'
    '    ERROR:  heap tuple (0,1) from table "calls" lacks matching index tuple\n'
)
HEAP = (
    'heap table "drill.public.calls", block 3, offset 7:\n'
    "    xmin 1234 precedes relation freeze threshold 0:5678\n"
    "    a second line about the same tuple\n"
)


def test_a_damaged_index_is_named_with_its_first_message() -> None:
    assert parse_report(INDEX) == [
        'pg_amcheck: btree index "drill.public.calls_lying": ERROR:  heap tuple (0,1) from table "calls" '
        "lacks matching index tuple"
    ]


def test_a_heap_page_keeps_its_block_and_offset_and_only_its_first_message() -> None:
    (problem,) = parse_report(HEAP)
    assert problem.startswith('pg_amcheck: heap table "drill.public.calls", block 3, offset 7: xmin 1234 ')
    assert "second line" not in problem


def test_lines_without_a_relation_and_relations_without_a_message_are_not_problems() -> None:
    assert parse_report("\n   an indented line before any relation\n") == []
    assert parse_report('btree index "drill.public.calls_pkey":\n\n') == []


def test_a_restore_damaged_everywhere_lists_the_first_relations_and_counts_the_rest() -> None:
    text = "".join(f'btree index "drill.public.i{n}":\n    ERROR:  damaged {n}\n' for n in range(MAX_PROBLEMS + 5))
    problems = parse_report(text)
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0] == 'pg_amcheck: btree index "drill.public.i0": ERROR:  damaged 0'
    assert problems[-1] == "pg_amcheck: 5 more damaged relation(s) not listed"
