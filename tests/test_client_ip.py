"""The client IP (forum/net.py) and how it is stored (forum/db.py IPColumn) (P6, P8)."""

import ipaddress

import pytest
from helpers import JSON_TYPE
from sqlalchemy import select, text

from forum.content import posting
from forum.content.models import Post, PostEdit
from forum.db import db, ip_from_bytes, ip_to_bytes
from forum.net import TrustedProxies, client_ip, parse_ip
from forum.users.models import User

TITLE = "Where did this post come from?"
RAW = "A post whose address we are checking."
PROXIES = TrustedProxies.parse("10.0.0.0/8, fd00::/8")


def ip(value):
    return ipaddress.ip_address(value)


def resolve(remote_addr, forwarded=None, trusted=PROXIES):
    environ = {} if remote_addr is None else {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(environ, trusted)


# --- client_ip ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forwarded",
    [None, "198.51.100.7", "198.51.100.7, 10.0.0.1", "garbage"],
)
def test_without_trusted_proxies_the_peer_is_the_client(forwarded):
    assert resolve("203.0.113.5", forwarded, TrustedProxies.parse("")) == ip("203.0.113.5")
    assert resolve("10.0.0.2", forwarded, TrustedProxies()) == ip("10.0.0.2")


def test_an_untrusted_peer_cannot_forge_forwarded_for():
    assert resolve("203.0.113.5", "10.0.0.1") == ip("203.0.113.5")
    assert resolve("203.0.113.5", "198.51.100.7, 10.0.0.1") == ip("203.0.113.5")


