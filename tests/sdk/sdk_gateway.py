#!/usr/bin/env python3
"""A loopback API gateway that checks every request's SDK-HMAC-SHA256 signature
with the official Huawei Cloud Python SDK's own signer (huaweicloudsdkcore).

For each request it rebuilds an `SdkRequest` from what arrived on the wire
(method, Host, path, decoded query pairs, the headers the client says it signed,
body) and has the SDK's `Signer` sign it with the known AK/SK: the canonical
request, string to sign and HMAC are all computed by SDK code. The request is
accepted only when the SDK's `SignedHeaders` and `Signature` equal the ones
received. Then it either relays the request to `--upstream` (e.g. `nbwatch sim`)
or answers from `--serve-fixture FILE` itself; a rejected request gets
401 `{"error_code":"APIGW.0301",...}` with an `X-Request-Id`, like the real one.

Control endpoints (not signed, not counted):
  GET  /_gateway/stats  -> {"requests": N, "accepted": A, "rejected": M,
                            "noncanonical_query": Q, "verdicts": [...]}
  POST /_gateway/reset  -> zeroes the counters

It prints `listening on http://127.0.0.1:PORT` on stdout once ready, and one
verdict line per request on stderr. The SK never appears in either.
"""

import argparse
import hmac
import http.client
import json
import os
import re
import sys
import threading
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.algorithm import SigningAlgorithm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture  # noqa: E402

# The very class the SDK picks for SDK-HMAC-SHA256 (its default algorithm).
SdkSigner = BasicCredentials._SIGNER_CASE[SigningAlgorithm.HMAC_SHA256]

MAX_SKEW = timedelta(minutes=15)
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
AUTH_RE = re.compile(
    r"SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9A-Fa-f]+)"
)
# The SDK looks some headers up case-sensitively (e.g. "Content-Type" to decide
# on UNSIGNED-PAYLOAD); clients like hyper send lowercase names. Give those the
# SDK's own spelling so the SDK treats the request as it would its own.
SDK_HEADER_SPELLING = {
    h.lower(): h
    for h in (
        "Content-Type",
        "Host",
        "X-Sdk-Date",
        "X-Project-Id",
        "X-Security-Token",
        "X-Sdk-Content-Sha256",
    )
}
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}


class _RecordingSigner(SdkSigner):
    """The SDK signer, unchanged, remembering the canonical request it built
    (only for the diagnostic log line on a rejection)."""

    canonical_request = None

    def _process_string_to_sign(self, canonical_request, time):
        self.canonical_request = canonical_request
        return super()._process_string_to_sign(canonical_request, time)


class Verdict:
    def __init__(self, ok, reason, canonical_query=True, canonical_request=None, ak=None, signed_headers=None):
        self.ok = ok
        self.signed_headers = signed_headers
        self.reason = reason
        self.canonical_query = canonical_query
        self.canonical_request = canonical_request
        self.ak = ak

    def __repr__(self):
        return "Verdict(ok=%r, reason=%r)" % (self.ok, self.reason)


