"""PostgreSQL's functions are called in named notation: each argument goes by its parameter's name."""

import asyncpg
import pytest

from jobledger.eventlog.postgres import appends, queue
from jobledger.eventlog.postgres.connection import call


@pytest.mark.parametrize("function, sent", [
    ("jobledger_append", appends.APPEND), ("jobledger_claim_candidates", queue.CANDIDATES),
], ids=["append", "claim-candidates"])
async def test_each_call_names_every_parameter_of_the_function_it_calls(pg_url, function, sent):
    conn = await asyncpg.connect(pg_url)
    try:
        row = await conn.fetchrow(
            "SELECT proargnames[1:pronargs] AS names FROM pg_proc WHERE proname = $1", function
        )
    finally:
        await conn.close()
    assert tuple(row["names"]) == sent.parameters
    assert sent.sql.startswith("SELECT") and all(f"{name} => $" in sent.sql for name in sent.parameters)


def test_arguments_go_by_name_whatever_order_they_are_given_in():
    sent = call("f", ("p_a", "p_b"), returns="x")
    assert sent.sql == "SELECT x FROM f(p_a => $1, p_b => $2)"
    assert sent.args({"p_b": 2, "p_a": 1}) == [1, 2]
    with pytest.raises(TypeError):
        sent.args({"p_a": 1})
    with pytest.raises(TypeError):
        sent.args({"p_a": 1, "p_b": 2, "p_c": 3})


def test_an_append_batch_gives_every_parameter_of_jobledger_append():
    assert set(appends.append_args([])) == set(appends.APPEND.parameters)
