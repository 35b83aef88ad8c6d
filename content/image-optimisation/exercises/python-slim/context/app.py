"""textstats: a small JSON API that counts words and estimates reading time.

    POST /api/stats  {"text": "..."}  ->  {"words": 42, "reading_time_seconds": 11, ...}
    GET  /healthz                     ->  ok

Run it with gunicorn: `gunicorn --bind 0.0.0.0:8000 app:app`.
"""

from __future__ import annotations

import logging
import os

from flask import Flask, jsonify, request

from textstats import analyse

MAX_CHARS = int(os.environ.get("TEXTSTATS_MAX_CHARS", "100000"))

app = Flask(__name__)
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("textstats")


@app.get("/healthz")
def healthz():
    return "ok\n", 200, {"Content-Type": "text/plain"}


@app.post("/api/stats")
def stats():
    body = request.get_json(silent=True) or {}
    text = body.get("text")
    if not isinstance(text, str):
        return jsonify(error='send JSON like {"text": "..."}'), 400
    if len(text) > MAX_CHARS:
        return jsonify(error=f"text is longer than {MAX_CHARS} characters"), 413
    top = body.get("top", 5)
    if not isinstance(top, int) or not 0 <= top <= 50:
        return jsonify(error="top must be a whole number from 0 to 50"), 400
    result = analyse(text, top)
    log.info("analysed %d characters, %d words", result["characters"], result["words"])
    return jsonify(result)


if __name__ == "__main__":  # development only; in the container gunicorn serves `app`
    app.run(host="127.0.0.1", port=8000, debug=True)
