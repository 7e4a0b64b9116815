"""The benchmark workload for pyinfra: the same lists (../../workload/vars.yml), the same template."""

from pathlib import Path

import yaml
from pyinfra import host
from pyinfra.operations import apt, files, server, systemd

WORKLOAD = Path(__file__).resolve().parents[2] / "workload"
VARS = yaml.safe_load((WORKLOAD / "vars.yml").read_text())
TEMPLATE = str(WORKLOAD / "configurator" / "roles" / "bench" / "templates" / "app.conf.j2")

apt.packages(name="Packages", packages=VARS["bench_packages"], update=True, cache_time=86400)

for user in VARS["bench_users"]:
    server.user(name=f"User {user}", user=user, shell="/bin/sh", create_home=True)

for path in VARS["bench_dirs"]:
    files.directory(name=f"Directory {path}", path=path, mode="755")

for item in VARS["bench_files"]:
    files.template(name=f"Template {item}", src=TEMPLATE, dest=f"{VARS['bench_conf_dir']}/{item}.conf", mode="644",
                   item=item, inventory_hostname=host.name, bench_workers=VARS["bench_workers"])

for entry in VARS["bench_lines"]:
    files.line(name=f"Line {entry['line']}", path=VARS["bench_settings"], line=entry["regexp"] + ".*$",
               replace=entry["line"])

for unit in VARS["bench_services"]:
    systemd.service(name=f"Service {unit}", service=unit, running=True, enabled=True)