def _wire_text(value):
    """http.server decodes header bytes as latin-1; the SDK signed the text."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def decode_query(raw_query):
    """Decoded (key, value) pairs of a raw query string, in wire order.
    '+' stays '+': the SDK encodes a space as %20, never '+'."""
    pairs = []
    if not raw_query:
        return pairs
    for part in raw_query.split("&"):
        if part == "":
            continue
        k, _, v = part.partition("=")
        pairs.append(
            (
                urllib.parse.unquote(k, errors="strict"),
                urllib.parse.unquote(v, errors="strict"),
            )
        )
    return pairs


def verify(method, target, headers, body, ak, sk, now=None, security_token=None):
    """Checks one request's signature with the SDK's signer.

    method: "GET"...; target: the request-target as received ("/path?query");
    headers: [(name, value)] as received; body: bytes; now: aware datetime for
    the 15-minute X-Sdk-Date check, or None to skip it.
    """
    path, _, raw_query = target.partition("?")
    got = [(k, _wire_text(v)) for k, v in headers]

    def values(name):
        return [v for k, v in got if k.lower() == name]

    auth = values("authorization")
    if not auth:
        return Verdict(False, "no Authorization header")
    if len(auth) > 1:
        return Verdict(False, "more than one Authorization header")
    m = AUTH_RE.fullmatch(auth[0].strip())
    if not m:
        return Verdict(False, "Authorization is not 'SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…'")
    got_ak, got_signed, got_sig = m.group(1), m.group(2), m.group(3)
    if got_ak != ak:
        return Verdict(False, "unknown AK", ak=got_ak)
    claimed = got_signed.split(";")
    if not all(claimed):
        return Verdict(False, "empty name in SignedHeaders", ak=got_ak)
    for must in ("host", "x-sdk-date"):
        if must not in claimed:
            return Verdict(False, "%s is not among the signed headers" % must, ak=got_ak)

    header_params = {}
    for name in claimed:
        vals = values(name)
        if not vals:
            return Verdict(False, "signed header %r was not received" % name, ak=got_ak)
        if len(vals) > 1:
            return Verdict(False, "signed header %r received more than once" % name, ak=got_ak)
        original = next(k for k, _ in got if k.lower() == name)
        header_params[SDK_HEADER_SPELLING.get(name, original)] = vals[0]

    date = header_params.get("X-Sdk-Date")
    try:
        signed_at = datetime.strptime(date, DATE_FORMAT).replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return Verdict(False, "X-Sdk-Date %r is not %s" % (date, DATE_FORMAT), ak=got_ak)
    if now is not None and abs(now - signed_at) > MAX_SKEW:
        return Verdict(
            False,
            "X-Sdk-Date %s is more than 15 minutes from the gateway clock %s"
            % (date, now.strftime(DATE_FORMAT)),
            ak=got_ak,
        )
    if security_token is not None:
        if header_params.get("X-Security-Token") != security_token:
            return Verdict(False, "X-Security-Token missing, unsigned or wrong", ak=got_ak)

    try:
        query_params = decode_query(raw_query)
    except UnicodeDecodeError:
        return Verdict(False, "query is not percent-encoded UTF-8", ak=got_ak)

    request = SdkRequest(
        method=method,
        schema="http",
        host=header_params["Host"],
        resource_path=path,
        query_params=query_params,
        header_params=header_params,
        body=body if body else None,
    )
    signer = _RecordingSigner(BasicCredentials(ak, sk))
    try:
        signed = signer.sign(request)
    except Exception as e:  # the SDK choking on the input is a rejection too
        return Verdict(False, "SDK signer failed: %s" % type(e).__name__, ak=got_ak)
    m2 = AUTH_RE.fullmatch(signed.header_params["Authorization"])
    want_signed, want_sig = m2.group(2), m2.group(3)
    canonical_query = signed.uri == target
    if want_signed != got_signed:
        return Verdict(
            False,
            "SignedHeaders %s, the SDK would sign %s" % (got_signed, want_signed),
            canonical_query,
            signer.canonical_request,
            got_ak,
        )
    if not hmac.compare_digest(want_sig.lower(), got_sig.lower()):
        return Verdict(False, "signature mismatch", canonical_query, signer.canonical_request, got_ak)
    return Verdict(True, "signature ok", canonical_query, signer.canonical_request, got_ak, got_signed)


def _mask_canonical(cr):
    """A canonical request for the log: the security token's value hidden."""
    return "\n".join(
        "x-security-token:****" if line.startswith("x-security-token:") else line
        for line in (cr or "").split("\n")
    )


