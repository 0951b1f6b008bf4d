"""Helpers of ``bench/http_path_bench.py``: the servers, the gunicorn entry points, the person."""
