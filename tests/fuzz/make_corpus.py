#!/usr/bin/env python3
"""Writes the committed seed corpora under tests/fuzz/corpus/<target>/ (deterministic, so it can be
re-run after a change and the diff reviewed). The seeds come from the seed documents' examples
(../shared/seeds, copied here so the corpora do not depend on that directory), the default rules,
request-smuggling heads and odd JSON. Input formats are described in tests/fuzz/README.md.

    python3 tests/fuzz/make_corpus.py          # rewrite every corpus directory
"""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- bodies from the seed documents

SEED_GROUP_BODY = """{
      "user_group_id": "example_1",
      "name": "Example 1",
      "mapping": {"40": "213", "134": "386"},
      "properties": {"filterValue": "value"}
  }"""
SEED_GROUP_BODY_COMPACT = ('{ "user_group_id": "example_1", "name": "Example 1", "mapping": '
                           '{"40": "213", "134": "386"}, "properties": {"filterValue": "value"} }')
SEED_EXPLO_BODY = ('{"user_group_id":"example_1","name":"Example 1","mapping":{"40":"213","134":"386"},'
                   '"is_demo_group":false,"properties":{"filterValue":"value"}}')
SEED_USER_BODY = ('{"id":"example_1","active":true,"avatar":"https://x/a.png","bio":"b","birthday":"2000-02-29",'
                  '"country":"NZ","email":"a@b.c","firstName":"A","lastName":"B",'
                  '"last_seen":"2024-01-01T00:00:00Z","last_typed":"2024-01-01T00:00:00.123+13:00",'
                  '"location":"l","organization":"o","phone":"+1","regions":"r","title":"t",'
                  '"twitter":"@t","username":"u"}')
SEED_RESPONSE_MINTLIFY = """{
    "success": 1,
    "user_group": {
      "team_id": 113,
      "token": "<user_group_token_to_auth_dashboard>",
      "name": "ok",
      "provided_id": "6"
    }
  }"""
SEED_RESPONSE_EXPLO = """{
    "success": 1,
    "user_group": {
      "team_id": 113,
      "token": "<customer_token_to_auth_dashboard>",
      "name": "Example 1",
      "provided_id": "example_1",
      "is_demo_group": false
    }
  }"""
UPSTREAM_CUSTOMER = ('{"success":1,"customer":{"customer_id":"example_1","team_id":113,'
                     '"token":"cust_tok_43a47ade01cbaef1","name":"Example 1","properties":{"filterValue":"value"},'
                     '"api_environment_tag":"Customer","is_demo_group":false,"internal_shard":7,'
                     '"created_at":"2024-01-01T00:00:00Z"}}')
UPSTREAM_USER = SEED_USER_BODY[:-1] + ',"password_hash":"x","internal":{"a":[1,2]}}'

# ---------------------------------------------------------------- odd JSON

def deep(n, inner='1'):
    return '[' * n + inner + ']' * n


def deep_obj(n):
    return '{"a":' * n + '1' + '}' * n


