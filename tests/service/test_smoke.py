async def test_create_and_get(client):
    resp = await client.post("/jobs", json={"type": "report"})
    assert resp.status == 201
    job = await resp.json()
    resp = await client.get(f"/jobs/{job['id']}")
    assert resp.status == 200
    assert (await resp.json())["status"] == "queued"