@pytest.mark.parametrize(
    ("remote_addr", "forwarded", "expected"),
    [
        ("10.0.0.2", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.2", "198.51.100.7, 10.0.0.1", "198.51.100.7"),
        ("10.0.0.2", "198.51.100.7,10.0.0.1,10.9.9.9", "198.51.100.7"),
        ("fd00::2", "2001:db8::7, fd00::1", "2001:db8::7"),
        ("10.0.0.2", "2001:db8::7, fd00::1", "2001:db8::7"),
    ],
    ids=["one-proxy", "two-proxies", "three-proxies", "ipv6-chain", "mixed-families"],
)
def test_through_trusted_proxies_the_client_is_found(remote_addr, forwarded, expected):
    assert resolve(remote_addr, forwarded) == ip(expected)


@pytest.mark.parametrize(
    "forwarded",
    [
        "1.2.3.4, 198.51.100.7, 10.0.0.1",
        "10.0.0.99, 198.51.100.7, 10.0.0.1",  # a forged "trusted" hop, left of the client
        "evil, 198.51.100.7",
        "1.2.3.4,5.6.7.8, 198.51.100.7",
    ],
)
def test_forged_entries_left_of_the_real_client_are_ignored(forwarded):
    assert resolve("10.0.0.2", forwarded) == ip("198.51.100.7")


def test_several_forwarded_for_headers_folded_into_one():
    # WSGI servers join repeated headers with a comma: the right-most hop still wins.
    assert resolve("10.0.0.2", "6.6.6.6,198.51.100.7, 10.0.0.1") == ip("198.51.100.7")


def test_when_every_hop_is_trusted_the_leftmost_is_taken():
    assert resolve("10.0.0.2", "10.0.0.9, 10.0.0.1") == ip("10.0.0.9")
    assert resolve("10.0.0.2", "10.0.0.9") == ip("10.0.0.9")


@pytest.mark.parametrize("forwarded", [None, "", " , ,"])
def test_a_trusted_peer_without_forwarded_for_is_the_client(forwarded):
    assert resolve("10.0.0.2", forwarded) == ip("10.0.0.2")


def test_empty_entries_are_skipped():
    assert resolve("10.0.0.2", "198.51.100.7, , 10.0.0.1,") == ip("198.51.100.7")


@pytest.mark.parametrize("remote_addr", ["", None, "/run/parlor.sock", "unix:/run/x.sock"])
def test_a_unix_socket_proxy_uses_forwarded_for(remote_addr):
    unix = TrustedProxies.parse("unix")
    assert resolve(remote_addr, "198.51.100.7", unix) == ip("198.51.100.7")
    assert resolve(remote_addr, "6.6.6.6, 198.51.100.7", unix) == ip("198.51.100.7")
    both = TrustedProxies.parse("unix, 10.0.0.0/8")
    assert resolve(remote_addr, "198.51.100.7, 10.0.0.1", both) == ip("198.51.100.7")


@pytest.mark.parametrize("forwarded", [None, "", "garbage"])
def test_a_unix_socket_without_a_usable_forwarded_for_gives_no_address(forwarded):
    assert resolve("", forwarded, TrustedProxies.parse("unix")) is None


@pytest.mark.parametrize("remote_addr", ["", None, "not-an-ip", "/run/parlor.sock"])
def test_without_unix_an_unknown_peer_gives_no_address(remote_addr):
    assert resolve(remote_addr, "198.51.100.7", PROXIES) is None
    assert resolve(remote_addr, None, TrustedProxies()) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2001:db8::1", "2001:db8::1"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("::FFFF:192.0.2.1", "192.0.2.1"),
        ("::ffff:c000:201", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("192.0.2.1:5123", "192.0.2.1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[::ffff:192.0.2.1]:443", "192.0.2.1"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_addresses_are_canonical(value, expected):
    assert parse_ip(value) == ip(expected)
    assert resolve(value, "198.51.100.7") == ip(expected)  # as an untrusted peer
    assert resolve("10.0.0.2", value) == ip(expected)  # as a forwarded client


def test_ipv4_mapped_is_the_same_address_as_ipv4():
    mapped = parse_ip("::ffff:192.0.2.1")
    assert mapped == ipaddress.IPv4Address("192.0.2.1")
    assert isinstance(mapped, ipaddress.IPv4Address)
    # A proxy that reaches us over a dual-stack socket is still trusted by its IPv4 range.
    assert resolve("::ffff:10.0.0.2", "198.51.100.7") == ip("198.51.100.7")


@pytest.mark.parametrize(
    "value",
    ["garbage", "unknown", "999.1.1.1", "1.2.3.4.5", "1.2.3", "2001:db8:::1", "[::1",
     "192.0.2.1:port:extra", "0x7f.1", "1.2.3.4/24", "-"],
)  # fmt: skip
def test_malformed_addresses(value):
    assert parse_ip(value) is None
    # A malformed hop stops the walk: the client is unknown (and nothing is written),
    # rather than the proxy's own address being recorded as the member's.
    assert resolve("10.0.0.2", f"198.51.100.7, {value}, 10.0.0.1") is None
    assert resolve("10.0.0.2", f"198.51.100.7, {value}") is None
    # An untrusted peer is taken as it is, whatever it forwards.
    assert resolve("203.0.113.5", value) == ip("203.0.113.5")


@pytest.mark.parametrize(
    ("spec", "networks", "unix"),
    [
        ("", [], False),
        ("  ", [], False),
        ("10.0.0.0/8", ["10.0.0.0/8"], False),
        ("10.0.0.0/8, 192.168.1.1 ,fd00::/8", ["10.0.0.0/8", "192.168.1.1/32", "fd00::/8"], False),
        ("10.1.2.3/8", ["10.0.0.0/8"], False),
        ("unix", [], True),
        ("UNIX, 127.0.0.1,,", ["127.0.0.1/32"], True),
    ],
)
def test_trusted_proxies_parse(spec, networks, unix):
    parsed = TrustedProxies.parse(spec)
    assert [str(n) for n in parsed.networks] == networks
    assert parsed.unix is unix


@pytest.mark.parametrize(
    "spec", ["garbage", "10.0.0.0/33", "10.0.0.0/8, nope", "300.1.1.1", "unix-socket", "*"]
)
def test_trusted_proxies_parse_refuses_garbage(spec):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        TrustedProxies.parse(spec)


def test_an_app_with_garbage_trusted_proxies_refuses_to_start(make_app):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        make_app(TRUSTED_PROXIES="10.0.0.0/8, everyone")


# --- through the app ------------------------------------------------------------------------


def signed_in(some_app, user_id):
    """A test client of `some_app` signed in as `user_id`, and its CSRF header."""
    client = some_app.test_client()
    with some_app.app_context():
        session_id = db.session.get(User, user_id).get_id()
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
        sess["_fresh"] = True
    token = client.get("/session/csrf.json").get_json()["csrf"]
    return client, {"X-CSRF-Token": token}


def post_from(client, headers, category_id, remote_addr, forwarded=None):
    if forwarded is not None:
        headers = {**headers, "X-Forwarded-For": forwarded}
    return client.post(
        "/posts.json",
        json={"title": TITLE, "raw": RAW, "category": category_id},
        headers=headers,
        environ_base={"REMOTE_ADDR": remote_addr},
    )


def stored_ip(some_app, post_id):
    with some_app.app_context():
        return db.session.scalar(select(Post.ip).where(Post.id == post_id))


@pytest.fixture
def proxied_app(app, make_app):
    return make_app(TRUSTED_PROXIES="10.0.0.0/8")


@pytest.mark.parametrize(
    ("remote_addr", "forwarded", "expected"),
    [
        ("10.1.2.3", "198.51.100.23", "198.51.100.23"),
        ("10.1.2.3", "6.6.6.6, 198.51.100.23, 10.0.0.1", "198.51.100.23"),
        ("10.1.2.3", "2001:db8::23", "2001:db8::23"),
        ("10.1.2.3", None, "10.1.2.3"),
        ("203.0.113.9", "198.51.100.23", "203.0.113.9"),
        ("2001:db8::9", "198.51.100.23", "2001:db8::9"),
    ],
    ids=["via-proxy", "via-proxies-forged", "via-proxy-ipv6", "proxy-itself", "untrusted-peer",
         "untrusted-ipv6-peer"],
)  # fmt: skip
def test_a_post_records_the_client_behind_trusted_proxies_only(
    app, proxied_app, users, category_id, remote_addr, forwarded, expected
):
    client, headers = signed_in(proxied_app, users["alice"])
    response = post_from(client, headers, category_id, remote_addr, forwarded)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert stored_ip(app, response.get_json()["id"]) == ip(expected)


def test_the_default_app_trusts_no_proxy(app, users, category_id):
    client, headers = signed_in(app, users["alice"])
    response = post_from(client, headers, category_id, "10.1.2.3", "198.51.100.23")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert stored_ip(app, response.get_json()["id"]) == ip("10.1.2.3")


def test_an_edit_through_a_proxy_records_the_forwarded_client(app, proxied_app, users, category_id):
    client, headers = signed_in(proxied_app, users["alice"])
    post_id = post_from(client, headers, category_id, "10.1.2.3", "198.51.100.23").get_json()["id"]
    response = client.put(
        f"/posts/{post_id}.json",
        json={"raw": "The same post, edited from elsewhere."},
        headers={**headers, "X-Forwarded-For": "2001:db8::ed17"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        edit_ip = db.session.scalar(select(PostEdit.ip).where(PostEdit.post_id == post_id))
    assert edit_ip == ip("2001:db8::ed17")
    assert stored_ip(app, post_id) == ip("198.51.100.23")


def test_no_client_ip_means_nothing_is_written(app, make_app, users, category_id):
    unix_app = make_app(TRUSTED_PROXIES="unix")
    client, headers = signed_in(unix_app, users["alice"])
    response = post_from(client, headers, category_id, "", None)
    assert response.status_code == 400
    assert response.content_type == JSON_TYPE
    assert response.get_json()["error_type"] == "no_client_ip"
    with app.app_context():
        assert db.session.scalars(select(Post.id)).all() == []
    response = post_from(client, headers, category_id, "", "198.51.100.23")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert stored_ip(app, response.get_json()["id"]) == ip("198.51.100.23")


# --- IPColumn -------------------------------------------------------------------------------


@pytest.fixture
def make_posts(app, users, category_id):
    """Posts from the given addresses (one topic each); their ids, in the same order."""

    def make(addresses):
        with app.app_context():
            author = db.session.get(User, users["alice"])
            ids = [
                posting.create_topic(author, TITLE, RAW, category_id, address).id
                for address in addresses
            ]
            db.session.commit()
            return ids

    return make


ROUND_TRIPS = [
    ("192.0.2.1", ipaddress.IPv4Address("192.0.2.1")),
    (ipaddress.IPv4Address(0), ipaddress.IPv4Address(0)),
    (ipaddress.IPv4Address("255.255.255.255"), ipaddress.IPv4Address("255.255.255.255")),
    ("2001:db8::1", ipaddress.IPv6Address("2001:db8::1")),
    (ipaddress.IPv6Address("::1"), ipaddress.IPv6Address("::1")),
    (ipaddress.IPv6Address("ffff:" * 7 + "ffff"), ipaddress.IPv6Address("ffff:" * 7 + "ffff")),
    ("::ffff:192.0.2.1", ipaddress.IPv4Address("192.0.2.1")),
    (ipaddress.IPv6Address("::ffff:198.51.100.2"), ipaddress.IPv4Address("198.51.100.2")),
]


def test_ip_column_round_trips_through_the_database(app, make_posts):
    ids = make_posts([given for given, _ in ROUND_TRIPS])
    with app.app_context():
        for post_id, (_, expected) in zip(ids, ROUND_TRIPS, strict=True):
            got = db.session.scalar(select(Post.ip).where(Post.id == post_id))
            assert got == expected
            assert type(got) is type(expected)
            raw = db.session.execute(
                text("SELECT ip FROM posts WHERE id = :id"), {"id": post_id}
            ).scalar_one()
            assert len(bytes(raw)) == 16
            assert bytes(raw) == ip_to_bytes(expected)


def test_ip_column_stores_ipv4_mapped_into_ipv6(app, make_posts):
    [post_id] = make_posts(["192.0.2.1"])
    with app.app_context():
        raw = db.session.execute(text("SELECT ip FROM posts WHERE id = :id"), {"id": post_id})
        assert bytes(raw.scalar_one()) == b"\0" * 10 + b"\xff\xff" + bytes([192, 0, 2, 1])


def test_ip_column_compares_mapped_and_plain_forms_equal(app, make_posts):
    [v4, v6] = make_posts(["192.0.2.1", "2001:db8::1"])
    with app.app_context():
        for form in ("192.0.2.1", "::ffff:192.0.2.1", ipaddress.IPv6Address("::ffff:192.0.2.1")):
            assert db.session.scalars(select(Post.id).where(Post.ip == form)).all() == [v4]
        found = db.session.scalars(select(Post.id).where(Post.ip == "2001:DB8:0::1")).all()
        assert found == [v6]


def test_ip_bytes_helpers():
    for value in ("192.0.2.1", "2001:db8::1", "::"):
        raw = ip_to_bytes(value)
        assert len(raw) == 16
        assert ip_from_bytes(raw) == ip(value)
    assert ip_from_bytes(ip_to_bytes("::ffff:192.0.2.1")) == ip("192.0.2.1")
    assert parse_ip("") is None


def in_range(cidr):
    """Ids of the posts whose IP lies in `cidr`, as one BETWEEN on the column."""
    network = ipaddress.ip_network(cidr, strict=False)
    first, last = network.network_address, network.broadcast_address
    return set(db.session.scalars(select(Post.id).where(Post.ip.between(first, last))))


RANGE_ADDRESSES = [
    "198.51.99.255",  # 0: just below 198.51.100.0/24
    "198.51.100.0",  # 1: first of the /24
    "198.51.100.77",  # 2
    "::ffff:198.51.100.128",  # 3: mapped, inside
    "198.51.100.255",  # 4: last of the /24
    "198.51.101.0",  # 5: just above
    "2001:db8::1",  # 6: first-ish of 2001:db8::/32
    "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",  # 7: last of 2001:db8::/32
    "2001:db9::",  # 8: just above
    "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",  # 9: just below
    "10.0.0.1",  # 10
    "::1",  # 11
]


@pytest.mark.parametrize(
    ("cidr", "inside"),
    [
        ("198.51.100.0/24", {1, 2, 3, 4}),
        ("198.51.100.77/24", {1, 2, 3, 4}),
        ("198.51.100.77/32", {2}),
        ("198.51.100.128/25", {3, 4}),
        ("198.51.0.0/16", {0, 1, 2, 3, 4, 5}),
        ("0.0.0.0/0", {0, 1, 2, 3, 4, 5, 10}),
        ("::ffff:198.51.100.0/120", {1, 2, 3, 4}),
        ("2001:db8::/32", {6, 7}),
        ("2001:db8::/128", set()),
        ("2001:db8::1/128", {6}),
        ("2001::/16", {6, 7, 8, 9}),
        ("::/0", set(range(12))),
        ("::/127", {11}),
        ("203.0.113.0/24", set()),
    ],
)
def test_cidr_range_is_a_between_on_the_column(app, make_posts, cidr, inside):
    ids = make_posts(RANGE_ADDRESSES)
    with app.app_context():
        assert in_range(cidr) == {ids[i] for i in inside}


def test_the_range_query_uses_the_index(app, make_posts):
    make_posts(RANGE_ADDRESSES)
    network = ipaddress.ip_network("198.51.100.0/24")
    bounds = {
        "first": ip_to_bytes(network.network_address),
        "last": ip_to_bytes(network.broadcast_address),
    }
    query = "SELECT id FROM posts WHERE ip BETWEEN :first AND :last"
    with app.app_context():
        connection = db.session.connection()
        if connection.dialect.name == "sqlite":
            explain = "EXPLAIN QUERY PLAN"
        else:  # a handful of rows: make the planner show whether it can use the index
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            explain = "EXPLAIN"
        plan = connection.execute(text(f"{explain} {query}"), bounds).all()
        db.session.rollback()
    assert "ix_posts_ip" in " ".join(str(cell) for row in plan for cell in row)
