from fastapi.testclient import TestClient

from bookmarks.main import app

client = TestClient(app)


def test_add_and_list():
    created = client.post("/bookmarks", json={"url": "https://docs.docker.com/build/cache/", "title": "Build cache", "tags": ["docker"]})
    assert created.status_code == 201
    assert client.get("/bookmarks", params={"tag": "docker"}).json()[0]["title"] == "Build cache"


def test_rejects_bad_url():
    assert client.post("/bookmarks", json={"url": "not a url", "title": "x"}).status_code == 422
