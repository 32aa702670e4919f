#!/usr/bin/env python3
"""Unit tests of sdk_gateway.py: it must accept what the official SDK signs,
reject anything else, and serve/relay pages faithfully.

Run: python -m unittest tests/sdk/test_gateway.py  (inside the SDK venv)
"""

import json
import os
import sys
import threading
import unittest
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fixture  # noqa: E402
import sdk_gateway  # noqa: E402
from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.sdk_request import SdkRequest  # noqa: E402

VECTORS = os.environ.get(
    "SIGN_VECTORS", os.path.join(HERE, "..", "data", "sign_vectors.json")
)
AK = "HPUAGATEWAYTESTAK001"
SK = "gatewayTestSecretKey00000000000000000SK1"
PROJECT = "0123456789abcdef0123456789abcdef"


def load_vectors():
    with open(VECTORS, encoding="utf-8") as f:
        return json.load(f)


def vector_request(v):
    """(method, target, headers, body) of a vector, as they would arrive."""
    url = urllib.parse.urlsplit(v["expected_url"])
    target = url.path + ("?" + url.query if url.query else "")
    # http.server hands header values over decoded as latin-1.
    headers = [(k, val.encode("utf-8").decode("latin-1")) for k, val in v["expected_headers"].items()]
    body = v["input"]["body"]
    body = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    return v["input"]["method"], target, headers, body


