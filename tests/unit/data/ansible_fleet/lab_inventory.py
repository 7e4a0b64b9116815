#!/usr/bin/env python3
"""The same lab as a dynamic inventory: `--list` prints every group and `_meta.hostvars`."""
import json
import sys

LAB = {
    "ungrouped": {"hosts": ["gw.lab.example"]},
    "web": {"hosts": ["web01.lab.example", "web02.lab.example", "web03.lab.example",
                      "web-a.lab.example", "web-b.lab.example"]},
    "db": {"hosts": ["db1.lab.example"]},
    "app": {"children": ["web", "db"], "vars": {"tier": "app", "ansible_user": "ops"}},
    "staging": {"hosts": ["web03.lab.example"]},
    "_meta": {"hostvars": {
        "gw.lab.example": {"ansible_host": "192.0.2.1"},
        "web-a.lab.example": {"ansible_port": 2222, "ansible_user": "deploy"},
        "web-b.lab.example": {"ansible_port": 2222, "ansible_user": "deploy"},
        "db1.lab.example": {"ansible_host": "192.0.2.31", "ansible_become": True},
    }},
}

if sys.argv[1:] == ["--list"]:
    json.dump(LAB, sys.stdout)
elif sys.argv[1:2] == ["--host"]:
    json.dump({}, sys.stdout)
else:
    sys.exit("usage: lab_inventory.py --list | --host NAME")
