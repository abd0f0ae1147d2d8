"""Real Python OAuth clients against rolegate's token endpoint, as people
write them: a PyJWT + requests script (time.time() floats in its claims),
and authlib's OAuth2Session with PrivateKeyJWT at its defaults (assertions
valid 3600 s). Each token is then used on the admin API through Envoy.

    python_clients.py BASE_URL TOKEN_AUD CLIENTS_JSON

CLIENTS_JSON: [{"name", "client_id", "jwk", "alg", "flow": "pyjwt"|"authlib", "api_path", "aud"?}]
("aud": what a PyJWT script names as the audience instead of the token URL;
people scripting Pexip's management node send its host name.)
Prints one JSON object: {name: {"token_status", "api_status", "error"}}.
"""
import json
import sys
import time
import uuid

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc.jwk import ECKey, OKPKey
from authlib.oauth2.rfc7523 import PrivateKeyJWT

base, audience, clients = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
token_url = f"{base}/oauth/token/"
results = {}


def pyjwt_token(client):
    key = jwt.PyJWK(client["jwk"]).key
    now = time.time()  # a float, as scripts write it
    assertion = jwt.encode(
        {"iss": client["client_id"], "sub": client["client_id"], "aud": client.get("aud", audience),
         "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())},
        key, algorithm=client["alg"], headers={"kid": client["jwk"].get("kid")} if client["jwk"].get("kid") else None,
    )
    res = requests.post(token_url, data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }, timeout=10)
    return res.status_code, (res.json().get("access_token") if res.ok else res.text)


def authlib_token(client):
    # As authlib documents it: private_key_jwt registered with the token URL
    # as the audience. An RSA key goes in as it is (the default); others as
    # the joserfc key objects authlib signs with, with their alg.
    jwk = client["jwk"]
    key = jwk if jwk["kty"] == "RSA" else {"EC": ECKey, "OKP": OKPKey}[jwk["kty"]].import_key(jwk)
    auth = PrivateKeyJWT(audience) if client["alg"] == "RS256" else PrivateKeyJWT(audience, alg=client["alg"])
    session = OAuth2Session(client["client_id"], key, token_endpoint_auth_method="private_key_jwt")
    session.register_client_auth_method(auth)
    try:
        token = session.fetch_token(token_url, grant_type="client_credentials", timeout=10)
    except Exception as e:  # authlib raises on any error answer
        return 0, repr(e)
    return 200, token["access_token"]


for client in clients:
    status, token_or_error = (pyjwt_token if client["flow"] == "pyjwt" else authlib_token)(client)
    result = {"token_status": status}
    if status == 200:
        api = requests.get(base + client["api_path"], headers={"Authorization": f"Bearer {token_or_error}"}, timeout=10)
        result["api_status"] = api.status_code
    else:
        result["error"] = token_or_error
    results[client["name"]] = result

print(json.dumps(results))
