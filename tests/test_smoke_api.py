def test_topic_roundtrip(app, users, category_id, member):
    alice = member(users["alice"])
    r = alice.post(
        "/posts.json",
        json={
            "title": "A topic about testing things",
            "raw": "This is the first post body.",
            "category": category_id,
        },
    )
    assert r.status_code == 200, r.get_json()
    post = r.get_json()
    r = alice.post(
        "/posts.json", json={"topic_id": post["topic_id"], "raw": "And this is a reply to it."}
    )
    assert r.status_code == 200, r.get_json()
    t = alice.get(f"/t/{post['topic_id']}.json").get_json()
    assert len(t["post_stream"]["posts"]) == 2