class VectorTests(unittest.TestCase):
    """Every request the official SDK signed in sign_vectors.json verifies."""

    def test_every_vector_verifies_and_the_sdk_rebuilds_its_canonical_request(self):
        vectors = load_vectors()
        self.assertGreaterEqual(len(vectors), 6)
        for v in vectors:
            with self.subTest(v["input"]["description"]):
                method, target, headers, body = vector_request(v)
                i = v["input"]
                verdict = sdk_gateway.verify(method, target, headers, body, i["ak"], i["sk"], now=None,
                                             security_token=i["security_token"])
                self.assertTrue(verdict.ok, verdict.reason)
                self.assertTrue(verdict.canonical_query, "wire query is the canonical one")
                self.assertEqual(verdict.canonical_request, v["canonical_request"])

    def test_the_skew_check_rejects_old_dates_when_on(self):
        v = load_vectors()[0]
        method, target, headers, body = vector_request(v)
        i = v["input"]
        signed_at = datetime.strptime(i["date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        ok = sdk_gateway.verify(method, target, headers, body, i["ak"], i["sk"],
                                now=signed_at + timedelta(minutes=14))
        self.assertTrue(ok.ok, ok.reason)
        late = sdk_gateway.verify(method, target, headers, body, i["ak"], i["sk"],
                                  now=signed_at + timedelta(minutes=16))
        self.assertFalse(late.ok)
        self.assertIn("15 minutes", late.reason)
        early = sdk_gateway.verify(method, target, headers, body, i["ak"], i["sk"],
                                   now=signed_at - timedelta(minutes=16))
        self.assertFalse(early.ok)

    def test_any_change_breaks_the_signature(self):
        v = load_vectors()[1]  # the percent-encoding vector
        method, target, headers, body = vector_request(v)
        i = v["input"]
        cases = {
            "wrong sk": (method, target, headers, body, i["ak"], i["sk"] + "x"),
            "wrong ak": (method, target, headers, body, i["ak"] + "X", i["sk"]),
            "method": ("POST", target, headers, body, i["ak"], i["sk"]),
            "query value": (method, target.replace("limit=20", "limit=50"), headers, body, i["ak"], i["sk"]),
            "path": (method, target.replace("/notebooks/all", "/notebooks"), headers, body, i["ak"], i["sk"]),
            "body": (method, target, headers, b"{}", i["ak"], i["sk"]),
            "signed header value": (
                method, target,
                [(k, "ffff" if k == "X-Project-Id" else val) for k, val in headers], body, i["ak"], i["sk"]),
            "signed header dropped": (
                method, target, [(k, val) for k, val in headers if k != "X-Project-Id"], body, i["ak"], i["sk"]),
            "no authorization": (
                method, target, [(k, val) for k, val in headers if k != "Authorization"], body, i["ak"], i["sk"]),
            "'+' for a space": (method, target.replace("%20", "+"), headers, body, i["ak"], i["sk"]),
        }
        for name, args in cases.items():
            with self.subTest(name):
                verdict = sdk_gateway.verify(*args, now=None)
                self.assertFalse(verdict.ok, name)

    def test_a_noncanonical_but_correctly_signed_query_is_accepted_and_flagged(self):
        v = load_vectors()[0]
        method, target, headers, body = vector_request(v)
        path, query = target.split("?")
        reordered = path + "?" + "&".join(reversed(query.split("&")))
        i = v["input"]
        verdict = sdk_gateway.verify(method, reordered, headers, body, i["ak"], i["sk"], now=None)
        self.assertTrue(verdict.ok, verdict.reason)
        self.assertFalse(verdict.canonical_query)

    def test_lowercase_header_names_as_hyper_sends_them_verify(self):
        v = load_vectors()[4]  # POST with a JSON body
        method, target, headers, body = vector_request(v)
        i = v["input"]
        lower = [(k.lower(), val) for k, val in headers]
        verdict = sdk_gateway.verify(method, target, lower, body, i["ak"], i["sk"], now=None)
        self.assertTrue(verdict.ok, verdict.reason)


class GatewayServer:
    def __init__(self, **kw):
        self.gateway = sdk_gateway.Gateway(AK, SK, log=os.environ.get("SDKCHECK_ECHO") == "1", **kw)
        self.server = sdk_gateway.make_server(self.gateway)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def sdk_signed(port, query, ak=AK, sk=SK, date=None, path=None):
    """A request signed by the SDK's own signer, as (url, headers)."""
    req = SdkRequest(
        method="GET",
        schema="http",
        host="127.0.0.1:%d" % port,
        resource_path=path or "/v1/%s/notebooks/all" % PROJECT,
        query_params=list(query),
        header_params={"Content-Type": "application/json", "X-Project-Id": PROJECT},
    )
    if date is not None:
        req.header_params["X-Sdk-Date"] = date
    signed = sdk_gateway.SdkSigner(BasicCredentials(ak, sk)).sign(req)
    return signed.url, dict(signed.header_params)


def fetch(url, headers=None, method="GET"):
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


class LiveTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.instances = fixture.generate()
        cls.gw = GatewayServer(instances=cls.instances)

    @classmethod
    def tearDownClass(cls):
        cls.gw.close()

    def setUp(self):
        self.gw.gateway.reset()

    def stats(self):
        return fetch("http://127.0.0.1:%d/_gateway/stats" % self.gw.port)[2]

    def test_sdk_signed_requests_are_accepted_and_paged(self):
        name = "my nb*中文"
        seen = []
        offset = 0
        while True:
            url, headers = sdk_signed(self.gw.port, [("name", name), ("limit", "50"), ("offset", str(offset)),
                                                     ("sort_key", "name,create_at"), ("sort_dir", "ASC")])
            self.assertIn("name=my%20nb%2A%E4%B8%AD%E6%96%87", url)
            status, rh, page = fetch(url, headers)
            self.assertEqual(status, 200, page)
            self.assertIn("X-Request-Id", rh)
            seen += page["data"]
            offset += 50
            if offset >= page["total"]:
                break
        expected = fixture.select(self.instances, fixture.parse([("name", name), ("sort_key", "name,create_at"),
                                                                 ("sort_dir", "ASC")]))
        self.assertEqual([i["id"] for i in seen], [i["id"] for i in expected])
        self.assertGreater(len(expected), 50, "the filter spans more than one page")
        self.assertTrue(all("my nb*中文" in i["name"].lower() for i in seen))
        s = self.stats()
        self.assertEqual((s["requests"], s["accepted"], s["rejected"], s["noncanonical_query"]), (2, 2, 0, 0))

    def test_a_wrong_sk_gets_401_apigw_0301_with_a_request_id(self):
        url, headers = sdk_signed(self.gw.port, [("limit", "10")], sk=SK + "wrong")
        status, rh, body = fetch(url, headers)
        self.assertEqual(status, 401)
        self.assertEqual(body["error_code"], "APIGW.0301")
        self.assertEqual(len(rh["X-Request-Id"]), 32)
        s = self.stats()
        self.assertEqual((s["requests"], s["rejected"]), (1, 1))
        self.assertEqual(s["verdicts"][0]["request_id"], rh["X-Request-Id"])
        self.assertNotIn(SK, json.dumps(s))

    def test_the_live_skew_check(self):
        old = (datetime.now(timezone.utc) - timedelta(minutes=20)).strftime("%Y%m%dT%H%M%SZ")
        url, headers = sdk_signed(self.gw.port, [("limit", "10")], date=old)
        status, _, body = fetch(url, headers)
        self.assertEqual((status, body["error_code"]), (401, "APIGW.0301"))
        self.assertIn("15 minutes", self.stats()["verdicts"][0]["reason"])

    def test_fixture_errors_and_unknown_paths(self):
        url, headers = sdk_signed(self.gw.port, [("sort_key", "flavor,bogus")])
        status, rh, body = fetch(url, headers)
        self.assertEqual((status, body["error_code"]), (400, "ModelArts.6303"))
        self.assertIn("X-Request-Id", rh)
        url, headers = sdk_signed(self.gw.port, [("limit", "15")])
        self.assertEqual(fetch(url, headers)[0], 400)
        url, headers = sdk_signed(self.gw.port, [], path="/v2/x/notebooks")
        status, _, body = fetch(url, headers)
        self.assertEqual((status, body["error_code"]), (404, "APIGW.0101"))

    def test_the_official_client_lists_through_the_gateway(self):
        from huaweicloudsdkcore.http.http_config import HttpConfig
        from huaweicloudsdkmodelarts.v1 import ListAllNotebooksRequest, ModelArtsClient

        cfg = HttpConfig.get_default_config()
        cfg.timeout = (5, 10)
        client = (ModelArtsClient.new_builder().with_http_config(cfg)
                  .with_credentials(BasicCredentials(AK, SK, PROJECT))
                  .with_endpoints(["http://127.0.0.1:%d" % self.gw.port]).build())
        r = client.list_all_notebooks(ListAllNotebooksRequest(name="a b", limit=10, offset=10))
        expected = fixture.select(self.instances, fixture.parse([("name", "a b")]))
        self.assertEqual(r.total, len(expected))
        self.assertEqual([n.id for n in r.data], [i["id"] for i in expected[10:20]])
        s = self.stats()
        self.assertEqual((s["accepted"], s["noncanonical_query"]), (1, 0))


class RelayTests(unittest.TestCase):
    def test_relay_passes_the_signed_request_and_the_answer_through(self):
        inner = GatewayServer(instances=fixture.generate())
        outer = GatewayServer(upstream="http://127.0.0.1:%d" % inner.port)
        try:
            # Signed for the outer host: the inner gateway sees the same Host
            # header, so it verifies too; that proves nothing was altered.
            url, headers = sdk_signed(outer.port, [("name", "a b"), ("limit", "20")])
            status, rh, page = fetch(url, headers)
            self.assertEqual(status, 200, page)
            want = fixture.select(fixture.generate(), fixture.parse([("name", "a b")]))
            self.assertEqual(page["total"], len(want))
            self.assertEqual([i["id"] for i in page["data"]], [i["id"] for i in want[:20]])
            self.assertEqual(outer.gateway.stats()["accepted"], 1)
            inner_v = inner.gateway.stats()["verdicts"]
            self.assertEqual([v["ok"] for v in inner_v], [True])
            self.assertEqual(rh["X-Request-Id"], inner_v[0]["request_id"])
            url, headers = sdk_signed(outer.port, [("sort_key", "bogus")])
            status, rh, body = fetch(url, headers)
            self.assertEqual((status, body["error_code"]), (400, "ModelArts.6303"))
            # A rejected request never reaches the upstream.
            url, headers = sdk_signed(outer.port, [("limit", "10")], sk="nope")
            self.assertEqual(fetch(url, headers)[0], 401)
            self.assertEqual(inner.gateway.stats()["requests"], 2)
        finally:
            outer.close()
            inner.close()


if __name__ == "__main__":
    unittest.main()