ODD_BODIES = {
    "num-1e400": '{"user_group_id":"g","name":"n","properties":{"x":1e400,"y":-0,"z":0.10000000000000000001}}',
    "num-bigint": '{"user_group_id":"g","mapping":{"a":123456789012345678901234567890}}',
    "num-bad": '{"user_group_id":"g","mapping":{"a":01}}',
    "num-bad2": '{"user_group_id":"g","mapping":{"a":1.}}',
    "num-bad3": '{"user_group_id":"g","mapping":{"a":-}}',
    "num-bad4": '{"user_group_id":"g","mapping":{"a":1e}}',
    "num-nan": '{"user_group_id":"g","mapping":{"a":NaN}}',
    "deep-1000": '{"user_group_id":"g","properties":{"d":' + deep(1000) + '}}',
    "deep-1023": '{"user_group_id":"g","properties":' + deep_obj(1022) + '}',
    "deep-1025": '{"user_group_id":"g","properties":{"d":' + deep(1025) + '}}',
    "deep-unbalanced": '{"user_group_id":"g","properties":{"d":[[[[1]]]}}',
    "deep-mismatch": '{"user_group_id":"g","properties":{"d":[1}]}',
    "escape-key-dup": '{"user_group_id":"a","\\u0075ser_group_id":"b"}',
    "escape-key": '{"\\u0075ser_group_id":"a","na\\u006de":"x"}',
    "escape-values": '{"user_group_id":"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0000\\u00e9\\ud83d\\ude00","name":"\\u2028"}',
    "escape-lone-high": '{"user_group_id":"\\ud800"}',
    "escape-lone-low": '{"user_group_id":"\\udc00x"}',
    "escape-bad": '{"user_group_id":"\\x41"}',
    "escape-short-u": '{"user_group_id":"\\u12"}',
    "utf8-raw": '{"user_group_id":"caf\u00e9 \U0001F600"}',
    "utf8-invalid": b'{"user_group_id":"\xc3\x28","name":"\xed\xa0\x80","x":"\xf4\x90\x80\x80"}',
    "utf8-overlong": b'{"user_group_id":"\xc0\xaf"}',
    "utf8-in-key": b'{"us\xffer":1,"user_group_id":"g"}',
    "control-in-string": '{"user_group_id":"a\tb"}',
    "dup-plain": '{"user_group_id":"a","name":"x","name":"y"}',
    "dup-required": '{"user_group_id":"a","user_group_id":"b"}',
    "rename-clash": '{"user_group_id":"a","customer_id":"b"}',
    "rename-clash-escaped": '{"user_group_id":"a","\\u0063ustomer_id":"b"}',
    "null-required": '{"user_group_id":null}',
    "empty-required": '{"user_group_id":""}',
    "wrong-types": '{"user_group_id":1,"name":true,"mapping":[],"properties":"x","is_demo_group":"false"}',
    "nulls-optional": '{"user_group_id":"g","name":null,"mapping":null,"properties":null,"is_demo_group":null}',
    "trailing-garbage": SEED_EXPLO_BODY + ' x',
    "trailing-brace": SEED_EXPLO_BODY + '}',
    "trailing-object": SEED_EXPLO_BODY + '{}',
    "trailing-comma": '{"user_group_id":"g",}',
    "missing-colon": '{"user_group_id" "g"}',
    "bom": '\ufeff' + SEED_EXPLO_BODY,
    "whitespace": ' \t\r\n' + SEED_EXPLO_BODY + ' \t\r\n',
    "not-object-array": '[{"user_group_id":"g"}]',
    "not-object-null": 'null',
    "not-object-string": '"user_group_id"',
    "empty": '',
    "empty-object": '{}',
    "unclosed": '{"user_group_id":"g"',
    "unclosed-string": '{"user_group_id":"g',
    "literal-bad": '{"user_group_id":"g","is_demo_group":tru}',
    "literal-trailing": '{"user_group_id":"g","is_demo_group":truex}',
    "unknown-fields": '{"user_group_id":"g","extra":{"k":[1,{"x":null}]},"zzz":-1.5E+3}',
    "many-keys": '{' + ','.join('"k%d":%d' % (i, i) for i in range(300)) + ',"user_group_id":"g"}',
    "nul-byte": b'{"user_group_id":"g\x00"}',
    "nul-after": b'{"user_group_id":"g"}\x00',
}

USER_BODIES = {
    "user-seed": SEED_USER_BODY,
    "user-id-mismatch": '{"id":"other","active":true}',
    "user-id-null": '{"id":null}',
    "user-id-escaped": '{"id":"\\u0065xample_1"}',
    "user-dates-bad": '{"birthday":"2023-02-29","last_seen":"2024-13-01T00:00:00Z"}',
    "user-dates-edge": '{"birthday":"2000-02-29","last_seen":"2016-12-31T23:59:60z","last_typed":"2024-01-01t00:00:00.5-00:00"}',
    "user-dates-short": '{"last_seen":"2024-01-01T00:00:00"}',
    "user-dates-frac": '{"last_seen":"2024-01-01T00:00:00.Z"}',
    "user-date-ws": '{"birthday":" 2000-01-01"}',
    "user-active-string": '{"active":"true"}',
    "user-group-shape": SEED_GROUP_BODY,
}


