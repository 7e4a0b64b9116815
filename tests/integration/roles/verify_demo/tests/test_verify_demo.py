"""The verify_demo role answers over HTTP from the controller, and its files say who they are."""

import urllib.error
import urllib.request


def _get(url):
    """(status, body) of a GET, or (the error, '') when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError as exc:
        return f"no answer ({exc})", ""


def test_http_200(host, role_vars):
    url = f"http://{role_vars['host']['address']}:{role_vars['vd_port']}/"
    status, body = _get(url)
    assert status == 200, f"GET {url} gave {status}"
    assert role_vars["vd_message"] in body


def test_nginx_listens(host, role_vars):
    assert host.socket(f"tcp://0.0.0.0:{role_vars['vd_port']}").is_listening
