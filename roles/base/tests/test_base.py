"""The base role's live state, read back from the host and compared with the role's variables."""

SSHD_DROP_IN = "/etc/ssh/sshd_config.d/50-configurator.conf"
HOSTS_MARKER = "configurator base: inventory hosts"


def _flag(value):
    """sshd's spelling of a role value (YAML booleans become yes/no)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _sudoers(name):
    return f"/etc/sudoers.d/admin-{name.replace('.', '_')}"


def _hostname(role_vars):
    return role_vars["base_hostname"] or role_vars["inventory_hostname"]


def test_packages(host, role_vars):
    for name in ["sudo", *role_vars["base_packages"]]:
        assert host.package(name).is_installed, f"{name} is not installed"
    for name in role_vars["base_packages_absent"]:
        assert not host.package(name).is_installed, f"{name} is still installed"


def test_admin_accounts_and_keys(host, role_vars):
    for admin in role_vars["base_admins"]:
        user = host.user(admin["name"])
        assert user.exists, f"admin {admin['name']} does not exist"
        assert user.shell == admin.get("shell", role_vars["base_admin_shell"])
        keys = host.file(f"{user.home}/.ssh/authorized_keys")
        assert keys.mode == 0o600 and keys.user == admin["name"]
        assert keys.content_string == "".join(f"{key}\n" for key in admin.get("keys", []))
    for name in role_vars["base_admins_absent"]:
        assert not host.user(name).exists, f"former admin {name} still exists"
        assert not host.file(_sudoers(name)).exists


def test_admin_sudo_rules(host, role_vars):
    for admin in role_vars["base_admins"]:
        rules = host.run("sudo -l -U %s", admin["name"]).stdout
        sudoers = host.file(_sudoers(admin["name"]))
        if not admin.get("sudo", True):
            assert not sudoers.exists, f"{sudoers.path} exists for an admin without sudo"
            assert "not allowed to run sudo" in rules
            continue
        assert sudoers.mode == 0o440 and sudoers.user == "root" and sudoers.group == "root"
        assert host.run("visudo -cf %s", sudoers.path).rc == 0
        wanted = admin.get("sudo_rule", role_vars["base_sudo_rule"])
        for rule in [wanted] if isinstance(wanted, str) else wanted:
            assert f"{admin['name']} {rule}" in sudoers.content_string
        assert f"User {admin['name']} may run the following commands" in rules, rules


def test_sshd_hardening(host, role_vars):
    if not role_vars["base_sshd_harden"]:
        return
    assert host.file(SSHD_DROP_IN).mode == 0o644
    assert host.run("sshd -t").rc == 0
    effective = host.check_output("sshd -T").splitlines()
    assert f"passwordauthentication {_flag(role_vars['base_sshd_password_authentication'])}" in effective
    assert f"kbdinteractiveauthentication {_flag(role_vars['base_sshd_kbd_interactive_authentication'])}" \
        in effective
    root_login = _flag(role_vars["base_sshd_permit_root_login"]).replace("prohibit-password", "without-password")
    assert f"permitrootlogin {root_login}" in effective
    assert host.service("ssh").is_running


def test_hostname(host, role_vars):
    if not role_vars["base_manage_hostname"]:
        return
    name = _hostname(role_vars)
    assert host.check_output("hostname") == name
    assert host.file("/etc/hostname").content_string == f"{name}\n"


def test_etc_hosts_block(host, role_vars):
    if not role_vars["base_etc_hosts"]:
        return
    lines = host.file("/etc/hosts").content_string.splitlines()
    begin, end = lines.index(f"# BEGIN {HOSTS_MARKER}"), lines.index(f"# END {HOSTS_MARKER}")
    block = [line.split() for line in lines[begin + 1:end]]
    own = [role_vars["host"]["address"], _hostname(role_vars)]
    assert any(entry[:2] == own for entry in block), f"no line for this host in {block}"
    for address, names in role_vars["base_etc_hosts_extra"].items():
        names = names.split() if isinstance(names, str) else list(names)
        assert [str(address), *names] in block


def test_timezone(host, role_vars):
    zone = role_vars["base_timezone"]
    if not zone:
        return
    assert host.file("/etc/localtime").linked_to == f"/usr/share/zoneinfo/{zone}"
    assert host.file("/etc/timezone").content_string == f"{zone}\n"


def test_sysctl(host, role_vars):
    for name, value in role_vars["base_sysctl"].items():
        live = host.file("/proc/sys/" + name.replace(".", "/")).content_string
        assert live.split() == str(value).split(), f"{name} is {live.strip()!r}, expected {value!r}"


def test_unattended_upgrades(host, role_vars):
    enabled = role_vars["base_unattended_upgrades"]
    if enabled is None:
        return
    dump = host.check_output("apt-config dump")
    flag = "1" if enabled else "0"
    assert f'APT::Periodic::Unattended-Upgrade "{flag}";' in dump
    assert f'APT::Periodic::Update-Package-Lists "{flag}";' in dump
    if enabled:
        assert host.package("unattended-upgrades").is_installed
