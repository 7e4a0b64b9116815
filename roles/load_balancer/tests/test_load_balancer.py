"""Behaviour checks for the load_balancer role, run by `configure verify` with testinfra (`host`, `role_vars`)."""


def api(host, role_vars, command):
    """One command on HAProxy's runtime API, as root on the balancer."""
    return host.check_output("printf '%%s\\n' %s | socat -t 5 - %s", command, f"UNIX-CONNECT:{role_vars['lb_socket']}")


def server_rows(host, role_vars):
    """Each server line of `show stat` as a dict keyed by the CSV header."""
    lines = api(host, role_vars, "show stat -1 4 -1").splitlines()
    header = lines[0].lstrip("# ").split(",")
    return [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]


def test_haproxy_runs_master_worker_and_is_enabled(host, role_vars):
    service = host.service("haproxy")
    assert service.is_running and service.is_enabled
    main = host.check_output("systemctl show -p MainPID --value haproxy")
    assert "-Ws" in host.check_output("ps -o args= -p %s", main)  # the master; reloads start new workers
    assert host.check_output("pgrep -c -P %s haproxy", main) != "0"


def test_live_configuration_is_valid(host, role_vars):
    result = host.run("haproxy -c -q -f /etc/haproxy/haproxy.cfg")
    assert result.rc == 0, result.stderr


def test_runtime_api_socket_is_root_only(host, role_vars):
    socket = host.file(role_vars["lb_socket"])
    assert socket.is_socket
    assert (socket.user, socket.mode) == ("root", 0o600)


def test_frontends_listen(host, role_vars):
    for frontend in role_vars["lb_frontends"]:
        for bind in [frontend["bind"]] if isinstance(frontend["bind"], str) else frontend["bind"]:
            address, _, port = bind.rpartition(":")
            address = "0.0.0.0" if address in ("*", "") else address
            assert host.socket(f"tcp://{address}:{port}").is_listening, bind


def test_every_backend_has_its_group_and_a_server_up(host, role_vars):
    rows = server_rows(host, role_vars)
    for backend in role_vars["lb_backends"]:
        wanted = role_vars["inventory"]["groups"][backend["group"]]
        mine = [r for r in rows if r["pxname"] == backend["name"]]
        assert sorted(r["svname"] for r in mine) == sorted(wanted)
        assert any(r["status"] == "UP" for r in mine), [(r["svname"], r["status"]) for r in mine]


def test_drain_tool_is_installed(host, role_vars):
    tool = host.file("/usr/local/sbin/lb-server")
    assert (tool.user, tool.mode) == ("root", 0o755)
    result = host.run("/usr/local/sbin/lb-server")
    assert result.rc == 2 and "usage" in result.stderr


def test_server_state_is_saved_by_root_where_only_root_writes(host, role_vars):
    state = host.file(role_vars["lb_state_file"])
    assert state.is_file and (state.user, state.group, state.mode) == ("root", "root", 0o600)
    assert host.check_output("head -n 1 %s", state.path) == "1"  # the format of `show servers state`
    folder = host.file(state.path.rsplit("/", 1)[0])
    assert folder.user == "root" and not folder.mode & 0o022, (folder.user, oct(folder.mode))


def test_reloads_and_stops_save_the_server_state_first(host, role_vars):
    shown = host.check_output("systemctl show -p ExecReload -p ExecStop -p NeedDaemonReload haproxy")
    assert "NeedDaemonReload=no" in shown
    reload = [line for line in shown.splitlines() if line.startswith("ExecReload=")]
    assert ["haproxy-save-state" in line for line in reload] == [False, True, False], reload  # check, save, signal
    assert "haproxy-save-state" in next(line for line in shown.splitlines() if line.startswith("ExecStop="))