def put_head(path, auth="Authorization: Token demo-token", body='{"user_group_id":"example_1"}', extra=""):
    return ("PUT %s HTTP/1.1\r\nHost: shim.example\r\n%s\r\nContent-Type: application/json\r\n%s"
            "Content-Length: %d\r\n\r\n%s" % (path, auth, extra, len(body), body))


def heads():
    H = "Host: shim.example\r\n"
    g = {}
    # well-formed, one per route and for pass-through
    g["ok-mintlify"] = put_head("/api/user", body=SEED_GROUP_BODY_COMPACT)
    g["ok-explo"] = ("POST /api/update_user_group/ HTTP/1.1\r\n" + H + "Explo-Authorization: Token demo-token\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(SEED_EXPLO_BODY), SEED_EXPLO_BODY))
    g["ok-stateset-group"] = put_head("/v1/users/example_1", auth="Authorization: Bearer demo-token")
    g["ok-stateset-user"] = put_head("/v1/users/usr_1?x=1", body='{"id":"usr_1"}')
    g["ok-get"] = "GET /healthz?x=1 HTTP/1.1\r\n" + H + "Accept: */*\r\nUser-Agent: curl/7.88\r\n\r\n"
    g["ok-http10"] = "GET / HTTP/1.0\r\n\r\n"
    g["ok-http10-host"] = "GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"
    g["ok-chunked"] = ("POST /upload HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n0\r\n\r\n")
    g["ok-options-star"] = "OPTIONS * HTTP/1.1\r\n" + H + "\r\n"
    g["ok-absolute"] = "GET http://shim.example:8080/api/user?x=1 HTTP/1.1\r\n" + H + "\r\n"
    g["ok-absolute-translated"] = ("PUT HTTPS://other.example/api/user HTTP/1.1\r\n" + H +
                                   "Authorization: token t\r\nContent-Length: 2\r\n\r\n{}")
    g["ok-absolute-noslash"] = "GET http://shim.example?x=1 HTTP/1.1\r\n" + H + "\r\n"
    g["ok-leading-crlf"] = "\r\n\r\nGET / HTTP/1.1\r\n" + H + "\r\n"
    g["ok-expect"] = put_head("/api/user", extra="Expect: 100-continue\r\n")
    g["hygiene-connection"] = ("GET / HTTP/1.1\r\n" + H + "Connection: keep-alive, X-Secret, Authorization, Via\r\n"
                               "X-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X\r\nUpgrade: h2c\r\n"
                               "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic x\r\n"
                               "Forwarded: for=1.2.3.4\r\nVia: 1.0 fred, 1.1 p\r\nVia: 1.1 q\r\n"
                               "X-Forwarded-For: 6.6.6.6\r\nx-forwarded-proto: https\r\nX-Forwarded-Host: evil\r\n"
                               "X-Request-Id: spoofed\r\n\r\n")
    g["hygiene-credentials"] = put_head("/api/user", auth="Authorization: Token a\r\nExplo-Authorization: Token b")
    g["hygiene-explo-cred"] = ("POST /api/update_user_group/ HTTP/1.1\r\n" + H + "Explo-Authorization: Token t\r\n"
                               "Authorization: Basic abc\r\nContent-Encoding: identity\r\nContent-MD5: x\r\n"
                               "Digest: sha-256=x\r\nContent-Length: 25\r\n\r\n{\"user_group_id\":\"g\"}")
    g["hygiene-empty-values"] = "GET / HTTP/1.1\r\n" + H + "X-Empty:\r\nX-Sp:   \r\nVia:\r\n\r\n"
    g["hygiene-obs-text"] = b"GET / HTTP/1.1\r\nHost: a\r\nX-Obs: caf\xc3\xa9 \xff\x80\r\n\r\n"
    # CL.TE / TE.CL and Transfer-Encoding obfuscations
    body = "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n"
    g["smuggle-cl-te"] = ("POST / HTTP/1.1\r\n" + H + "Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%s" % (len(body), body))
    g["smuggle-te-cl"] = ("POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
                          "5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n")
    te_variants = {
        "te-space-before-colon": "Transfer-Encoding : chunked",
        "te-tab": "Transfer-Encoding:\tchunked",
        "te-tab-after": "Transfer-Encoding: chunked\t",
        "te-case": "transfer-ENCODING: ChUnKeD",
        "te-double": "Transfer-Encoding: chunked, chunked",
        "te-identity-chunked": "Transfer-Encoding: identity, chunked",
        "te-chunked-identity": "Transfer-Encoding: chunked, identity",
        "te-gzip-chunked": "Transfer-Encoding: gzip, chunked",
        "te-vtab": "Transfer-Encoding:\x0bchunked",
        "te-ff": "Transfer-Encoding: \x0cchunked",
        "te-quoted": 'Transfer-Encoding: "chunked"',
        "te-xchunked": "Transfer-Encoding: xchunked",
        "te-chunked-x": "Transfer-Encoding: chunkedx",
        "te-dup": "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity",
        "te-dup-same": "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
        "te-empty": "Transfer-Encoding:",
        "te-obs-fold": "Transfer-Encoding:\r\n chunked",
        "te-underscore": "Transfer_Encoding: chunked",
        "te-nul": "Transfer-Encoding: chunked\x00",
        "te-cr": "Transfer-Encoding: chunked\rX: y",
        "te-comma-empty": "Transfer-Encoding: ,chunked",
        "te-http10": None,
    }
    for name, line in te_variants.items():
        if line is None:
            g["smuggle-" + name] = "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        else:
            g["smuggle-" + name] = "POST / HTTP/1.1\r\n" + H + line + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    cl_variants = {
        "cl-list": "Content-Length: 5, 5",
        "cl-differ": "Content-Length: 5\r\nContent-Length: 6",
        "cl-same-twice": "Content-Length: 5\r\nContent-Length: 5",
        "cl-plus": "Content-Length: +5",
        "cl-neg": "Content-Length: -1",
        "cl-leading-zero": "Content-Length: 005",
        "cl-hex": "Content-Length: 0x5",
        "cl-space-inside": "Content-Length: 5 5",
        "cl-ows": "Content-Length: \t5 \t",
        "cl-huge": "Content-Length: 99999999999999999999",
        "cl-max19": "Content-Length: 9999999999999999999",
        "cl-u64max": "Content-Length: 18446744073709551615",
        "cl-empty": "Content-Length:",
        "cl-space-before-colon": "Content-Length : 5",
        "cl-zero": "Content-Length: 0",
    }
    for name, line in cl_variants.items():
        g["smuggle-" + name] = "POST / HTTP/1.1\r\n" + H + line + "\r\n\r\nhello"
    for name, chunk in {
        "chunk-ext": "5;ext=\"x\"\r\nhello\r\n0\r\n\r\n",
        "chunk-hex-prefix": "0x5\r\nhello\r\n0\r\n\r\n",
        "chunk-overflow": "ffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
        "chunk-negative": "-5\r\nhello\r\n0\r\n\r\n",
        "chunk-space": "5 \r\nhello\r\n0\r\n\r\n",
        "chunk-bare-lf": "5\nhello\n0\n\n",
        "chunk-trailer": "5\r\nhello\r\n0\r\nX-Trailer: 1\r\nContent-Length: 9\r\n\r\n",
    }.items():
        g["smuggle-" + name] = "POST /api/user HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n" + chunk
    # line endings, NUL and controls
    g["bare-lf"] = "GET / HTTP/1.1\nHost: a\n\n"
    g["bare-lf-mixed"] = "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"
    g["bare-cr"] = "GET / HTTP/1.1\rHost: a\r\n\r\n"
    g["bare-cr-value"] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"
    g["nul-value"] = b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n"
    g["nul-target"] = b"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n"
    g["nul-name"] = b"GET / HTTP/1.1\r\nHost: a\r\nX\x00Y: 1\r\n\r\n"
    g["ctl-value"] = "GET / HTTP/1.1\r\nHost: a\r\nX: \x01\x7f\r\n\r\n"
    g["ctl-target"] = "GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n"
    g["obs-fold"] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"
    g["obs-fold-tab"] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n"
    g["fold-first"] = "GET / HTTP/1.1\r\n Host: a\r\n\r\n"
    g["space-in-name"] = "GET / HTTP/1.1\r\nHost: a\r\nX Y: 1\r\n\r\n"
    g["no-colon"] = "GET / HTTP/1.1\r\nHost: a\r\nXY\r\n\r\n"
    g["empty-name"] = "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n"
    g["too-many-crlf"] = "\r\n" * 6 + "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    # Host
    g["host-missing"] = "GET / HTTP/1.1\r\n\r\n"
    g["host-twice"] = "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"
    g["host-userinfo"] = "GET / HTTP/1.1\r\nHost: user@evil\r\n\r\n"
    g["host-space"] = "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"
    g["host-empty"] = "GET / HTTP/1.1\r\nHost:\r\n\r\n"
    g["host-ipv6"] = "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"
    # targets, methods, versions
    for name, target in {
        "target-dotdot": "/v1/users/../../api/user",
        "target-encoded-dots": "/%2e%2e/api/%75ser",
        "target-merged-slashes": "//api///user",
        "target-dot": "/api/./user",
        "target-encoded-slash": "/v1/users/a%2Fb",
        "target-encoded-crlf": "/v1/users/a%0d%0aX-Injected:%201",
        "target-encoded-nul": "/v1/users/a%00",
        "target-bad-pct": "/v1/users/%zz",
        "target-pct-end": "/v1/users/a%2",
        "target-trailing-slash": "/api/user/",
        "target-query-only": "/?",
        "target-fragment": "/api/user#x",
        "target-star-get": "*",
        "target-authority": "shim.example:443",
        "target-relative": "api/user",
        "target-absolute-ftp": "ftp://a/api/user",
        "target-absolute-empty-authority": "http:///api/user",
        "target-absolute-userinfo": "http://u:p@a/api/user",
        "target-absolute-fragment": "http://a#/api/user",
        "target-unicode": "/v1/users/caf\u00e9",
        "target-backslash": "/api\\user",
        "target-pct-upper": "/v1/users/%c3%a9",
    }.items():
        g[name] = put_head(target)
    g["method-connect"] = "CONNECT shim.example:443 HTTP/1.1\r\nHost: shim.example:443\r\n\r\n"
    g["method-lower"] = "put /api/user HTTP/1.1\r\nHost: a\r\nAuthorization: Token t\r\nContent-Length: 2\r\n\r\n{}"
    g["method-unknown"] = "PURGE / HTTP/1.1\r\nHost: a\r\n\r\n"
    g["method-head"] = "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"
    g["version-h2-preface"] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    g["version-12"] = "GET / HTTP/1.2\r\nHost: a\r\n\r\n"
    g["version-09"] = "GET /\r\n\r\n"
    g["version-lower"] = "GET / http/1.1\r\nHost: a\r\n\r\n"
    g["request-line-double-space"] = "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"
    g["request-line-tab"] = "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"
    g["expect-other"] = "GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n"
    g["ct-form"] = put_head("/api/user", extra="Content-Type: text/plain\r\n")
    g["ct-plus-json"] = ("PUT /api/user HTTP/1.1\r\nHost: a\r\nAuthorization: TOKEN t\r\n"
                         "Content-Type: application/merge-patch+json; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}")
    g["auth-bad"] = ("PUT /api/user HTTP/1.1\r\nHost: a\r\nAuthorization: Token  two words\r\nContent-Length: 2\r\n\r\n{}")
    g["auth-obs-text"] = b"PUT /api/user HTTP/1.1\r\nHost: a\r\nAuthorization: Token t\xff\r\nContent-Length: 2\r\n\r\n{}"
    g["content-encoding"] = put_head("/api/user", extra="Content-Encoding: gzip\r\n")
    # sizes
    g["overlong-request-line"] = "GET /" + "a" * 8200 + " HTTP/1.1\r\nHost: a\r\n\r\n"
    g["limit-request-line"] = "GET /" + "a" * (8192 - 15) + " HTTP/1.1\r\nHost: a\r\n\r\n"
    g["too-many-fields"] = "GET / HTTP/1.1\r\nHost: a\r\n" + "".join("X-%d: v\r\n" % i for i in range(101)) + "\r\n"
    g["big-header-block"] = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + "b" * 16380 + "\r\n\r\n"
    g["incomplete"] = "GET / HTTP/1.1\r\nHost: a\r\n"
    return g


# ---------------------------------------------------------------- rules

def rule_variants():
    rules = {}
    for f in sorted(os.listdir(os.path.join(ROOT, "rules"))):
        if f.endswith(".json"):
            with open(os.path.join(ROOT, "rules", f), "rb") as fh:
                rules["default-" + f[:-5]] = fh.read()
    base = json.loads(rules["default-stateset-user"])
    v = {}

    def variant(name, change):
        r = json.loads(json.dumps(base))
        change(r)
        v[name] = json.dumps(r, indent=1)

    variant("inject", lambda r: r["request"].update(path_params={"id": {"field": "uid", "mode": "inject"}}))
    variant("drop", lambda r: r["request"].update(unknown_fields="drop"))
    variant("reject", lambda r: r["request"].update(unknown_fields="reject"))
    variant("rename", lambda r: r["request"].update(renames={"email": "mail"}))
    variant("rename-to-field", lambda r: r["request"].update(renames={"email": "phone"}))
    variant("root-path", lambda r: r["match"].update(path="/"))
    variant("two-params", lambda r: r["match"].update(path="/v1/{org}/users/{id}"))
    variant("param-twice", lambda r: r["match"].update(path="/v1/{id}/users/{id}"))
    variant("param-partial", lambda r: r["match"].update(path="/v1/u{id}"))
    variant("path-not-normal", lambda r: r["match"].update(path="/v1/%7euser/./x"))
    variant("path-pct", lambda r: r["match"].update(path="/v1/a%2Fb/{id}"))
    variant("upstream-param-unknown", lambda r: r["upstream"].update(path="/x/{nope}"))
    variant("upstream-query", lambda r: r["upstream"].update(path="/x?y=1"))
    variant("upstream-unclosed", lambda r: r["upstream"].update(path="/x/{id"))
    variant("method-bad", lambda r: r["match"].update(method="P UT"))
    variant("deprecation", lambda r: r.update(deprecation={"deprecation": "2024-01-01T00:00:00Z",
                                                           "sunset": "9999-12-31", "successor": "https://x/y"}))
    variant("deprecation-bad", lambda r: r.update(deprecation={"deprecation": "1969-12-31", "successor": "<x>"}))
    variant("response-wrapped", lambda r: r.update(response={"copy": ["success", "x"], "wrapper": "w",
                                                             "source": "customer", "keys": ["a", {"from": "b", "as": "c"}]}))
    variant("response-wrapper-in-copy", lambda r: r.update(response={"copy": ["w"], "wrapper": "w", "keys": ["a"]}))
    variant("response-dup", lambda r: r.update(response={"keys": ["a", {"from": "b", "as": "a"}]}))
    variant("response-empty-keys", lambda r: r.update(response={"keys": []}))
    variant("field-types", lambda r: r["request"].update(fields={
        "a": {"type": "any", "required": True, "non_empty": True}, "b": "number", "c": "array",
        "d": {"type": "date", "non_empty": True}, "e": "bool"}))
    variant("errors-bad", lambda r: r.update(errors="xml"))
    variant("extra-key", lambda r: r.update(extra=1))
    v["dup-key"] = rules["default-mintlify"].replace(b'"errors": "envelope"', b'"errors": "envelope", "errors": "problem"')
    v["not-object"] = "[]"
    v["empty"] = ""
    v["deep"] = deep(2000)
    v["num-1e400"] = '{"name":1e400}'
    v["escapes"] = rules["default-mintlify"].replace(b'"/api/user"', b'"/api/\\u0075ser"')
    rules.update(v)
    return rules


# fuzz_json_reader: plain documents, valid and invalid, at the edges of the grammar and the limits.
def json_reader_seeds():
    seeds = {}
    for name, body in list(ODD_BODIES.items()) + list(USER_BODIES.items()):
        seeds["body-" + name] = body
    seeds["seed-group"] = SEED_GROUP_BODY
    seeds["seed-explo"] = SEED_EXPLO_BODY
    seeds["upstream-customer"] = UPSTREAM_CUSTOMER
    # Nesting around the limits: a value holds 1024 levels; a member's value 1024 below the root.
    for n in (1023, 1024, 1025):
        seeds["deep-value-%d" % n] = deep(n)
        seeds["deep-member-%d" % n] = '{"a":' + deep(n) + '}'
        seeds["deep-entered-%d" % n] = '{"a":{"b":' + deep(n) + '}}'
    seeds["deep-objects-1025"] = deep_obj(1025)
    seeds["deep-objects-1026"] = deep_obj(1026)
    seeds["deep-mixed"] = '{"a":[{"b":[{"c":[]}]}],"d":{}}'
    numbers = ["0", "-0", "0.0", "-0.0e-0", "1E+2", "1e-2", "0e0", "1.5E308", "1e400", "-1e-400",
               "123456789012345678901234567890", "-9223372036854775808", "18446744073709551616",
               "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "2.e3", "0x1", "1_0", "- 1", "Infinity"]
    for i, n in enumerate(numbers):
        seeds["number-%02d" % i] = '{"n":' + n + ',"m":[' + n + ']}'
    seeds["number-top"] = "-12.5e+3"
    utf8 = [b"\xc2\x80", b"\xdf\xbf", b"\xe0\xa0\x80", b"\xe0\x9f\xbf", b"\xed\x9f\xbf", b"\xed\xa0\x80",
            b"\xed\xbf\xbf", b"\xee\x80\x80", b"\xef\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf0\x8f\xbf\xbf",
            b"\xf4\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xc0\x80", b"\xc1\xbf",
            b"\xc2", b"\xe2\x82", b"\xf0\x9f\x98", b"\x80", b"\xbf", b"\xfe", b"\xff", b"\x7f"]
    for i, u in enumerate(utf8):
        seeds["utf8-%02d" % i] = b'{"s":"a' + u + b'b","' + u + b'":1}'
    seeds["utf8-at-end"] = b'{"s":"\xe2\x82'
    escapes = ['\\"', '\\\\', '\\/', '\\b\\f\\n\\r\\t', '\\u0000', '\\u001f', '\\u007F', '\\uFFFF',
               '\\uD83D\\uDE00', '\\ud83d\\ude00', '\\uD800', '\\uDC00', '\\uD800\\u0041',
               '\\uD800\\uD800', '\\uDBFF\\uDFFF', '\\u', '\\u12G4', '\\a', '\\U0041', '\\']
    for i, e in enumerate(escapes):
        seeds["escape-%02d" % i] = '{"' + e + '":"' + e + '"}'
    seeds["dup-escaped-key"] = '{"a":1,"\\u0061":2}'
    seeds["dup-nested-ok"] = '{"a":{"x":1,"x":2},"b":[{"y":1,"y":2}]}'
    seeds["dup-surrogate"] = '{"\\ud83d\\ude00":1,"\U0001F600":2}'
    seeds["ws-all"] = ' \t\r\n{ \t\r\n"a" \t\r\n: \t\r\n[ 1 , 2 ] \t\r\n} \t\r\n'
    seeds["ws-vtab"] = '{"a":1,\x0b"b":2}'
    seeds["ws-formfeed"] = '\x0c{}'
    seeds["ws-nbsp"] = b'{\xc2\xa0}'
    seeds["top-array"] = '[1,{"a":2}]'
    seeds["top-string"] = '"x"'
    seeds["top-true"] = "true"
    seeds["top-empty"] = ""
    seeds["top-ws"] = " "
    seeds["two-objects"] = "{}{}"
    seeds["empty-key"] = '{"":""}'
    return seeds


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    for name, data in heads().items():
        write("fuzz_request_head", name, data)

    # fuzz_request_transform: byte 0 = rule (bits 0-1) | 4: path id follows | 8: query
    rule_bytes = {"mintlify": 0, "explo": 1, "stateset-group": 2, "stateset-user": 3}
    for rname, b in rule_bytes.items():
        if rname == "stateset-user":
            for name, body in USER_BODIES.items():
                write("fuzz_request_transform", "%s-%s" % (rname, name), bytes([b]) + body.encode())
            write("fuzz_request_transform", rname + "-id-crlf",
                  bytes([b | 4 | 8, 4]) + b"a\r\nb" + b'{"id":"a\\r\\nb"}')
            continue
        write("fuzz_request_transform", rname + "-seed", bytes([b]) + SEED_GROUP_BODY.encode())
        write("fuzz_request_transform", rname + "-seed-compact", bytes([b | 8]) + SEED_GROUP_BODY_COMPACT.encode())
        write("fuzz_request_transform", rname + "-explo", bytes([b]) + SEED_EXPLO_BODY.encode())
    write("fuzz_request_transform", "stateset-group-id-slash",
          bytes([2 | 4, 3]) + b"a/b" + b'{"user_group_id":"a\\/b"}')
    for name, body in ODD_BODIES.items():
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        write("fuzz_request_transform", "odd-" + name, bytes([(len(name) % 4)]) + data)

    # fuzz_response_rewrite: byte 0 = rule (bits 0-1) | status index << 2 (200 400 404 500 201 204 302 503)
    def resp(rule, status_index):
        return bytes([rule | (status_index << 2)])
    for r in range(3):
        write("fuzz_response_rewrite", "group-%d-customer" % r, resp(r, 0) + UPSTREAM_CUSTOMER.encode())
        write("fuzz_response_rewrite", "group-%d-seed-envelope" % r, resp(r, 0) + SEED_RESPONSE_MINTLIFY.encode())
    write("fuzz_response_rewrite", "explo-seed-envelope", resp(1, 4) + SEED_RESPONSE_EXPLO.encode())
    write("fuzz_response_rewrite", "user-200", resp(3, 0) + UPSTREAM_USER.encode())
    write("fuzz_response_rewrite", "user-204-empty", resp(3, 5))
    write("fuzz_response_rewrite", "error-400", resp(0, 1) + b'{"success":0,"error":"user_group_id is required"}')
    write("fuzz_response_rewrite", "error-404-problem", resp(2, 2) + b'{"type":"about:blank","title":"Not Found","status":404,"detail":"no such customer \\u00e9"}')
    write("fuzz_response_rewrite", "error-404-escaped-key", resp(3, 2) + b'{"\\u0065rror":"x\\ud83d\\ude00"}')
    write("fuzz_response_rewrite", "error-400-empty", resp(1, 1) + b'{"error":"","detail":"d"}')
    write("fuzz_response_rewrite", "error-400-dup", resp(1, 1) + b'{"error":"a","error":"b"}')
    write("fuzz_response_rewrite", "error-400-html", resp(0, 1) + b"<html>bad</html>")
    write("fuzz_response_rewrite", "error-500", resp(0, 3) + b'{"success":0,"error":"boom"}')
    write("fuzz_response_rewrite", "error-503", resp(2, 7) + b"Service Unavailable")
    write("fuzz_response_rewrite", "redirect-302", resp(1, 6) + b"")
    for name, body in {
        "dup-root": '{"success":1,"customer":{"customer_id":"a"},"success":1}',
        "dup-source": '{"success":1,"customer":{"customer_id":"a","customer_id":"b"}}',
        "dup-escaped": '{"success":1,"customer":{"customer_id":"a","\\u0063ustomer_id":"b"}}',
        "source-not-object": '{"success":1,"customer":[1]}',
        "source-missing": '{"success":1}',
        "source-twice": '{"customer":{"name":"a"},"customer":{"name":"b"}}',
        "numbers": '{"success":1e400,"customer":{"team_id":123456789012345678901234567890,"name":-0.0E-0}}',
        "deep": '{"success":1,"customer":{"properties":' + deep(1020) + '}}',
        "deep-over": '{"success":1,"customer":{"properties":' + deep(1030) + '}}',
        "trailing": UPSTREAM_CUSTOMER + " []",
        "invalid-inside": '{"success":1,"customer":{"properties":{"a":tru}}}',
        "unbalanced-inside": '{"success":1,"customer":{"properties":{"a":[1}}}',
        "not-object": '[{"success":1}]',
        "empty": '',
    }.items():
        write("fuzz_response_rewrite", "odd-" + name, resp(len(name) % 4, 0) + body.encode())

    for name, data in rule_variants().items():
        write("fuzz_rule_loader", name, data)

    for name, data in json_reader_seeds().items():
        write("fuzz_json_reader", name, data)


if __name__ == "__main__":
    main()
