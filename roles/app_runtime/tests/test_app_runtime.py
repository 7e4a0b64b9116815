"""app_runtime on a host: the service runs the wanted release, healthy, behind nginx, secrets kept private."""

# Fetches a URL on the host itself (curl is not part of the base system) and prints "STATUS BODY".
FETCH = ("python3 -c 'import sys, urllib.error, urllib.request\n"
         "o = urllib.request.build_opener(urllib.request.ProxyHandler({}))\n"
         "try:\n r = o.open(sys.argv[1], timeout=5); print(r.status, r.read().decode().strip())\n"
         "except urllib.error.HTTPError as e: print(e.code, e.read().decode().strip())' %s")


def fetch(host, url):
    status, _, body = host.check_output(FETCH, url).partition(" ")
    return int(status), body


def test_service_is_running_and_enabled(host, role_vars):
    service = host.service(f"{role_vars['app_name']}.service")
    assert service.is_running
    assert service.is_enabled


def test_current_release_is_the_wanted_version(host, role_vars):
    root = f"/srv/{role_vars['app_name']}"
    assert host.file(f"{root}/current").is_symlink
    assert host.check_output("readlink -- %s", f"{root}/current") == f"releases/{role_vars['app_version']}"
    assert host.file(f"{root}/current/release.env").contains(f"^APP_VERSION={role_vars['app_version']}$")


def test_healthz_answers_200_on_the_host(host, role_vars):
    status, body = fetch(host, f"http://127.0.0.1:{role_vars['app_port']}{role_vars['app_health_path']}")
    assert status == 200, body


def test_nginx_serves_the_version(host, role_vars):
    status, body = fetch(host, f"http://127.0.0.1:{role_vars['app_http_port']}/version")
    assert (status, body) == (200, str(role_vars["app_version"]))
    assert host.service("nginx").is_running


def test_app_runs_as_its_own_user_on_loopback(host, role_vars):
    name = role_vars["app_name"]
    pid = host.check_output("systemctl show -p MainPID --value -- %s", f"{name}.service")
    assert host.check_output("ps -o user= -p %s", pid) == name
    assert host.socket(f"tcp://127.0.0.1:{role_vars['app_port']}").is_listening


def test_environment_file_is_private(host, role_vars):
    env = host.file(f"/etc/{role_vars['app_name']}/env")
    assert env.mode == 0o600
    assert env.user == "root"


def test_no_more_releases_than_kept(host, role_vars):
    releases = host.file(f"/srv/{role_vars['app_name']}/releases").listdir()
    assert str(role_vars["app_version"]) in releases
    assert len(releases) <= int(role_vars["app_keep_releases"])