class Gateway:
    def __init__(self, ak, sk, skew_check=True, upstream=None, instances=None, security_token=None,
                 verbose=False, max_verdicts=2000, log=True):
        self.log = log
        self.ak = ak
        self.sk = sk
        self.skew_check = skew_check
        self.upstream = urllib.parse.urlsplit(upstream) if upstream else None
        self.instances = instances
        self.security_token = security_token
        self.verbose = verbose
        self.max_verdicts = max_verdicts
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = 0
            self.accepted = 0
            self.rejected = 0
            self.noncanonical = 0
            self.verdicts = []

    def stats(self):
        with self.lock:
            return {
                "requests": self.requests,
                "accepted": self.accepted,
                "rejected": self.rejected,
                "noncanonical_query": self.noncanonical,
                "verdicts": list(self.verdicts),
            }

    def record(self, method, target, verdict, request_id, status):
        with self.lock:
            self.requests += 1
            if verdict.ok:
                self.accepted += 1
            else:
                self.rejected += 1
            if not verdict.canonical_query:
                self.noncanonical += 1
            if len(self.verdicts) < self.max_verdicts:
                self.verdicts.append(
                    {
                        "method": method,
                        "target": target,
                        "ok": verdict.ok,
                        "reason": verdict.reason,
                        "canonical_query": verdict.canonical_query,
                        "signed_headers": verdict.signed_headers,
                        "request_id": request_id,
                        "status": status,
                    }
                )
        if not self.log:
            return
        note = "" if verdict.canonical_query else " (query on the wire is not the SDK's canonical query)"
        print(
            "[gateway] %s %s %s -> %s rid=%s: %s%s"
            % ("ACCEPT" if verdict.ok else "REJECT", method, target, status, request_id, verdict.reason, note),
            file=sys.stderr,
            flush=True,
        )
        if self.verbose and verdict.canonical_request is not None and not (verdict.ok and verdict.canonical_query):
            print("[gateway]   SDK canonical request:\n    "
                  + _mask_canonical(verdict.canonical_request).replace("\n", "\n    "),
                  file=sys.stderr, flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sdk-gateway/1"
    gateway = None  # set on the subclass

    def log_message(self, fmt, *args):  # verdict lines replace the access log
        pass

    def _send(self, status, body, headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers = [("Content-Type", "application/json")] + list(headers)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise ValueError("chunked request bodies are not supported")
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _handle(self):
        gw = self.gateway
        target = self.path
        if target.startswith("/_gateway/"):
            if target == "/_gateway/stats" and self.command == "GET":
                return self._send(200, gw.stats())
            if target == "/_gateway/reset" and self.command == "POST":
                self._read_body()
                gw.reset()
                return self._send(200, {"reset": True})
            return self._send(404, {"error": "unknown control endpoint"})

        request_id = uuid.uuid4().hex
        try:
            body = self._read_body()
        except ValueError as e:
            self.close_connection = True
            return self._send(400, {"error_code": "APIGW.0201", "error_msg": str(e)},
                              [("X-Request-Id", request_id)])
        now = datetime.now(timezone.utc) if gw.skew_check else None
        verdict = verify(self.command, target, self.headers.items(), body, gw.ak, gw.sk, now,
                         gw.security_token)
        if not verdict.ok:
            gw.record(self.command, target, verdict, request_id, 401)
            return self._send(
                401,
                {
                    "error_code": "APIGW.0301",
                    "error_msg": "Incorrect IAM authentication information: verify aksk signature fail",
                    "request_id": request_id,
                },
                [("X-Request-Id", request_id)],
            )
        if gw.upstream is not None:
            status, headers, payload = self._relay(body, request_id)
        else:
            status, headers, payload = self._fixture(request_id)
        gw.record(self.command, target, verdict, request_id, status)
        self._send(status, payload, headers)

    def _fixture(self, request_id):
        path, _, raw_query = self.path.partition("?")
        rid = [("X-Request-Id", request_id)]
        if self.command != "GET" or not re.fullmatch(r"/v1/[^/]+/notebooks(/all)?", path):
            return 404, rid, {"error_code": "APIGW.0101", "error_msg": "The API does not exist or has not been published in the environment"}
        try:
            page = fixture.list_page(self.gateway.instances, decode_query(raw_query))
        except fixture.QueryError as e:
            return 400, rid, {"error_code": e.code, "error_msg": e.msg}
        return 200, rid, page

    def _relay(self, body, request_id):
        up = self.gateway.upstream
        headers = {}
        for k, v in self.headers.items():
            if k.lower() not in HOP_BY_HOP:
                headers[k] = v
        try:
            conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=30)
            # skip_host: the client's own (signed) Host header is relayed as is.
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            payload = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP and k.lower() not in ("date", "server")]
            conn.close()
        except OSError as e:
            return 502, [("X-Request-Id", request_id)], {"error_code": "APIGW.0202", "error_msg": "upstream unreachable: %s" % e}
        if not any(k.lower() == "x-request-id" for k, _ in out):
            out.append(("X-Request-Id", request_id))
        return resp.status, out, payload

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


def make_server(gateway, host="127.0.0.1", port=0):
    handler = type("BoundHandler", (Handler,), {"gateway": gateway})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0, help="loopback port (0: any free one)")
    ap.add_argument("--ak", default=os.environ.get("GATEWAY_AK"), help="the accepted AK [env GATEWAY_AK]")
    ap.add_argument("--sk-env", default="GATEWAY_SK", help="name of the environment variable holding the SK (never a flag: it would show in ps) [default GATEWAY_SK]")
    ap.add_argument("--security-token-env", default=None, help="environment variable with a required X-Security-Token")
    ap.add_argument("--no-skew-check", action="store_true", help="accept any X-Sdk-Date (for old test vectors)")
    ap.add_argument("--upstream", help="relay accepted requests to this http://host:port")
    ap.add_argument("--serve-fixture", metavar="FILE", help="answer accepted requests from these instances (JSON array)")
    ap.add_argument("--port-file", help="also write the bound port here once listening")
    ap.add_argument("-v", "--verbose", action="store_true", help="log the SDK's canonical request of rejected requests")
    a = ap.parse_args(argv)
    sk = os.environ.get(a.sk_env)
    if not a.ak or not sk:
        ap.error("the AK (--ak or GATEWAY_AK) and the SK (env %s) are required" % a.sk_env)
    if bool(a.upstream) == bool(a.serve_fixture):
        ap.error("give exactly one of --upstream and --serve-fixture")
    token = os.environ.get(a.security_token_env) if a.security_token_env else None
    instances = fixture.load(a.serve_fixture) if a.serve_fixture else None
    gw = Gateway(a.ak, sk, skew_check=not a.no_skew_check, upstream=a.upstream, instances=instances,
                 security_token=token, verbose=a.verbose)
    server = make_server(gw, port=a.port)
    port = server.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, a.port_file)
    print("listening on http://127.0.0.1:%d" % port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
