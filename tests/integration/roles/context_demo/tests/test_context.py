"""Role tests see the same names as the role's templates and conditions."""


def test_the_file_names_this_host(host, role_vars):
    name = role_vars["inventory_hostname"]
    address = role_vars["inventory"]["hosts"][name]["address"]
    assert host.file("/srv/context/debian-and-me").content_string == f"{name} at {address}\n"
    assert not host.file("/srv/context/someone-else").exists
